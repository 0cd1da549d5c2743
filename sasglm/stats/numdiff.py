"""Finite-difference helpers shared by the likelihood engines."""
from __future__ import annotations

import math

import numpy as np


def jacobian_of_gradient(grad, theta, rel_step: float) -> np.ndarray:
    """The symmetrised Hessian from central differences of an analytic gradient: column j is
    (grad(theta + h e_j) - grad(theta - h e_j)) / 2h with h = rel_step * max(1, |theta_j|)."""
    theta = np.asarray(theta, dtype=float)
    m = len(theta)
    H = np.zeros((m, m))
    for j in range(m):
        h = rel_step * max(1.0, abs(theta[j]))
        e = np.zeros(m)
        e[j] = h
        H[:, j] = (grad(theta + e) - grad(theta - e)) / (2 * h)
    return 0.5 * (H + H.T)


def select_qpoints(objective_at, qtol: float = 1e-4, maxpts: int = 31) -> int:
    """SAS's adaptive choice of the number of quadrature points at the starting values: 1, 3, 5, ... points
    until the objective (-2 log L or -log L, evaluated by ``objective_at(n)``) changes by a relative amount
    below QTOL; the smaller of the last two numbers is chosen."""
    prev = n_prev = None
    for n in [1] + list(range(3, maxpts + 1, 2)):
        val = objective_at(n)
        if prev is not None and abs(val - prev) / max(abs(val), 1e-12) < qtol:
            return n_prev
        prev, n_prev = val, n
    return maxpts


def central_gradient(f, x, f0=None, rel=1e-5, lower=None, upper=None):
    """The gradient of a scalar function by central differences (one-sided next to a bound), step
    rel * max(1, |x_j|)."""
    g = np.zeros(len(x))
    for j in range(len(x)):
        h = rel * max(1.0, abs(x[j]))
        e = np.zeros(len(x))
        e[j] = h
        up_ok = upper is None or x[j] + h <= upper[j]
        lo_ok = lower is None or x[j] - h >= lower[j]
        fu = f(x + e) if up_ok else math.nan
        fd = f(x - e) if lo_ok or not up_ok else math.nan      # both sides out of bounds: a backward step
        if math.isfinite(fu) and math.isfinite(fd):
            g[j] = (fu - fd) / (2 * h)
            continue
        # one-sided next to a bound, or where one side leaves the region the function is defined on
        if f0 is None:
            f0 = f(x)
        if math.isfinite(fu):
            g[j] = (fu - f0) / h
        elif math.isfinite(fd):
            g[j] = (f0 - fd) / h
        else:
            g[j] = math.nan
    return g


def jacobian_of_function(f, x, rel=1e-5, idx=None):
    """d f / d x_j for j in idx (default all) by central differences, step rel * max(1, |x_j|); the derivative
    index last (m x n for a vector function)."""
    cols = []
    for j in (range(len(x)) if idx is None else idx):
        h = rel * max(1.0, abs(x[j]))
        e = np.zeros(len(x))
        e[j] = h
        cols.append((np.asarray(f(x + e), dtype=float) - np.asarray(f(x - e), dtype=float)) / (2 * h))
    return np.stack(cols, axis=-1)


def hessian_of_function(f, x, rel=1e-4):
    """The Hessian of a scalar function by central second differences of its values."""
    n = len(x)
    H = np.zeros((n, n))
    f0 = f(x)
    hs = np.array([rel * max(1.0, abs(v)) for v in x])
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = hs[i]
        H[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / hs[i] ** 2
        for j in range(i):
            ej = np.zeros(n)
            ej[j] = hs[j]
            H[i, j] = H[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / \
                (4 * hs[i] * hs[j])
    return H
