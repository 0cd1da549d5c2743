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
import re
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize


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

    def full(self, th, K: int, T: int) -> np.ndarray:
        """The matrix for every subject: T x T (the same for all) or K x T x T (structures that depend on
        per-subject coordinates or groups)."""
        return self.matrix(th)

    def canonical(self, th) -> np.ndarray:
        """The reported parameter vector (e.g. factor loadings with a positive diagonal)."""
        return np.asarray(th, dtype=float)

    @property
    def npar(self):
        return len(self.names())


class VCs(Struct):
    """Variance components: a diagonal matrix whose columns share a variance by group (SAS gives one
    variance per RANDOM effect, however many columns a CLASS effect has)."""
    sas = "VC"

    def __init__(self, d, labels=None, groups=None):
        super().__init__(d)
        self.groups = np.arange(d) if groups is None else np.asarray(groups, dtype=int)
        labels = labels or ["Variance"] * d
        first = [int(np.nonzero(self.groups == g)[0][0]) for g in range(int(self.groups.max()) + 1)] if d else []
        self.labels = [labels[i] for i in first]

    def names(self):
        return list(self.labels)

    def matrix(self, th):
        return np.diag(np.asarray(th, dtype=float)[self.groups])

    def start(self, var):
        return np.full(len(self.labels), var / 2)

    def bounds(self):
        return [(0.0, None)] * len(self.labels)


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
    """Toeplitz; TOEP(q) keeps the first q bands (lags 0..q-1) and sets the others to zero."""
    sas = "TOEP"

    def __init__(self, d, bands=None):
        super().__init__(d)
        self.bands = d if bands is None else max(1, min(int(bands), d))

    def names(self):
        return [f"TOEP({k})" for k in range(2, self.bands + 1)] + ["Residual"]

    def matrix(self, th):
        t = np.arange(self.d)
        lag = np.abs(t[:, None] - t[None, :])
        vals = np.concatenate([[th[-1]], th[:-1], np.zeros(self.d - self.bands)])
        return vals[lag]

    def start(self, var):
        return np.concatenate([np.zeros(self.bands - 1), [var]])

    def bounds(self):
        return [(None, None)] * (self.bands - 1) + [(0.0, None)]


class _HeteroVar(Struct):
    """Heterogeneous variances Var(1..d) times a correlation matrix with its own parameters (listed after the
    variances): Sigma_ij = sigma_i sigma_j C_ij.  Subclasses give the correlation names and C."""
    corr_lo = -0.999999

    def corr_names(self) -> list[str]:
        raise NotImplementedError

    def corr(self, rho) -> np.ndarray:
        raise NotImplementedError

    def names(self):
        return [f"Var({i + 1})" for i in range(self.d)] + self.corr_names()

    def matrix(self, th):
        th = np.asarray(th, dtype=float)
        sd = np.sqrt(np.maximum(th[:self.d], 0.0))
        return np.outer(sd, sd) * self.corr(th[self.d:])

    def start(self, var):
        return np.concatenate([np.full(self.d, var), np.full(len(self.corr_names()), 0.3)])

    def bounds(self):
        return [(1e-10, None)] * self.d + [(self.corr_lo, 0.999999)] * len(self.corr_names())


class HeteroCorr(_HeteroVar):
    """CSH and ARH(1): heterogeneous variances Var(1..d) with a common correlation rho
    (CSH: rho off the diagonal; ARH(1): rho^|i-j|)."""

    def __init__(self, d, ar: bool):
        super().__init__(d)
        self.ar = ar
        self.sas = "ARH(1)" if ar else "CSH"
        self.corr_lo = -0.999999 if ar else -1.0 / max(d - 1, 1) + 1e-6

    def corr_names(self):
        return [self.sas]

    def corr(self, rho):
        t = np.arange(self.d)
        lag = np.abs(t[:, None] - t[None, :])
        return rho[0] ** lag if self.ar else np.where(lag == 0, 1.0, rho[0])


class ANTE1s(_HeteroVar):
    """ANTE(1), first-order ante-dependence: C_ij = rho_i rho_(i+1) ... rho_(j-1) (Var(k), Rho(k))."""
    sas = "ANTE(1)"

    def corr_names(self):
        return [f"Rho({k + 1})" for k in range(self.d - 1)]

    def corr(self, rho):
        C = np.eye(self.d)
        for i in range(self.d):
            c = 1.0
            for j in range(i + 1, self.d):
                c *= rho[j - 1]
                C[i, j] = C[j, i] = c
        return C


class TOEPHs(_HeteroVar):
    """TOEPH and the banded TOEPH(q), heterogeneous Toeplitz: C_ij = rho_|i-j| for lags below q, 0 beyond
    (Var(k), TOEPH(k))."""
    sas = "TOEPH"

    def __init__(self, d, bands=None):
        super().__init__(d)
        self.bands = d if bands is None else max(1, min(int(bands), d))

    def corr_names(self):
        return [f"TOEPH({k})" for k in range(1, self.bands)]

    def corr(self, rho):
        t = np.arange(self.d)
        lag = np.abs(t[:, None] - t[None, :])
        vals = np.concatenate([[1.0], np.asarray(rho, dtype=float), np.zeros(self.d - self.bands)])
        return vals[lag]


class UNRs(_HeteroVar):
    """UNR, unstructured with its variances and correlations as parameters (Var(k), Corr(i,j))."""
    sas = "UNR"

    def corr_names(self):
        return [f"Corr({i + 1},{j + 1})" for i in range(self.d) for j in range(i)]

    def corr(self, rho):
        C = np.eye(self.d)
        C[np.tril_indices(self.d, -1)] = rho
        return C + np.tril(C, -1).T

    def start(self, var):
        return np.concatenate([np.full(self.d, var), np.zeros(len(self.corr_names()))])


