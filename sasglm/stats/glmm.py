"""Generalized linear mixed models by adaptive Gauss-Hermite quadrature (Laplace = one point).

Per subject i the marginal likelihood  L_i = int prod_j f(y_ij | b) N(b; 0, G) db  is approximated on
a product grid of Gauss-Hermite nodes centred at the conditional mode b_i and scaled by the lower
Cholesky factor of the inverse Hessian there (random effects in RANDOM-statement order):

    log L_i ~= log|C_i| + log sum_k W_k exp(h_i(b_i + C_i z_k) + z_k'z_k / 2)

with h_i(b) = sum_j log f(y_ij | eta_ij) + log N(b; 0, G) and C_i C_i' = H_i^{-1}.  All subjects are
processed at once on a padded K x T grid.  The covariance parameters are reported on SAS's scale
(UN(1,1), UN(2,1), UN(2,2), ...); the optimiser works on an unconstrained Cholesky factor.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy import optimize, special as sp

from .families import Beta, Binomial, Family, Gamma, InvGauss, Link, Poisson, NegBin
from .numdiff import jacobian_of_function, select_qpoints


# ---------------------------------------------------------------------- covariance structures
class CovStruct:
    """G for q random effects; ``params`` on SAS's reporting scale."""
    sas = ""

    def __init__(self, q: int):
        self.q = q

    def names(self) -> list[str]:
        raise NotImplementedError

    def G(self, params) -> np.ndarray:
        raise NotImplementedError

    def to_internal(self, params) -> np.ndarray:
        return np.asarray(params, dtype=float)

    def from_internal(self, x) -> np.ndarray:
        return np.asarray(x, dtype=float)

    def start(self) -> np.ndarray:
        raise NotImplementedError

    def zero_bounded(self) -> np.ndarray:
        """Which parameters are variances bounded below by 0 whose internal coordinate is one-to-one (so that
        an estimate on that boundary can be held there)."""
        return np.zeros(self.npar, dtype=bool)

    @property
    def npar(self) -> int:
        return len(self.names())


def _lower(params, q) -> np.ndarray:
    """Lower-triangular matrix from its elements in SAS order (1,1), (2,1), (2,2), (3,1), ..."""
    L = np.zeros((q, q))
    L[np.tril_indices(q)] = params
    return L


def _lower_elems(M) -> np.ndarray:
    return M[np.tril_indices(M.shape[0])]


class UN(CovStruct):
    sas = "UN"

    def names(self):
        return [f"UN({i + 1},{j + 1})" for i in range(self.q) for j in range(i + 1)]

    def G(self, params):
        L = _lower(params, self.q)
        return L + np.tril(L, -1).T

    def to_internal(self, params):
        G = self.G(params)
        try:
            L = np.linalg.cholesky(G)
        except np.linalg.LinAlgError:
            L = np.linalg.cholesky(G + 1e-6 * np.eye(self.q))
        return _lower_elems(L)

    def from_internal(self, x):
        L = _lower(x, self.q)
        return _lower_elems(L @ L.T)

    def start(self):
        return self.from_internal(self.to_internal(np.array([1.0 if i == j else 0.0 for i in range(self.q)
                                                              for j in range(i + 1)])))


class CHOL(UN):
    sas = "CHOL"

    def names(self):
        return [f"CHOL({i + 1},{j + 1})" for i in range(self.q) for j in range(i + 1)]

    def G(self, params):
        L = _lower(params, self.q)
        return L @ L.T

    def to_internal(self, params):
        return np.asarray(params, dtype=float)

    def from_internal(self, x):
        return np.asarray(x, dtype=float)


class VC(CovStruct):
    """Variance components; ``groups`` maps each column to its variance (one per RANDOM effect)."""
    sas = "VC"

    def __init__(self, q, labels=None, groups=None):
        super().__init__(q)
        self.groups = np.arange(q) if groups is None else np.asarray(groups, dtype=int)
        labels = labels or [f"Var({i + 1})" for i in range(q)]
        self.labels = [labels[int(np.nonzero(self.groups == g)[0][0])] for g in range(int(self.groups.max()) + 1)] \
            if q else []

    def names(self):
        return list(self.labels)

    def G(self, params):
        return np.diag(np.asarray(params, dtype=float)[self.groups])

    def to_internal(self, params):
        return np.sqrt(np.maximum(np.asarray(params, dtype=float), 1e-12))

    def from_internal(self, x):
        return np.asarray(x, dtype=float) ** 2

    def start(self):
        return np.ones(len(self.labels))

    def zero_bounded(self):
        return np.ones(self.npar, dtype=bool)


class BlockCov(CovStruct):
    """G of several RANDOM statements with the same subject: block diagonal, one block per statement."""

    def __init__(self, blocks):
        super().__init__(sum(b.q for b in blocks))
        self.blocks = blocks
        self.sas = blocks[0].sas

    def _split(self, x):
        out, i = [], 0
        for b in self.blocks:
            out.append(np.asarray(x[i:i + b.npar], dtype=float))
            i += b.npar
        return out

    def names(self):
        return [n for b in self.blocks for n in b.names()]

    def G(self, params):
        from scipy.linalg import block_diag
        return block_diag(*[b.G(t) for b, t in zip(self.blocks, self._split(params))])

    def to_internal(self, params):
        return np.concatenate([b.to_internal(t) for b, t in zip(self.blocks, self._split(params))])

    def from_internal(self, x):
        return np.concatenate([b.from_internal(t) for b, t in zip(self.blocks, self._split(x))])

    def start(self):
        return np.concatenate([b.start() for b in self.blocks])

    def zero_bounded(self):
        return np.concatenate([b.zero_bounded() for b in self.blocks])


class Repeated(CovStruct):
    """m copies of one G block on the diagonal, sharing its parameters: the inner subjects of a nested RANDOM
    statement inside the coarsest subject (random int / subject=id(center) within center)."""

    def __init__(self, block: CovStruct, m: int):
        super().__init__(block.q * m)
        self.block, self.m, self.sas = block, m, block.sas

    def names(self):
        return self.block.names()

    def G(self, params):
        return np.kron(np.eye(self.m), self.block.G(params))

    def to_internal(self, params):
        return self.block.to_internal(params)

    def from_internal(self, x):
        return self.block.from_internal(x)

    def start(self):
        return self.block.start()

    def zero_bounded(self):
        return self.block.zero_bounded()


