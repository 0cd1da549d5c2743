"""What GENMOD, GLIMMIX and MIXED share at the SAS level: CLASS statements (REF=, DESCENDING,
PARAM=, ORDER=), MODEL effects and response options, the rows used, the response profile, and the
tables that describe them.  Produces plain specs for the stats engines."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import ast as A
from ..data.dataset import Dataset
from ..datastep.formats import format_value
from ..errors import SasError
from ..ods.table import Column, Table
from ..stats import design as D
from .common import value_of


@dataclass
class ClassOpt:
    name: str
    ref: str | None = None          # formatted value, or 'FIRST' / 'LAST'
    descending: bool = False
    order: str | None = None
    param: str | None = None
    line: int | None = None
    col: int | None = None


def parse_class(stmt: A.GenStmt, ds: Dataset, allowed_global: set[str]) -> tuple[list[ClassOpt], dict]:
    out: list[ClassOpt] = []
    for it in stmt.items:
        if isinstance(it, A.Word) and it.kind == "name":
            out.append(ClassOpt(str(it.value), line=it.line, col=it.col))
        elif isinstance(it, A.Group) and it.name is not None:
            co = ClassOpt(it.name, line=it.line, col=it.col)
            for o in it.items:
                if isinstance(o, A.Opt) and o.key == "ref":
                    co.ref = str(value_of(o.value))
                elif isinstance(o, A.Opt) and o.key == "order":
                    co.order = str(value_of(o.value)).lower()
                elif isinstance(o, A.Opt) and o.key == "param":
                    co.param = str(value_of(o.value)).lower()
                elif isinstance(o, A.Word) and str(o.value).lower() in ("descending", "desc"):
                    co.descending = True
                elif isinstance(o, A.Word) and str(o.value).lower() in ("first", "last"):
                    co.ref = str(o.value).upper()
                else:
                    raise SasError(f"Unsupported CLASS variable option {getattr(o, 'key', getattr(o, 'value', o))}.",
                                   it.line, it.col)
            out.append(co)
        else:
            raise SasError("Expecting a variable name in the CLASS statement.", getattr(it, "line", None),
                           getattr(it, "col", None), code="22-322")
    glob = {}
    for o in stmt.options or []:
        if isinstance(o, A.Opt):
            key = o.key.lower()
            if key not in allowed_global:
                raise SasError(f"The option {key.upper()} is not supported on the CLASS statement.", o.line, o.col,
                               code="22-322")
            glob[key] = str(value_of(o.value)).lower()
        elif isinstance(o, A.Word) and o.kind == "name":
            key = str(o.value).lower()
            if key not in allowed_global:
                raise SasError(f"The option {key.upper()} is not supported on the CLASS statement.", o.line, o.col,
                               code="22-322")
            glob[key] = True
    for co in out:
        if ds.colname(co.name) is None:
            raise SasError(f"Variable {co.name.upper()} not found.", co.line, co.col)
        co.name = ds.colname(co.name)
    return out, glob


def effect_tokens(items) -> list:
    """Flat PROC statement items -> tokens for design.parse_effects."""
    toks = []
    for it in items:
        if isinstance(it, A.Word) and it.kind == "name":
            toks.append(("name", str(it.value)))
        elif isinstance(it, A.Word) and it.kind == "op" and it.value in ("*", "|", "@"):
            toks.append(("op", it.value))
        elif isinstance(it, A.Word) and it.kind == "number":
            toks.append(("number", it.value))
        elif isinstance(it, A.Group) and it.name is not None:
            toks.append(("name", it.name))
            toks.append(("nested", [str(x.value) for x in it.items if isinstance(x, A.Word) and x.kind == "name"]))
        elif isinstance(it, A.Group) and it.name is None:
            toks.append(("nested", [str(x.value) for x in it.items if isinstance(x, A.Word) and x.kind == "name"]))
        else:
            raise SasError("Invalid effect in the MODEL statement.", getattr(it, "line", None),
                           getattr(it, "col", None), code="22-322")
    return toks


def parse_model_effects(stmt: A.ModelStmt, ds: Dataset, class_names: set[str], constructed=None) -> list[D.Effect]:
    """The MODEL statement's effects, variables spelled as in the data set; ``constructed`` (EFFECT statement
    specs by lower-case name) names constructed effects that may appear in them."""
    try:
        effects = D.parse_effects(effect_tokens(stmt.effects), class_names)
    except ValueError as e:
        raise SasError(f"Invalid effect specification: {e}.", stmt.line, stmt.col, code="22-322")
    for eff in effects:
        for i, v in enumerate(eff.factors):
            if constructed and v.lower() in constructed:
                eff.factors[i] = constructed[v.lower()].name
                continue
            c = ds.colname(v)
            if c is None:
                raise SasError(f"Variable {v.upper()} not found.", stmt.line, stmt.col)
            eff.factors[i] = c
        for i, v in enumerate(eff.nested):
            c = ds.colname(v)
            if c is None:
                raise SasError(f"Variable {v.upper()} not found.", stmt.line, stmt.col)
            eff.nested[i] = c
        for v in eff.nested:
            if v not in class_names:
                raise SasError(f"Nesting variable {v} must be a CLASS variable.", stmt.line, stmt.col)
    return effects


def formatted(ds: Dataset, name: str, session) -> list[str]:
    """Formatted values of a variable (each distinct value is formatted once)."""
    m = ds.var(name)
    col = ds.column(name).to_numpy()
    codes, uniq = pd.factorize(pd.Series(col, dtype=object if m.is_char else float), use_na_sentinel=False)
    if m.is_char:
        labels = [format_value(v, m.format, session.user_formats, is_char=True, strip=True) if m.format else str(v)
                  for v in uniq]
    else:
        labels = [format_value(float(v), m.format, session.user_formats, is_char=False, strip=True) for v in uniq]
    return np.asarray(labels, dtype=object)[codes]


def is_missing_value(v, is_char: bool) -> bool:
    if is_char:
        return v is None or str(v).strip() == ""
    return v is None or (isinstance(v, float) and math.isnan(v))


def complete_cases(ds: Dataset, needed, line=None, col=None) -> np.ndarray:
    """Rows with no missing value in any of the NEEDED variables (SAS drops incomplete rows
    from model fitting); an ERROR when none remain."""
    used = np.ones(ds.nobs, dtype=bool)
    for v in needed:
        m = ds.var(v)
        values = ds.column(v).to_numpy()
        if m.is_char:
            used &= np.array([not is_missing_value(x, True) for x in values], dtype=bool)
        else:
            used &= ~np.isnan(values.astype(float))
    if not used.any():
        raise SasError("No valid observations are found.", line, col)
    return used


def make_classvars(ds: Dataset, used: np.ndarray, copts: list[ClassOpt], glob: dict, session,
                   default_order: str, default_param: str = "glm") -> dict[str, D.ClassVar]:
    out = {}
    for co in copts:
        vals = np.asarray(ds.column(co.name).to_numpy())[used]
        fmt = np.asarray(formatted(ds, co.name, session), dtype=object)[used]
        if glob.get("truncate"):
            # CLASS / TRUNCATE<=n>: levels come from the first n (default 16) characters of the formatted value
            tr = glob["truncate"]
            n = 16 if tr is True else int(float(tr))
            fmt = np.asarray([str(v)[:n] for v in fmt], dtype=object)
        order = co.order or glob.get("order") or default_order
        desc = co.descending or bool(glob.get("descending"))
        meta = ds.var(co.name)
        levels, labels, alias = D.order_levels_grouped(list(vals), list(fmt), order, desc,
                                                       plain=(not meta.is_char and not meta.format) or None)
        param = (co.param or glob.get("param") or default_param).lower()
        if param not in ("glm", "ref", "reference", "effect"):
            raise SasError(f"PARAM={param.upper()} is not supported (GLM, REF, EFFECT are).", co.line, co.col)
        param = "ref" if param == "reference" else param
        ref = co.ref or (glob.get("ref").upper() if isinstance(glob.get("ref"), str) else None)
        ref_index = None
        if ref is not None:
            if ref == "FIRST":
                ref_index = 0
            elif ref == "LAST":
                ref_index = len(levels) - 1
            else:
                if ref not in labels:
                    raise SasError(f"Invalid reference value '{ref}' for {co.name}.", co.line, co.col)
                ref_index = labels.index(ref)
        if param == "glm" and ref_index is not None and ref_index != len(levels) - 1:
            # GLM coding with REF=: the reference level is moved last (it becomes the aliased one)
            perm = list(range(ref_index)) + list(range(ref_index + 1, len(levels))) + [ref_index]
            levels = [levels[i] for i in perm]
            labels = [labels[i] for i in perm]
            alias = {k: perm.index(i) for k, i in alias.items()}
            ref_index = len(levels) - 1
        out[co.name] = D.ClassVar(co.name, levels, labels, param, ref_index, alias)
    return out


def numeric_levels(cv: D.ClassVar) -> dict | None:
    """label -> raw value for a numeric CLASS variable printed without a format (SAS's ODS data sets
    keep such level columns numeric); None for character or formatted variables."""
    if not cv.levels or any(isinstance(v, str) for v in cv.levels):
        return None
    out = {}
    for v, lab in zip(cv.levels, cv.labels):
        if format_value(float(v), None).strip() != str(lab).strip():
            return None
        out[str(lab)] = float(v)
    return out


def type_level_columns(t: Table, classes: dict | None) -> Table:
    """Give the CLASS-level columns of a results table (named after the variable, or _variable in
    differences tables) the variable's type: numbers for unformatted numeric variables, missing
    (printed blank) where a row's effect does not contain the variable."""
    if not classes:
        return t
    for c in t.columns:
        name = c.name[1:] if c.name.startswith("_") and c.name[1:] in classes else c.name
        if name not in classes or c.name in ("Effect", "Parameter"):
            continue
        m = numeric_levels(classes[name])
        if m is None:
            continue
        for r in t.rows:
            v = r.get(c.name)
            if isinstance(v, str):
                r[c.name] = m.get(v.strip()) if v.strip() else None
        c.format = "LEVEL"
    return t