class ARMA11s(Struct):
    """ARMA(1,1): sigma^2 on the diagonal, sigma^2 gamma rho^(|i-j|-1) off it (Rho, Gamma, Residual)."""
    sas = "ARMA(1,1)"

    def names(self):
        return ["Rho", "Gamma", "Residual"]

    def matrix(self, th):
        rho, gamma, s2 = (float(v) for v in th)
        t = np.arange(self.d)
        lag = np.abs(t[:, None] - t[None, :])
        C = np.where(lag == 0, 1.0, gamma * rho ** np.maximum(lag - 1, 0))
        return s2 * C

    def start(self, var):
        return np.array([0.3, 0.3, var])

    def bounds(self):
        return [(-0.999999, 0.999999), (-0.999999, 0.999999), (0.0, None)]


class FA0s(Struct):
    """FA0(q): G = L L' with L lower triangular d x q (no diagonal term); reported as FA(i,j), the diagonal
    of L made positive."""

    def __init__(self, d, q, chol: bool = False):
        super().__init__(d)
        self.q = min(q, d)
        self.chol = chol
        self.sas = "CHOL" if chol else f"FA0({self.q})"
        self.idx = [(i, j) for i in range(d) for j in range(min(i + 1, self.q))]

    def names(self):
        return [f"{'CHOL' if self.chol else 'FA'}({i + 1},{j + 1})" for i, j in self.idx]

    def _L(self, th):
        L = np.zeros((self.d, self.q))
        for k, (i, j) in enumerate(self.idx):
            L[i, j] = th[k]
        return L

    def matrix(self, th):
        L = self._L(th)
        return L @ L.T

    def start(self, var):
        return np.array([math.sqrt(var) if i == j else 0.0 for i, j in self.idx])

    def canonical(self, th):
        L = self._L(th)
        sign = np.where(np.diag(L[:self.q, :self.q]) < 0, -1.0, 1.0)
        L = L * sign[None, :]
        return np.array([L[i, j] for i, j in self.idx])


SP_KINDS = ("pow", "exp", "gau", "sph", "lin")


class SPs(Struct):
    """Isotropic spatial structures sigma^2 f(d_ij) with d_ij the Euclidean distance between the coordinates
    of two observations of a subject (coords K x T x c), as the MIXED documentation defines them:
    SP(POW) rho^d, SP(EXP) exp(-d/theta), SP(GAU) exp(-d^2/theta^2), SP(SPH) 1 - 3d/(2 theta) + d^3/(2 theta^3)
    for d <= theta (0 beyond), SP(LIN) 1 - rho d for rho d <= 1 (0 beyond).  Parameters: the correlation or
    range parameter (named SP(kind)), then the variance (Residual)."""

    def __init__(self, d, coords, kind: str = "pow"):
        super().__init__(d)
        if kind not in SP_KINDS:
            raise ValueError(kind)
        self.kind = kind
        self.sas = f"SP({kind.upper()})"
        c = np.asarray(coords, dtype=float)
        self.dist = np.sqrt(((c[:, :, None, :] - c[:, None, :, :]) ** 2).sum(axis=-1))

    def names(self):
        return [self.sas, "Residual"]

    def matrix(self, th):
        return self.full(th, 0, 0)[0]

    def corr(self, p):
        d = self.dist
        if self.kind == "pow":
            return np.power(p, d)
        if self.kind == "exp":
            return np.exp(-d / p)
        if self.kind == "gau":
            return np.exp(-(d / p) ** 2)
        if self.kind == "sph":
            r = np.minimum(d / p, 1.0)
            return 1 - 1.5 * r + 0.5 * r ** 3
        return np.maximum(1 - p * d, 0.0)        # lin

    def full(self, th, K, T):
        return th[1] * self.corr(th[0])

    def start(self, var):
        if self.kind == "pow":
            return np.array([0.5, var])
        pos = self.dist[self.dist > 0]
        scale = float(np.median(pos)) if pos.size else 1.0
        return np.array([1.0 / scale if self.kind == "lin" else scale, var])

    def start_candidates(self):
        """Values of the correlation/range parameter worth trying as a start (spatial likelihoods are often
        multimodal in the range)."""
        pos = self.dist[self.dist > 0]
        if self.kind == "pow":
            return [0.1, 0.3, 0.5, 0.7, 0.9]
        if not pos.size:
            return []
        # a geometric grid from half the smallest to the largest distance
        qs = list(np.geomspace(float(pos.min()) / 2, float(pos.max()), 12))
        return [1.0 / q for q in qs] if self.kind == "lin" else qs

    def bounds(self):
        if self.kind == "pow":
            return [(1e-8, 0.999999), (0.0, None)]
        return [(1e-8, None), (0.0, None)]


class ScalarResid(Struct):
    """sigma^2 I (the default residual); ``label`` names its parameter (GLIMMIX: "Residual (VC)" with GROUP=)."""
    sas = "VC"

    def __init__(self, d: int, label: str = "Residual"):
        super().__init__(d)
        self.label = label

    def names(self):
        return [self.label]

    def matrix(self, th):
        return np.eye(self.d) * th[0]

    def start(self, var):
        return np.array([var])

    def bounds(self):
        return [(0.0, None)]


class Local(Struct):
    """REPEATED ... LOCAL: a diagonal (nugget) variance added to an R structure.  The structure's own
    "Residual" becomes "Variance" and is listed first (Variance, SP(POW), Residual); the nugget is
    "Residual"."""

    def __init__(self, base: Struct):
        super().__init__(base.d)
        self.base = base
        self.sas = base.sas
        names = base.names()
        k = names.index("Residual") if "Residual" in names else None
        self.order = ([k] if k is not None else []) + [i for i in range(len(names)) if i != k]

    def _base(self, th):
        bt = np.empty(len(self.order))
        bt[self.order] = np.asarray(th[:-1], dtype=float)
        return bt

    def names(self):
        names = ["Variance" if n == "Residual" else n for n in self.base.names()]
        return [names[i] for i in self.order] + ["Residual"]

    def matrix(self, th):
        return self.base.matrix(self._base(th)) + np.eye(self.d) * th[-1]

    def full(self, th, K, T):
        return self.base.full(self._base(th), K, T) + np.eye(T) * th[-1]

    def start(self, var):
        st0 = np.asarray(self.base.start(var), dtype=float)
        names = self.base.names()
        st0 = np.array([v * 0.75 if names[i] == "Residual" else v for i, v in enumerate(st0)])
        return np.concatenate([st0[self.order], [var * 0.25]])

    def bounds(self):
        b = self.base.bounds()
        return [b[i] for i in self.order] + [(0.0, None)]

    def canonical(self, th):
        return np.concatenate([self.base.canonical(self._base(th))[self.order], th[-1:]])


