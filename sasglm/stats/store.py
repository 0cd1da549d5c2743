"""Item stores: what STORE saves and PROC PLM reads (the fitted linear predictor and its covariance,
with everything needed to rebuild the design on new data)."""
from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import design as D


@dataclass
class ItemStore:
    proc: str
    classes: dict
    effects: list
    intercept: bool
    beta: np.ndarray
    cov: np.ndarray
    aliased: np.ndarray
    link: object
    family: object
    offset_var: str | None
    columns: list
    response: str | None = None
    data_name: str = ""
    design: object = None          # the fit's Design with X replaced by a basis of its row space
    means: dict = field(default_factory=dict)        # covariate means (LS-means)
    class_data: dict = field(default_factory=dict)   # CLASS columns of the rows used (LSMEANS OM)
    class_rows: list = field(default_factory=list)   # Class Level Information rows
    fit_rows: list = field(default_factory=list)     # (criterion, value) of the fit table
    param_rows: list = field(default_factory=list)   # parameter labels per design column
    ranges: dict = field(default_factory=dict)       # covariate (min, max) over the rows used (EFFECTPLOT)

    def design_for(self, data: dict) -> np.ndarray:
        dz = D.build(data, self.classes, self.effects, self.intercept)
        return dz.X

    @staticmethod
    def row_space(design) -> "D.Design":
        """A copy of ``design`` whose X is an orthonormal basis of X's row space: enough to build
        contrast rows and to decide estimability, without keeping the data."""
        import dataclasses
        X = design.X
        if X.shape[0] and X.shape[1]:
            _, s, vt = np.linalg.svd(X, full_matrices=False)
            r = int((s > s.max() * 1e-10 * max(X.shape)).sum()) if s.size else 0
            basis = vt[:r]
        else:
            basis = np.zeros((0, X.shape[1]))
        return dataclasses.replace(design, X=basis)

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            pickle.dump(self, f)
        tmp.replace(path)

    @staticmethod
    def load(path: Path) -> "ItemStore":
        with open(path, "rb") as f:
            return pickle.load(f)