def class_level_table(proc: str, classes: dict[str, D.ClassVar], copts: list[ClassOpt],
                      max_levels: float | None = None) -> Table:
    """Class Level Information; with NOCLPRINT=n the values are listed only for variables with fewer than n
    levels."""
    rows = []
    for co in copts:
        cv = classes[co.name]
        shown = max_levels is None or len(cv.levels) < max_levels
        rows.append({"Class": co.name, "Levels": len(cv.levels), "Values": " ".join(cv.labels) if shown else ""})
    return Table(proc, "ClassLevels", "Class Level Information",
                 [Column("Class"), Column("Levels", None, "INT"), Column("Values")], rows)


def fixed_matrix_tables(proc: str, mopts, design, copts, covb) -> list[Table]:
    """MODEL COVB / CORRB of MIXED and GLIMMIX: the covariance matrix of the fixed effects and the correlation
    matrix from it, one row per column of X (Row, Effect, the CLASS levels, Col1..Colp); a redundant column
    has zeros, as in the generalised inverse the covariance comes from."""
    used = [c.name for c in copts if any(c.name in col.levels for col in design.columns)]
    out = []
    for opt, name, title in (("covb", "CovB", "Covariance Matrix for Fixed Effects"),
                             ("corrb", "CorrB", "Correlation Matrix for Fixed Effects")):
        if not mopts.has(opt):
            continue
        M = covb
        if opt == "corrb":
            d = np.sqrt(np.maximum(np.diag(covb), 0.0))
            with np.errstate(invalid="ignore", divide="ignore"):
                M = np.where(np.outer(d, d) > 0, covb / np.outer(d, d), 0.0)
        rows = []
        for i, col in enumerate(design.columns):
            r = {"Row": i + 1, "Effect": col.effect, **{v: col.levels.get(v, "") for v in used}}
            r.update({f"Col{j + 1}": float(M[i, j]) for j in range(M.shape[1])})
            rows.append(r)
        cols = [Column("Row", None, "INT"), Column("Effect")] + [Column(v) for v in used] + \
            [Column(f"Col{j + 1}", None, "D10.4") for j in range(M.shape[1])]
        out.append(Table(proc, name, title, cols, rows))
    return out