class Grouped(Struct):
    """GROUP=: a separate copy of a structure's parameters for each group; gk gives each subject's group
    (or, for a diagonal structure, each position's group, K x T)."""

    def __init__(self, base: Struct, gk: np.ndarray, glabels: list[str]):
        super().__init__(base.d)
        self.base, self.gk, self.glabels = base, np.asarray(gk, dtype=int), glabels
        self.m = base.npar
        self.sas = base.sas

    def names(self):
        return [n for _ in self.glabels for n in self.base.names()]

    def groups_of_params(self):
        return [g for g in self.glabels for _ in range(self.m)]

    def matrix(self, th):
        return self.base.matrix(th[:self.m])

    def full(self, th, K, T):
        mats = np.stack([np.broadcast_to(self.base.full(th[g * self.m:(g + 1) * self.m], K, T), (K, T, T))
                         for g in range(len(self.glabels))])            # groups x K x T x T
        k = np.arange(K)
        if self.gk.ndim == 1:
            return mats[self.gk, k]
        # per-position groups (diagonal structures): sqrt(D_g) R sqrt(D_g) built from the diagonals
        dg = np.stack([np.diagonal(mats[g], axis1=1, axis2=2) for g in range(len(self.glabels))])  # G x K x T
        d = np.take_along_axis(dg, self.gk[None], axis=0)[0]
        return np.einsum("kt,ts->kts", d, np.eye(T))

    def start(self, var):
        return np.tile(self.base.start(var), len(self.glabels))

    def bounds(self):
        return self.base.bounds() * len(self.glabels)

    def canonical(self, th):
        return np.concatenate([self.base.canonical(th[g * self.m:(g + 1) * self.m]) for g in range(len(self.glabels))])


class GSide(Struct):
    """The RANDOM-statement (G-side) form of a structure whose last parameter is its overall variance (CS,
    AR(1), TOEP): on the RANDOM statement SAS calls that parameter Variance and lists it first."""

    def __init__(self, base: Struct):
        super().__init__(base.d)
        self.base, self.sas = base, base.sas

    @staticmethod
    def _rot(th):
        th = np.asarray(th, dtype=float)
        return np.concatenate([th[1:], th[:1]])

    def names(self):
        return ["Variance"] + self.base.names()[:-1]

    def matrix(self, th):
        return self.base.matrix(self._rot(th))

    def start(self, var):
        s = self.base.start(var)
        return np.concatenate([s[-1:], s[:-1]])

    def bounds(self):
        b = self.base.bounds()
        return b[-1:] + b[:-1]


class BlockDiag(Struct):
    """G of several RANDOM statements: blockdiag over statements of I_m (x) G_j (m copies of statement j's
    block, one per subject of that statement within the processing unit)."""

    def __init__(self, blocks: list[tuple[Struct, int]]):
        super().__init__(sum(s.d * m for s, m in blocks))
        self.blocks = blocks
        self.sas = blocks[0][0].sas if blocks else ""

    def _split(self, th):
        out, i = [], 0
        for s, _ in self.blocks:
            out.append(th[i:i + s.npar])
            i += s.npar
        return out

    def names(self):
        return [n for s, _ in self.blocks for n in s.names()]

    def matrix(self, th):
        M = np.zeros((self.d, self.d))
        o = 0
        for (s, m), t in zip(self.blocks, self._split(th)):
            Gj = s.matrix(t)
            for _ in range(m):
                M[o:o + s.d, o:o + s.d] = Gj
                o += s.d
        return M

    def start(self, var):
        return np.concatenate([s.start(var) for s, _ in self.blocks])

    def bounds(self):
        return [b for s, _ in self.blocks for b in s.bounds()]

    def canonical(self, th):
        return np.concatenate([s.canonical(t) for (s, _), t in zip(self.blocks, self._split(th))])


def is_correlation(name: str) -> bool:
    """Whether a covariance parameter (by its SAS name) is a correlation-type parameter: it does not scale
    with the residual variance, and its confidence limits are Wald limits."""
    return name in ("AR(1)", "CSH", "ARH(1)", "Rho", "Gamma") or \
        re.fullmatch(r"SP\([A-Z]+\)|Rho\(\d+\)|TOEPH\(\d+\)|Corr\(\d+,\d+\)", name) is not None


def is_toep(kind: str) -> bool:
    """TYPE=TOEP or the banded TYPE=TOEP(n)."""
    return re.fullmatch(r"toep(\(\d+\))?", kind.lower()) is not None


def is_extra_kind(kind: str) -> bool:
    """TYPE=ANTE(1), TOEPH, TOEPH(n), UNR or ARMA(1,1)."""
    return re.fullmatch(r"ante\(1\)|toeph(\(\d+\))?|unr|arma\(1,1\)", kind.lower()) is not None


def make_gside(kind: str, d: int, labels=None, groups=None) -> Struct:
    """A structure for a RANDOM statement: CS, AR(1), TOEP and ARMA(1,1) name their overall variance Variance."""
    s = make_struct(kind, d, labels, groups)
    return GSide(s) if isinstance(s, (CSs, AR1s, TOEPs, ARMA11s)) else s