class FromLMM(CovStruct):
    """A linear mixed model structure (stats/lmm: AR(1), TOEP, CSH, ARH(1), ...) as the quadrature's G.  Its
    parameters stay on SAS's scale for reporting and are kept valid inside the optimiser: a parameter bounded
    below is lo + x^2, one bounded on both sides lo + (hi - lo)(1 + tanh x)/2, a free one is x."""

    def __init__(self, struct):
        super().__init__(struct.d)
        self.struct, self.sas = struct, struct.sas
        self._bounds = struct.bounds()

    def names(self):
        return self.struct.names()

    def G(self, params):
        return self.struct.matrix(np.asarray(params, dtype=float))

    def to_internal(self, params):
        out = []
        for v, (lo, hi) in zip(np.asarray(params, dtype=float), self._bounds):
            if lo is not None and hi is not None:
                u = min(max(2 * (v - lo) / (hi - lo) - 1, -1 + 1e-12), 1 - 1e-12)
                out.append(math.atanh(u))
            elif lo is not None:
                out.append(math.sqrt(max(v - lo, 1e-12)))
            else:
                out.append(v)
        return np.array(out)

    def from_internal(self, x):
        out = []
        for v, (lo, hi) in zip(np.asarray(x, dtype=float), self._bounds):
            if lo is not None and hi is not None:
                out.append(lo + (hi - lo) * (1 + math.tanh(v)) / 2)
            elif lo is not None:
                out.append(lo + v * v)
            else:
                out.append(v)
        return np.array(out)

    def start(self):
        return self.from_internal(self.to_internal(self.struct.start(1.0)))

    def zero_bounded(self):
        return np.array([lo == 0 and hi is None for lo, hi in self._bounds], dtype=bool)


def make_cov(kind: str, q: int, labels=None, groups=None) -> CovStruct:
    kind = kind.lower()
    if kind == "un":
        return UN(q)
    if kind == "chol":
        return CHOL(q)
    if kind in ("vc", "simple", "sim"):
        return VC(q, labels, groups)
    if kind in ("un(1)", "un1"):
        return VC(q, labels)
    from . import lmm as LM
    return FromLMM(LM.make_gside(kind, q, labels, groups))     # CS, AR(1), TOEP(n), CSH, ARH(1), ANTE(1), ...


# ---------------------------------------------------------------------- data on a subject grid
@dataclass
class GLMMData:
    X: np.ndarray            # K x T x p
    Z: np.ndarray            # K x T x q
    y: np.ndarray            # K x T
    w: np.ndarray            # K x T (binomial trials; 1 otherwise)
    off: np.ndarray          # K x T
    mask: np.ndarray         # K x T bool
    fam: Family
    link: Link
    logc: np.ndarray         # K: sum of the constant terms of log f (e.g. -log y!)

    @staticmethod
    def make(X, Z, y, w, off, subj_codes, fam, link, pw=None):
        """``w`` multiplies each observation's log likelihood (binomial: trials times the prior weight ``pw``);
        the constants of the binomial and Poisson log likelihoods are weighted the same way."""
        K = int(subj_codes.max()) + 1
        pos, T = subject_positions(subj_codes, K)
        grid = lambda v, fill=0.0: _grid(v, subj_codes, pos, K, T, fill)
        mask = np.zeros((K, T), dtype=bool)
        mask[subj_codes, pos] = True
        # absent cells get a response inside the support (their terms are masked out anyway)
        yg = grid(y, 0.5 if isinstance(fam, Beta) else (1.0 if isinstance(fam, (Gamma, InvGauss)) else 0.0))
        wg = grid(w, 1.0)
        logc = np.zeros(K)
        pw = np.ones(len(y)) if pw is None else np.asarray(pw, dtype=float)
        if isinstance(fam, Binomial):
            n = w / pw
            k = n * y
            c = pw * (sp.gammaln(n + 1) - sp.gammaln(k + 1) - sp.gammaln(n - k + 1))
            logc = np.bincount(subj_codes, weights=c, minlength=K)
        elif isinstance(fam, Poisson):
            logc = np.bincount(subj_codes, weights=-pw * sp.gammaln(y + 1), minlength=K)
        return GLMMData(grid(X), grid(Z), yg, wg, grid(off), mask, fam, link, logc)


def _dG(cov: CovStruct, theta):
    """dG/dtheta_m, q x q x t (exact for linear structures)."""
    t = cov.npar
    out = np.zeros((cov.q, cov.q, t))
    for m in range(t):
        h = 1e-6 * max(1.0, abs(theta[m]))
        e = np.zeros(t)
        e[m] = h
        out[:, :, m] = (cov.G(theta + e) - cov.G(theta - e)) / (2 * h)
    return out


def subject_positions(codes, K):
    """Each observation's position within its subject (in data order) and the largest subject size: the
    (subject, position) cells of the padded K x T arrays the per-subject kernels work on."""
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=K)
    T = int(counts.max()) if len(counts) else 0
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.empty(len(codes), dtype=int)
    pos[order] = np.arange(len(codes)) - np.repeat(starts, counts)
    return pos, T


def _grid(v, codes, pos, K, T, fill=0.0):
    v = np.asarray(v, dtype=float)
    g = np.full((K, T) + v.shape[1:], fill)
    g[codes, pos] = v
    return g


def _ll_units(fam, y, mu, w):
    """Kernel of log f(y | mu) per cell (binomial proportions with weight w, or Poisson counts)."""
    if isinstance(fam, Binomial):
        return w * (y * np.log(mu) + (1 - y) * np.log1p(-mu))
    if isinstance(fam, Poisson):
        return w * (y * np.log(mu) - mu)
    if isinstance(fam, Gamma):
        # the full log density with dispersion phi (Var = phi mu^2); its constants depend on phi
        nu = w / fam.phi
        return nu * np.log(nu * y / mu) - nu * y / mu - np.log(y) - sp.gammaln(nu)
    if isinstance(fam, InvGauss):
        return -0.5 * (w * (y - mu) ** 2 / (fam.phi * y * mu ** 2) + np.log(2 * np.pi * fam.phi * y ** 3 / w))
    if isinstance(fam, (Beta, OrdinalFamily)):
        return fam.loglik_units(y, mu, w)
    if isinstance(fam, NegBin):
        # the full log density: its constant terms depend on k, which is estimated
        k = fam.k
        r = 1.0 / k
        return w * (sp.gammaln(y + r) - sp.gammaln(r) - sp.gammaln(y + 1) + y * np.log(k * mu)
                    - (y + r) * np.log1p(k * mu))
    raise NotImplementedError(fam.name)


def _dispersion(fam) -> float:
    """The multiplicative dispersion of Var(y | b) that the quadrature estimates (gamma's phi), else 1."""
    return fam.phi if isinstance(fam, (Gamma, InvGauss)) else 1.0


