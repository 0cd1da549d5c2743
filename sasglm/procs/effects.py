"""The EFFECT statement (GENMOD, GEE, GLIMMIX): constructed spline effects.

    EFFECT name = SPLINE(variables < / options >);

The SAS syntax is read here into a plain stats.splines.SplineSpec; the knots are fixed from the observations
the model uses (``bind``), and the bound effect gives its design columns at any values of its variables.
Options: BASIS=BSPLINE | TPF<(NOINT NOPOWERS)>, DEGREE=, NATURALCUBIC, KNOTMETHOD=EQUAL<(n)> | LIST(...) |
LISTWITHBOUNDARY(...) | PERCENTILES(n) | PERCENTILELIST(...) | RANGEFRACTIONS(...), DATABOUNDARY, KNOTMIN=,
KNOTMAX=, DETAILS.  Other effect types (POLY, COLLECTION, LAG, MULTIMEMBER, ...) and the options SPLIT,
SEPARATE and KNOTMETHOD=MULTISCALE are an ERROR.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .. import ast as A
from ..errors import SasError
from ..ods.table import Column, Table
from ..stats import splines as SP
from .common import value_of


@dataclass
class EffectSpec:
    """An EFFECT statement, read."""
    name: str
    vars: list[str]
    spec: SP.SplineSpec
    details: bool = False
    line: int = 0
    col: int = 0


@dataclass
class Constructed:
    """A constructed effect bound to the data of a fit: its columns at any values of its variables."""
    name: str
    vars: list[str]
    bases: list[SP.SplineBasis]
    labels: list[str] = field(default_factory=list)

    def columns(self, data) -> np.ndarray:
        return np.hstack([b.evaluate(np.asarray(data[v], dtype=float)) for v, b in zip(self.vars, self.bases)])

    def row(self, values: dict) -> np.ndarray:
        """The columns at one setting of the variables (``values``: variable -> value)."""
        return np.concatenate([b.evaluate(np.array([float(values[v])]))[0] for v, b in zip(self.vars, self.bases)])

    def row_at(self, x: float) -> np.ndarray:
        """The columns when every variable of the effect takes the value x (the nonpositional syntax)."""
        return self.row({v: x for v in self.vars})


_KNOT_METHODS = {"equal", "list", "listwithboundary", "percentiles", "percentilelist", "rangefractions"}


def _numbers(items, what, node) -> list[float]:
    """The signed numbers of a KNOTMETHOD=( ) list (commas optional)."""
    out, sign = [], 1.0
    for w in items:
        if isinstance(w, A.Word) and w.kind == "op" and w.value in (",", "-") and sign == 1.0:
            sign = -1.0 if w.value == "-" else 1.0
        elif isinstance(w, A.Word) and w.kind == "number":
            out.append(sign * float(w.value))
            sign = 1.0
        else:
            raise SasError(f"{what} needs numbers.", getattr(w, "line", node.line), getattr(w, "col", node.col))
    if sign != 1.0:
        raise SasError(f"{what} needs numbers.", node.line, node.col)
    return out


def parse_effect(stm, ds, class_names) -> EffectSpec:
    """One EFFECT statement -> EffectSpec (checked against the data set's variables)."""
    m = re.match(r"\s*effect\s+([A-Za-z_][A-Za-z0-9_]*)\s*=", stm.text or "", re.I)
    items = stm.items or []
    if m is None or len(items) != 1 or not isinstance(items[0], A.Opt) or not isinstance(items[0].value, A.Group):
        raise SasError("The EFFECT statement needs name = effect-type(variables </ options>).", stm.line, stm.col)
    name = m.group(1)
    grp = items[0].value
    etype = str(grp.name).lower()
    if etype != "spline":
        raise SasError(f"EFFECT type {etype.upper()} is not supported yet (SPLINE is).", grp.line, grp.col)
    if ds.colname(name) is not None:
        raise SasError(f"The EFFECT name {name} is a variable of the data set; choose another name.",
                       stm.line, stm.col)
    slash = next((i for i, w in enumerate(grp.items) if isinstance(w, A.Word) and w.kind == "op" and w.value == "/"),
                 len(grp.items))
    vars_, opts = grp.items[:slash], grp.items[slash + 1:]
    names = []
    for w in vars_:
        if not (isinstance(w, A.Word) and w.kind == "name"):
            raise SasError("SPLINE( ) needs numeric variable names before the slash.", getattr(w, "line", grp.line),
                           getattr(w, "col", grp.col))
        c = ds.colname(str(w.value))
        if c is None:
            raise SasError(f"Variable {str(w.value).upper()} not found.", w.line, w.col)
        if ds.var(c).is_char:
            raise SasError(f"Variable {c} in the SPLINE effect {name} must be numeric.", w.line, w.col)
        if c in class_names:
            raise SasError(f"Variable {c} in the SPLINE effect {name} is a CLASS variable.", w.line, w.col)
        names.append(c)
    if not names:
        raise SasError(f"The SPLINE effect {name} needs at least one variable.", grp.line, grp.col)
    spec, details = SP.SplineSpec(), False
    for o in opts:
        key = (o.key if isinstance(o, A.Opt) else str(getattr(o, "name", None) or getattr(o, "value", ""))).lower()
        line, col = getattr(o, "line", grp.line), getattr(o, "col", grp.col)
        if isinstance(o, A.Word) and o.kind == "name" and key == "details":
            details = True
        elif isinstance(o, A.Word) and o.kind == "name" and key == "databoundary":
            spec.data_boundary = True
        elif isinstance(o, A.Word) and o.kind == "name" and key == "naturalcubic":
            spec.natural = True
        elif isinstance(o, A.Opt) and key == "degree":
            d = value_of(o.value)
            if not isinstance(d, float) or d != int(d) or d < 0:
                raise SasError("DEGREE= needs a nonnegative integer.", line, col)
            spec.degree = int(d)
        elif isinstance(o, A.Opt) and key in ("knotmin", "knotmax"):
            num = value_of(o.value)
            if not isinstance(num, float):
                raise SasError(f"{key.upper()}= needs a number.", line, col)
            setattr(spec, "knot_min" if key == "knotmin" else "knot_max", num)
        elif isinstance(o, A.Opt) and key == "basis":
            v = o.value
            bname = str(v.name if isinstance(v, A.Group) else value_of(v)).lower()
            if bname == "bspline" and not isinstance(v, A.Group):
                spec.basis = "bspline"
            elif bname == "tpf":
                spec.basis = "tpf"
                for w in (v.items if isinstance(v, A.Group) else []):
                    s = str(getattr(w, "value", "")).lower()
                    if s == "noint":
                        spec.noint = True
                    elif s == "nopowers":
                        spec.nopowers = True
                    elif not (isinstance(w, A.Word) and w.value == ","):
                        raise SasError(f"BASIS=TPF option {s.upper()} is not supported (NOINT, NOPOWERS are).",
                                       line, col)
            else:
                raise SasError(f"BASIS={bname.upper()} is not supported (BSPLINE, TPF are).", line, col)
        elif isinstance(o, A.Opt) and key == "knotmethod":
            v = o.value
            meth = str(v.name if isinstance(v, A.Group) else value_of(v)).lower()
            if meth not in _KNOT_METHODS:
                raise SasError(f"KNOTMETHOD={meth.upper()} is not supported yet (EQUAL, LIST, LISTWITHBOUNDARY, "
                               "PERCENTILES, PERCENTILELIST, RANGEFRACTIONS are).", line, col)
            vals = _numbers(v.items, f"KNOTMETHOD={meth.upper()}", v) if isinstance(v, A.Group) else []
            spec.knot_method = meth
            if meth in ("equal", "percentiles"):
                if meth == "percentiles" and len(vals) != 1 or len(vals) > 1 or \
                        (vals and (vals[0] != int(vals[0]) or vals[0] < 1)):
                    raise SasError(f"KNOTMETHOD={meth.upper()}(n) needs one positive integer.", line, col)
                spec.knot_count = int(vals[0]) if vals else 3
            else:
                if not vals:
                    raise SasError(f"KNOTMETHOD={meth.upper()}( ) needs a list of values.", line, col)
                if meth == "percentilelist" and any(not 0 < p < 100 for p in vals):
                    raise SasError("KNOTMETHOD=PERCENTILELIST values must be between 0 and 100.", line, col)
                if meth == "rangefractions" and any(not 0 < f < 1 for f in vals):
                    raise SasError("KNOTMETHOD=RANGEFRACTIONS values must be between 0 and 1.", line, col)
                spec.knot_values = vals
        elif key in ("split", "separate"):
            raise SasError(f"The SPLINE option {key.upper()} is not supported yet.", line, col)
        else:
            raise SasError(f"Unknown or unsupported SPLINE option {key.upper()}.", line, col)
    if spec.natural and spec.degree != 3:
        raise SasError("NATURALCUBIC needs DEGREE=3 (a natural cubic spline).", stm.line, stm.col)
    return EffectSpec(name, names, spec, details, stm.line, stm.col)


def parse_effects(stmts, ds, class_names) -> dict:
    """The EFFECT statements of a step -> {lower-case name: EffectSpec}; a name used twice is an ERROR."""
    out = {}
    for stm in stmts:
        e = parse_effect(stm, ds, class_names)
        if e.name.lower() in out:
            raise SasError(f"The EFFECT name {e.name} is defined twice.", stm.line, stm.col)
        out[e.name.lower()] = e
    return out


def rename_in_effects(effects, specs) -> None:
    """Give constructed-effect factors in parsed model effects the EFFECT statement's spelling."""
    for e in effects:
        e.factors = [specs[v.lower()].name if v.lower() in specs else v for v in e.factors]


def data_vars(effects, specs) -> set[str]:
    """The data set variables that ``effects`` need: their own variables, with constructed effects replaced
    by the variables they are built from."""
    specs = specs or {}
    out = {v for e in effects for v in e.all_vars() if v.lower() not in specs}
    return out | underlying(effects, specs)


def underlying(effects, specs) -> set[str]:
    """The data set variables that the constructed effects used in ``effects`` need."""
    used = {v.lower() for e in effects for v in e.factors}
    return {v for key, s in specs.items() if key in used for v in s.vars}


def bind(specs, data, used_names=None) -> dict:
    """Fix the knots of each constructed effect (used in the model) from ``data`` (variable -> values over
    the observations of the fit): {name: Constructed}."""
    out = {}
    for key, e in specs.items():
        if used_names is not None and key not in used_names:
            continue
        bases = []
        for v in e.vars:
            try:
                bases.append(SP.fit_basis(e.spec, np.asarray(data[v], dtype=float)))
            except SP.SplineError as err:
                raise SasError(f"The SPLINE effect {e.name} cannot be formed for {v}: {err}.", e.line, e.col)
        ncols = sum(b.ncols for b in bases)
        out[e.name] = Constructed(e.name, list(e.vars), bases, [str(i) for i in range(1, ncols + 1)])
    return out


def knot_tables(proc, bound, specs=None) -> list[Table]:
    """The knots of each bound spline effect, boundary knots marked: with ``specs`` only for those whose
    EFFECT statement asks for DETAILS (PLM's SHOW EFFECTS lists them all)."""
    tables = []
    for name, c in bound.items():
        if specs is not None and not specs[name.lower()].details:
            continue
        for v, b in zip(c.vars, c.bases):
            rows = [{"KnotNumber": i, "Boundary": "*" if bd else "", v: val}
                    for i, (val, bd) in enumerate(b.knot_rows(), 1)]
            tables.append(Table(proc, "SplineKnotInfo", f"Knots for Spline Effect {name}",
                                [Column("KnotNumber", "Knot Number", "INT"), Column("Boundary"),
                                 Column(v, v, "D")], rows))
    return tables
