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


def corrected_scores(D, Sinv, e, Omega, kind: str, r: float = 0.75) -> np.ndarray:
    """Per-subject score contributions U_i (m x p) for the classical, ROOT, FIRORES and FIROEEQ sandwiches.
    D: m x T x p, Sinv: m x T x T (zero outside the observed positions), e: m x T."""
    if kind in ("classical", "mbn"):
        return np.einsum("ktp,kts,ks->kp", D, Sinv, e, optimize=True)
    if kind == "firoeeq":
        U = np.einsum("ktp,kts,ks->kp", D, Sinv, e, optimize=True)
        Q = np.einsum("ktp,kts,ksq,qr->kpr", D, Sinv, D, Omega, optimize=True)
        A = (1 - np.minimum(r, np.diagonal(Q, axis1=1, axis2=2))) ** -0.5
        return U * A
    T = e.shape[1]
    H = np.einsum("ktp,pq,ksq,ksu->ktu", D, Omega, D, Sinv, optimize=True)           # D Omega D' S^-1
    I = np.eye(T)[None]
    if kind == "firores":
        e_adj = np.linalg.solve(I - H, e[:, :, None])[:, :, 0]
    elif kind == "root":
        lam, P = np.linalg.eig(H)                      # H is similar to a symmetric matrix: real spectrum
        lam, P = lam.real, P.real
        Pinv = np.linalg.inv(P)
        scale = np.clip(1 - lam, 1e-12, None) ** -0.5
        e_adj = np.einsum("ktj,kj,kju,ku->kt", P, scale, Pinv, e, optimize=True)
    else:
        raise ValueError(kind)
    return np.einsum("ktp,kts,ks->kp", D, Sinv, e_adj, optimize=True)
