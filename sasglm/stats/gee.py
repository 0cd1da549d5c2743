"""Generalized estimating equations (Liang-Zeger) and alternating logistic regressions
(Carey-Zeger-Diggle), batched over clusters.

Clusters are laid out as a K x T grid (T = number of within-subject positions); a position a cluster
does not have gets an identity row/column in its working covariance and zero residual and
derivative, which is the same as working with the observed sub-matrix.  Working correlations are
strategy objects with SAS GENMOD's moment estimators.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special as sp

from .families import Binomial, Family, Link


# ---------------------------------------------------------------------- layout
@dataclass
class Layout:
    K: int
    T: int
    idx: np.ndarray          # K x T row index into the data (-1 = absent)
    present: np.ndarray      # K x T bool
    sizes: np.ndarray        # K

    @staticmethod
    def make(cluster_codes: np.ndarray, positions: np.ndarray, T: int | None = None) -> "Layout":
        """``cluster_codes`` 0..K-1 per row; ``positions`` 0..T-1 per row."""
        K = int(cluster_codes.max()) + 1 if len(cluster_codes) else 0
        T = int(positions.max()) + 1 if T is None else T
        idx = -np.ones((K, T), dtype=int)
        if np.any(idx[cluster_codes, positions] >= 0):
            pass
        flat = cluster_codes * T + positions
        if len(np.unique(flat)) != len(flat):
            raise ValueError("duplicate within-subject position in a cluster")
        idx[cluster_codes, positions] = np.arange(len(cluster_codes))
        present = idx >= 0
        return Layout(K, T, idx, present, present.sum(axis=1))

    def grid(self, v: np.ndarray, fill=0.0) -> np.ndarray:
        g = np.full((self.K, self.T) + v.shape[1:], fill, dtype=float)
        g[self.present] = v[self.idx[self.present]]
        return g


# ---------------------------------------------------------------------- working correlations
class WorkingCorr:
    name = ""
    sas = ""

    def __init__(self, T: int):
        self.T = T

    def matrix(self) -> np.ndarray:
        raise NotImplementedError

    def update(self, r: np.ndarray, present: np.ndarray, phi: float, p: int) -> None:
        pass

    def params(self) -> list[float]:
        return []


class Independent(WorkingCorr):
    name, sas = "ind", "Independent"

    def matrix(self):
        return np.eye(self.T)


class Exchangeable(WorkingCorr):
    name, sas = "exch", "Exchangeable"

    def __init__(self, T):
        super().__init__(T)
        self.alpha = 0.0

    def matrix(self):
        R = np.full((self.T, self.T), self.alpha)
        np.fill_diagonal(R, 1.0)
        return R

    def update(self, r, present, phi, p):
        s = r.sum(axis=1)
        ss = (r ** 2).sum(axis=1)
        num = float(np.sum((s ** 2 - ss) / 2))
        n = present.sum(axis=1)
        nstar = float(np.sum(n * (n - 1) / 2))
        self.alpha = num / ((nstar - p) * phi)

    def params(self):
        return [self.alpha]


class AR1(WorkingCorr):
    name, sas = "ar", "Autoregressive(1)"

    def __init__(self, T):
        super().__init__(T)
        self.alpha = 0.0

    def matrix(self):
        t = np.arange(self.T)
        return self.alpha ** np.abs(t[:, None] - t[None, :])

    def update(self, r, present, phi, p):
        # pairs of positions one apart (j, j+1), both observed
        both = present[:, :-1] & present[:, 1:]
        num = float(np.sum(r[:, :-1] * r[:, 1:] * both))
        k1 = int(both.sum())
        self.alpha = num / ((k1 - p) * phi)

    def params(self):
        return [self.alpha]


class MDep(WorkingCorr):
    sas = "m-dependent"

    def __init__(self, T, m):
        super().__init__(T)
        self.m = m
        self.name = f"mdep({m})"
        self.alphas = np.zeros(m)

    def matrix(self):
        R = np.eye(self.T)
        for t in range(1, self.m + 1):
            for j in range(self.T - t):
                R[j, j + t] = R[j + t, j] = self.alphas[t - 1]
        return R

    def update(self, r, present, phi, p):
        for t in range(1, self.m + 1):
            both = present[:, :-t] & present[:, t:]
            num = float(np.sum(r[:, :-t] * r[:, t:] * both))
            kt = int(both.sum())
            self.alphas[t - 1] = num / ((kt - p) * phi) if kt > p else 0.0

    def params(self):
        return list(self.alphas)


class Unstructured(WorkingCorr):
    name, sas = "un", "Unstructured"

    def __init__(self, T):
        super().__init__(T)
        self.R = np.eye(T)

    def matrix(self):
        return self.R

    def update(self, r, present, phi, p):
        pres = present.astype(float)
        num = r.T @ r
        cnt = pres.T @ pres                     # clusters with both positions observed
        R = num / ((cnt - p) * phi)
        np.fill_diagonal(R, 1.0)
        self.R = R

    def params(self):
        iu = np.triu_indices(self.T, 1)
        return list(self.R[iu])


class Fixed(WorkingCorr):
    name, sas = "user", "Fixed"

    def __init__(self, T, R):
        super().__init__(T)
        self.R = np.asarray(R, dtype=float)

    def matrix(self):
        return self.R


def make_corr(kind: str, T: int, m: int | None = None, user=None) -> WorkingCorr:
    kind = kind.lower()
    if kind in ("ind", "indep", "independent"):
        return Independent(T)
    if kind in ("exch", "cs", "exchangeable"):
        return Exchangeable(T)
    if kind in ("ar", "ar(1)", "ar1"):
        return AR1(T)
    if kind in ("mdep",):
        return MDep(T, m or 1)
    if kind in ("un", "unstr", "unstructured"):
        return Unstructured(T)
    if kind in ("user", "fixed"):
        return Fixed(T, user)
    raise ValueError(kind)


# ---------------------------------------------------------------------- GEE fit
@dataclass
class GEEResult:
    beta: np.ndarray
    cov_emp: np.ndarray
    cov_model: np.ndarray
    phi: float
    corr: WorkingCorr | None
    R: np.ndarray
    iterations: int
    converged: bool
    mu: np.ndarray
    qic: float = math.nan
    qicu: float = math.nan
    quasi: float = math.nan
    alpha: np.ndarray | None = None          # ALR log odds ratios
    alpha_cov: np.ndarray | None = None
    full_cov: np.ndarray | None = None


class GEEData:
    def __init__(self, X, y, w, offset, fam: Family, link: Link, layout: Layout):
        self.X, self.y, self.w, self.offset = X, y, w, offset
        self.fam, self.link, self.L = fam, link, layout
        self.Xg = layout.grid(X)              # K x T x p
        self.yg = layout.grid(y)
        self.wg = layout.grid(w)
        self.og = layout.grid(offset)
        self.pres = layout.present

    def pieces(self, beta):
        """mu, d mu/d eta, variance (per trial), Pearson residual on the grid (absent -> 0)."""
        eta = self.Xg @ beta + self.og
        mu = self.fam.clip(self.link.inv(eta))
        d1 = self.link.dmu_deta(eta)
        V = self.fam.variance(mu) / np.where(self.pres, self.wg, 1.0)
        pres = self.pres
        mu = np.where(pres, mu, 0.0)
        d1 = np.where(pres, d1, 0.0)
        V = np.where(pres, V, 1.0)
        e = np.where(pres, self.yg - mu, 0.0)
        r = e / np.sqrt(V)
        return mu, d1, V, e, r


def _batched_V(R: np.ndarray, V: np.ndarray, pres: np.ndarray) -> np.ndarray:
    """A^1/2 R A^1/2 per cluster, absent positions decoupled (identity)."""
    s = np.sqrt(V)
    Vm = s[:, :, None] * R[None, :, :] * s[:, None, :]
    mask = pres[:, :, None] & pres[:, None, :]
    Vm = np.where(mask, Vm, 0.0)
    diag = np.arange(R.shape[0])
    Vm[:, diag, diag] = np.where(pres, Vm[:, diag, diag], 1.0)
    return Vm


def converged_sas(step: np.ndarray, beta_new: np.ndarray, crit: float) -> bool:
    """GENMOD's GEE rule: max |change| < CONVERGE=, relative where |beta| > 0.08."""
    rel = np.where(np.abs(beta_new) > 0.08, np.abs(step) / np.maximum(np.abs(beta_new), 1e-300), np.abs(step))
    return bool(np.max(rel) < crit) if len(rel) else True