def make_struct(kind: str, d: int, labels=None, groups=None) -> Struct:
    kind = kind.lower()
    if kind in ("vc", "simple", "sim", "un(1)"):
        return VCs(d, labels, groups)
    if kind.startswith("fa0(") and kind.endswith(")") and kind[4:-1].isdigit():
        return FA0s(d, int(kind[4:-1]))
    if kind == "chol":
        return FA0s(d, d, chol=True)
    if kind == "un":
        return UNs(d)
    if kind == "cs":
        return CSs(d)
    if kind in ("ar(1)", "ar1"):
        return AR1s(d)
    if is_toep(kind):
        return TOEPs(d, int(kind[5:-1]) if kind != "toep" else None)
    if kind == "csh":
        return HeteroCorr(d, False)
    if kind in ("arh(1)", "arh1"):
        return HeteroCorr(d, True)
    if kind == "ante(1)":
        return ANTE1s(d)
    m = re.fullmatch(r"toeph(?:\((\d+)\))?", kind)
    if m:
        return TOEPHs(d, int(m.group(1)) if m.group(1) else None)
    if kind == "unr":
        return UNRs(d)
    if kind == "arma(1,1)":
        return ARMA11s(d)
    raise ValueError(kind)


def is_linear(s) -> bool:
    """Whether a structure (None: absent) is linear in its parameters (V = sum_k theta_k V_k)."""
    if s is None:
        return True
    if isinstance(s, BlockDiag):
        return all(is_linear(b) for b, _ in s.blocks)
    if isinstance(s, (Grouped, GSide)):
        return is_linear(s.base)
    return isinstance(s, (VCs, UNs, CSs, TOEPs, ScalarResid, FixedResid))


def _second_difference(fun, th, i, j, h, f0):
    """d2 fun / dtheta_i dtheta_j by central differences (fun scalar- or array-valued; f0 = fun(th))."""
    ei = np.zeros(len(th))
    ej = np.zeros(len(th))
    ei[i] = h[i]
    ej[j] = h[j]
    if i == j:
        return (fun(th + ei) - 2 * f0 + fun(th - ei)) / h[i] ** 2
    return (fun(th + ei + ej) - fun(th + ei - ej) - fun(th - ei + ej) + fun(th - ei - ej)) / (4 * h[i] * h[j])


def _near_singular(L, V) -> bool:
    """A Cholesky factor whose smallest pivot is negligible next to the largest variance: V is numerically
    singular (e.g. every variance on its bound 0), and its log determinant and inverse are meaningless."""
    piv = np.diagonal(L, axis1=1, axis2=2)
    scale = math.sqrt(max(float(np.max(np.diagonal(V, axis1=1, axis2=2))), 1e-300))
    return float(piv.min()) <= 1e-7 * scale


# ---------------------------------------------------------------------- the model on a grid
class PseudoScale(Struct):
    """The R-side of pseudo-data whose variance function carries a scale parameter that is not a plain
    multiplier (pseudo-likelihood GLMMs).  The pseudo-data are weighted with the variance function without the
    scale (Poisson: mu, binomial: mu(1 - mu)); this structure supplies the rest:
      negative binomial, Var = mu + k mu^2:       R = diag(1 + k mu)
      beta,              Var = mu(1 - mu)/(1 + phi): R = I / (1 + phi).
    Its one parameter is SAS's "Scale" (k or phi)."""
    sas = "Scale"

    def __init__(self, d: int, kind: str, mu_grid=None, start=1.0):
        super().__init__(d)
        self.kind, self.mu, self._start = kind, mu_grid, float(start)

    def names(self):
        return ["Scale"]

    def matrix(self, th):
        if self.kind == "beta":
            return np.eye(self.d) / (1.0 + th[0])
        return np.eye(self.d) * (1.0 + th[0] * float(np.mean(self.mu)))

    def full(self, th, K, T):
        if self.kind == "beta":
            return np.eye(T) / (1.0 + th[0])
        return np.eye(T)[None, :, :] * (1.0 + th[0] * self.mu)[:, :, None]

    def start(self, var):
        return np.array([self._start])

    def bounds(self):
        return [(0.0, None)]


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
    hessian_exact: bool = False       # analytic (structures linear in their parameters), not by differences
    boundary: np.ndarray | None = None  # parameters that ended on their lower bound (a variance of 0)