def nobs_table(proc: str, nread: int, nused: int, extra: list | None = None) -> Table:
    rows = [{"Label": "Number of Observations Read", "N": nread},
            {"Label": "Number of Observations Used", "N": nused}]
    for lab, v in extra or []:
        rows.append({"Label": lab, "N": v})
    return Table(proc, "NObs", "", [Column("Label", ""), Column("N", "", "INT")], rows, kind="kv")


def param_labels(design: D.Design, effect_names_order=None) -> list[dict]:
    """Parameter/level labels per design column, SAS style: Parameter=effect, Level1..n."""
    out = []
    for c in design.columns:
        row = {"Parameter": c.effect}
        for i, (v, lab) in enumerate(c.levels.items(), 1):
            row[f"Level{i}"] = lab
        out.append(row)
    return out


def max_levels(design: D.Design) -> int:
    return max((len(c.levels) for c in design.columns), default=0)


def subject_vars(ds: Dataset, node, stmt, allow_intercept: bool = False) -> tuple[list[str], str]:
    """SUBJECT=id, SUBJECT=id(center) or SUBJECT=id*center -> (variables, the text SAS prints).  With
    ``allow_intercept`` (R-side statements), SUBJECT=INTERCEPT is one subject holding all the data: ([],
    "Intercept")."""
    if allow_intercept and isinstance(node, A.Word) and node.kind == "name" and \
            str(node.value).lower() in ("intercept", "int") and ds.colname(str(node.value)) is None:
        return [], "Intercept"
    if isinstance(node, A.Word) and node.kind == "cross":
        names = str(node.value).split("*")
    elif isinstance(node, A.Word):
        names = [str(node.value)]
    elif isinstance(node, A.Group):
        names = [node.name] + [str(x.value) for x in node.items if isinstance(x, A.Word) and x.kind == "name"]
    else:
        names = [str(node)]
    cols = []
    for v in names:
        c = ds.colname(v)
        if c is None:
            raise SasError(f"Variable {v.upper()} not found.", stmt.line, stmt.col)
        cols.append(c)
    if isinstance(node, A.Word) and node.kind == "cross":
        return cols, "*".join(cols)
    text = cols[0] if len(cols) == 1 else f"{cols[0]}({' '.join(cols[1:])})"
    return cols, text