def gee_fit(data: GEEData, corr: WorkingCorr, beta0: np.ndarray, maxiter=50, tol=1e-4,
            fixed_corr=False) -> GEEResult:
    L = data.L
    p = len(beta0)
    N = int(L.present.sum())
    beta = beta0.copy()
    converged = False
    it = 0
    for it in range(1, maxiter + 1):
        mu, d1, V, e, r = data.pieces(beta)
        phi = float(np.sum(r ** 2)) / (N - p)
        if not fixed_corr:
            corr.update(r, L.present, phi, p)
        R = corr.matrix()
        Vm = _batched_V(R, V, L.present)
        D = data.Xg * d1[:, :, None]                     # K x T x p
        VinvD = np.linalg.solve(Vm, D)
        Vinve = np.linalg.solve(Vm, e[:, :, None])[:, :, 0]
        M0 = np.einsum("ktp,ktq->pq", D, VinvD)
        S = np.einsum("ktp,kt->p", D, Vinve)
        step = np.linalg.solve(M0, S)
        beta = beta + step
        if converged_sas(step, beta, tol):
            converged = True
            break
    mu, d1, V, e, r = data.pieces(beta)
    phi = float(np.sum(r ** 2)) / (N - p)
    R = corr.matrix()
    Vm = _batched_V(R, V, L.present)
    D = data.Xg * d1[:, :, None]
    VinvD = np.linalg.solve(Vm, D)
    Vinve = np.linalg.solve(Vm, e[:, :, None])[:, :, 0]
    M0 = np.einsum("ktp,ktq->pq", D, VinvD)
    U = np.einsum("ktp,kt->kp", D, Vinve)
    M1 = U.T @ U
    M0inv = np.linalg.inv(M0)
    cov_emp = M0inv @ M1 @ M0inv
    cov_model = (1.0 if data.fam.fixed_scale else phi) * M0inv
    res = GEEResult(beta, cov_emp, cov_model, phi, corr, R, it, converged, mu[L.present])
    _qic(data, res, beta, cov_emp)
    return res