class OrdinalFamily:
    """Cumulative link model for an ordinal response coded 0..K-1: Pr(Y <= k) = F(alpha_k + eta) (SAS's
    parameterisation), evaluated on eta itself (used with the identity link); alpha are the K-1 cutpoints."""
    name, sas = "multinomial", "Multinomial"
    fixed_scale = True

    def __init__(self, cumlink, K: int):
        self.cl = cumlink
        self.K = K
        self.alpha = np.arange(K - 1, dtype=float) - (K - 2) / 2.0

    def clip(self, mu):
        return mu

    def _bounds(self, y, eta):
        a = np.concatenate([[-np.inf], self.alpha, [np.inf]])
        k = np.clip(np.asarray(y, dtype=int), 0, self.K - 1)
        return a[k + 1] + eta, a[k] + eta

    def _F(self, t):
        return np.where(np.isposinf(t), 1.0, np.where(np.isneginf(t), 0.0, self.cl.F(np.where(np.isfinite(t), t, 0.0))))

    def _fn(self, fun, t):
        return np.where(np.isfinite(t), fun(np.where(np.isfinite(t), t, 0.0)), 0.0)

    def loglik_units(self, y, eta, w):
        up, lo = self._bounds(y, eta)
        return w * np.log(np.maximum(self._F(up) - self._F(lo), 1e-300))

    def dll_dmu(self, y, eta, w):
        up, lo = self._bounds(y, eta)
        P = np.maximum(self._F(up) - self._F(lo), 1e-300)
        d1 = (self._fn(self.cl.f, up) - self._fn(self.cl.f, lo)) / P
        d2 = (self._fn(self.cl.df, up) - self._fn(self.cl.df, lo)) / P - d1 ** 2
        return w * d1, w * d2

    def variance(self, mu):
        return np.ones_like(mu)

    def dvariance(self, mu):
        return np.zeros_like(mu)


def scale_attr(fam) -> str | None:
    """The extra distribution parameter estimated with (beta, theta): negative binomial k, gamma phi."""
    if isinstance(fam, NegBin):
        return "k"
    if isinstance(fam, (Gamma, Beta, InvGauss)) and not fam.fixed_scale:
        return "phi"
    return None


def _loglik_kernel(d: GLMMData, eta):
    """Kernel of log f(y | eta) on the grid (absent cells 0), plus d/deta and -d2/deta2."""
    fam, link, y, w, m = d.fam, d.link, d.y, d.w, d.mask
    mu = fam.clip(link.inv(eta))
    ll = _ll_units(fam, y, mu, w)
    d1 = link.dmu_deta(eta)
    if isinstance(fam, (Beta, OrdinalFamily)):
        # not an exponential family: the chain rule on d log f / d mu
        s1, s2 = fam.dll_dmu(y, mu, w)
        g = s1 * d1
        W = -(s1 * link.d2mu_deta2(eta) + s2 * d1 ** 2)
        return np.where(m, ll, 0.0), np.where(m, g, 0.0), np.where(m, W, 0.0)
    V = fam.variance(mu) * _dispersion(fam)
    g = w * (y - mu) * d1 / V
    d2 = link.d2mu_deta2(eta)
    dV = fam.dvariance(mu) * _dispersion(fam)
    W = w * (d1 ** 2 / V - (y - mu) * (d2 / V - d1 ** 2 * dV / V ** 2))
    return np.where(m, ll, 0.0), np.where(m, g, 0.0), np.where(m, W, 0.0)


def _expected_weight(d: GLMMData, eta):
    """w (dmu/deta)^2 / Var(y | b): the expected information per cell (zero outside the mask)."""
    fam, link = d.fam, d.link
    if isinstance(fam, (Beta, OrdinalFamily)):
        return np.zeros_like(eta)
    mu = fam.clip(link.inv(eta))
    return np.where(d.mask, d.w * link.dmu_deta(eta) ** 2 / (fam.variance(mu) * _dispersion(fam)), 0.0)


def _phi_lower(A):
    """Lower triangle with the diagonal halved (derivative of the Cholesky factor)."""
    out = np.tril(A)
    idx = np.arange(A.shape[-1])
    out[..., idx, idx] *= 0.5
    return out


def cap_step(step, limit=5.0):
    """Newton steps for the modes, each subject's scaled down to a largest component of ``limit`` (guards
    against overshooting with binary data and extreme effects)."""
    big = np.max(np.abs(step), axis=1) > limit
    step[big] = step[big] / np.max(np.abs(step[big]), axis=1, keepdims=True) * limit
    return step


def psd_cholesky(G, tol=1e-12):
    """Lower-triangular L with L L' = G for a nonnegative definite G, with a zero column where a pivot
    vanishes (a singular G: a correlation of +/-1 or a zero variance); None when G is not nonnegative
    definite."""
    try:
        return np.linalg.cholesky(G)
    except np.linalg.LinAlgError:
        pass
    q = G.shape[0]
    scale = max(float(np.max(np.abs(np.diagonal(G)))) if q else 0.0, 1e-300)
    L = np.zeros((q, q))
    for j in range(q):
        dj = G[j, j] - L[j, :j] @ L[j, :j]
        rest = G[j + 1:, j] - L[j + 1:, :j] @ L[j, :j]
        if dj > tol * scale:
            L[j, j] = math.sqrt(dj)
            L[j + 1:, j] = rest / L[j, j]
        elif dj < -1e-8 * scale or np.any(np.abs(rest) > 1e-6 * scale):
            return None
    return L


def internal_factor(cov: CovStruct, x):
    """(L, dL/dx) with G = L L' directly from the optimiser's internal coordinates x, for the structures whose
    internal coordinates are the elements of such a factor (UN and CHOL: the Cholesky factor; VC: standard
    deviations); None for the others.  L may be singular (a correlation of +/-1, a zero variance) and may have
    negative diagonal elements (the quadrature grid is symmetric in each coordinate, so the sign is immaterial)."""
    x = np.asarray(x, dtype=float)
    if isinstance(cov, UN):                         # CHOL too
        q = cov.q
        L = _lower(x, q)
        dL = np.zeros((q, q, len(x)))
        r, c = np.tril_indices(q)
        dL[r, c, np.arange(len(x))] = 1.0
        return L, dL
    if isinstance(cov, VC):
        L = np.diag(x[cov.groups]) if cov.q else np.zeros((0, 0))
        dL = np.zeros((cov.q, cov.q, len(x)))
        dL[np.arange(cov.q), np.arange(cov.q), cov.groups] = 1.0
        return L, dL
    if isinstance(cov, BlockCov):
        parts = [internal_factor(b, xb) for b, xb in zip(cov.blocks, cov._split(x))]
        if any(pt is None for pt in parts):
            return None
        L = np.zeros((cov.q, cov.q))
        dL = np.zeros((cov.q, cov.q, len(x)))
        i = m = 0
        for Lb, dLb in parts:
            qb, tb = Lb.shape[0], dLb.shape[2]
            L[i:i + qb, i:i + qb] = Lb
            dL[i:i + qb, i:i + qb, m:m + tb] = dLb
            i, m = i + qb, m + tb
        return L, dL
    if isinstance(cov, Repeated):
        part = internal_factor(cov.block, x)
        if part is None:
            return None
        Lb, dLb = part
        eye = np.eye(cov.m)
        return np.kron(eye, Lb), np.stack([np.kron(eye, dLb[:, :, m]) for m in range(dLb.shape[2])], axis=2)
    return None


