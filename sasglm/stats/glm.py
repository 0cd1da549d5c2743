"""Generalized linear models by Newton-Raphson on the full (observed) Hessian, as PROC GENMOD does.

Scale handling follows GENMOD: binomial/Poisson scale fixed at 1; normal, gamma, inverse Gaussian
and negative binomial estimate it by maximum likelihood (reported as sigma for normal and IG, the
shape nu for gamma, the dispersion k for negative binomial); SCALE=PEARSON / DEVIANCE / number and
NOSCALE override it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special as sp, stats as st

from .families import Family, Gamma, InvGauss, Link, NegBin, Normal


class FitError(Exception):
    pass


@dataclass
class GLMResult:
    beta: np.ndarray                 # full length p (aliased = 0)
    cov: np.ndarray                  # p x p (aliased rows/cols 0)
    aliased: np.ndarray
    mu: np.ndarray
    eta: np.ndarray
    deviance: float
    pearson: float
    phi: float                       # dispersion used for inference
    scale: float                     # the "Scale" row value
    scale_se: float | None
    scale_fixed: bool
    scale_method: str                # 'mle' | 'fixed' | 'pearson' | 'deviance' | 'user'
    loglik: float                    # GENMOD "Log Likelihood" (kernel, scaled)
    loglik_full: float
    n: int
    df_resid: int
    n_params: int                    # for AIC: rank + scale parameter if estimated
    iterations: int
    converged: bool
    negbin_k: float | None = None
    hessian: np.ndarray | None = None


def _obs_weights(y, mu, eta, w, fam: Family, link: Link, observed: bool = True):
    d1 = link.dmu_deta(eta)
    V = fam.variance(mu)
    wf = w * d1 ** 2 / V
    if not observed:
        return wf, d1, V
    d2 = link.d2mu_deta2(eta)
    dV = fam.dvariance(mu)
    adj = w * (y - mu) * (d2 / V - d1 ** 2 * dV / V ** 2)
    return wf - adj, d1, V


def fit_beta(X, y, w, offset, fam: Family, link: Link, beta0=None, maxiter=100, tol=1e-10):
    """Newton-Raphson for beta with the dispersion profiled out (it cancels).  X is full rank."""
    n, p = X.shape
    if beta0 is None:
        mu = fam.clip(fam.start_mu(y, w))
        eta = link.link(mu)
        # one weighted least squares step from the starting means
        wf, d1, V = _obs_weights(y, mu, eta, w, fam, link, observed=False)
        z = eta - offset + (y - mu) / d1
        beta = np.linalg.lstsq(X * np.sqrt(wf)[:, None], z * np.sqrt(wf), rcond=None)[0]
    else:
        beta = beta0.copy()
    converged = False
    it = 0
    for it in range(1, maxiter + 1):
        eta = X @ beta + offset
        mu = fam.clip(link.inv(eta))
        wo, d1, V = _obs_weights(y, mu, eta, w, fam, link, observed=it > 3)
        score = X.T @ (w * (y - mu) * d1 / V)
        H = X.T @ (X * wo[:, None])
        try:
            step = np.linalg.solve(H, score)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(H, score, rcond=None)[0]
        if not np.all(np.isfinite(step)):
            raise FitError("The Newton-Raphson step is not finite.")
        # step halving on the deviance
        dev0 = float(np.sum(fam.deviance_units(y, mu, w)))
        t = 1.0
        for _ in range(30):
            nb = beta + t * step
            mu_n = fam.clip(link.inv(X @ nb + offset))
            dev_n = float(np.sum(fam.deviance_units(y, mu_n, w)))
            if np.isfinite(dev_n) and dev_n <= dev0 + 1e-9 * (1 + abs(dev0)):
                break
            t /= 2
        beta_new = beta + t * step
        change = np.max(np.abs(beta_new - beta) / np.maximum(np.abs(beta), 1e-2)) if p else 0.0
        beta = beta_new
        if change < tol:
            converged = True
            break
    eta = X @ beta + offset
    mu = fam.clip(link.inv(eta))
    return beta, mu, eta, it, converged


def fit(X, y, w, offset, fam: Family, link: Link, aliased, scale_opt=None, maxiter=100) -> GLMResult:
    """Fit the GLM; ``scale_opt``: None (default), 'pearson', 'deviance', ('value', s), 'noscale'."""
    n, p = X.shape
    keep = ~aliased
    Xk = X[:, keep]
    negbin_k = None
    if isinstance(fam, NegBin):
        beta_k, mu, eta, it, conv, negbin_k = _fit_negbin(Xk, y, w, offset, fam, link, maxiter)
    else:
        beta_k, mu, eta, it, conv = fit_beta(Xk, y, w, offset, fam, link, maxiter=maxiter)
    dev = float(np.sum(fam.deviance_units(y, mu, w)))
    pear = float(np.sum(w * (y - mu) ** 2 / fam.variance(mu)))
    rank = Xk.shape[1]
    df = n - rank
    # dispersion
    method = "mle"
    scale_se = None
    if scale_opt == "noscale" and not fam.fixed_scale:
        method = "fixed"
        phi = 1.0
    elif scale_opt in ("pearson", "deviance"):
        method = scale_opt
        phi = (pear if scale_opt == "pearson" else dev) / df if df > 0 else math.nan
    elif isinstance(scale_opt, tuple):
        method = "user"
        s = scale_opt[1]
        phi = s ** 2 if not fam.fixed_scale or True else s ** 2
    elif fam.fixed_scale:
        method = "fixed"
        phi = 1.0
    else:
        phi = _ml_dispersion(fam, y, mu, w, dev, n)
    wo, d1, V = _obs_weights(y, mu, eta, w, fam, link, observed=True)
    H = Xk.T @ (Xk * wo[:, None])
    try:
        cov_k = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        cov_k = np.linalg.pinv(H)
    if isinstance(fam, NegBin):
        cov_k, k_se = _negbin_cov(Xk, y, w, mu, eta, fam, link, negbin_k)
        scale_val, scale_se = negbin_k, k_se
        phi_inf = 1.0
    else:
        phi_inf = phi
        cov_k = cov_k * phi
        scale_val, scale_se = _scale_report(fam, phi, n, method, y, mu, w)
    beta = np.zeros(p)
    beta[keep] = beta_k
    cov = np.zeros((p, p))
    cov[np.ix_(keep, keep)] = cov_k
    # log likelihoods
    if isinstance(fam, NegBin):
        llf = fam.loglik_full(y, mu, w)
        llk = fam.loglik_kernel(y, mu, w)
    elif fam.fixed_scale:
        llf = fam.loglik_full(y, mu, w, 1.0)
        llk = fam.loglik_kernel(y, mu, w, 1.0) / phi
    else:
        llf = fam.loglik_full(y, mu, w, phi)
        llk = llf if method == "mle" else fam.loglik_full(y, mu, w, phi)
    npar = rank + (0 if (fam.fixed_scale or method == "fixed") and not isinstance(fam, NegBin) else 1)
    return GLMResult(beta, cov, aliased.copy(), mu, eta, dev, pear, phi_inf, scale_val, scale_se,
                     method != "mle", method, llk, llf, n, df, npar, it, conv, negbin_k, H)


def _ml_dispersion(fam, y, mu, w, dev, n):
    if isinstance(fam, (Normal, InvGauss)):
        return dev / n        # sum w (y-mu)^2 / n (WEIGHT divides each observation's dispersion)
    if isinstance(fam, Gamma):
        # shape nu maximises sum[nu log(nu y/mu) - nu y/mu - log y - lgamma(nu)]
        def negll(lognu):
            nu = math.exp(lognu)
            return -float(np.sum(w * nu * np.log(w * nu * y / mu) - w * nu * y / mu - np.log(y) - sp.gammaln(nu * w)))
        r = optimize.minimize_scalar(negll, bounds=(-20, 20), method="bounded", options={"xatol": 1e-12})
        return 1.0 / math.exp(r.x)
    return dev / n


def _scale_report(fam, phi, n, method, y, mu, w):
    """The Scale row: sigma for normal/IG, nu for gamma; SE from the ML information."""
    if fam.fixed_scale and method == "fixed":
        return 1.0, 0.0
    if method in ("pearson", "deviance", "user"):
        if isinstance(fam, Gamma):
            return 1 / phi, None
        return math.sqrt(phi), None
    if method == "fixed":
        return 1.0, 0.0
    if isinstance(fam, Normal):
        s = math.sqrt(phi)
        return s, s / math.sqrt(2 * n)
    if isinstance(fam, InvGauss):
        s = math.sqrt(phi)
        return s, s / math.sqrt(2 * n)
    if isinstance(fam, Gamma):
        nu = 1 / phi
        info = float(np.sum(w ** 2 * sp.polygamma(1, w * nu) - w / nu))
        return nu, 1 / math.sqrt(info) if info > 0 else None
    return math.sqrt(phi), None


def _fit_negbin(X, y, w, offset, fam: NegBin, link, maxiter):
    beta, mu, eta, it, conv = fit_beta(X, y, w, offset, NegBin(1e-8) if False else fam, link, maxiter=maxiter)
    k = 1.0
    for outer in range(100):
        def negll(logk):
            return -fam.loglik_full(y, mu, w, k=math.exp(logk))
        r = optimize.minimize_scalar(negll, bounds=(-20, 10), method="bounded", options={"xatol": 1e-12})
        k_new = math.exp(r.x)
        fam.k = k_new
        beta_new, mu, eta, it, conv = fit_beta(X, y, w, offset, fam, link, beta0=beta, maxiter=maxiter)
        if abs(k_new - k) < 1e-10 * (1 + k) and np.max(np.abs(beta_new - beta)) < 1e-10:
            beta, k = beta_new, k_new
            break
        beta, k = beta_new, k_new
    return beta, mu, eta, it, conv, k


def _negbin_cov(X, y, w, mu, eta, fam: NegBin, link, k):
    """Inverse observed information for (beta, k) by finite differences of the analytic score."""
    p = X.shape[1]

    def score(theta):
        b, kk = theta[:p], theta[p]
        et = X @ b + (eta - X @ np.linalg.lstsq(X, eta, rcond=None)[0] * 0) * 0
        et = eta - X @ beta_hat + X @ b
        m = link.inv(et)
        d1 = link.dmu_deta(et)
        V = m + kk * m ** 2
        sb = X.T @ (w * (y - m) * d1 / V)
        r = 1 / kk
        sk = float(np.sum(w * (-(sp.digamma(y + r) - sp.digamma(r)) * r ** 2 + r ** 2 * np.log(1 + kk * m)
                               + (y - m) / (kk * (1 + kk * m)))))
        return np.concatenate([sb, [sk]])
    beta_hat = np.linalg.lstsq(X, eta, rcond=None)[0]
    theta = np.concatenate([beta_hat, [k]])
    J = np.zeros((p + 1, p + 1))
    for j in range(p + 1):
        h = 1e-6 * max(1.0, abs(theta[j]))
        e = np.zeros(p + 1)
        e[j] = h
        J[:, j] = (score(theta + e) - score(theta - e)) / (2 * h)
    cov = np.linalg.inv(-(J + J.T) / 2)
    return cov[:p, :p], math.sqrt(cov[p, p]) if cov[p, p] > 0 else None


# ---------------------------------------------------------------------- inference helpers
def wald_ci(est, se, alpha=0.05):
    z = st.norm.ppf(1 - alpha / 2)
    return est - z * se, est + z * se


def wald_test(L: np.ndarray, beta: np.ndarray, cov: np.ndarray):
    """Wald chi-square for H0: L beta = 0 (rank-aware)."""
    return wald_quadratic(L @ beta, L @ cov @ L.T)


def wald_quadratic(est: np.ndarray, M: np.ndarray):
    """est' M^+ est and rank(M) for estimates with covariance M (pseudo-inverse over the nonzero singular
    values)."""
    U, s, Vt = np.linalg.svd(M)
    tol = max(M.shape) * s.max() * 1e-10 if s.size else 0
    r = int((s > tol).sum())
    if r == 0:
        return 0.0, 0
    Minv = (Vt[:r].T / s[:r]) @ U[:, :r].T
    return float(est @ Minv @ est), r


def type3_L(design, k: int) -> np.ndarray:
    """Type III hypothesis rows for effect k (equal-weight cell averaging over containing effects for
    GLM coding; the effect's own columns for full-rank codings)."""
    cols = design.effect_cols(k)
    p = design.X.shape[1]
    eff = design.effects[k]
    keep = [j for j in cols if not design.aliased[j]]
    rows = []
    for j in keep:
        l = np.zeros(p)
        l[j] = 1.0
        rows.append(l)
    L = np.array(rows) if rows else np.zeros((0, p))
    if L.shape[0] == 0:
        return L
    # GLM coding: differences between levels (rows e_j - e_last) and equal-weight spread into the
    # columns of containing effects
    glm_coded = any(not design.aliased[j] for j in cols) and any(design.aliased[j] for j in cols)
    if not glm_coded:
        return L
    base = [j for j in cols if design.aliased[j]]
    out = []
    for j in keep:
        l = np.zeros(p)
        l[j] = 1.0
        out.append(l)
    L = np.array(out)
    # spread into containing effects
    for kk, other in enumerate(design.effects):
        if kk == k:
            continue
        if set(v.lower() for v in eff.all_vars()) < set(v.lower() for v in other.all_vars()):
            ocols = design.effect_cols(kk)
            extra_cls = [v for v in design.columns[ocols[0]].levels if v not in design.columns[cols[0]].levels]
            has_cont = bool(set(design.columns[ocols[0]].continuous) - set(design.columns[cols[0]].continuous))
            if has_cont:
                continue
            n_other = len({tuple(design.columns[c].levels.get(v) for v in extra_cls) for c in ocols})
            for r, j in enumerate(keep):
                mine = design.columns[j].levels
                for c in ocols:
                    if all(design.columns[c].levels.get(v) == lv for v, lv in mine.items()):
                        L[r, c] += 1.0 / n_other
            # subtract the same for the last (aliased) level of this effect
            for r, j in enumerate(keep):
                for b in base:
                    mine = design.columns[b].levels
                    for c in ocols:
                        if all(design.columns[c].levels.get(v) == lv for v, lv in mine.items()):
                            L[r, c] -= 1.0 / n_other
    return L
