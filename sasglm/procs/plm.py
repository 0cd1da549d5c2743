"""PROC PLM: SOURCE= item store; SHOW; ESTIMATE; LSMEANS; SCORE DATA= OUT= PREDICTED= STDERR= LCLM= UCLM= / ILINK."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats as st

from .. import ast as A
from ..data.dataset import Dataset, VarMeta
from ..errors import SasError
from ..ods.table import Column, Table
from . import hypotheses as H
from .common import Options, dsref_from_value, statements, warn_ignored
from .modeling import is_missing_value, type_level_columns


SHOW_KEYS = {"all": "all", "_all_": "all", "classlevels": "class", "class": "class", "correlation": "corr",
             "corr": "corr", "corrb": "corr", "covariance": "cov", "cov": "cov", "covb": "cov",
             "effects": "effects", "fitstats": "fit", "fit": "fit", "fitsummary": "fit", "parameters": "parms",
             "parms": "parms", "program": "program", "prog": "program", "byvar": "by", "by": "by"}
SHOW_REJECTED = {"hessian", "hermite", "xpx", "xpxi"}


def run_plm(session, proc):
    opts = Options(proc.options, {"source", "restore", "alpha", "noinfo", "noclprint", "format"}, "PROC PLM")
    warn_ignored(session, opts, ["format"], "PROC PLM")
    src = opts.nodes.get("source", opts.nodes.get("restore"))
    if src is None:
        raise SasError("PROC PLM requires SOURCE=.", proc.line, proc.col)
    name = str(src.value) if isinstance(src, A.Word) else str(src)
    store = session.get_store(name, (proc.line, proc.col))
    stmts = list(statements(proc, {"score", "show", "estimate", "lsmeans", "effectplot"}))
    alpha = float(opts.get("alpha", 0.05))
    if not opts.has("noinfo"):
        rows = [("Item Store", name.upper() if "." in name else f"WORK.{name.upper()}"),
                ("Data Set Created From", store.data_name), ("Created By", f"PROC {store.proc}"),
                ("Response Variable", store.response or ""), ("Link Function", store.link.sas),
                ("Distribution", store.family.sas)]
        session.emit_table(Table("PLM", "StoreInfo", "Store Information", [Column("Label", ""), Column("Value", "")],
                                 [{"Label": a, "Value": b} for a, b in rows], kind="kv"))
    uses_class = any(v in store.classes for e in store.effects for v in e.all_vars())
    if store.class_rows and uses_class and not opts.has("noclprint"):
        _class_levels(session, store)
    for kw, st_ in stmts:
        if kw == "show":
            _show(session, store, st_)
        elif kw == "score":
            _score(session, store, st_)
        elif store.design is None:
            raise SasError(f"The item store {name.upper()} was written by an older version and holds no design "
                           f"information; {kw.upper()} needs the model to be stored again.", st_.line, st_.col)
        elif kw == "estimate":
            _estimate(session, store, st_, alpha)
        elif kw == "effectplot":
            from .effectplot import effect_plot
            effect_plot(session, "PLM", st_, store)
        else:
            for t in H.lsmeans_tables(session, "PLM", _with_alpha(st_, alpha), store.design, store.classes,
                                      store.class_data, store.means, store.beta, store.cov, store.link):
                session.emit_table(type_level_columns(t, store.classes))


def _with_alpha(stmt, alpha):
    """The PROC PLM ALPHA= is the default of the statement's own ALPHA=."""
    if alpha == 0.05 or any(isinstance(o, A.Opt) and o.key.lower() == "alpha" for o in stmt.options or []):
        return stmt
    import dataclasses
    return dataclasses.replace(stmt, options=list(stmt.options or []) +
                               [A.Opt("alpha", A.Word("number", alpha, line=stmt.line, col=stmt.col), line=stmt.line, col=stmt.col)])


def _class_levels(session, store):
    session.emit_table(Table("PLM", "ClassLevels", "Class Level Information",
                             [Column("Class"), Column("Levels", None, "INT"), Column("Values")], store.class_rows))


def _show(session, store, stmt):
    wanted = []
    for it in list(stmt.items) + list(stmt.options or []):
        key = str(it.value if isinstance(it, A.Word) else getattr(it, "key", "")).lower()
        if key in SHOW_REJECTED:
            raise SasError(f"The SHOW option {key.upper()} is not supported.", stmt.line, stmt.col)
        if key not in SHOW_KEYS:
            raise SasError(f"The option {key.upper()} is not supported on the SHOW statement.", stmt.line, stmt.col)
        wanted.append(SHOW_KEYS[key])
    if not wanted:
        wanted = ["parms"]
    if "all" in wanted:
        wanted = ["class", "fit", "parms", "cov", "corr"]
    labels = store.param_rows or [{"Parameter": c.effect} for c in store.columns]
    se = np.sqrt(np.maximum(np.diag(store.cov), 0.0))
    for w in dict.fromkeys(wanted):
        if w == "class" and store.class_rows:
            _class_levels(session, store)
        elif w == "fit" and store.fit_rows:
            session.emit_table(Table("PLM", "FitStatistics", "Fit Statistics",
                                     [Column("Criterion", ""), Column("Value", "", "12.4")],
                                     [{"Criterion": a, "Value": b} for a, b in store.fit_rows], kind="kv"))
        elif w == "parms":
            rows = []
            for j, lab in enumerate(labels):
                al = bool(store.aliased[j])
                rows.append({**lab, "Estimate": 0.0 if al else float(store.beta[j]),
                             "StdErr": None if al else float(se[j])})
            lcols = [Column(k, "" if k.startswith("Level") else None) for k in labels[0]] if labels else []
            session.emit_table(type_level_columns(
                Table("PLM", "ParameterEstimates", "Parameter Estimates",
                      lcols + [Column("Estimate", None, "10.4"), Column("StdErr", "Standard\nError", "10.4")], rows),
                store.classes))
        elif w in ("cov", "corr"):
            M = store.cov
            if w == "corr":
                d = np.where(se > 0, se, np.nan)
                M = M / np.outer(d, d)
            names = [f"Prm{j + 1}" for j in range(len(store.beta))]
            rows = []
            for i, lab in enumerate(labels):
                rows.append({"Parameter": " ".join(str(v) for v in lab.values() if v not in ("", None)),
                             **{names[j]: (None if store.aliased[i] or store.aliased[j] else float(M[i, j]))
                                for j in range(len(names))}})
            session.emit_table(Table("PLM", "Cov" if w == "cov" else "Corr",
                                     "Covariance of Parameter Estimates" if w == "cov" else
                                     "Correlation of Parameter Estimates",
                                     [Column("Parameter")] + [Column(n, n, "10.4") for n in names], rows))
        elif w == "program":
            session.log.warning("SHOW PROGRAM: sasglm item stores do not keep the source program; nothing shown.")
        elif w == "effects":
            session.log.note("The model has no constructed effects (EFFECT statement); SHOW EFFECTS shows nothing.")
        elif w == "by":
            session.log.note("The item store was created without a BY statement.")