def cholesky_derivative(L, dG):
    """dL/dtheta (q x q x t) of the lower Cholesky factor L of G from dG/dtheta (L nonsingular)."""
    Li = np.linalg.inv(L)
    inner = np.einsum("qa,abm,rb->qrm", Li, dG, Li)
    return np.einsum("qa,arm->qrm", L, _phi_lower(np.moveaxis(inner, -1, 0)).transpose(1, 2, 0))


class AGQ:
    """The adaptive quadrature objective for one data set and covariance structure.

    The integral over each subject's random effects g = L u (G = L L', u standard normal) is evaluated over u:
    the quadrature nodes are centred at the conditional mode of u and scaled by the lower Cholesky factor C of
    the inverse negative Hessian there.  For a nonsingular G this is the same rule as on the g scale (L C is the
    lower Cholesky factor of the g-scale inverse Hessian, and the Jacobian |L| cancels), and it stays valid
    when G is singular."""

    def __init__(self, data: GLMMData, cov: CovStruct, qpoints: int, prune: float = 1e-30):
        self.d, self.cov = data, cov
        self.prune = prune
        self.set_points(qpoints)
        self.b = np.zeros((data.X.shape[0], cov.q))     # warm start for the modes (u scale)

    def set_points(self, n: int):
        self.n = n
        z1, w1 = hermegauss(n)
        q = self.cov.q
        Zn = np.array(list(itertools.product(z1, repeat=q)))          # nodes, first effect slowest
        Wn = np.prod(np.array(list(itertools.product(w1, repeat=q))), axis=1)
        # product-grid nodes whose weight is below 1e-30 of the largest cannot change the sum in double
        # precision (the integrand is close to Gaussian around the mode): they are dropped
        keep = Wn > Wn.max() * self.prune
        Zn, Wn = Zn[keep], Wn[keep]
        self.nodes = Zn
        self.logw = np.log(Wn) + 0.5 * np.sum(Zn ** 2, axis=1)

    def modes_u(self, beta, L):
        """Conditional modes of u by Newton's method; returns (u, H, eta0, ZL, W, g) with H = L'Z'WZL + I the
        negative Hessian at the modes, W and g the weights and scores there."""
        d = self.d
        q = L.shape[0]
        eta0 = np.einsum("ktp,p->kt", d.X, beta) + d.off
        ZL = np.einsum("ktq,qr->ktr", d.Z, L)
        eye = np.eye(q)
        u = self.b.copy()
        if not np.all(np.isfinite(u)):
            u = np.zeros_like(u)

        def at(u):
            eta = eta0 + np.einsum("ktq,kq->kt", ZL, u)
            ll, g, W = _loglik_kernel(d, eta)
            obj = ll.sum(axis=1) - 0.5 * np.sum(u ** 2, axis=1)
            return eta, g, W, np.where(np.isfinite(obj), obj, -np.inf)
        eta, g, W, obj = at(u)
        for it in range(100):
            if np.any(W < 0):
                # the observed weight can be negative far from the mode (inverse Gaussian, non-canonical
                # links): step with the expected weight there (Fisher scoring), which has the same mode
                W = np.where(W > 0, W, _expected_weight(d, eta))
            grad = np.einsum("ktq,kt->kq", ZL, g) - u
            H = np.einsum("ktq,kt,ktr->kqr", ZL, W, ZL) + eye
            step = cap_step(np.linalg.solve(H, grad[:, :, None])[:, :, 0])
            # damped Newton: a subject whose step lowers its (concave) objective takes half the step
            for _ in range(40):
                eta_n, g_n, W_n, obj_n = at(u + step)
                worse = obj_n < obj - 1e-12 * np.abs(obj)
                if not worse.any():
                    break
                step[worse] *= 0.5
            u, eta, g, W, obj = u + step, eta_n, g_n, W_n, obj_n
            if np.max(np.abs(step)) < 1e-10:
                break
        H = np.einsum("ktq,kt,ktr->kqr", ZL, W, ZL) + eye
        self.b = u
        return u, H, eta0, ZL, W, g

    def modes(self, beta, G):
        """Modes of the random effects g and their inverse negative Hessians (K x q, K x q x q)."""
        L = psd_cholesky(G)
        if L is None:
            raise np.linalg.LinAlgError("the G matrix is not nonnegative definite")
        u, H, *_ = self.modes_u(beta, L)
        Sig = np.linalg.inv(H)
        return u @ L.T, np.einsum("qa,kab,rb->kqr", L, Sig, L)

    def subject_loglik(self, beta, G) -> np.ndarray:
        """log L_i for every subject (with all constants, as SAS's -2 log likelihood)."""
        L = psd_cholesky(G)
        if L is None:
            return np.full(self.d.X.shape[0], -np.inf)
        return self.subject_loglik_L(beta, L)

    def _nodes(self, beta, L):
        """Modes, scaling and the integrand's log terms at the nodes for every subject."""
        d = self.d
        q = L.shape[0]
        u, H, eta0, ZL, W, g = self.modes_u(beta, L)
        Sig = np.linalg.inv(H)
        C = np.linalg.cholesky(Sig)                         # lower Cholesky of H^-1 (H is positive definite)
        logdetC = np.sum(np.log(np.diagonal(C, axis1=1, axis2=2)), axis=1)
        pts = u[:, None, :] + np.einsum("kqr,nr->knq", C, self.nodes)      # K x N x q
        eta = eta0[:, None, :] + np.einsum("ktq,knq->knt", ZL, pts)       # K x N x T
        ll, _, _ = _loglik_kernel_nodes(d, eta)
        terms = ll.sum(axis=2) - 0.5 * np.sum(pts ** 2, axis=2) - 0.5 * q * math.log(2 * math.pi) \
            + self.logw[None, :]
        return u, H, eta0, ZL, W, g, Sig, C, logdetC, pts, eta, terms

    def subject_loglik_L(self, beta, L) -> np.ndarray:
        d = self.d
        try:
            *_, logdetC, pts, eta, terms = self._nodes(beta, L)
        except np.linalg.LinAlgError:
            return np.full(d.X.shape[0], -np.inf)
        m = terms.max(axis=1, keepdims=True)
        return logdetC + m[:, 0] + np.log(np.exp(terms - m).sum(axis=1)) + d.logc

    def mode_jacobian(self, beta, theta):
        """(modes of g, their inverse negative Hessians, d modes / d(beta, theta)) for every subject, theta on
        SAS's scale (G positive definite)."""
        G = self.cov.G(theta)
        L = np.linalg.cholesky(G)
        dL = cholesky_derivative(L, _dG(self.cov, theta))
        u, H, eta0, ZL, W, g = self.modes_u(beta, L)
        Sig = np.linalg.inv(H)
        du = self._mode_derivative(u, Sig, ZL, W, g, *self._moved_design(dL, u))
        p = len(beta)
        db = np.einsum("qr,krm->kqm", L, du)
        db[:, :, p:] += np.einsum("qrm,kr->kqm", dL, u)
        return u @ L.T, np.einsum("qa,kab,rb->kqr", L, Sig, L), db

    def _moved_design(self, dL, u):
        """d(Z L)/dphi (K x T x q x t) and its product with the modes, d(Z L)/dphi u (K x T x t)."""
        dZL = np.einsum("ktq,qrm->ktrm", self.d.Z, dL)
        return dZL, np.einsum("ktqm,kq->ktm", dZL, u)

    def _mode_derivative(self, u, Sig, ZL, W, g, dZL, dZLu):
        """d u_hat / d(beta, covariance coordinates) by the implicit function theorem: the mode solves
        F = (ZL)'g - u = 0, so H du = dF with dF the derivative of F in the parameters."""
        d = self.d
        K, q = u.shape
        p, t = d.X.shape[2], dZL.shape[3]
        dF = np.zeros((K, q, p + t))
        dF[:, :, :p] = -np.einsum("ktq,kt,ktp->kqp", ZL, W, d.X, optimize=True)
        dF[:, :, p:] = np.einsum("ktqm,kt->kqm", dZL, g) - np.einsum("ktq,kt,ktm->kqm", ZL, W, dZLu, optimize=True)
        return np.einsum("kqr,krm->kqm", Sig, dF)

    def subject_grad(self, beta, theta):
        """(log L_i, d log L_i / d(beta, theta)) for all subjects, theta on SAS's scale (G positive definite)."""
        G = self.cov.G(theta)
        try:
            L = np.linalg.cholesky(G)
        except np.linalg.LinAlgError:
            K = self.d.X.shape[0]
            return np.full(K, -np.inf), np.zeros((K, len(beta) + self.cov.npar))
        return self.subject_grad_L(beta, L, cholesky_derivative(L, _dG(self.cov, theta)))

    def subject_grad_L(self, beta, L, dL):
        """(log L_i, d log L_i / d(beta, phi)) for all subjects, where G = L L' and dL = dL/dphi (q x q x t):
        the exact derivative of the adaptive quadrature approximation, including the movement of the mode and
        of the scaling."""
        d = self.d
        p, t = len(beta), dL.shape[2]
        K = d.X.shape[0]
        try:
            u, H, eta0, ZL, W, g_hat, Sig, C, logdetC, pts, eta, terms = self._nodes(beta, L)
        except np.linalg.LinAlgError:
            return np.full(K, -np.inf), np.zeros((K, p + t))
        dZL, dZLu = self._moved_design(dL, u)
        du = self._mode_derivative(u, Sig, ZL, W, g_hat, dZL, dZLu)       # K x q x P
        deta = np.einsum("ktq,kqm->ktm", ZL, du)
        deta[:, :, :p] += d.X
        deta[:, :, p:] += dZLu
        eta_hat = eta0 + np.einsum("ktq,kq->kt", ZL, u)
        dW = _dW_deta(d, eta_hat)[:, :, None] * deta                      # K x T x P
        dH = np.einsum("ktq,ktm,ktr->kqrm", ZL, dW, ZL, optimize=True)
        A = np.einsum("ktqm,kt,ktr->kqrm", dZL, W, ZL, optimize=True)
        dH[:, :, :, p:] += A + A.transpose(0, 2, 1, 3)
        # Cholesky derivative: dC = C Phi(-C' dH C)
        inner = -np.einsum("kaq,kabm,kbr->kqrm", C, dH, C, optimize=True)
        dC = np.einsum("kqa,karm->kqrm", C, _phi_lower(np.moveaxis(inner, -1, 1)).transpose(0, 2, 3, 1))
        dlogdetC = -0.5 * np.einsum("kqr,krqm->km", Sig, dH)
        mx = terms.max(axis=1, keepdims=True)
        ex = np.exp(terms - mx)
        tot = ex.sum(axis=1)
        pi = ex / tot[:, None]
        value = logdetC + mx[:, 0] + np.log(tot) + d.logc
        g = _score_nodes(d, eta)                                          # K x N x T
        # every node term enters only through its pi-weighted sum, so contract over the nodes first
        gbar = np.einsum("kn,knt->kt", pi, g)                             # K x T
        dTdu = np.einsum("ktq,knt->knq", ZL, g) - pts                     # K x N x q
        dTdu_bar = np.einsum("kn,knq->kq", pi, dTdu)
        dTdu_z = np.einsum("kn,knq,nr->kqr", pi, dTdu, self.nodes, optimize=True)
        grad = dlogdetC.copy()
        grad[:, :p] += np.einsum("kt,ktp->kp", gbar, d.X)
        M = np.einsum("kn,knt,knr->ktr", pi, g, pts, optimize=True)       # the nodes' linear predictors move with L
        grad[:, p:] += np.einsum("ktrm,ktr->km", dZL, M)
        grad += np.einsum("kq,kqm->km", dTdu_bar, du)
        grad += np.einsum("kqr,kqrm->km", dTdu_z, dC)
        return value, grad