def class_table_wanted(popts) -> tuple[bool, float | None]:
    """NOCLPRINT (no Class Level Information) or NOCLPRINT=n (values only for fewer than n levels)."""
    if not popts.has("noclprint"):
        return True, None
    v = popts.get("noclprint")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return True, float(v)
    return False, None


def fmt_value(v) -> str:
    """A raw value as SAS shows it in a label: integral floats without the decimal point."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def group_levels(group_var, classes, data, raw):
    """Per-observation codes and labels ("trt 1") of a GROUP= variable: its CLASS levels when it has them,
    else its sorted raw values."""
    if group_var in classes:
        cv = classes[group_var]
        gcodes = cv.codes(data[group_var])
        glabels = [f"{group_var} {cv.labels[i]}".rstrip() for i in range(len(cv.levels))]
    else:
        gl, gcodes = np.unique(raw[group_var], return_inverse=True)
        glabels = [f"{group_var} {fmt_value(v)}" for v in gl]
    return np.asarray(gcodes).ravel().astype(int), glabels


def save_mixed_store(session, proc: str, stm, ds, design, classes, copts, beta, covb, means, data, response,
                     link, family, ddf, fit_rows, offset_var=None, dist_label=None) -> None:
    """STORE in PROC MIXED / GLIMMIX: the fitted fixed-effects model with its DF method, for PROC PLM (no BLUPs)."""
    import numpy as np
    from ..stats.store import ItemStore, param_labels, store_info
    from .common import store_target
    name, label = store_target(stm)
    store = ItemStore(proc=proc, classes=classes, effects=list(design.effects), intercept=design.intercept,
                      beta=beta, cov=covb, aliased=design.aliased, link=link, family=family,
                      offset_var=offset_var, columns=design.columns, response=response,
                      data_name=getattr(ds, "display_name", ""), design=ItemStore.row_space(design),
                      means=means, class_data={v: a for v, a in data.items() if v in classes},
                      class_rows=class_level_table(proc, classes, copts).rows if copts else [],
                      fit_rows=list(fit_rows), param_rows=param_labels(design, copts),
                      ranges={v: (float(np.min(a)), float(np.max(a))) for v, a in data.items()
                              if v not in classes and len(a) and np.asarray(a).dtype.kind == "f"},
                      label=label, ddf=ddf, info=store_info(classes, design), dist_label=dist_label)
    session.save_store(name, store)
    session.log.note(f"The item store {name.upper() if '.' in name else 'WORK.' + name.upper()} has been created.")