def _qic(data: GEEData, res: GEEResult, beta, cov_emp):
    mu, d1, V, e, r = data.pieces(beta)
    pres = data.pres
    fam = data.fam
    y = data.yg[pres]
    m = mu[pres]
    w = data.wg[pres]
    if isinstance(fam, Binomial) or fam.fixed_scale:
        Q = fam.loglik_kernel(y, m, w, 1.0)
        phi = 1.0
    else:
        Q = -0.5 * float(np.sum(w * (y - m) ** 2)) / res.phi if fam.name == "normal" else \
            fam.loglik_kernel(y, m, w, res.phi)
        phi = res.phi
    D = data.Xg * d1[:, :, None]
    omega = np.einsum("ktp,ktq,kt->pq", D, D, np.where(pres, 1.0 / V, 0.0)) / phi
    res.quasi = Q
    res.qic = -2 * Q + 2 * float(np.trace(omega @ cov_emp))
    res.qicu = -2 * Q + 2 * len(beta)


# ---------------------------------------------------------------------- generalized score test
def score_test(data: GEEData, corr: WorkingCorr, beta_full0, C: np.ndarray, maxiter=50):
    """Generalized score statistic for H0: C beta = 0 (SAS GENMOD Type 3 GEE default)."""
    # null-space parameterisation beta = Nm gamma
    U_, s, Vt = np.linalg.svd(C)
    rank = int((s > 1e-10 * (s.max() if s.size else 1)).sum())
    Nm = Vt[rank:].T
    Xr = data.X @ Nm
    sub = GEEData(Xr, data.y, data.w, data.offset, data.fam, data.link, data.L)
    g0 = np.linalg.lstsq(Nm, beta_full0, rcond=None)[0]
    red = gee_fit(sub, corr, g0, maxiter=maxiter)
    bt = Nm @ red.beta
    mu, d1, V, e, r = data.pieces(bt)
    Vm = _batched_V(corr.matrix(), V, data.pres)
    D = data.Xg * d1[:, :, None]
    VinvD = np.linalg.solve(Vm, D)
    Vinve = np.linalg.solve(Vm, e[:, :, None])[:, :, 0]
    I = np.einsum("ktp,ktq->pq", D, VinvD)
    Ui = np.einsum("ktp,kt->kp", D, Vinve)
    S = Ui.sum(axis=0)
    M = Ui.T @ Ui
    Iinv = np.linalg.inv(I)
    A = C @ Iinv
    mid = A @ M @ A.T
    stat = float(S @ Iinv @ C.T @ np.linalg.pinv(mid) @ C @ Iinv @ S)
    return stat, rank


# ---------------------------------------------------------------------- ALR
def _joint(mu_j, mu_k, psi):
    """P(Yj=1, Yk=1) from the marginal means and the odds ratio (Plackett/Dale)."""
    a = 1 + (mu_j + mu_k) * (psi - 1)
    near1 = np.abs(psi - 1) < 1e-8
    disc = np.maximum(a ** 2 - 4 * psi * (psi - 1) * mu_j * mu_k, 0.0)
    with np.errstate(all="ignore"):
        m = (a - np.sqrt(disc)) / (2 * (psi - 1))
    return np.where(near1, mu_j * mu_k, m)


