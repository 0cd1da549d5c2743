"""Generalized logit (baseline-category) models for a nominal response with J categories.

The last category J is the reference: log(pi_j / pi_J) = eta_j = x'beta_j [+ z'u_j], j = 1..J-1.
Parameters are laid out parameter-major, category-minor (beta[k, j] at k*(J-1) + j), the order in which
they are reported.  Two fits:

* ``fit_glm``: no random effects, maximum likelihood by Newton-Raphson with the analytic score and
  information;
* ``GLogitAGQ`` + ``fit_glmm``: category-specific random effects u_j ~ N(0, G_j) independent across
  categories and subjects, the marginal likelihood by adaptive Gauss-Hermite quadrature (product grid over
  the (J-1) q0 random effects of a subject, centred at the conditional mode and scaled by the Cholesky
  factor of the inverse Hessian there; one node is the Laplace approximation).  The variances are either
  shared by the categories or, with GROUP= on the response, one set per category.  The outer optimisation
  uses central-difference derivatives of the quadrature log likelihood (the modes re-solved at each point).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy import optimize

from .glmm import cap_step
from .numdiff import jacobian_of_function, select_qpoints


def _probs(eta):
    """Category probabilities (..., J-1) of the non-reference categories and log(1 + sum exp eta)."""
    m = np.maximum(np.max(eta, axis=-1, keepdims=True), 0.0)
    e = np.exp(eta - m)
    den = np.exp(-m) + e.sum(axis=-1, keepdims=True)
    return e / den, (m + np.log(den))[..., 0]


def _onehot(ycat, J):
    Y = np.zeros(ycat.shape + (J - 1,))
    for j in range(J - 1):
        Y[..., j] = (ycat == j)
    return Y


@dataclass
class GLogitGLM:
    beta: np.ndarray          # (p * (J-1),) parameter-major
    cov: np.ndarray
    loglik: float
    converged: bool
    iterations: int


def fit_glm(X, ycat, w, offset, J, maxiter=100, tol=1e-10) -> GLogitGLM:
    n, p = X.shape
    m = J - 1
    Y = _onehot(ycat, J)
    B = np.zeros((p, m))
    # start: intercept-like marginal logits through a least-squares projection
    freq = np.array([np.sum(w * (ycat == j)) for j in range(J)], dtype=float) + 0.5
    target = np.log(freq[:m] / freq[m])
    coef, *_ = np.linalg.lstsq(X, np.ones(n), rcond=None)
    if np.allclose(X @ coef, 1.0):
        B = np.outer(coef, target)

    def ll_of(Bm):
        eta = X @ Bm + offset[:, None]
        _, lse = _probs(eta)
        return float(np.sum(w * (np.sum(Y * eta, axis=1) - lse)))

    ll = ll_of(B)
    it = 0
    converged = False
    for it in range(1, maxiter + 1):
        eta = X @ B + offset[:, None]
        P, _ = _probs(eta)
        score = X.T @ (w[:, None] * (Y - P))                       # p x m
        Wt = w[:, None, None] * (np.einsum("ij,jk->ijk", P, np.eye(m)) - P[:, :, None] * P[:, None, :])
        info = np.einsum("ia,ijk,ib->ajbk", X, Wt, X).reshape(p * m, p * m)
        step = np.linalg.solve(info, score.reshape(-1)).reshape(p, m)
        t = 1.0
        while True:
            Bn = B + t * step
            lln = ll_of(Bn)
            if lln >= ll - 1e-12 or t < 1e-6:
                break
            t /= 2
        B, change = Bn, lln - ll
        ll = lln
        if np.max(np.abs(t * step)) < tol or abs(change) < 1e-13 * max(1.0, abs(ll)):
            converged = True
            break
    eta = X @ B + offset[:, None]
    P, _ = _probs(eta)
    Wt = w[:, None, None] * (np.einsum("ij,jk->ijk", P, np.eye(m)) - P[:, :, None] * P[:, None, :])
    info = np.einsum("ia,ijk,ib->ajbk", X, Wt, X).reshape(p * m, p * m)
    return GLogitGLM(B.reshape(-1), np.linalg.inv(info), ll, converged, it)


class GLogitAGQ:
    """Adaptive quadrature log likelihood of a random-effects generalized logit model.

    X: K x T x p, Z0: K x T x q0 (per-category random-effect design), ycat: K x T (codes 0..J-1, J-1 the
    reference), w/mask: K x T.  ``groups``: True for one set of q0 variances per category (GROUP= on the
    response), False for variances shared by the categories."""

    def __init__(self, X, Z0, ycat, w, off, mask, J, groups: bool, qpoints: int):
        self.X, self.Z0, self.w, self.off, self.mask = X, Z0, np.where(mask, w, 0.0), off, mask
        self.J, self.m = J, J - 1
        self.q0 = Z0.shape[2]
        self.q = self.q0 * self.m
        self.groups = groups
        self.Y = _onehot(np.where(mask, ycat, J - 1), J) * mask[:, :, None]
        self.b = np.zeros((X.shape[0], self.q))
        self.set_points(qpoints)

    @property
    def ntheta(self):
        return self.q0 * (self.m if self.groups else 1)

    def set_points(self, n):
        self.n = n
        z1, w1 = hermegauss(n)
        Zn = np.array(list(itertools.product(z1, repeat=self.q)))
        Wn = np.prod(np.array(list(itertools.product(w1, repeat=self.q))), axis=1)
        keep = Wn > Wn.max() * 1e-30
        self.nodes, self.logw = Zn[keep], np.log(Wn[keep]) + 0.5 * np.sum(Zn[keep] ** 2, axis=1)

    def gdiag(self, theta):
        """Diagonal of G (length q, category-major: u_j's q0 effects together)."""
        th = np.asarray(theta, dtype=float)
        return np.concatenate([th[j * self.q0:(j + 1) * self.q0] if self.groups else th for j in range(self.m)])

    def _eta(self, B, b):
        """K x T x m linear predictors."""
        K, T = self.X.shape[:2]
        eta = np.einsum("ktp,pj->ktj", self.X, B) + self.off[:, :, None]
        return eta + np.einsum("ktr,kjr->ktj", self.Z0, b.reshape(K, self.m, self.q0))

    def _cond_ll(self, eta):
        _, lse = _probs(eta)
        return np.sum(self.w * (np.sum(self.Y * eta, axis=2) - lse), axis=-1)

    def modes(self, B, gd):
        K = self.X.shape[0]
        ginv = 1.0 / gd
        b = self.b.copy()
        m, q0 = self.m, self.q0
        for _ in range(100):
            eta = self._eta(B, b)
            P, _ = _probs(eta)
            R = self.w[:, :, None] * (self.Y - P)                              # K x T x m
            grad = np.einsum("ktr,ktj->kjr", self.Z0, R).reshape(K, -1) - b * ginv
            Wt = self.w[:, :, None, None] * (np.einsum("ktj,jl->ktjl", P, np.eye(m)) - P[:, :, :, None] * P[:, :, None, :])
            H = np.einsum("ktr,ktjl,kts->kjrls", self.Z0, Wt, self.Z0).reshape(K, m * q0, m * q0)
            H = H + np.diag(ginv)[None]
            step = cap_step(np.linalg.solve(H, grad[:, :, None])[:, :, 0])
            b = b + step
            if np.max(np.abs(step)) < 1e-11:
                break
        eta = self._eta(B, b)
        P, _ = _probs(eta)
        Wt = self.w[:, :, None, None] * (np.einsum("ktj,jl->ktjl", P, np.eye(m)) - P[:, :, :, None] * P[:, :, None, :])
        H = np.einsum("ktr,ktjl,kts->kjrls", self.Z0, Wt, self.Z0).reshape(K, m * q0, m * q0) + np.diag(ginv)[None]
        self.b = b
        return b, H

    def subject_loglik(self, beta, theta):
        """log L_i for every subject (all constants included)."""
        B = np.asarray(beta, dtype=float).reshape(-1, self.m)
        gd = self.gdiag(theta)
        K = self.X.shape[0]
        if np.any(gd <= 0):
            return np.full(K, -np.inf)
        b, H = self.modes(B, gd)
        try:
            C = np.linalg.cholesky(np.linalg.inv(H))
        except np.linalg.LinAlgError:
            return np.full(K, -np.inf)
        logdetC = np.sum(np.log(np.diagonal(C, axis1=1, axis2=2)), axis=1)
        pts = b[:, None, :] + np.einsum("kqr,nr->knq", C, self.nodes)          # K x N x q
        N = pts.shape[1]
        eta = np.einsum("ktp,pj->ktj", self.X, B)[:, None] + self.off[:, None, :, None] + \
            np.einsum("ktr,knjr->kntj", self.Z0, pts.reshape(K, N, self.m, self.q0))
        _, lse = _probs(eta)
        ll = np.sum(self.w[:, None] * (np.sum(self.Y[:, None] * eta, axis=3) - lse), axis=2)      # K x N
        prior = -0.5 * np.sum(pts ** 2 / gd, axis=2) - 0.5 * (self.q * math.log(2 * math.pi) + np.sum(np.log(gd)))
        terms = ll + prior + self.logw[None, :]
        mx = terms.max(axis=1, keepdims=True)
        return logdetC + mx[:, 0] + np.log(np.exp(terms - mx).sum(axis=1))


@dataclass
class GLogitGLMM:
    beta: np.ndarray
    theta: np.ndarray
    loglik: float
    cov: np.ndarray                   # (P x P): inverse Hessian or sandwich, natural scale
    cov_model: np.ndarray
    converged: bool
    iterations: int
    grad_max: float
    history: list = field(default_factory=list)
    modes: np.ndarray | None = None


def choose_qpoints(agq: GLogitAGQ, beta, theta, qtol=1e-4, maxpts=31) -> int:
    def at(n):
        agq.set_points(n)
        return -2 * float(agq.subject_loglik(beta, theta).sum())
    n = select_qpoints(at, qtol, maxpts)
    agq.set_points(n)
    return n


def fit_glmm(agq: GLogitAGQ, beta0, theta0, empirical=False, maxiter=200) -> GLogitGLMM:
    """Maximise the quadrature log likelihood over (beta, variances); variances on the log scale inside."""
    p = len(beta0)
    t = len(theta0)
    history = []

    def nat(x):
        return np.concatenate([x[:p], np.exp(x[p:])])

    def f_sub(z):
        return agq.subject_loglik(z[:p], z[p:])

    def fx(x):
        v = -float(f_sub(nat(x)).sum())
        return v if np.isfinite(v) else 1e300

    def gx(x):
        J = jacobian_of_function(lambda xx: f_sub(nat(xx)), x, 1e-6)
        return -J.sum(axis=0)

    x0 = np.concatenate([np.asarray(beta0, dtype=float), np.log(np.asarray(theta0, dtype=float))])
    def cb(xk):
        history.append((len(history), 2 * fx(xk)))
    history.append((0, 2 * fx(x0)))
    res = optimize.minimize(fx, x0, jac=gx, method="BFGS", callback=cb,
                            options={"maxiter": maxiter, "gtol": 1e-6})
    z = nat(res.x)
    # Hessian of -log L on the natural scale by central differences of the subject-gradient sums
    P = p + t
    S = jacobian_of_function(f_sub, z, 1e-6)                      # K x P scores
    Hm = np.zeros((P, P))
    for j in range(P):
        h = 1e-4 * max(1.0, abs(z[j]))
        e = np.zeros(P)
        e[j] = h
        gp = jacobian_of_function(f_sub, z + e, 1e-6).sum(axis=0)
        gm = jacobian_of_function(f_sub, z - e, 1e-6).sum(axis=0)
        Hm[:, j] = -(gp - gm) / (2 * h)
    Hm = (Hm + Hm.T) / 2
    try:
        cov_model = np.linalg.inv(Hm)
    except np.linalg.LinAlgError:
        cov_model = np.linalg.pinv(Hm)
    cov = cov_model @ (S.T @ S) @ cov_model if empirical else cov_model
    gmax = float(np.max(np.abs(S.sum(axis=0))))
    ll = float(f_sub(z).sum())
    b, _ = agq.modes(z[:p].reshape(-1, agq.m), agq.gdiag(z[p:]))
    return GLogitGLMM(z[:p], z[p:], ll, cov, cov_model, bool(res.success) or gmax < 1e-3, int(res.nit), gmax,
                      history, b.copy())