def _dW_deta(d: GLMMData, eta):
    """d W / d eta (W = -d2 log f / d eta2), exact for the canonical links, numerical otherwise."""
    fam, link, w, m = d.fam, d.link, d.w, d.mask
    if isinstance(fam, Binomial) and link.name == "logit":
        mu = fam.clip(link.inv(eta))
        out = w * mu * (1 - mu) * (1 - 2 * mu)
    elif isinstance(fam, Poisson) and link.name == "log":
        out = w * link.inv(eta)
    else:
        h = 1e-5
        out = (_loglik_kernel(d, eta + h)[2] - _loglik_kernel(d, eta - h)[2]) / (2 * h)
    return np.where(m, out, 0.0)


def _score_nodes(d: GLMMData, eta):
    """d log f / d eta at the nodes (K x N x T)."""
    fam, link = d.fam, d.link
    y, w, m = d.y[:, None, :], d.w[:, None, :], d.mask[:, None, :]
    mu = fam.clip(link.inv(eta))
    if isinstance(fam, (Beta, OrdinalFamily)):
        g = fam.dll_dmu(y, mu, w)[0] * link.dmu_deta(eta)
    else:
        g = w * (y - mu) * link.dmu_deta(eta) / (fam.variance(mu) * _dispersion(fam))
    return np.where(m, g, 0.0)


def _loglik_kernel_nodes(d: GLMMData, eta):
    fam, link = d.fam, d.link
    y, w, m = d.y[:, None, :], d.w[:, None, :], d.mask[:, None, :]
    ll = _ll_units(fam, y, fam.clip(link.inv(eta)), w)
    return np.where(m, ll, 0.0), None, None


