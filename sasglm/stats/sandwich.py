"""Residual-based sandwich estimators of Cov(beta hat) (no SAS syntax here).

    classical:  Omega M Omega,  M = sum_i U_i U_i',  U_i = D_i' Sigma_i^-1 e_i,  Omega = (sum D_i' Sigma_i^-1 D_i)^-1
    MBN (Morel, Bokossa & Neerchal 2003), as SAS documents it:
                c Omega M Omega + delta_m phi Omega,
                c = (f - 1)/(f - k) * m/(m - 1)  (1 with NODF),  phi = max(r, trace(Omega M)/k*),
                delta_m = k/(m - k) if m > (d + 1) k else 1/d,
    with m subjects, f observations, k = rank X, and k* = k when m >= k, else the number of nonzero singular
    values of Omega M.
"""
from __future__ import annotations

import numpy as np


def sandwich(Omega: np.ndarray, U: np.ndarray, kind: str = "classical", k: int | None = None,
             f: float | None = None, r: float = 1.0, d: float = 2.0, nodf: bool = False) -> np.ndarray:
    M = U.T @ U
    classical = Omega @ M @ Omega
    if kind == "classical":
        return classical
    if kind != "mbn":
        raise ValueError(kind)
    m = U.shape[0]
    k = Omega.shape[0] if k is None else k
    f = m if f is None else f
    c = 1.0 if nodf else (f - 1) / (f - k) * m / (m - 1)
    OM = Omega @ M
    if m >= k:
        kstar = k
    else:
        sv = np.linalg.svd(OM, compute_uv=False)
        kstar = int((sv > 1e-12 * max(sv.max(), 1e-300)).sum()) or 1
    phi = max(r, float(np.trace(OM)) / kstar)
    delta = k / (m - k) if m > (d + 1) * k else 1.0 / d
    return c * classical + delta * phi * Omega
