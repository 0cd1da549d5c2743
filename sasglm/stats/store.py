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

    def design_for(self, data: dict) -> np.ndarray:
        dz = D.build(data, self.classes, self.effects, self.intercept)
        return dz.X

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            pickle.dump(self, f)
        tmp.replace(path)

    @staticmethod
    def load(path: Path) -> "ItemStore":
        with open(path, "rb") as f:
            return pickle.load(f)
