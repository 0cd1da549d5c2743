"""Ridge-stabilised Newton-Raphson for the (restricted) likelihood of a linear mixed model, as PROC MIXED
runs it, so that the iteration history is the one SAS prints.

- The residual variance is profiled out when the model has one (``resid`` is its index): the iteration runs
  over the other parameters divided by it (``expo`` says how each scales with it: 1 for variances and
  covariances, 0.5 for factor loadings, 0 for correlations), and the scale is its closed-form estimate.
- Each iteration takes a Newton step with the Hessian of the profiled objective (central differences of the
  analytic gradient); when the Hessian is not positive definite or the step does not lower the objective, a
  ridge is added to its diagonal and the step retried (each try is one more evaluation).
- The criterion is SAS's relative Hessian criterion g'H^-1 g / |f|, with f the objective without its
  constant term ((N - p) log 2 pi for REML, N log 2 pi for ML), computed over the parameters not held on a
  bound; the iteration stops when it is below ``convh`` (1E-8).  It is missing for an iteration whose step
  ended on a bound.
- Iteration 1 starts at the starting values (one evaluation) and, unless they already meet the criterion,
  takes the first step; its row counts both evaluations.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .design import sweep_dependent
from .lmm import is_linear


@dataclass
class NRResult:
    theta: np.ndarray
    converged: bool
    iterations: int
    rows: list = field(default_factory=list)        # (iteration, evaluations, objective, criterion | None)
    message: str = ""


def profiled_hessian(g, H, x, s, resid: int, expo) -> np.ndarray:
    """The Hessian over x of min_s f(theta(x, s)), theta_k = x_k s^expo_k (theta_resid = s), from the gradient
    g and Hessian H of f over theta at the optimal scale s: the Schur complement of the scale in the Hessian of
    f(theta(x, s))."""
    n = len(g)
    idx = np.array([k for k in range(n) if k != resid], dtype=int)
    e = np.asarray(expo, dtype=float)[idx]
    Jx = np.zeros((n, len(idx)))
    Jx[idx, np.arange(len(idx))] = s ** e
    Js = np.zeros(n)
    Js[idx] = e * x * s ** (e - 1)
    Js[resid] = 1.0
    gx = g[idx]
    pxx = Jx.T @ H @ Jx
    pxs = Jx.T @ H @ Js + gx * e * s ** (e - 1)
    pss = float(Js @ H @ Js + np.sum(gx * e * (e - 1) * x * s ** (e - 2)))
    return pxx - np.outer(pxs, pxs) / pss if pss > 0 else pxx


def _newton_step(H, g):
    """H^-1 g for a positive definite H; for a singular nonnegative definite H (parameters confounded with
    earlier ones, as a random intercept with REPEATED TYPE=CS) the sweep's generalised inverse, which leaves
    the dependent parameters where they are; None when H is indefinite."""
    dep = sweep_dependent(H, 1e-8) if H.size else np.zeros(0, dtype=bool)
    if not dep.any():
        try:
            np.linalg.cholesky(H)
            return np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            return None
    keep = ~dep
    if not keep.any():
        return None
    try:
        np.linalg.cholesky(H[np.ix_(keep, keep)])
    except np.linalg.LinAlgError:
        return None
    out = np.zeros(len(g))
    out[keep] = np.linalg.solve(H[np.ix_(keep, keep)], g[keep])
    # a true confounding has g in the range of H (the dependent rows repeat the others); otherwise the
    # singularity is the parameterisation's (an FA0 loading at 0) and the ridge has to move the parameter
    if np.linalg.norm(H @ out - g) > 1e-6 * max(float(np.linalg.norm(g)), 1e-300):
        return None
    return out


def newton_raphson(lmm, th0, resid: int | None = None, expo=None, maxiter: int = 50,
                   maxfunc: int = 150, convh: float = 1e-8, nobound: bool = False) -> NRResult:
    th0 = np.asarray(th0, dtype=float)
    n = len(th0)
    d = lmm.d
    p = d.X.shape[2]
    const = (d.N - p if lmm.method == "reml" else d.N) * math.log(2 * math.pi)
    bounds = lmm.bounds()
    expo = np.ones(n) if expo is None else np.asarray(expo, dtype=float)
    keep = np.ones(n, dtype=bool)
    if resid is not None:
        keep[resid] = False
        if not th0[resid] > 0:
            return NRResult(th0, False, 0, [], "nonpositive starting residual variance")
    idx = np.flatnonzero(keep)                       # optimised coordinates (profiled: all but the scale)
    lo = np.array([bounds[k][0] if bounds[k][0] is not None else -np.inf for k in idx])
    hi = np.array([bounds[k][1] if bounds[k][1] is not None else np.inf for k in idx])
    if nobound:                     # NOBOUND: no boundary constraints (V must still be positive definite)
        lo, hi = np.full(len(idx), -np.inf), np.full(len(idx), np.inf)
    s0 = th0[resid] if resid is not None else 1.0
    x = th0[idx] / s0 ** expo[idx]

    def theta_of(x):
        if resid is None:
            return x.copy(), 1.0
        t = np.insert(x, resid, 1.0)
        try:
            s = lmm.profiled_scale(t)
        except np.linalg.LinAlgError:
            return None, math.nan
        if not (np.isfinite(s) and s > 0):
            return None, math.nan
        th = t * s ** expo
        th[resid] = s
        return th, s

    cache = {}

    def fval(x):
        th, _ = theta_of(x)
        if th is None:
            return math.inf
        v = lmm.objective(th)
        return v if v < 1e9 else math.inf

    def grad(x):
        key = x.tobytes()
        if key in cache:
            return cache[key]
        th, s = theta_of(x)
        if th is None:
            out = (math.inf, None)
        else:
            v, g = lmm.objective_grad(th)
            # envelope theorem: the scale is at its optimum, so only the explicit dependence remains
            out = (v if v < 1e9 else math.inf, g[idx] * s ** expo[idx])
        cache[key] = out
        return out

    linear = is_linear(lmm.g) and is_linear(lmm.r)

    def hessian(x, free):
        if linear:
            th, s = theta_of(x)
            out = None if th is None else lmm.hessian_linear(th)
            if out is None:
                return None
            return out[2] if resid is None else profiled_hessian(out[1], out[2], x, s, resid, expo)
        # central differences of the analytic gradient (one-sided at a bound)
        m = len(x)
        H = np.zeros((m, m))
        for j in range(m):
            if not free[j]:
                continue
            h = 1e-5 * max(1.0, abs(x[j]))
            e = np.zeros(m)
            e[j] = h
            up, dn = x + e, x - e
            if up[j] > hi[j]:
                up = x
            if dn[j] < lo[j]:
                dn = x
            gu, gd = grad(up)[1], grad(dn)[1]
            if gu is None or gd is None:
                return None
            H[:, j] = (gu - gd) / (up[j] - dn[j])
        return (H + H.T) / 2

    def criterion(g, H, f, free):
        gf = g[free]
        if not gf.size:
            return 0.0
        Hf = H[np.ix_(free, free)]
        den = abs(f - const) or 1.0
        step = _newton_step(Hf, gf)
        if step is not None:
            return float(gf @ step) / den
        return float(gf @ gf) / den

    def free_set(x, g):
        on_lo = (x <= lo + 1e-12) & (g > 0)
        on_hi = (x >= hi - 1e-12) & (g < 0)
        return ~(on_lo | on_hi)

    f = fval(x)
    if not np.isfinite(f):
        return NRResult(th0, False, 0, [], "infeasible starting values")
    evals, total = 1, 1
    rows = []
    crit = None
    here = None                      # (gradient, Hessian, free set) at x, carried over from the last iteration
    for it in range(1, maxiter + 1):
        if here is None:
            _, g = grad(x)
            if g is None:
                return NRResult(th0, False, it, rows, "gradient failed")
            free = free_set(x, g)
            H = hessian(x, free)
            if H is None:
                return NRResult(th0, False, it, rows, "Hessian failed")
        else:
            g, H, free = here
        if it == 1:
            crit = criterion(g, H, f, free)
            if crit < convh:
                rows.append((1, evals, f, crit))
                return NRResult(theta_of(x)[0], True, 1, rows)
        Hf = H[np.ix_(free, free)]
        gf = g[free]
        scale = max(float(np.max(np.abs(np.diag(Hf)))) if gf.size else 1.0, 1e-8)
        lam = 0.0
        accepted = False
        clamped = False
        while total < maxfunc:
            step = _newton_step(Hf + lam * np.eye(len(gf)), gf)
            if step is None:
                if lam > 1e12 * scale:
                    break
                lam = max(lam * 4, 1e-6 * scale)
                continue
            xn = x.copy()
            xn[free] = x[free] - step
            clipped = np.clip(xn, lo, hi)
            clamped = bool(np.any(clipped != xn))
            xn = clipped
            fn = fval(xn)
            evals += 1
            total += 1
            if np.isfinite(fn) and fn <= f + 1e-12 * max(1.0, abs(f)):
                accepted = True
                break
            lam = max(lam * 4, 1e-4 * scale)
        if not accepted:
            return NRResult(theta_of(x)[0], False, it, rows, "no step lowered the objective")
        x, f = xn, fn
        _, g = grad(x)
        if g is None:
            return NRResult(theta_of(x)[0], False, it, rows, "gradient failed")
        free = free_set(x, g)
        H = hessian(x, free)
        if H is None:
            return NRResult(theta_of(x)[0], False, it, rows, "Hessian failed")
        crit = criterion(g, H, f, free)
        here = (g, H, free)
        rows.append((it, evals, f, None if clamped else crit))
        evals = 0
        if crit < convh:
            return NRResult(theta_of(x)[0], True, it, rows)
    return NRResult(theta_of(x)[0], False, maxiter, rows, "maximum iterations")