class LMM:
    def __init__(self, data: LMMData, gstruct: Struct | None, rstruct: Struct, method: str = "reml"):
        self.d, self.g, self.r, self.method = data, gstruct, rstruct, method
        self.ng = gstruct.npar if gstruct is not None else 0

    def split(self, th):
        return th[:self.ng], th[self.ng:]

    def bounds(self) -> list:
        """(lower, upper) bounds of the covariance parameters, G-side then R-side (None: unbounded)."""
        return (self.g.bounds() if self.g is not None else []) + self.r.bounds()

    def R_part(self, tr) -> np.ndarray:
        """The R-side part of V for every subject (K x T x T), weighted and zero outside the observed
        positions."""
        d = self.d
        K, T = d.mask.shape
        if isinstance(self.r, FixedResid):
            R = np.eye(T)
        else:
            R = self.r.full(tr, K, T) if self.r.d == T else None
            if R is None:       # scalar residual variance sigma^2 I
                R = np.eye(T) * tr[0]
        V = np.broadcast_to(R, (K, T, T)).copy()
        if d.rw is not None:
            sc = 1.0 / np.sqrt(np.where(d.mask, d.rw, 1.0))
            V = sc[:, :, None] * V * sc[:, None, :]
        return np.where(self._both(), V, 0.0)

    def _both(self):
        if getattr(self, "_both_cache", None) is None:
            m = self.d.mask
            self._both_cache = m[:, :, None] & m[:, None, :]
        return self._both_cache

    def G_all(self, tg) -> np.ndarray:
        """G (q x q), or one G per subject (K x q x q) for RANDOM ... GROUP=."""
        K = self.d.mask.shape[0]
        return self.g.full(tg, K, self.g.d)

    def V(self, th) -> np.ndarray:
        d = self.d
        K, T = d.mask.shape
        tg, tr = self.split(th)
        V = self.R_part(tr)
        if self.g is not None:
            G = self.G_all(tg)
            sub = "ktq,kqr,ksr->kts" if G.ndim == 3 else "ktq,qr,ksr->kts"
            V += np.where(self._both(), np.einsum(sub, d.Z, G, d.Z, optimize=True), 0.0)
        idx = np.arange(T)
        V[:, idx, idx] = np.where(d.mask, V[:, idx, idx], 1.0)
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
        if _near_singular(L, V):
            return 1e10
        logdet = 2 * np.sum(np.log(np.diagonal(L, axis1=1, axis2=2)))
        try:
            Vi_X = np.linalg.solve(V, d.X)
            Vi_y = np.linalg.solve(V, d.y[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            return 1e10
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

    def objective_grad(self, th):
        """The objective and its analytic gradient: with r = y - X beta_hat and P-terms from V^-1,
        d/dtheta_k = tr(V^-1 V_k) - r'V^-1 V_k V^-1 r  (- tr(Phi X'V^-1 V_k V^-1 X) for REML),
        V_k = dV/dtheta_k by central differences of V (exact for linear structures)."""
        d = self.d
        th = np.asarray(th, dtype=float)
        V = self.V(th)
        try:
            L = np.linalg.cholesky(V)
        except np.linalg.LinAlgError:
            return 1e10, np.zeros(len(th))
        if _near_singular(L, V):
            return 1e10, np.zeros(len(th))
        logdet = 2 * np.sum(np.log(np.diagonal(L, axis1=1, axis2=2)))
        try:
            Vinv = np.linalg.inv(V)
        except np.linalg.LinAlgError:
            return 1e10, np.zeros(len(th))
        VX = np.einsum("kts,ksp->ktp", Vinv, d.X)
        XVX = np.einsum("ktp,ktq->pq", d.X, VX)
        XVy = np.einsum("ktp,kt->p", VX, d.y)
        try:
            Phi = np.linalg.inv(XVX)
        except np.linalg.LinAlgError:
            return 1e300, np.zeros(len(th))
        beta = Phi @ XVy
        r = d.y - np.einsum("ktp,p->kt", d.X, beta)
        Vr = np.einsum("kts,ks->kt", Vinv, r)
        rVr = float(np.einsum("kt,kt->", r, Vr))
        p = d.X.shape[2]
        if self.method == "reml":
            f = (d.N - p) * math.log(2 * math.pi) + logdet + np.linalg.slogdet(XVX)[1] + rVr
        else:
            f = d.N * math.log(2 * math.pi) + logdet + rVr
        g = np.zeros(len(th))
        tg, tr = self.split(th)
        lows = [b[0] for b in self.bounds()]

        def step(k, fun, sub, low):
            """d fun / d sub_k by central differences (one-sided at a lower bound)."""
            h = 1e-6 * max(1.0, abs(sub[k]))
            e = np.zeros(len(sub))
            e[k] = h
            if low is not None and sub[k] - h < low:
                return (fun(sub + e) - fun(sub)) / h
            return (fun(sub + e) - fun(sub - e)) / (2 * h)
        if self.g is not None and self.ng:
            # G-side parameters: dV = Z dG Z', so every term is a q x q contraction
            ZVZ = np.einsum("ktq,kts,ksr->qr", d.Z, Vinv, d.Z, optimize=True)
            u = np.einsum("ktq,kt->kq", d.Z, Vr)
            B = np.einsum("ktq,ktp->kqp", d.Z, VX)
            C = np.einsum("kqp,pm,krm->qr", B, Phi, B, optimize=True) if self.method == "reml" else 0.0
            if self.G_all(tg).ndim == 3:
                # one G per subject (GROUP=): the contraction stays per subject
                core_k = np.einsum("ktq,kts,ksr->kqr", d.Z, Vinv, d.Z, optimize=True) - \
                    np.einsum("kq,kr->kqr", u, u)
                if self.method == "reml":
                    core_k = core_k - np.einsum("kqp,pm,krm->kqr", B, Phi, B, optimize=True)
                for k in range(self.ng):
                    g[k] = float(np.sum(step(k, self.G_all, tg, lows[k]) * core_k))
            else:
                core = ZVZ - u.T @ u - C
                for k in range(self.ng):
                    g[k] = float(np.sum(step(k, self.g.matrix, tg, lows[k]) * core))
        if len(tr):
            for k in range(len(tr)):
                dR = step(k, self.R_part, tr, lows[self.ng + k])
                gk = np.einsum("kts,kst->", Vinv, dR) - np.einsum("kt,kts,ks->", Vr, dR, Vr)
                if self.method == "reml":
                    gk -= np.sum(Phi * np.einsum("ktp,kts,ksq->pq", VX, dR, VX, optimize=True))
                g[self.ng + k] = gk
        return float(f), g

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
        G = self.G_all(self.split(th)[0])
        V = self.V(th)
        r = self.d.y - np.einsum("ktp,p->kt", self.d.X, beta)
        Vr = np.linalg.solve(V, r[:, :, None])[:, :, 0]
        return np.einsum("kqr,ktr,kt->kq" if G.ndim == 3 else "qr,ktr,kt->kq", G, self.d.Z, Vr)

    def blup_parts(self, th, beta):
        """Per subject: the BLUP b_i = G Z_i' V_i^-1 (y_i - X_i beta), A_i = G Z_i' V_i^-1 X_i and
        B_i = G - G Z_i' V_i^-1 Z_i G = Var(G Z_i' V_i^-1 (y_i - X_i beta) - b_i).  The prediction error of
        L'beta_hat + sum_i M_i' b_i is then (L - sum_i A_i' M_i)'(beta_hat - beta) plus independent terms of
        variance M_i' B_i M_i (Henderson)."""
        d = self.d
        G = self.G_all(self.split(th)[0])
        Gk = G if G.ndim == 3 else np.broadcast_to(G, (d.X.shape[0],) + G.shape)
        V = self.V(th)
        Vinv = np.linalg.inv(V)
        GZV = np.einsum("kqr,ktr,kts->kqs", Gk, d.Z, Vinv, optimize=True)           # G Z' V^-1
        r = d.y - np.einsum("ktp,p->kt", d.X, beta)
        b = np.einsum("kqs,ks->kq", GZV, r)
        GZVZG = np.einsum("kqs,ksr,krm->kqm", GZV, d.Z, Gk, optimize=True)
        GZVX = np.einsum("kqs,ksp->kqp", GZV, d.X)
        return b, GZVX, Gk - GZVZG

    def random_effects(self, th, beta, Phi):
        """BLUPs and their prediction-error covariances per subject:
        Var(b_i hat - b_i) = G - G Z_i' V_i^-1 Z_i G + G Z_i' V_i^-1 X_i Phi X_i' V_i^-1 Z_i G;
        Cov(beta hat, b_i hat - b_i) = -Phi X_i' V_i^-1 Z_i G.  Returns (b K x q, Cbb K x q x q, Cbb K x p x q)."""
        b, GZVX, B = self.blup_parts(th, beta)
        Cbb = B + np.einsum("kqp,pr,kmr->kqm", GZVX, Phi, GZVX, optimize=True)
        Cxb = -np.einsum("pr,kqr->kpq", Phi, GZVX)
        return b, Cbb, Cxb

    def fit(self, th0, maxiter=200, hold=None, noiter=False) -> LMMResult:
        """Maximise the (restricted) likelihood over the covariance parameters; `hold` marks parameters
        kept at their starting values (PARMS HOLD=), `noiter` keeps all of them (PARMS NOITER)."""
        th0 = np.asarray(th0, dtype=float)
        bounds = self.bounds()
        free = np.ones(len(th0), dtype=bool) if hold is None else ~np.asarray(hold, dtype=bool)
        if noiter:
            free[:] = False
        history = []

        def full(x):
            th = th0.copy()
            th[free] = x
            return th

        def f(x):
            return self.objective(full(x))

        def fg(x):
            v, g = self.objective_grad(full(x))
            return v, g[free]

        def cb(xk):
            history.append((len(history) + 1, f(xk)))
        if not free.any():
            res = optimize.OptimizeResult(x=np.zeros(0), success=True, nit=0)
        else:
            res = optimize.minimize(fg, th0[free], jac=True, method="L-BFGS-B",
                                    bounds=[b for b, k in zip(bounds, free) if k],
                                    callback=cb, options={"maxiter": maxiter, "ftol": 1e-14, "gtol": 1e-9})
        return self.finish(full(res.x), free, bool(res.success), int(res.nit), history, noiter)

    def finish(self, th, free, converged, nit, history, noiter=False) -> LMMResult:
        """The fit at the covariance parameters th: GLS fixed effects and the covariance of the estimates
        (twice the inverse Hessian of the objective over the free parameters)."""
        th = self.canonical(th)
        beta, Phi, V = self.gls(th)
        exact = is_linear(self.g) and is_linear(self.r)
        out = self.hessian_linear(th) if exact else None
        H = out[2] if out is not None else self.hessian(th)
        cov_theta = np.zeros((len(th), len(th)))
        use = np.ones(len(th), dtype=bool) if noiter else np.asarray(free, dtype=bool)
        # a parameter that ended on its lower bound (a variance of 0) is an active constraint: like SAS, it gets
        # no standard error and the covariance of the others comes from the information with it held fixed
        lows = [b[0] if b is not None else None for b in self.bounds()]
        boundary = np.array([lo is not None and not noiter and f and t <= lo
                             for t, lo, f in zip(th, lows, np.asarray(free, dtype=bool))], dtype=bool)
        use = use & ~boundary
        try:
            if use.any():
                Hu = H[np.ix_(use, use)]
                dep = np.zeros(int(use.sum()), dtype=bool)
                if out is not None:
                    # an exactly singular information (confounded parameters): the sweep's generalised
                    # inverse, and no standard error for the dependent parameters
                    from .design import sweep_dependent
                    dep = sweep_dependent(Hu, 1e-10)
                C = np.full(Hu.shape, np.nan)
                keep = ~dep
                C[np.ix_(keep, keep)] = 2 * np.linalg.inv(Hu[np.ix_(keep, keep)])
                cov_theta[np.ix_(use, use)] = C
        except np.linalg.LinAlgError:
            cov_theta = None
        return LMMResult(th, (self.g.names() if self.g else []) + self.r.names(), beta, Phi, cov_theta,
                         self.objective(th), converged, nit, history, H, out is not None, boundary)

    def hessian_linear(self, th):
        """The objective, its gradient and its analytic Hessian for structures linear in their parameters
        (dV/dtheta exact, second derivatives of V zero); with u = V^-1 (y - X beta_hat) and P the REML
        projection:
          d2 f / dtheta_i dtheta_j = -tr(P V_i P V_j) + 2 u'V_i P V_j u   (REML; V^-1 for P in the trace for ML).
        Returns None where V is not positive definite."""
        d = self.d
        th = np.asarray(th, dtype=float)
        f, g = self.objective_grad(th)
        if not f < 1e9:
            return None
        V = self.V(th)
        Vinv = np.linalg.inv(V)
        both = self._both()
        dV = np.where(both[..., None], self.dV(th), 0.0)                       # K x T x T x n
        VX = np.einsum("kts,ksp->ktp", Vinv, d.X)
        Phi = np.linalg.inv(np.einsum("ktp,ktq->pq", d.X, VX))
        beta = Phi @ np.einsum("ktp,kt->p", VX, d.y)
        u = np.einsum("kts,ks->kt", Vinv, d.y - np.einsum("ktp,p->kt", d.X, beta))
        A = np.einsum("kts,ksun->ktun", Vinv, dV, optimize=True)             # V^-1 V_i
        w = np.einsum("ktsn,ks->ktn", dV, u)                                   # V_i u
        Vw = np.einsum("kts,ksn->ktn", Vinv, w)
        Xw = np.einsum("ktp,ktn->pn", d.X, Vw)                                 # X'V^-1 V_i u
        quad = np.einsum("ktn,ktm->nm", w, Vw) - Xw.T @ Phi @ Xw              # u'V_i P V_j u
        t1 = np.einsum("ktsn,kstm->nm", A, A, optimize=True)                   # tr(V^-1 V_i V^-1 V_j)
        H = -t1 + 2 * quad
        if self.method == "reml":
            AVX = np.einsum("ktsn,ksp->ktpn", A, VX, optimize=True)           # V^-1 V_i V^-1 X
            C = np.einsum("ktp,ktqn->pqn", d.X, AVX, optimize=True)            # X'V^-1 V_i V^-1 X
            # tr(Phi X'V^-1 V_i V^-1 V_j V^-1 X) = sum over subjects of tr(M V_i V^-1 V_j), M = V^-1 X Phi X'V^-1
            Mk = np.einsum("ktp,pq,ksq->kts", VX, Phi, VX, optimize=True)
            MV = np.einsum("kts,ksun->ktun", Mk, dV, optimize=True)
            t2 = np.einsum("ktsn,kstm->nm", MV, A, optimize=True)
            PC = np.einsum("pq,qrn->prn", Phi, C)
            t3 = np.einsum("prn,rpm->nm", PC, PC)
            H = H + 2 * t2 - t3
        return f, g, (H + H.T) / 2

    def moment_start(self):
        """Starting values for REPEATED-only AR(1), ARH(1) and CSH from the averaged cross-products of the OLS
        residuals (S_ab over the subjects observed at both positions): variances from the diagonal, the
        correlation from the lag-one (AR) or all off-diagonal (CSH) correlations; for REPEATED-only spatial
        structures the best of a few ranges (profiled objective); None for other models."""
        if self.g is None and isinstance(self.r, SPs):
            return self.spatial_start()
        if self.g is not None or not isinstance(self.r, (AR1s, _HeteroVar, ARMA11s)):
            return None
        d = self.d
        m = d.mask.astype(float)
        X2 = d.X.reshape(-1, d.X.shape[2])
        beta = np.linalg.lstsq(X2, d.y.reshape(-1), rcond=None)[0]
        r = np.where(d.mask, d.y - np.einsum("ktp,p->kt", d.X, beta), 0.0)
        cnt = m.T @ m
        with np.errstate(invalid="ignore", divide="ignore"):
            S = (r.T @ r) / cnt
        var = np.diag(S)
        if not np.all(np.isfinite(var)) or np.any(var <= 0):
            return None
        with np.errstate(invalid="ignore", divide="ignore"):
            C = S / np.sqrt(np.outer(var, var))
        T = len(var)
        if isinstance(self.r, (ANTE1s, TOEPHs, UNRs, ARMA11s)):
            return self._moment_start_more(C, cnt, var, r)
        if isinstance(self.r, AR1s) or self.r.ar:
            vals = [C[a, a + 1] for a in range(T - 1) if cnt[a, a + 1] > 0]
        else:
            vals = [C[a, b] for a in range(T) for b in range(a) if cnt[a, b] > 0]
        vals = [v for v in vals if np.isfinite(v)]
        rho = float(np.clip(np.mean(vals), -0.9, 0.9)) if vals else 0.0
        if isinstance(self.r, AR1s):
            return np.array([rho, float(np.sum(np.diag(r.T @ r)) / np.sum(np.diag(cnt)))])
        if not self.r.ar:
            rho = max(rho, -0.9 / max(T - 1, 1))
        return np.concatenate([var, [rho]])

    def _moment_start_more(self, C, cnt, var, r):
        """Moment starting values of ANTE(1), TOEPH, UNR and ARMA(1,1) from the residual correlations C
        (cnt: the number of subjects behind each entry): adjacent correlations, the mean correlation at each
        lag, all of them, or the lag-one and lag-two means (rho = lag 2 / lag 1, gamma = lag 1)."""
        T = len(var)

        def lag_mean(k):
            vals = [C[a, a + k] for a in range(T - k) if cnt[a, a + k] > 0 and np.isfinite(C[a, a + k])]
            return float(np.clip(np.mean(vals), -0.9, 0.9)) if vals else 0.0
        if isinstance(self.r, ARMA11s):
            g1, g2 = lag_mean(1), lag_mean(2) if T > 2 else 0.0
            rho = float(np.clip(g2 / g1, -0.9, 0.9)) if abs(g1) > 1e-8 else 0.0
            return np.array([rho, g1, float(np.sum(np.diag(r.T @ r)) / np.sum(np.diag(cnt)))])
        if isinstance(self.r, ANTE1s):
            rho = [float(np.clip(C[a, a + 1], -0.9, 0.9)) if cnt[a, a + 1] > 0 and np.isfinite(C[a, a + 1])
                   else 0.0 for a in range(T - 1)]
        elif isinstance(self.r, TOEPHs):
            rho = [lag_mean(k) for k in range(1, self.r.bands)]
        else:
            rho = [float(np.clip(C[a, b], -0.9, 0.9)) if cnt[a, b] > 0 and np.isfinite(C[a, b]) else 0.0
                   for a in range(T) for b in range(a)]
        th = np.concatenate([var, rho])
        if not self.objective(th) < 1e9:        # correlations that do not make a positive definite matrix
            th = np.concatenate([var, np.zeros(len(rho))])
        return th

    def mivque0(self, project: bool = True) -> np.ndarray:
        """MIVQUE0 estimates for structures linear in their parameters (V = sum_k theta_k V_k): solve
        sum_j tr(Q V_i Q V_j) theta_j = y'Q V_i Q y with Q = I - X (X'X)^- X' (prior V = I); negative
        variances are set to 0, as SAS does.  project=False drops Q from the traces, which makes R-side
        parameters the averaged cross-products of the OLS residuals (the starting values SAS's METHOD=ML
        iteration histories show, e.g. TYPE=UN: the residual cross-products over subjects)."""
        d = self.d
        n = self.ng + self.r.npar
        th1 = np.ones(n)
        both = d.mask[:, :, None] & d.mask[:, None, :]
        Vk = np.where(both[..., None], self.dV(th1), 0.0)                       # K x T x T x n
        A = np.linalg.pinv(np.einsum("ktp,ktq->pq", d.X, d.X))
        r = d.y - np.einsum("ktp,p->kt", d.X, A @ np.einsum("ktp,kt->p", d.X, d.y))
        r = np.where(d.mask, r, 0.0)
        M = [np.einsum("ktp,kts,ksq->pq", d.X, Vk[..., i], d.X, optimize=True) for i in range(n)]
        S = np.zeros((n, n))
        q = np.array([float(np.einsum("kt,kts,ks->", r, Vk[..., i], r, optimize=True)) for i in range(n)])
        for i in range(n):
            for j in range(i, n):
                ViVj = np.einsum("kts,ksu->ktu", Vk[..., i], Vk[..., j], optimize=True)
                t1 = np.einsum("ktt->", ViVj)
                if not project:
                    S[i, j] = S[j, i] = t1
                    continue
                t2 = np.trace(A @ np.einsum("ktp,ktu,kuq->pq", d.X, ViVj, d.X, optimize=True))
                t3 = np.trace(A @ M[i] @ A @ M[j])
                S[i, j] = S[j, i] = t1 - 2 * t2 + t3
        from .design import g2_solve
        th = g2_solve(S, q)        # SAS's sweep: a parameter confounded with earlier ones gets 0
        bounds = self.bounds()
        return np.array([max(t, lo) if lo is not None else t for t, (lo, _) in zip(th, bounds)])

    def spatial_start(self):
        """The correlation/range value among SPs.start_candidates() with the smallest objective, the variance
        profiled (spatial likelihoods can have several local optima in the range)."""
        best, best_v = None, math.inf
        for p in self.r.start_candidates():
            try:
                th = np.array([p, 1.0])
                th[1] = self.profiled_scale(th)
                v = self.objective(th)
            except (np.linalg.LinAlgError, ValueError):
                continue
            if np.isfinite(v) and v < best_v and th[1] > 0:
                best, best_v = th, v
        return best

    def profiled_scale(self, th) -> float:
        """The residual scale that profiling gives for fixed covariance ratios: sigma^2 = r'V^-1 r / (N - p)
        (REML) or / N (ML), with V = V(th) taken as the matrix of the ratios."""
        d = self.d
        beta, Phi, V = self.gls(th)
        r = d.y - np.einsum("ktp,p->kt", d.X, beta)
        rVr = float(np.einsum("kt,kt->", r, np.linalg.solve(V, r[:, :, None])[:, :, 0]))
        return rVr / (d.N - d.X.shape[2] if self.method == "reml" else d.N)

    def canonical(self, th):
        tg, tr = self.split(np.asarray(th, dtype=float))
        return np.concatenate([self.g.canonical(tg) if self.g is not None else np.zeros(0), self.r.canonical(tr)])

    def hessian(self, th):
        n = len(th)
        H = np.zeros((n, n))
        f0 = self.objective(th)
        h = np.array([1e-4 * max(1.0, abs(t)) for t in th])
        for i in range(n):
            for j in range(i, n):
                H[i, j] = H[j, i] = _second_difference(self.objective, th, i, j, h, f0)
        return H

    # ------------------------------------------------------------------ Satterthwaite
    def satterthwaite(self, th, W, L) -> float:
        """Denominator DF for H0: L beta = 0 (Fai-Cornelius for several rows); W = Cov(theta hat)."""
        C, dC = self.satterthwaite_pieces(th)
        return self.satterthwaite_ddf(L, C, dC, W)

    def satterthwaite_pieces(self, th):
        """Cov(beta hat) and its derivatives in theta (central differences): with Cov(theta hat) all that
        the Satterthwaite DF of any L needs (kept in item stores for PROC PLM)."""
        C = self.gls(th)[1]
        n = len(th)
        dC = []
        for k in range(n):
            h = 1e-5 * max(1.0, abs(th[k]))
            e = np.zeros(n)
            e[k] = h
            dC.append((self.gls(th + e)[1] - self.gls(th - e)[1]) / (2 * h))
        return C, dC

    @staticmethod
    def satterthwaite_ddf(L, C, dC, W) -> float:
        L = np.atleast_2d(L)
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

    def kenward_roger(self, th, W=None, second_order=True):
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
        Rt = self.kr_second_order(th, VX, both) if second_order else None
        adj = np.zeros_like(Phi)
        for i in range(n):
            for j in range(n):
                adj += W[i, j] * (Q[i][j] - P[i] @ Phi @ P[j] - (0.25 * Rt[i][j] if Rt is not None else 0.0))
        Phi_A = Phi + 2 * Phi @ adj @ Phi
        return Phi_A, Phi, P, Q, W

    def kr_second_order(self, th, VX, both):
        """R_ij = X' V^-1 (d2 V / dtheta_i dtheta_j) V^-1 X, by central differences; None when V is linear
        in theta (VC, UN, CS, TOEP, ...), where every R_ij is 0."""
        n = len(th)
        h = np.array([1e-4 * max(1.0, abs(t)) for t in th])
        out = [[None] * n for _ in range(n)]
        V0 = self.V(th)
        any_nonzero = False
        for i in range(n):
            for j in range(i, n):
                d2 = np.where(both, _second_difference(self.V, th, i, j, h, V0), 0.0)
                scale = max(float(np.abs(V0).max()), 1e-300)
                if np.abs(d2).max() > 1e-5 * scale:
                    any_nonzero = True
                out[i][j] = out[j][i] = np.einsum("ktp,kts,ksq->pq", VX, d2, VX, optimize=True)
        return out if any_nonzero else None

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