def _estimate(session, store, stmt, alpha):
    o = H.hypothesis_options(session, stmt, "estimate", {"exp", "alpha", "cl", "ilink", "e", "divisor", "singular",
                                                         "adjust"}, unsupported=["adjust"], ignored=["e", "singular"])
    alpha = float(o.get("alpha", alpha))
    rows = []
    for label, L in H.parse_rows(stmt.items, store.design, stmt):
        r = {"Label": label}
        if not H.estimable(L, store.design):
            r.update({"Estimate": None, "StdErr": None, "_display": {"Estimate": "Non-est"}})
        else:
            est = float(L @ store.beta)
            se = math.sqrt(max(float(L @ store.cov @ L), 0.0))
            r.update(H._stat_cols(est, se, math.inf, alpha, o.has("cl"), o.has("ilink"), store.link, o.has("exp")))
        rows.append(r)
    cols = [Column("Label")] + H._stat_columns(math.inf, o.has("cl"), o.has("ilink"), o.has("exp"))
    session.emit_table(Table("PLM", "Estimates", "Estimates", cols, rows))


def _score(session, store, stmt):
    o = Options(list(stmt.items) + list(stmt.options or []),
                {"data", "out", "predicted", "pred", "p", "stderr", "lclm", "uclm", "ilink", "alpha", "nooffset"},
                "SCORE")
    if "data" not in o.nodes or "out" not in o.nodes:
        raise SasError("SCORE requires DATA= and OUT=.", stmt.line, stmt.col)
    ref = dsref_from_value(o.nodes["data"])
    ds = session.get_dataset(ref, (stmt.line, stmt.col))
    ds, _, _ = session.apply_input_options(ds, ref)
    n = ds.nobs
    needed = set()
    for e in store.effects:
        needed |= set(e.all_vars())
    if store.offset_var and not o.has("nooffset"):
        needed.add(store.offset_var)
    ok = np.ones(n, dtype=bool)
    data = {}
    for v in needed:
        c = ds.colname(v)
        if c is None:
            raise SasError(f"Variable {v.upper()} not found in the SCORE data set.", stmt.line, stmt.col)
        col = ds.column(v).to_numpy()
        m = ds.var(v)
        if v in store.classes:
            miss = np.array([is_missing_value(x, m.is_char) for x in col])
            cv = store.classes[v]
            known = cv.codes(col) >= 0
            ok &= ~miss & known
            data[v] = col
        else:
            miss = np.isnan(col.astype(float))
            ok &= ~miss
            data[v] = col.astype(float)
    X = store.design_for({k: v for k, v in data.items()})
    eta = X @ store.beta
    if store.offset_var and not o.has("nooffset"):
        eta = eta + data[store.offset_var]
    var = np.einsum("ij,jk,ik->i", X, store.cov, X)
    se = np.sqrt(np.maximum(var, 0.0))
    alpha = float(o.get("alpha", 0.05))
    z = st.norm.ppf(1 - alpha / 2)
    lo, hi = eta - z * se, eta + z * se
    ilink = o.has("ilink")
    if ilink:
        pred = store.link.inv(eta)
        lo2, hi2 = store.link.inv(lo), store.link.inv(hi)
        se = se * np.abs(store.link.dmu_deta(eta))
        lo, hi = np.minimum(lo2, hi2), np.maximum(lo2, hi2)
    else:
        pred = eta
    df = ds.df.copy()
    meta = dict(ds.meta)
    names = {"pred": str(o.get("predicted", o.get("pred", o.get("p", "Predicted")))),
             "stderr": o.get("stderr"), "lclm": o.get("lclm"), "uclm": o.get("uclm")}
    if names["pred"] in ("True", "1"):
        names["pred"] = "Predicted"
    add = [(names["pred"], pred)]
    for key, arr in (("stderr", se), ("lclm", lo), ("uclm", hi)):
        v = names[key]
        if v is not None:
            add.append(("StdErr" if v is True else {"lclm": "LCLM", "uclm": "UCLM"}.get(key) if v is True else str(v),
                        arr))
    for nm, arr in add:
        df[nm] = np.where(ok, arr, np.nan)
        meta[nm.upper()] = VarMeta(nm, "N", 8)
    session.put_dataset(dsref_from_value(o.nodes["out"]), Dataset(df.reset_index(drop=True), meta))
