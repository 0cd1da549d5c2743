"""Linear mixed models by REML or ML (the engine behind PROC MIXED; no SAS syntax here).

    y_i = X_i beta + Z_i b_i + e_i,  b_i ~ N(0, G),  e_i ~ N(0, R_i),  V_i = Z_i G Z_i' + R_i

Subjects are laid out on a padded K x T grid; absent positions get an identity row/column in V_i and
zero rows in X_i, which is the same as working with the observed block.  beta is profiled out; the
covariance parameters are optimised (quasi-Newton on an unconstrained scale); their covariance is the
inverse of the observed information by finite differences of the objective, as SAS reports it.
Kenward-Roger adjusted covariance and degrees of freedom are provided for inference.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, stats as st


# ---------------------------------------------------------------------- R-side (and G-side) structures
class Struct:
    """A covariance structure of dimension d with named parameters (SAS scale)."""
    sas = ""

    def __init__(self, d: int):
        self.d = d

    def names(self) -> list[str]:
        raise NotImplementedError

    def matrix(self, th) -> np.ndarray:
        raise NotImplementedError

    def start(self, var: float) -> np.ndarray:
        raise NotImplementedError

    def bounds(self) -> list:
        return [(None, None)] * len(self.names())

    @property
    def npar(self):
        return len(self.names())


class VCs(Struct):
    sas = "VC"

    def __init__(self, d, labels=None):
        super().__init__(d)
        self.labels = labels or ["Variance"] * d

    def names(self):
        return list(self.labels)

    def matrix(self, th):
        return np.diag(np.asarray(th, dtype=float))

    def start(self, var):
        return np.full(self.d, var / 2)

    def bounds(self):
        return [(0.0, None)] * self.d


class UNs(Struct):
    sas = "UN"

    def names(self):
        return [f"UN({i + 1},{j + 1})" for i in range(self.d) for j in range(i + 1)]

    def matrix(self, th):
        M = np.zeros((self.d, self.d))
        M[np.tril_indices(self.d)] = th
        return M + np.tril(M, -1).T

    def start(self, var):
        M = np.eye(self.d) * var
        return M[np.tril_indices(self.d)]

    def bounds(self):
        return [(0.0, None) if i == j else (None, None) for i in range(self.d) for j in range(i + 1)]


class CSs(Struct):
    sas = "CS"

    def names(self):
        return ["CS", "Residual"]

    def matrix(self, th):
        return np.full((self.d, self.d), th[0]) + np.eye(self.d) * th[1]

    def start(self, var):
        return np.array([var / 4, var * 3 / 4])

    def bounds(self):
        return [(None, None), (0.0, None)]


class AR1s(Struct):
    sas = "AR(1)"

    def names(self):
        return ["AR(1)", "Residual"]

    def matrix(self, th):
        t = np.arange(self.d)
        return th[1] * th[0] ** np.abs(t[:, None] - t[None, :])

    def start(self, var):
        return np.array([0.3, var])

    def bounds(self):
        return [(-0.999999, 0.999999), (0.0, None)]


class TOEPs(Struct):
    sas = "TOEP"

    def names(self):
        return [f"TOEP({k})" for k in range(2, self.d + 1)] + ["Residual"]

    def matrix(self, th):
        t = np.arange(self.d)
        lag = np.abs(t[:, None] - t[None, :])
        vals = np.concatenate([[th[-1]], th[:-1]])
        return vals[lag]

    def start(self, var):
        return np.concatenate([np.zeros(self.d - 1), [var]])

    def bounds(self):
        return [(None, None)] * (self.d - 1) + [(0.0, None)]


class HeteroCorr(Struct):
    """CSH and ARH(1): heterogeneous variances Var(1..d) with a common correlation rho
    (CSH: rho off the diagonal; ARH(1): rho^|i-j|).  Sigma_ij = sigma_i sigma_j corr_ij."""

    def __init__(self, d, ar: bool):
        super().__init__(d)
        self.ar = ar
        self.sas = "ARH(1)" if ar else "CSH"

    def names(self):
        return [f"Var({i + 1})" for i in range(self.d)] + [self.sas]

    def matrix(self, th):
        sd = np.sqrt(np.maximum(np.asarray(th[:self.d], dtype=float), 0.0))
        t = np.arange(self.d)
        lag = np.abs(t[:, None] - t[None, :])
        C = th[-1] ** lag if self.ar else np.where(lag == 0, 1.0, th[-1])
        return np.outer(sd, sd) * C

    def start(self, var):
        return np.concatenate([np.full(self.d, var), [0.3]])

    def bounds(self):
        lo = -0.999999 if self.ar else -1.0 / max(self.d - 1, 1) + 1e-6
        return [(1e-10, None)] * self.d + [(lo, 0.999999)]


def make_struct(kind: str, d: int, labels=None) -> Struct:
    kind = kind.lower()
    if kind in ("vc", "simple", "sim", "un(1)"):
        return VCs(d, labels)
    if kind == "un":
        return UNs(d)
    if kind == "cs":
        return CSs(d)
    if kind in ("ar(1)", "ar1"):
        return AR1s(d)
    if kind == "toep":
        return TOEPs(d)
    if kind == "csh":
        return HeteroCorr(d, False)
    if kind in ("arh(1)", "arh1"):
        return HeteroCorr(d, True)
    raise ValueError(kind)


# ---------------------------------------------------------------------- the model on a grid
@dataclass
class LMMData:
    X: np.ndarray      # K x T x p
    Z: np.ndarray      # K x T x q (q = 0 without G-side effects)
    y: np.ndarray      # K x T
    mask: np.ndarray   # K x T
    N: int
    rw: np.ndarray | None = None   # K x T residual weights: R_i = W^-1/2 R W^-1/2 (pseudo-likelihood)


class FixedResid(Struct):
    """R = I with no parameter (the pseudo-data of binomial/Poisson models: scale fixed at 1)."""
    sas = "None"

    def names(self):
        return []

    def matrix(self, th):
        return np.eye(self.d)

    def start(self, var):
        return np.zeros(0)


@dataclass
class LMMResult:
    theta: np.ndarray
    names: list
    beta: np.ndarray
    cov_beta: np.ndarray
    cov_theta: np.ndarray | None
    m2ll: float                       # -2 (Res) Log Likelihood
    converged: bool
    iterations: int
    history: list = field(default_factory=list)
    hessian: np.ndarray | None = None


class LMM:
    def __init__(self, data: LMMData, gstruct: Struct | None, rstruct: Struct, method: str = "reml"):
        self.d, self.g, self.r, self.method = data, gstruct, rstruct, method
        self.ng = gstruct.npar if gstruct is not None else 0

    def split(self, th):
        return th[:self.ng], th[self.ng:]

    def V(self, th) -> np.ndarray:
        d = self.d
        K, T = d.mask.shape
        tg, tr = self.split(th)
        if isinstance(self.r, FixedResid):
            R = np.eye(T)
        else:
            R = self.r.matrix(tr) if self.r.d == T else None
            if R is None:       # scalar residual variance sigma^2 I
                R = np.eye(T) * tr[0]
        V = np.broadcast_to(R, (K, T, T)).copy()
        if d.rw is not None:
            sc = 1.0 / np.sqrt(np.where(d.mask, d.rw, 1.0))
            V = sc[:, :, None] * V * sc[:, None, :]
        if self.g is not None:
            G = self.g.matrix(tg)
            V += np.einsum("ktq,qr,ksr->kts", d.Z, G, d.Z, optimize=True)
        m = d.mask
        both = m[:, :, None] & m[:, None, :]
        V = np.where(both, V, 0.0)
        idx = np.arange(T)
        V[:, idx, idx] = np.where(m, V[:, idx, idx], 1.0)
        return V

    def objective(self, th) -> float:
        """-2 log likelihood (REML or ML) with beta profiled out."""
        d = self.d
        V = self.V(th)
        try:
            L = np.linalg.cholesky(V)
        except np.linalg.LinAlgError:
            # a large but finite value: the quasi-Newton line search backtracks from it (an infinite or
            # 1e300 value made L-BFGS-B stop at its first step and report convergence)
            return 1e10
        logdet = 2 * np.sum(np.log(np.diagonal(L, axis1=1, axis2=2)))
        Vi_X = np.linalg.solve(V, d.X)
        Vi_y = np.linalg.solve(V, d.y[:, :, None])[:, :, 0]
        XVX = np.einsum("ktp,ktq->pq", d.X, Vi_X)
        XVy = np.einsum("ktp,kt->p", d.X, Vi_y)
        try:
            beta = np.linalg.solve(XVX, XVy)
        except np.linalg.LinAlgError:
            return 1e300
        r = d.y - np.einsum("ktp,p->kt", d.X, beta)
        rVr = float(np.einsum("kt,kt->", r, np.linalg.solve(V, r[:, :, None])[:, :, 0]))
        p = d.X.shape[2]
        if self.method == "reml":
            sign, ld = np.linalg.slogdet(XVX)
            return (d.N - p) * math.log(2 * math.pi) + logdet + ld + rVr
        return d.N * math.log(2 * math.pi) + logdet + rVr

    def gls(self, th):
        d = self.d
        V = self.V(th)
        Vi_X = np.linalg.solve(V, d.X)
        XVX = np.einsum("ktp,ktq->pq", d.X, Vi_X)
        XVy = np.einsum("ktp,kt->p", d.X, np.linalg.solve(V, d.y[:, :, None])[:, :, 0])
        Phi = np.linalg.inv(XVX)
        return Phi @ XVy, Phi, V

    def blups(self, th, beta) -> np.ndarray:
        """b_i = G Z_i' V_i^-1 (y_i - X_i beta)."""
        if self.g is None:
            return np.zeros((self.d.X.shape[0], 0))
        G = self.g.matrix(self.split(th)[0])
        V = self.V(th)
        r = self.d.y - np.einsum("ktp,p->kt", self.d.X, beta)
        Vr = np.linalg.solve(V, r[:, :, None])[:, :, 0]
        return np.einsum("qr,ktr,kt->kq", G, self.d.Z, Vr)

    def random_effects(self, th, beta, Phi):
        """BLUPs and their prediction-error covariances per subject:
        b_i = G Z_i' V_i^-1 (y_i - X_i beta);
        Var(b_i hat - b_i) = G - G Z_i' V_i^-1 Z_i G + G Z_i' V_i^-1 X_i Phi X_i' V_i^-1 Z_i G;
        Cov(beta hat, b_i hat - b_i) = -Phi X_i' V_i^-1 Z_i G.  Returns (b K x q, Cbb K x q x q, Cbb K x p x q)."""
        d = self.d
        G = self.g.matrix(self.split(th)[0])
        V = self.V(th)
        Vinv = np.linalg.inv(V)
        GZV = np.einsum("qr,ktr,kts->kqs", G, d.Z, Vinv, optimize=True)            # G Z' V^-1
        r = d.y - np.einsum("ktp,p->kt", d.X, beta)
        b = np.einsum("kqs,ks->kq", GZV, r)
        GZVZG = np.einsum("kqs,ksr,rm->kqm", GZV, d.Z, G, optimize=True)
        GZVX = np.einsum("kqs,ksp->kqp", GZV, d.X)
        Cbb = G[None] - GZVZG + np.einsum("kqp,pr,kmr->kqm", GZVX, Phi, GZVX, optimize=True)
        Cxb = -np.einsum("pr,kqr->kpq", Phi, GZVX)
        return b, Cbb, Cxb

    def fit(self, th0, maxiter=200) -> LMMResult:
        bounds = (self.g.bounds() if self.g is not None else []) + self.r.bounds()
        history = []

        def f(th):
            return self.objective(th)

        def cb(xk):
            history.append((len(history) + 1, f(xk)))
        if len(th0) == 0:
            res = optimize.OptimizeResult(x=np.zeros(0), success=True, nit=0)
        else:
            res = optimize.minimize(f, th0, method="L-BFGS-B", bounds=bounds, callback=cb,
                                    options={"maxiter": maxiter, "ftol": 1e-14, "gtol": 1e-9})
        th = res.x
        beta, Phi, V = self.gls(th)
        H = self.hessian(th)
        try:
            cov_theta = 2 * np.linalg.inv(H) if len(th) else np.zeros((0, 0))
        except np.linalg.LinAlgError:
            cov_theta = None
        return LMMResult(th, (self.g.names() if self.g else []) + self.r.names(), beta, Phi, cov_theta, f(th),
                         bool(res.success), int(res.nit), history, H)

    def hessian(self, th):
        n = len(th)
        H = np.zeros((n, n))
        f0 = self.objective(th)
        h = np.array([1e-4 * max(1.0, abs(t)) for t in th])
        for i in range(n):
            for j in range(i, n):
                ei = np.zeros(n)
                ej = np.zeros(n)
                ei[i] = h[i]
                ej[j] = h[j]
                v = (self.objective(th + ei + ej) - self.objective(th + ei - ej) - self.objective(th - ei + ej)
                     + self.objective(th - ei - ej)) / (4 * h[i] * h[j])
                H[i, j] = H[j, i] = v
        return H

    # ------------------------------------------------------------------ Satterthwaite
    def satterthwaite(self, th, W, L) -> float:
        """Denominator DF for H0: L beta = 0 (Fai-Cornelius for several rows); W = Cov(theta hat)."""
        L = np.atleast_2d(L)
        C = self.gls(th)[1]
        n = len(th)
        dC = []
        for k in range(n):
            h = 1e-5 * max(1.0, abs(th[k]))
            e = np.zeros(n)
            e[k] = h
            dC.append((self.gls(th + e)[1] - self.gls(th - e)[1]) / (2 * h))
        M = L @ C @ L.T
        d, P = np.linalg.eigh(M)
        keep = d > 1e-10 * max(d.max(), 1e-300)
        nus = []
        for j in np.nonzero(keep)[0]:
            pl = P[:, j] @ L
            g = np.array([pl @ dCk @ pl for dCk in dC])
            var = float(g @ W @ g)
            nus.append(2 * d[j] ** 2 / var if var > 0 else math.inf)
        q = len(nus)
        if q == 1:
            return nus[0]
        E = sum(nu / (nu - 2) for nu in nus if nu > 2)
        return 2 * E / (E - q) if E > q else float(min(nus))

    # ------------------------------------------------------------------ Kenward-Roger
    def dV(self, th):
        """dV/dtheta_k per subject (K x T x T x n), by central differences (exact for linear structures)."""
        n = len(th)
        out = []
        for k in range(n):
            h = 1e-6 * max(1.0, abs(th[k]))
            e = np.zeros(n)
            e[k] = h
            out.append((self.V(th + e) - self.V(th - e)) / (2 * h))
        return np.stack(out, axis=-1)

    def kenward_roger(self, th, W=None):
        """Adjusted covariance of beta (and the pieces for the DF): Kenward & Roger (1997)."""
        d = self.d
        beta, Phi, V = self.gls(th)
        Vinv = np.linalg.inv(V)
        m = d.mask
        both = m[:, :, None] & m[:, None, :]
        Vinv = np.where(both, Vinv, 0.0)
        dV = self.dV(th)
        dV = np.where(both[..., None], dV, 0.0)
        n = len(th)
        X = d.X
        VX = np.einsum("kts,ksp->ktp", Vinv, X)                       # V^-1 X
        P = [-np.einsum("ktp,kts,ksq->pq", VX, dV[..., i], VX, optimize=True) for i in range(n)]
        A = [np.einsum("kts,ksu->ktu", Vinv, dV[..., i]) for i in range(n)]          # V^-1 dV_i
        Q = [[np.einsum("ktp,kts,ksu,kuq->pq", VX, dV[..., i], A[j], VX, optimize=True) for j in range(n)]
             for i in range(n)]
        # expected REML information for theta: 1/2 tr(P_V dV_i P_V dV_j), P_V = V^-1 - V^-1 X Phi X' V^-1
        if W is None:
            I = np.zeros((n, n))
            for i in range(n):
                for j in range(i, n):
                    t1 = np.einsum("kts,kst->", A[i], A[j])
                    t2 = np.trace(Phi @ Q[i][j]) * 2
                    t3 = np.trace(Phi @ P[i] @ Phi @ P[j])
                    I[i, j] = I[j, i] = 0.5 * (t1 - t2 + t3)
            W = np.linalg.inv(I)
        adj = np.zeros_like(Phi)
        for i in range(n):
            for j in range(n):
                adj += W[i, j] * (Q[i][j] - P[i] @ Phi @ P[j])
        Phi_A = Phi + 2 * Phi @ adj @ Phi
        return Phi_A, Phi, P, Q, W

    @staticmethod
    def kr_ddf(L, Phi, Phi_A, P, Q, W):
        """Kenward-Roger F statistic scale and denominator DF for H0: L beta = 0 (rows of L)."""
        L = np.atleast_2d(L)
        l = np.linalg.matrix_rank(L)
        M = np.linalg.inv(L @ Phi @ L.T)
        Theta = L.T @ M @ L
        n = len(P)
        A1 = A2 = 0.0
        for i in range(n):
            for j in range(n):
                Ti = Theta @ Phi @ P[i] @ Phi
                Tj = Theta @ Phi @ P[j] @ Phi
                A1 += W[i, j] * np.trace(Ti) * np.trace(Tj)
                A2 += W[i, j] * np.trace(Ti @ Tj)
        B = (A1 + 6 * A2) / (2 * l)
        g = ((l + 1) * A1 - (l + 4) * A2) / ((l + 2) * A2) if A2 != 0 else 0.0
        c1 = g / (3 * l + 2 * (1 - g))
        c2 = (l - g) / (3 * l + 2 * (1 - g))
        c3 = (l + 2 - g) / (3 * l + 2 * (1 - g))
        Estar = 1 / (1 - A2 / l)
        Vstar = (2 / l) * (1 + c1 * B) / ((1 - c2 * B) ** 2 * (1 - c3 * B))
        rho = Vstar / (2 * Estar ** 2)
        m = 4 + (l + 2) / (l * rho - 1) if l * rho - 1 != 0 else math.inf
        lam = m / (Estar * (m - 2)) if m != math.inf else 1.0
        return m, lam, l