def _djoint_dpsi(mu_j, mu_k, psi):
    h = 1e-6 * np.maximum(psi, 1e-3)
    return (_joint(mu_j, mu_k, psi + h) - _joint(mu_j, mu_k, psi - h)) / (2 * h)


class LogOR:
    """Log odds ratio model: pair (j,k) of positions -> row of Z (one alpha per column).

    ``Z`` is P x q when every cluster shares it (EXCH, FULLCLUST, ZREP); ``Zk`` (K x P x q) holds one
    Z per cluster when the rows differ between clusters (subcluster models, a full Z data set)."""

    def __init__(self, T: int, kind: str, zrows: dict | None = None, Zk: np.ndarray | None = None):
        """kind 'exch' | 'fullclust' | 'zrep' (zrows: {(j, k): z row} over 0-based positions) | 'percluster'
        (Zk given)."""
        self.T = T
        self.kind = kind
        self.pairs = [(j, k) for j in range(T) for k in range(j + 1, T)]
        self.Zk = Zk
        if kind == "exch":
            self.Z = np.ones((len(self.pairs), 1))
        elif kind == "fullclust":
            self.Z = np.eye(len(self.pairs))
        elif kind == "zrep":
            q = len(next(iter(zrows.values())))
            self.Z = np.zeros((len(self.pairs), q))
            for n, (j, k) in enumerate(self.pairs):
                row = zrows.get((j, k), zrows.get((k, j)))
                if row is not None:
                    self.Z[n] = row
        elif kind == "percluster":
            self.Z = Zk[0]
        else:
            raise ValueError(kind)

    @property
    def q(self):
        return self.Z.shape[1]


def subcluster_Z(sub: np.ndarray, present: np.ndarray, pairs, nested_k: bool, nlev: int) -> np.ndarray:
    """Per-cluster Z for the nested log odds ratio models. ``sub`` is K x T subcluster codes (0..nlev-1).
    Column 0 is the log odds ratio between members of different subclusters; 1-nested has one more
    column for pairs in the same subcluster, k-nested one per subcluster level."""
    K = sub.shape[0]
    jj = np.array([a for a, b in pairs], dtype=int)
    kk = np.array([b for a, b in pairs], dtype=int)
    sj, sk = sub[:, jj], sub[:, kk]
    same = (sj == sk) & present[:, jj] & present[:, kk]
    q = 1 + (nlev if nested_k else 1)
    Z = np.zeros((K, len(pairs), q))
    Z[:, :, 0] = ~same
    if nested_k:
        for m in range(nlev):
            Z[:, :, 1 + m] = same & (sj == m)
    else:
        Z[:, :, 1] = same
    return Z