# ---------------------------------------------------------------------- fitting
@dataclass
class GLMMResult:
    beta: np.ndarray
    theta: np.ndarray               # covariance parameters, SAS scale
    loglik: float
    cov: np.ndarray                 # (p + t) x (p + t): inverse Hessian or sandwich
    cov_model: np.ndarray
    converged: bool
    iterations: int
    qpoints: int
    grad_max: float
    subj_grads: np.ndarray | None = None
    hessian: np.ndarray | None = None
    modes: np.ndarray | None = None
    G: np.ndarray | None = None
    message: str = ""
    history: list = field(default_factory=list)     # (iteration, evaluations, objective, change, max gradient)
    mode_var: np.ndarray | None = None               # K x q x q: inverse Hessian at the modes
    scale: float | None = None                       # negative binomial k (last row/column of cov)
    cutpoints: np.ndarray | None = None               # cumulative models: the intercepts (last rows of cov)
    mode_jac: np.ndarray | None = None                # K x q x (rows of cov): d modes / d parameters


def choose_qpoints(agq: AGQ, beta, theta, qtol=1e-4, maxpts=31) -> int:
    """SAS's adaptive choice of the number of quadrature points at the starting values."""
    G = agq.cov.G(theta)

    def at(n):
        agq.set_points(n)
        return -2 * float(agq.subject_loglik(beta, G).sum())
    return select_qpoints(at, qtol, maxpts)


class _Extra:
    """Distribution parameters estimated with (beta, theta): a scale (negative binomial k, gamma or beta phi;
    optimised on the log scale) or the ordered cutpoints of a cumulative model (first cutpoint and log gaps)."""

    def __init__(self, fam):
        self.fam = fam
        self.cut = isinstance(fam, OrdinalFamily)
        self.attr = None if self.cut else scale_attr(fam)
        self.n = (len(fam.alpha) if self.cut else 1) if (self.cut or self.attr) else 0

    def get(self):
        return np.array(self.fam.alpha, dtype=float) if self.cut else np.array([getattr(self.fam, self.attr)])

    def set(self, v):
        if self.cut:
            self.fam.alpha = np.asarray(v, dtype=float)
        else:
            setattr(self.fam, self.attr, float(v[0]))

    def to_internal(self, v):
        v = np.asarray(v, dtype=float)
        if self.cut:
            return np.concatenate([v[:1], np.log(np.maximum(np.diff(v), 1e-8))])
        return np.log(v)

    def from_internal(self, x):
        x = np.asarray(x, dtype=float)
        if self.cut:
            return np.concatenate([x[:1], x[0] + np.cumsum(np.exp(x[1:]))])
        return np.exp(x)

    def jacobian(self, x):
        """d natural / d internal (n x n)."""
        x = np.asarray(x, dtype=float)
        if self.cut:
            J = np.zeros((self.n, self.n))
            J[:, 0] = 1.0
            for j in range(1, self.n):
                J[j:, j] = math.exp(x[j])
            return J
        return np.diag(np.exp(x))

    def derivative(self, agq, beta, theta, v):
        """d log L_i / d v_j per subject (K x n), by central differences of the quadrature log likelihood
        (the modes are re-solved at each value)."""
        G = agq.cov.G(theta)

        def loglik_at(vv):
            self.set(vv)
            return agq.subject_loglik(beta, G)
        out = jacobian_of_function(loglik_at, v, 1e-5, range(self.n))
        self.set(v)
        return out


def _forward_hessian(grad, z, idx):
    """The Hessian over the coordinates idx by forward differences of an analytic gradient (restricted to
    idx), as SAS computes it, symmetrised."""
    g0 = grad(z)
    H = np.zeros((len(idx), len(idx)))
    for a, j in enumerate(idx):
        h = 1e-6 * max(1.0, abs(z[j]))
        e = np.zeros(len(z))
        e[j] = h
        H[:, a] = (grad(z + e) - g0) / h
    return (H + H.T) / 2


