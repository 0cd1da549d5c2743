"""Cumulative link models for ordinal responses: g(Pr(Y <= j)) = alpha_j + x'beta, j = 1..k-1
(PROC GENMOD's DIST=MULTINOMIAL parameterisation), by maximum likelihood with an analytic gradient and
Hessian; the cluster sandwich for independence GEE."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special as sp


class CumLink:
    def __init__(self, name: str):
        self.name = name
        self.sas = {"cumlogit": "Cumulative Logit", "cumprobit": "Cumulative Probit",
                    "cumcll": "Cumulative Complementary Log-Log"}[name]

    def F(self, t):
        if self.name == "cumlogit":
            return sp.expit(t)
        if self.name == "cumprobit":
            return sp.ndtr(t)
        return -np.expm1(-np.exp(np.clip(t, -700, 700)))

    def f(self, t):
        if self.name == "cumlogit":
            p = sp.expit(t)
            return p * (1 - p)
        if self.name == "cumprobit":
            return np.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)
        e = np.exp(np.clip(t, -700, 700))
        return e * np.exp(-e)

    def df(self, t):
        if self.name == "cumlogit":
            p = sp.expit(t)
            return p * (1 - p) * (1 - 2 * p)
        if self.name == "cumprobit":
            return -t * self.f(t)
        e = np.exp(np.clip(t, -700, 700))
        return e * np.exp(-e) * (1 - e)


@dataclass
class OrdinalResult:
    theta: np.ndarray          # alphas (k-1) then betas
    cov: np.ndarray            # inverse observed information
    loglik: float
    scores: np.ndarray         # per-observation score contributions
    info_expected: np.ndarray
    converged: bool


def _pieces(theta, X, y, w, off, k, link: CumLink):
    """Per-observation probabilities and derivatives; y in 0..k-1."""
    a = theta[:k - 1]
    b = theta[k - 1:]
    eta = X @ b + off
    upper = np.where(y < k - 1, np.concatenate([a, [0.0]])[np.minimum(y, k - 2 if k > 1 else 0)], np.inf)
    lower = np.where(y > 0, a[np.maximum(y - 1, 0)], -np.inf)
    tu = upper + eta
    tl = lower + eta
    Fu = np.where(np.isfinite(tu), link.F(np.where(np.isfinite(tu), tu, 0.0)), 1.0)
    Fl = np.where(np.isfinite(tl), link.F(np.where(np.isfinite(tl), tl, 0.0)), 0.0)
    fu = np.where(np.isfinite(tu), link.f(np.where(np.isfinite(tu), tu, 0.0)), 0.0)
    fl = np.where(np.isfinite(tl), link.f(np.where(np.isfinite(tl), tl, 0.0)), 0.0)
    dfu = np.where(np.isfinite(tu), link.df(np.where(np.isfinite(tu), tu, 0.0)), 0.0)
    dfl = np.where(np.isfinite(tl), link.df(np.where(np.isfinite(tl), tl, 0.0)), 0.0)
    P = np.maximum(Fu - Fl, 1e-300)
    return P, fu, fl, dfu, dfl


def loglik_grad(theta, X, y, w, off, k, link):
    n, p = X.shape
    P, fu, fl, dfu, dfl = _pieces(theta, X, y, w, off, k, link)
    ll = float(np.sum(w * np.log(P)))
    m = k - 1
    S = np.zeros((n, m + p))
    idx = np.arange(n)
    up = y < k - 1
    lo = y > 0
    S[idx[up], y[up]] += (fu / P)[up]
    S[idx[lo], y[lo] - 1] -= (fl / P)[lo]
    S[:, m:] = ((fu - fl) / P)[:, None] * X
    S *= w[:, None]
    return ll, S


def hessian(theta, X, y, w, off, k, link):
    from .numdiff import jacobian_of_gradient
    return jacobian_of_gradient(lambda t: loglik_grad(t, X, y, w, off, k, link)[1].sum(0), theta, 1e-6)


def fit(X, y, w, off, k, link: CumLink) -> OrdinalResult:
    n, p = X.shape
    cum = np.cumsum(np.bincount(y, weights=w, minlength=k))[:-1] / w.sum()
    a0 = np.log(np.clip(cum, 1e-6, 1 - 1e-6) / (1 - np.clip(cum, 1e-6, 1 - 1e-6)))
    th = np.concatenate([np.sort(a0), np.zeros(p)])
    converged = False
    for it in range(200):
        ll, S = loglik_grad(th, X, y, w, off, k, link)
        g = S.sum(0)
        H = hessian(th, X, y, w, off, k, link)
        try:
            step = np.linalg.solve(-H, g)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(-H, g, rcond=None)[0]
        t = 1.0
        for _ in range(40):
            new = th + t * step
            if np.all(np.diff(new[:k - 1]) > 0) and loglik_grad(new, X, y, w, off, k, link)[0] >= ll - 1e-10:
                break
            t /= 2
        th = th + t * step
        if np.max(np.abs(t * step)) < 1e-10:
            converged = True
            break
    ll, S = loglik_grad(th, X, y, w, off, k, link)
    H = hessian(th, X, y, w, off, k, link)
    cov = np.linalg.inv(-H)
    return OrdinalResult(th, cov, ll, S, -H, converged)