def alr_fit(data: GEEData, model: LogOR, beta0, maxiter=100, tol=1e-8) -> GEEResult:
    L = data.L
    pres = data.pres
    K, T = L.K, L.T
    jj = np.array([a for a, b in model.pairs])
    kk = np.array([b for a, b in model.pairs])
    both = pres[:, jj] & pres[:, kk]                      # K x P
    shared = model.Zk is None
    Z = model.Z if shared else model.Zk                    # P x q shared, or K x P x q per cluster
    q = model.q

    def zsum(a):
        """sum over pairs of a (K x P) times Z -> K x q"""
        return a @ Z if shared else np.einsum("kp,kpq->kq", a, Z)

    def zinfo(a):
        """sum over clusters and pairs of a (K x P) z z' -> q x q"""
        return Z.T @ (a.sum(axis=0)[:, None] * Z) if shared else np.einsum("kp,kpq,kpr->qr", a, Z, Z)
    beta = beta0.copy()
    alpha = np.full(q, 0.01)
    y = data.yg
    converged = False
    p = len(beta)
    it = 0

    def offsets(beta, alpha):
        """Per direction (Y_j given Y_k, then Y_k given Y_j): the conditional logit gamma, its
        derivative with respect to the pair's log odds ratio, the response and the pair weight."""
        mu = data.pieces(beta)[0]
        mj, mk = mu[:, jj], mu[:, kk]
        la = np.broadcast_to(Z @ alpha, (K, len(model.pairs)))  # K x P
        psi = np.exp(la)
        m11 = _joint(mj, mk, psi)
        dm = _djoint_dpsi(mj, mk, psi) * psi               # d m11 / d log psi
        out = []
        for (ma, mb, ya, yb) in ((mj, mk, y[:, jj], y[:, kk]), (mk, mj, y[:, kk], y[:, jj])):
            num = np.clip(ma - m11, 1e-12, None)
            den = np.clip(1 - ma - mb + m11, 1e-12, None)
            gamma = yb * la + np.log(num / den)
            out.append((gamma, yb + (-1.0 / num - 1.0 / den) * dm, ya))
        return out

    wgt = np.where(both, 1.0, 0.0)

    def alpha_eq(beta, alpha):
        """U_alpha, its expected information and the per-cluster scores. Each pair enters in both
        conditional directions, with the full derivative of the conditional-logit offset."""
        info = np.zeros((q, q))
        Ui = np.zeros((K, q))
        for gamma, dgamma_dla, ya in offsets(beta, alpha):
            zeta = sp.expit(gamma)
            Ui += zsum((ya - zeta) * wgt * dgamma_dla)
            info += zinfo(wgt * zeta * (1 - zeta) * dgamma_dla ** 2)
        return Ui.sum(axis=0), info, Ui

    def cross_info(beta, alpha):
        """Expected -dU_alpha/dbeta: sum of zeta(1-zeta) dgamma/dalpha dgamma/dbeta' over pairs
        (the expected form, not the observed derivative, is what SAS's alpha SEs use)."""
        base = offsets(beta, alpha)
        C = np.zeros((q, p))
        for j in range(p):
            h = 1e-6 * max(1.0, abs(beta[j]))
            db = np.zeros(p)
            db[j] = h
            up, um = offsets(beta + db, alpha), offsets(beta - db, alpha)
            for d, (gamma, dgamma_dla, _) in enumerate(base):
                dgb = (up[d][0] - um[d][0]) / (2 * h)
                zeta = sp.expit(gamma)
                C[:, j] += zsum(wgt * zeta * (1 - zeta) * dgamma_dla * dgb).sum(axis=0)
        return C

    def beta_pieces(beta, alpha):
        mu, d1, V, e, r = data.pieces(beta)
        psi = np.broadcast_to(np.exp(Z @ alpha), (K, len(model.pairs)))   # K x P
        Vm = np.zeros((K, T, T))
        diag = np.arange(T)
        Vm[:, diag, diag] = np.where(pres, mu * (1 - mu) / np.where(pres, data.wg, 1.0), 1.0)
        mj, mk = mu[:, jj], mu[:, kk]
        cov = _joint(mj, mk, psi) - mj * mk
        cov = np.where(both, cov, 0.0)
        Vm[:, jj, kk] = cov
        Vm[:, kk, jj] = cov
        D = data.Xg * d1[:, :, None]
        VinvD = np.linalg.solve(Vm, D)
        Vinve = np.linalg.solve(Vm, e[:, :, None])[:, :, 0]
        M0 = np.einsum("ktp,ktq->pq", D, VinvD)
        Ub = np.einsum("ktp,kt->kp", D, Vinve)
        return M0, Ub

    for it in range(1, maxiter + 1):
        # alpha step (Fisher scoring to convergence for the current beta)
        for _ in range(50):
            U, info, _ = alpha_eq(beta, alpha)
            da = np.linalg.solve(info, U)
            alpha = alpha + da
            if np.max(np.abs(da)) < 1e-10:
                break
        M0, Ub = beta_pieces(beta, alpha)
        step = np.linalg.solve(M0, Ub.sum(axis=0))
        beta = beta + step
        if np.max(np.abs(step) / np.maximum(np.abs(beta), 1.0)) < tol:
            converged = True
            break
    for _ in range(50):
        U, info, _ = alpha_eq(beta, alpha)
        da = np.linalg.solve(info, U)
        alpha = alpha + da
        if np.max(np.abs(da)) < 1e-12:
            break
    M0, Ub = beta_pieces(beta, alpha)
    _, info, Ua = alpha_eq(beta, alpha)
    # sandwich for (beta, alpha): bread block lower-triangular (the beta equations do not depend on
    # alpha in expectation); the alpha-beta block is the expected cross information
    Aab = cross_info(beta, alpha)
    A = np.zeros((p + q, p + q))
    A[:p, :p] = M0
    A[p:, :p] = Aab
    A[p:, p:] = info
    G = np.hstack([Ub, Ua])
    B = G.T @ G
    Ainv = np.linalg.inv(A)
    full = Ainv @ B @ Ainv.T
    mu, d1, V, e, r = data.pieces(beta)
    res = GEEResult(beta, full[:p, :p], np.linalg.inv(M0), 1.0, None, np.eye(T), it, converged, mu[pres],
                    alpha=alpha, alpha_cov=full[p:, p:], full_cov=full)
    _qic(data, res, beta, full[:p, :p])
    return res