def fit(agq: AGQ, beta0, theta0, maxiter=200, gconv=1e-8, empirical=False, beta_cov0=None, k0=None,
        hold=None) -> GLMMResult:
    """Maximise the quadrature log likelihood over (beta, covariance parameters[, scale]); ``hold`` marks
    covariance (and scale) parameters kept at their starting values (PARMS HOLD= / NOITER).  Held parameters
    must have one-to-one internal coordinates (all of them, or VC/CS/CHOL/scale ones)."""
    cov = agq.cov
    p = len(beta0)
    t = cov.npar
    ext = _Extra(agq.d.fam)
    ne = ext.n
    nb = ne > 0
    n = p + t + ne

    def subject_grad_all(beta, theta, k=None):
        """Per-subject (log L_i, gradient) over (beta, theta[, extra parameters])."""
        if not nb:
            return agq.subject_grad(beta, theta)
        ext.set(k)
        val, gr = agq.subject_grad(beta, theta)
        dk = ext.derivative(agq, beta, theta, np.asarray(k, dtype=float))
        return val, np.column_stack([gr, dk])

    def subject_grad_internal(beta, fac, theta, k=None):
        """Per-subject (log L_i, gradient) over (beta, internal covariance coordinates[, extra parameters])."""
        if nb:
            ext.set(k)
        val, gr = agq.subject_grad_L(beta, *fac)
        if not nb:
            return val, gr
        return val, np.column_stack([gr, ext.derivative(agq, beta, theta, np.asarray(k, dtype=float))])

    def jac_internal(xi):
        return jacobian_of_function(cov.from_internal, xi, 1e-7, range(t))

    cache = {}
    history = []
    nevals = [0]

    def f_and_g(x):
        key = x.tobytes()
        if key in cache:
            return cache[key]
        nevals[0] += 1
        beta, xi = x[:p], x[p:p + t]
        theta = cov.from_internal(xi)
        k = ext.from_internal(x[p + t:]) if nb else None
        fac = internal_factor(cov, xi)
        if fac is None:
            val, gr = subject_grad_all(beta, theta, k)
        else:
            # the gradient in the internal coordinates directly (valid on a singular G as well)
            val, gr = subject_grad_internal(beta, fac, theta, k)
        v = -float(val.sum())
        if not np.isfinite(v):
            out = (1e300, np.zeros_like(x))
        else:
            gtot = -gr.sum(axis=0)
            parts = [gtot[:p], gtot[p:p + t] if fac is not None else gtot[p:p + t] @ jac_internal(xi)]
            if nb:
                parts.append(gtot[p + t:] @ ext.jacobian(x[p + t:]))   # optimised on the internal scale
            gx = np.concatenate(parts)
            out = (v, gx)
        cache.clear()
        cache[key] = out
        return out

    if nb:
        k0v = np.atleast_1d(np.asarray(k0 if k0 is not None else ext.get(), dtype=float))
    x0 = np.concatenate([beta0, cov.to_internal(theta0)] + ([ext.to_internal(k0v)] if nb else []))
    free = np.ones(n, dtype=bool)
    if hold is not None:
        free[p:] = ~np.asarray(hold, dtype=bool)
    opts0 = {}
    if beta_cov0 is not None:
        # a scaled starting inverse Hessian (GLM covariance for beta) saves many BFGS iterations
        H0 = np.eye(n) * 0.05
        bc = (np.asarray(beta_cov0) + np.asarray(beta_cov0).T) / 2
        H0[:p, :p] = bc * 4.0 + np.eye(p) * 1e-8
        if np.any(np.linalg.eigvalsh(H0) <= 0):
            H0 = np.eye(n) * 0.05
        opts0 = {"hess_inv0": H0[np.ix_(free, free)]}
    f_full = f_and_g
    x_fixed = x0.copy()

    def f_and_g(y):                      # noqa: F811 - the objective over the free coordinates
        x = x_fixed.copy()
        x[free] = y
        v, gx = f_full(x)
        return v, gx[free]

    def full_x(y):
        x = x_fixed.copy()
        x[free] = y
        return x
    x0 = x0[free]
    if agq.n > 7:
        # a few-point fit is cheap and lands close to the many-point optimum: start from there
        target = agq.n
        agq.set_points(5)
        res0 = optimize.minimize(lambda x: f_and_g(x)[0], x0, jac=lambda x: f_and_g(x)[1], method="BFGS",
                                 options={"maxiter": maxiter, "gtol": 1e-5, **opts0})
        if np.all(np.isfinite(res0.x)):
            x0 = res0.x
        agq.set_points(target)
        cache.clear()
    prev = [f_and_g(x0)[0]]
    history.append((0, nevals[0], 2 * prev[0], math.nan, float(np.max(np.abs(f_and_g(x0)[1])))))

    def record(xk):
        v, gk = f_and_g(xk)
        history.append((len(history), nevals[0], 2 * v, 2 * (prev[0] - v), float(np.max(np.abs(gk)))))
        prev[0] = v

    res = optimize.minimize(lambda x: f_and_g(x)[0], x0, jac=lambda x: f_and_g(x)[1], method="BFGS",
                            callback=record, options={"maxiter": maxiter, "gtol": 1e-7, **opts0})
    x = full_x(res.x)
    # A variance that the optimiser drives to 0 with the likelihood still falling towards the boundary is an
    # estimate on the boundary (SAS reports it as 0 with no standard error): hold it there and finish the fit
    # over the other parameters; convergence is then judged on those (the projected gradient).
    zb = cov.zero_bounded() & free[p:p + t]
    if zb.any():
        th = cov.from_internal(x[p:p + t])
        gnat = -subject_grad_all(x[:p], th, ext.from_internal(x[p + t:]) if nb else None)[1].sum(axis=0)[p:p + t]
        tiny = zb & (th <= 1e-6 * max(1.0, float(np.max(np.abs(th))))) & (gnat > 0)
        if tiny.any():
            hold = np.asarray(hold, dtype=bool).copy() if hold is not None else np.zeros(n - p, dtype=bool)
            hold[:t] |= tiny
            x_fixed = x.copy()
            x_fixed[p:p + t] = np.where(tiny, cov.to_internal(np.where(tiny, 0.0, th)), x_fixed[p:p + t])
            theta0 = np.where(tiny, 0.0, np.asarray(theta0, dtype=float))
            free = np.ones(n, dtype=bool)
            free[p:] = ~hold
            cache.clear()
            res = optimize.minimize(lambda y: f_and_g(y)[0], x_fixed[free], jac=lambda y: f_and_g(y)[1],
                                    method="BFGS", callback=record, options={"maxiter": maxiter, "gtol": 1e-7})
            x = full_x(res.x)
    # UN/CHOL: a Cholesky pivot that the optimiser drives to 0 is a singular G (a correlation of +/-1, or a
    # variance of 0 with its covariances): the estimate is on the boundary of the parameter space.  Hold that
    # coordinate at exactly 0 and finish the fit over the others (the quadrature is over u with g = L u, so a
    # singular L is a valid point); the covariances then come from the internal coordinates (below).
    sing = _vanishing_pivots(cov, x[p:p + t]) & free[p:p + t]
    boundary = None
    if sing.any():
        xs = x.copy()
        xs[p:p + t] = np.where(sing, 0.0, xs[p:p + t])
        if f_full(xs)[0] <= f_full(x)[0] + 1e-9 * max(1.0, abs(f_full(x)[0])):
            x_fixed = xs
            free = free.copy()
            free[p:p + t] &= ~sing
            cache.clear()
            res = optimize.minimize(lambda y: f_and_g(y)[0], x_fixed[free], jac=lambda y: f_and_g(y)[1],
                                    method="BFGS", callback=record, options={"maxiter": maxiter, "gtol": 1e-7})
            x = full_x(res.x)
            boundary = free.copy()
    beta, theta = x[:p], cov.from_internal(x[p:p + t])
    kk = ext.from_internal(x[p + t:]) if nb else None
    if boundary is not None:
        return _fit_on_boundary(agq, ext, x, boundary, res, empirical, history, subject_grad_internal)
    if hold is not None:                 # held values exactly as given (no round trip through the internal scale)
        hm = np.asarray(hold, dtype=bool)
        # (a variance held at 0 stays at its internal floor for the computations below and is reported as 0)
        theta = np.where(hm[:t] & (np.asarray(theta0, dtype=float) > 0), np.asarray(theta0, dtype=float), theta)
        if nb:
            kk = np.where(hm[t:], k0v, kk)
    z = np.concatenate([beta, theta] + ([kk] if nb else []))

    def total_grad(zz):
        return -subject_grad_all(zz[:p], zz[p:p + t], zz[p + t:] if nb else None)[1].sum(axis=0)

    # Hessian by forward differences of the analytic gradient (as SAS does)
    Hm = _forward_hessian(total_grad, z, range(n))
    cov_model = np.zeros((n, n))
    Hf = Hm[np.ix_(free, free)]
    try:
        cov_model[np.ix_(free, free)] = np.linalg.inv(Hf)
    except np.linalg.LinAlgError:
        cov_model[np.ix_(free, free)] = np.linalg.pinv(Hf)
    val, S = subject_grad_all(beta, theta, kk)
    S = np.where(free[None, :], S, 0.0)
    ll = float(val.sum())
    cov_e = cov_model @ (S.T @ S) @ cov_model if empirical else cov_model
    gmax = float(np.max(np.abs(S.sum(axis=0)))) if n else 0.0
    jac = _mode_jacobian_all(agq, ext, beta, theta, kk)
    b, Sig = agq.modes(beta, cov.G(theta))
    if hold is not None:
        theta = np.where(hm[:t] & (np.asarray(theta0, dtype=float) == 0), 0.0, theta)
    return GLMMResult(beta, theta, ll, cov_e, cov_model, bool(res.success) or gmax < 1e-3, int(res.nit), agq.n,
                      gmax, S, Hm, b.copy(), cov.G(theta), str(res.message), history, Sig,
                      (float(kk[0]) if nb and not ext.cut else None), (kk if ext.cut else None), jac)


