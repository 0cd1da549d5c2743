"""Finite-difference helpers shared by the likelihood engines."""
from __future__ import annotations

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
