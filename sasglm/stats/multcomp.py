"""Simultaneous inference for comparisons with a control (Dunnett), by Hsu's factor-analytic method.

The m comparisons t_i = d_i / se_i have correlation matrix R.  Hsu (1992) approximates R by a one-factor
structure R_ij ~ lambda_i lambda_j (i != j), under which T_i = (lambda_i Z_0 + sqrt(1 - lambda_i^2) Z_i) / S
with independent standard normals Z and S = sqrt(chi2_df / df).  The probability that all |T_i| <= q is
then an integral over Z_0 (Gauss-Hermite) and S (adaptive quadrature over its chi density), which is exact
when R has that form (comparisons with a common control in a one-way or balanced layout).  With no factor
(lambda = 0) it is the studentized maximum modulus (ADJUST=SMM)."""
from __future__ import annotations

import math

import numpy as np
from scipy import integrate, optimize, special, stats

_HZ, _HW = np.polynomial.hermite_e.hermegauss(96)
_HW = _HW / math.sqrt(2 * math.pi)


def one_factor(R: np.ndarray, iters: int = 500) -> np.ndarray:
    """Loadings lambda of the one-factor fit to the off-diagonal part of the correlation matrix R (least
    squares, by iterated principal factors); exact when R_ij = lambda_i lambda_j."""
    R = np.asarray(R, float)
    m = len(R)
    if m == 1:
        return np.zeros(1)
    off = R[~np.eye(m, dtype=bool)]
    lam = np.full(m, math.sqrt(max(float(np.mean(off)), 0.0)))
    for _ in range(iters):
        A = R.copy()
        np.fill_diagonal(A, lam ** 2)
        w, V = np.linalg.eigh(A)
        new = V[:, -1] * math.sqrt(max(w[-1], 0.0))
        if new.sum() < 0:
            new = -new
        if np.max(np.abs(new - lam)) < 1e-13:
            lam = new
            break
        lam = new
    return np.clip(lam, -0.999999, 0.999999)


def max_abs_cdf(q: float, lam: np.ndarray, df: float) -> float:
    """P(max_i |T_i| <= q) for the one-factor multivariate t with loadings lam and df: Gauss-Hermite over
    the common factor, adaptive quadrature over the chi density of S."""
    lam = np.asarray(lam, float)
    sd = np.sqrt(1.0 - lam ** 2)
    z0 = lam[None, :] * _HZ[:, None]

    def given_s(s):
        p = special.ndtr((q * s - z0) / sd) - special.ndtr((-q * s - z0) / sd)
        return float(np.prod(p, axis=1) @ _HW)

    if not math.isfinite(df):
        return min(max(given_s(1.0), 0.0), 1.0)
    r = math.sqrt(df)
    lo, hi = stats.chi.ppf(1e-15, df) / r, stats.chi.isf(1e-15, df) / r
    v, _ = integrate.quad(lambda s: given_s(s) * stats.chi.pdf(s * r, df) * r, lo, hi, points=[1.0],
                          epsabs=1e-12, epsrel=1e-10, limit=200)
    return min(max(v, 0.0), 1.0)


def dunnett_p(t: float, lam: np.ndarray, df: float) -> float:
    """Two-sided adjusted p-value of |t| among the m comparisons."""
    return 1.0 - max_abs_cdf(abs(t), lam, df)


def dunnett_q(alpha: float, lam: np.ndarray, df: float) -> float:
    """The two-sided critical value: P(max |T_i| <= q) = 1 - alpha."""
    lo = stats.t.ppf(1 - alpha / 2, df) if math.isfinite(df) else stats.norm.ppf(1 - alpha / 2)
    m = len(lam)
    a1 = alpha / m
    hi = (stats.t.ppf(1 - a1 / 2, df) if math.isfinite(df) else stats.norm.ppf(1 - a1 / 2)) + 1e-9
    if m == 1:
        return float(lo)
    return float(optimize.brentq(lambda q: max_abs_cdf(q, lam, df) - (1 - alpha), lo - 1e-9, hi, xtol=1e-12))
