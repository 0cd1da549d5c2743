"""Regression spline bases for constructed (EFFECT statement) spline effects; no SAS syntax here.

A spline basis is fixed once from the data of the fit (its knots), then evaluated at any x: the fit's
observations, scoring data, or one covariate value for an LS-mean or an ESTIMATE.

- B-spline basis of degree d on n internal knots: n + d + 1 columns (de Boor's normalised B-splines, which
  sum to one on the range of the data).  The full knot vector has n + 2d + 2 entries: the internal knots,
  the data extremes, and d further boundary knots on each side.  With equally spaced internal knots the
  boundary knots continue the equal spacing outside the data; with DATABOUNDARY, listed knots, percentile
  or range-fraction knots they are repeated at the data extremes; KNOTMIN=/KNOTMAX= space them equally
  from the given value to the extreme; a list with boundary gives them all.
- Truncated power function basis of degree d: 1, x, ..., x^d and (x - k)_+^d per knot k (NOINT drops the
  constant, NOPOWERS the constant and the powers).
- Natural cubic (restricted cubic) basis on knots k_1 < ... < k_K: 1, x and, for j = 1..K-2,
  d_j(x) - d_{K-1}(x) with d_j(x) = ((x - k_j)_+^3 - (x - k_K)_+^3) / (k_K - k_j) (Hastie, Tibshirani and
  Friedman's construction), linear beyond the extreme knots.

Whatever the boundary knots, the B-spline columns span the same functions on the range of the data, so
fitted values, LS-means and estimates at covariate values do not depend on them; only the individual
coefficients do.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import BSpline

from .quantile import sas_percentile


@dataclass
class SplineSpec:
    basis: str = "bspline"          # bspline | tpf
    degree: int = 3
    knot_method: str = "equal"      # equal | list | listwithboundary | percentiles | percentilelist | rangefractions
    knot_count: int = 3             # EQUAL(n), PERCENTILES(n)
    knot_values: list = field(default_factory=list)   # LIST, LISTWITHBOUNDARY, PERCENTILELIST, RANGEFRACTIONS
    data_boundary: bool = False
    knot_min: float | None = None
    knot_max: float | None = None
    natural: bool = False
    noint: bool = False
    nopowers: bool = False


@dataclass
class SplineBasis:
    """A spline basis fixed by its knots: ``evaluate(x)`` gives the design columns."""
    spec: SplineSpec
    internal: np.ndarray            # the internal knots (natural cubic: all its knots)
    knots: np.ndarray | None        # the full B-spline knot vector (None for truncated power bases)
    boundary: np.ndarray | None     # bool per entry of ``knots``: a boundary knot
    lo: float = 0.0                 # the data extremes
    hi: float = 0.0

    @property
    def ncols(self) -> int:
        return self.evaluate(np.array([self.lo])).shape[1]

    def evaluate(self, x) -> np.ndarray:
        x = np.atleast_1d(np.asarray(x, dtype=float))
        s = self.spec
        if s.natural:
            return self._natural(x)
        if s.basis == "bspline":
            return self._bspline(x)
        return self._tpf(x)

    def _bspline(self, x):
        t, d = self.knots, self.spec.degree
        nb = len(t) - d - 1
        out = np.zeros((len(x), nb))
        ok = ~np.isnan(x)
        if d == 0:
            # piecewise constant: the span [t_j, t_j+1) holding x (the last span closed on the right)
            j = np.clip(np.searchsorted(t, x[ok], side="right") - 1, 0, nb - 1)
            out[np.nonzero(ok)[0], j] = 1.0
        elif ok.any():
            # de Boor's recursion through scipy, which extrapolates the end polynomials beyond the knots
            eye = np.eye(nb)
            for j in range(nb):
                out[ok, j] = BSpline(t, eye[j], d, extrapolate=True)(x[ok])
        out[~ok] = np.nan
        return out

    def _tpf(self, x):
        s = self.spec
        cols = []
        if not s.nopowers:
            cols += [np.ones_like(x)] if not s.noint else []
            cols += [x ** p for p in range(1, s.degree + 1)]
        for k in self.internal:
            cols.append(np.where(x > k, (x - k) ** s.degree, 0.0) if s.degree > 0 else (x > k).astype(float))
        return np.column_stack(cols) if cols else np.zeros((len(x), 0))

    def _natural(self, x):
        s, k = self.spec, self.internal
        K = len(k)

        def dk(j):
            return (np.maximum(x - k[j], 0.0) ** 3 - np.maximum(x - k[K - 1], 0.0) ** 3) / (k[K - 1] - k[j])

        cols = []
        if not s.nopowers:
            cols += [np.ones_like(x)] if not s.noint else []
            cols.append(x.copy())
        last = dk(K - 2) if K >= 2 else None
        for j in range(K - 2):
            cols.append(dk(j) - last)
        return np.column_stack(cols) if cols else np.zeros((len(x), 0))

    def knot_rows(self) -> list[tuple[float, bool]]:
        """(value, is boundary knot) for each knot, as the DETAILS table lists them."""
        if self.knots is None:
            return [(float(v), False) for v in self.internal]
        return [(float(v), bool(b)) for v, b in zip(self.knots, self.boundary)]


class SplineError(ValueError):
    pass


def fit_basis(spec: SplineSpec, x) -> SplineBasis:
    """Fix the knots of ``spec`` from the data values ``x`` (missing values ignored)."""
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        raise SplineError("no nonmissing values")
    lo, hi = float(x.min()), float(x.max())
    if hi <= lo:
        raise SplineError("the variable is constant")
    d, m = spec.degree, spec.knot_method
    if d < 0:
        raise SplineError("DEGREE= must be a nonnegative integer")
    if spec.natural and d != 3:
        raise SplineError("a natural cubic spline has degree 3")
    evenly = False
    if m == "equal":
        n = spec.knot_count
        h = (hi - lo) / (n + 1)
        internal = np.array([lo + i * h for i in range(1, n + 1)])
        evenly = True
    elif m in ("list", "listwithboundary"):
        internal = np.array(sorted(float(v) for v in spec.knot_values))
    elif m == "percentiles":
        n = spec.knot_count
        internal = np.array([sas_percentile(x, 100.0 * i / (n + 1)) for i in range(1, n + 1)])
    elif m == "percentilelist":
        internal = np.array([sas_percentile(x, float(p)) for p in spec.knot_values])
    elif m == "rangefractions":
        internal = np.array(sorted(lo + float(f) * (hi - lo) for f in spec.knot_values))
    else:
        raise SplineError(f"unknown knot method {m}")
    if spec.natural or spec.basis == "tpf":
        if spec.natural and len(internal) < 2:
            raise SplineError("a natural cubic spline needs at least two knots")
        return SplineBasis(spec, internal, None, None, lo, hi)
    if m == "listwithboundary":
        nl, nr = d, max(d, 1)
        if len(internal) < nl + nr:
            raise SplineError(f"KNOTMETHOD=LISTWITHBOUNDARY needs at least {nl + nr} knots for degree {d}")
        left, inner, right = internal[:nl], internal[nl:len(internal) - nr], internal[len(internal) - nr:]
        if d == 0:
            right = right[:0]       # degree 0: step functions on the spans between the extremes and the knots
        t = np.concatenate([left, [lo], inner, [hi], right])
        bnd = np.array([True] * (nl + 1) + [False] * len(inner) + [True] * (len(right) + 1))
    else:
        inner = internal
        h = (hi - lo) / (len(inner) + 1) if len(inner) else (hi - lo)
        if spec.knot_min is not None:
            left = [spec.knot_min + i * (lo - spec.knot_min) / d for i in range(d)] if d else []
        elif evenly and not spec.data_boundary:
            left = [lo - (d - i) * h for i in range(d)]
        else:
            left = [lo] * d
        if spec.knot_max is not None:
            right = [hi + (i + 1) * (spec.knot_max - hi) / d for i in range(d)] if d else []
        elif evenly and not spec.data_boundary:
            right = [hi + (i + 1) * h for i in range(d)]
        else:
            right = [hi] * d
        t = np.concatenate([left, [lo], inner, [hi], right])
        bnd = np.array([True] * (len(left) + 1) + [False] * len(inner) + [True] * (len(right) + 1))
    if np.any(np.diff(t) < 0):
        raise SplineError("the knots must be nondecreasing (internal knots within the range of the data)")
    return SplineBasis(spec, internal, t, bnd, lo, hi)
