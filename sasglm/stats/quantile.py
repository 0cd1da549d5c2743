"""SAS's default percentile (PCTLDEF=5: the empirical distribution function with averaging)."""
from __future__ import annotations

import math

import numpy as np


def sas_percentile(x, p: float) -> float:
    """The p-th percentile (0 <= p <= 100) of the values x: with n p / 100 = j + g, x_(j+1) when g > 0, else
    the average of x_(j) and x_(j+1)."""
    xs = np.sort(np.asarray(x, dtype=float))
    n = len(xs)
    if n == 0:
        return math.nan
    np_ = n * p / 100.0
    j = int(math.floor(np_))
    g = np_ - j
    if g > 1e-12:
        return float(xs[min(j, n - 1)])
    if j == 0:
        return float(xs[0])
    return float((xs[j - 1] + xs[min(j, n - 1)]) / 2)
