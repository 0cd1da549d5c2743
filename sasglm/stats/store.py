"""Item stores: what STORE saves and PROC PLM reads (the fitted linear predictor and its covariance,
with everything needed to rebuild the design on new data)."""
from __future__ import annotations

import math
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import design as D


@dataclass
class DDF:
    """The denominator degrees of freedom a mixed-model item store carries (PROC PLM's DDFMETHOD=
    default): per-effect DF for the effect-based methods (containment, between-within, residual),
    infinite for NONE, and for Kenward-Roger and Satterthwaite the pieces that give the DF (and the
    KR scale of F) of any hypothesis L beta = 0 without the data."""
    method: str                     # contain | betwithin | residual | none | kr | satterth
    dfs: dict                       # effect index (-1: intercept) -> DF
    residual: float                 # N - rank(X), for DDFMETHOD=RESIDUAL
    keep: np.ndarray | None = None  # the design columns that are not aliased (KR/Satterthwaite work on them)
    kr: tuple | None = None         # (Phi, Phi_A, P, Q, W) of the Kenward-Roger computation
    satt: tuple | None = None       # (C, [dC/dtheta_k], W = Cov(theta hat)) for Satterthwaite

    LABELS = {"contain": "Containment", "betwithin": "Between-Within", "residual": "Residual",
              "none": "None", "kr": "Kenward-Roger", "satterth": "Satterthwaite"}

    @property
    def label(self) -> str:
        return self.LABELS[self.method]

    def with_method(self, method: str) -> "DDF":
        """PLM DDFMETHOD=: RESIDUAL and NONE always; KR and Satterthwaite when the store holds them."""
        import dataclasses
        if method == "none":
            return dataclasses.replace(self, method="none", dfs={k: math.inf for k in self.dfs})
        if method == "residual":
            return dataclasses.replace(self, method="residual", dfs={k: self.residual for k in self.dfs})
        if (method == "kr" and self.kr is None) or (method == "satterth" and self.satt is None):
            return None
        return dataclasses.replace(self, method=method)

    def adjust(self):
        """adjust(L, F, dd) -> (DenDF, F) for the KR and Satterthwaite methods, else None."""
        from .lmm import LMM
        keep = self.keep
        if self.method == "kr" and self.kr is not None:
            def adj(L, F, dd):
                m, lam, _ = LMM.kr_ddf(np.atleast_2d(L)[:, keep], *self.kr)
                return m, F * lam
            return adj
        if self.method == "satterth" and self.satt is not None:
            return lambda L, F, dd: (LMM.satterthwaite_ddf(np.atleast_2d(L)[:, keep], *self.satt), F)
        return None

    def df_of(self):
        """The DF of one estimable row L under KR/Satterthwaite, else None (effect-based)."""
        adj = self.adjust()
        return (lambda L: adj(np.atleast_2d(L), 1.0, None)[0]) if adj is not None else None


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
    label: str | None = None                         # STORE / LABEL=
    ddf: "DDF | None" = None                         # mixed models: the denominator DF of every test
    info: list = field(default_factory=list)         # further Store Information rows (label, value)
    dist_label: str | None = None                    # the Distribution row when it is not family.sas

    def data_vars(self) -> list:
        """The data set variables the model needs, in model order: the effects' variables, a constructed
        effect (EFFECT statement) replaced by the variables it is built from."""
        cons = getattr(self.design, "constructed", None) or {}
        out = []
        for e in self.effects:
            for v in e.all_vars():
                for u in (cons[v].vars if v in cons else [v]):
                    if u not in out:
                        out.append(u)
        return out

    def design_for(self, data: dict) -> np.ndarray:
        dz = D.build(data, self.classes, self.effects, self.intercept, template=self.design)
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


def store_info(classes: dict, design) -> list:
    """The Class Variables and Model Effects rows of PLM's Store Information."""
    rows = []
    if classes:
        rows.append(("Class Variables", " ".join(classes)))
    effs = (["Intercept"] if design.intercept else []) + [e.name for e in design.effects]
    rows.append(("Model Effects", " ".join(effs)))
    return rows


def _used_class_names(design, copts) -> list:
    return [v.name for v in copts if any(v.name in c.levels for c in design.columns)]


def param_labels(design, copts) -> list:
    """SHOW PARAMETERS labels of a mixed-model store: Effect and the CLASS variables of the fixed effects."""
    names = _used_class_names(design, copts)
    return [{"Effect": c.effect, **{v: c.levels.get(v, "") for v in names}} for c in design.columns]