def _vanishing_pivots(cov: CovStruct, xi) -> np.ndarray:
    """Internal coordinates of UN/CHOL that are diagonal elements of the Cholesky factor and (nearly) 0."""
    out = np.zeros(len(xi), dtype=bool)
    if type(cov) not in (UN, CHOL):
        return out
    r, c = np.tril_indices(cov.q)
    diag = r == c
    L = _lower(xi, cov.q)
    scale = float(np.max(np.abs(np.diagonal(L)))) if cov.q else 0.0
    return diag & (np.abs(np.asarray(xi, dtype=float)) <= 1e-4 * scale)


def _fit_on_boundary(agq: AGQ, ext: _Extra, x, free, res, empirical, history, subject_grad_internal) -> GLMMResult:
    """Covariances and results for an estimate with a singular G (a Cholesky pivot held at 0).  SAS's scale
    has no derivatives there (G cannot move off the boundary in every direction), so the Hessian is taken by
    forward differences of the analytic gradient over the free internal coordinates w (the Cholesky elements)
    and carried to SAS's scale by the delta method, C = J H_w^-1 J' with J = d(beta, theta, scale)/dw; the
    sandwich likewise.  The modes' derivatives for the prediction variance are carried the same way
    (D_w = D J^+ J, so D J^+ C J^+' D' = D_w H_w^-1 D_w')."""
    cov = agq.cov
    p = agq.d.X.shape[2]
    t = cov.npar
    nb = ext.n > 0
    n = len(x)
    idx = np.nonzero(free)[0]

    def natural(xx):
        parts = [xx[:p], cov.from_internal(xx[p:p + t])]
        if nb:
            parts.append(ext.from_internal(xx[p + t:]))
        return np.concatenate(parts)

    def scores(xx):
        theta = cov.from_internal(xx[p:p + t])
        k = ext.from_internal(xx[p + t:]) if nb else None
        val, gr = subject_grad_internal(xx[:p], internal_factor(cov, xx[p:p + t]), theta, k)
        if nb:
            gr = np.column_stack([gr[:, :p + t], gr[:, p + t:] @ ext.jacobian(xx[p + t:])])
        return val, gr[:, idx]

    val, S = scores(x)
    g0 = -S.sum(axis=0)
    m = len(idx)
    Hw = _forward_hessian(lambda xx: -scores(xx)[1].sum(axis=0), x, idx)
    try:
        Cw = np.linalg.inv(Hw)
    except np.linalg.LinAlgError:
        Cw = np.linalg.pinv(Hw)
    J = jacobian_of_function(natural, x, 1e-7, idx)
    cov_model = J @ Cw @ J.T
    cov_e = J @ Cw @ (S.T @ S) @ Cw @ J.T if empirical else cov_model
    beta, z = x[:p], natural(x)
    theta = z[p:p + t]
    kk = z[p + t:] if nb else None
    L = internal_factor(cov, x[p:p + t])[0]

    def modes_at(xx):
        if nb:
            ext.set(ext.from_internal(xx[p + t:]))
        Lx = internal_factor(cov, xx[p:p + t])[0]
        return agq.modes_u(xx[:p], Lx)[0] @ Lx.T
    Dw = jacobian_of_function(modes_at, x, 1e-6, idx)
    if nb:
        ext.set(kk)                     # (modes_at left the last perturbed value)
    u, H, *_ = agq.modes_u(beta, L)
    Sig = np.einsum("qa,kab,rb->kqr", L, np.linalg.inv(H), L)
    jac = np.einsum("kqa,an->kqn", Dw, np.linalg.pinv(J))
    gmax = float(np.max(np.abs(g0))) if m else 0.0
    Sfull = np.zeros((S.shape[0], n))
    Sfull[:, idx] = S
    return GLMMResult(beta, theta, float(val.sum()), cov_e, cov_model, bool(res.success) or gmax < 1e-3,
                      int(res.nit), agq.n, gmax, Sfull, None, u @ L.T, L @ L.T, str(res.message), history, Sig,
                      (float(kk[0]) if nb and not ext.cut else None), (kk if ext.cut else None), jac)


def _mode_jacobian_all(agq: AGQ, ext: _Extra, beta, theta, extra):
    """d(modes)/d(all parameters) at the estimates, K x q x (p + t + extra): analytic for the fixed effects and
    covariance parameters, central differences for a scale or the cutpoints (the modes re-solved)."""
    J = agq.mode_jacobian(beta, theta)[2]
    if not ext.n:
        return J
    G = agq.cov.G(theta)
    v = np.asarray(extra, dtype=float)

    def modes_at(vv):
        ext.set(vv)
        return agq.modes(beta, G)[0]
    Dk = jacobian_of_function(modes_at, v, 1e-5, range(ext.n))
    ext.set(v)
    return np.concatenate([J, Dk], axis=2)


def fit_beta_glm(X, y, w, offset, link, beta0, phi0):
    """Beta regression without random effects by maximum likelihood over (beta, phi), with the analytic
    score; returns (beta, phi, covariance of (beta, phi) from the Hessian of the score, log likelihood)."""
    fam = Beta()
    p = X.shape[1]

    def ll_grad(z):
        beta, phi = z[:p], z[p]
        fam.phi = phi
        eta = X @ beta + offset
        mu = fam.clip(link.inv(eta))
        ll = float(np.sum(fam.loglik_units(y, mu, w)))
        s1, _ = fam.dll_dmu(y, mu, w)
        gb = X.T @ (s1 * link.dmu_deta(eta))
        gphi = float(np.sum(w * (sp.digamma(phi) - mu * sp.digamma(mu * phi) - (1 - mu) * sp.digamma((1 - mu) * phi)
                                 + mu * np.log(y) + (1 - mu) * np.log1p(-y))))
        return ll, np.concatenate([gb, [gphi]])

    def obj(x):
        z = np.concatenate([x[:p], [math.exp(x[p])]])
        ll, g = ll_grad(z)
        return -ll, -np.concatenate([g[:p], [g[p] * z[p]]])
    res = optimize.minimize(obj, np.concatenate([beta0, [math.log(phi0)]]), jac=True, method="BFGS",
                            options={"gtol": 1e-9, "maxiter": 500})
    z = np.concatenate([res.x[:p], [math.exp(res.x[p])]])
    n = p + 1

    def neg_hessian(z):
        H = np.zeros((n, n))
        g0 = ll_grad(z)[1]
        for j in range(n):
            h = 1e-6 * max(1.0, abs(z[j]))
            e = np.zeros(n)
            e[j] = h
            H[:, j] = -(ll_grad(z + e)[1] - g0) / h
        return (H + H.T) / 2, g0
    for _ in range(3):                  # Newton polish of the quasi-Newton optimum
        H, g0 = neg_hessian(z)
        step = np.linalg.solve(H, g0)
        if z[p] + step[p] <= 0:
            break
        z = z + step
    H, _ = neg_hessian(z)
    ll = ll_grad(z)[0]
    return z[:p], z[p], np.linalg.inv(H), ll
