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


DDF_METHODS = {"residual": "residual", "res": "residual", "error": "residual", "none": "none",
               "kenrog": "kr", "kr": "kr", "kenwardroger": "kr", "satterth": "satterth", "sat": "satterth",
               "satterthwaite": "satterth"}


def run_plm(session, proc):
    opts = Options(proc.options, {"source", "restore", "alpha", "noinfo", "noclprint", "format", "ddfmethod"},
                   "PROC PLM")
    warn_ignored(session, opts, ["format"], "PROC PLM")
    src = opts.nodes.get("source", opts.nodes.get("restore"))
    if src is None:
        raise SasError("PROC PLM requires SOURCE=.", proc.line, proc.col)
    name = str(src.value) if isinstance(src, A.Word) else str(src)
    store = session.get_store(name, (proc.line, proc.col))
    ddf = _ddf(store, opts, proc)
    stmts = list(statements(proc, {"score", "show", "estimate", "lsmeans", "effectplot", "test", "lsmestimate",
                                            "slice"}))
    alpha = float(opts.get("alpha", 0.05))
    if not opts.has("noinfo"):
        rows = [("Item Store", name.upper() if "." in name else f"WORK.{name.upper()}")]
        if getattr(store, "label", None):
            rows.append(("Label", store.label))
        rows += [("Data Set Created From", store.data_name), ("Created By", f"PROC {store.proc}"),
                 ("Response Variable", store.response or "")]
        if store.proc != "MIXED":
            rows += [("Link Function", store.link.sas),
                     ("Distribution", getattr(store, "dist_label", None) or store.family.sas)]
        rows += list(getattr(store, "info", None) or [])
        if ddf is not None:
            rows.append(("Degrees of Freedom Method", ddf.label))
        session.emit_table(Table("PLM", "StoreInfo", "Store Information", [Column("Label", ""), Column("Value", "")],
                                 [{"Label": a, "Value": b} for a, b in rows], kind="kv"))
    uses_class = any(v in store.classes for e in store.effects for v in e.all_vars())
    if store.class_rows and uses_class and not opts.has("noclprint"):
        _class_levels(session, store)
    df_for = (lambda k: ddf.dfs.get(k, ddf.dfs.get(-1, math.inf))) if ddf is not None else None
    df_of = ddf.df_of() if ddf is not None else None
    adjust = ddf.adjust() if ddf is not None else None
    for kw, st_ in stmts:
        if kw == "show":
            _show(session, store, st_)
        elif kw == "score":
            _score(session, store, st_)
        elif store.design is None:
            raise SasError(f"The item store {name.upper()} was written by an older version and holds no design "
                           f"information; {kw.upper()} needs the model to be stored again.", st_.line, st_.col)
        elif kw == "estimate":
            _estimate(session, store, st_, alpha, ddf)
        elif kw == "test":
            _test(session, store, st_, ddf)
        elif kw == "effectplot":
            from .effectplot import effect_plot
            effect_plot(session, "PLM", st_, store)
        elif kw == "lsmestimate":
            session.emit_table(type_level_columns(H.lsmestimate_table(
                session, "PLM", _with_alpha(st_, alpha), store.design, store.classes, store.class_data, store.means,
                store.beta, store.cov, store.link, df_for=df_for, df_of=df_of), store.classes))
        else:
            for t in H.lsmeans_tables(session, "PLM", _with_alpha(st_, alpha), store.design, store.classes,
                                      store.class_data, store.means, store.beta, store.cov, store.link,
                                      df_for=df_for, df_of=df_of, slice_adjust=adjust, statement=kw,
                                      slices="glimmix" if ddf is not None else None):
                session.emit_table(type_level_columns(t, store.classes))


def _ddf(store, opts, proc):
    """The store's DF method (None: a GENMOD store, z and chi-square tests), or the DDFMETHOD= one."""
    ddf = getattr(store, "ddf", None)
    if not opts.has("ddfmethod"):
        return ddf
    want = DDF_METHODS.get(str(opts.get("ddfmethod")).lower())
    if want is None:
        raise SasError(f"DDFMETHOD={str(opts.get('ddfmethod')).upper()} is not valid (RESIDUAL, NONE, KENWARDROGER "
                       "and SATTERTHWAITE are).", proc.line, proc.col)
    if ddf is None:
        if want == "none":
            return None
        raise SasError(f"DDFMETHOD={str(opts.get('ddfmethod')).upper()} needs an item store from PROC MIXED or "
                       f"PROC GLIMMIX; the store from PROC {store.proc} has no finite degrees of freedom.",
                       proc.line, proc.col)
    out = ddf.with_method(want)
    if out is None:
        raise SasError(f"DDFMETHOD={str(opts.get('ddfmethod')).upper()} needs an item store created with that DDFM= "
                       f"method; this store was created with DDFM={ddf.label}.", proc.line, proc.col)
    return out


def _test(session, store, stmt, ddf):
    """TEST <effects> </ CHISQ>: Type III Wald F tests of the stored model's effects (all when none are
    named), with the store's DF (infinite for a GENMOD store, as DDFMETHOD=NONE)."""
    o = Options(list(stmt.options or []), {"chisq", "htype", "e", "e3", "detail"}, "TEST")
    if o.has("htype") and str(o.get("htype")).replace(".0", "") != "3":
        raise SasError("TEST HTYPE= other than 3 is not supported yet.", stmt.line, stmt.col)
    warn_ignored(session, o, ["e", "e3", "detail"], "TEST")
    design = store.design
    names = [str(w.value).lower() for w in stmt.items if isinstance(w, A.Word)]
    if len(names) != len(stmt.items):
        raise SasError("TEST expects model effects.", stmt.line, stmt.col)
    from .modeling import effect_tokens
    from ..stats import design as D
    wanted = []
    if names:
        toks = D.parse_effects(effect_tokens(stmt.items), set(store.classes))
        for e in toks:
            hit = [k for k, de in enumerate(design.effects) if de.name.lower().replace(" ", "") ==
                   e.name.lower().replace(" ", "")]
            if not hit:
                raise SasError(f"Effect {e.name} is not in the model.", stmt.line, stmt.col)
            wanted.append(hit[0])
    keep = set(wanted) if wanted else None
    dfs = dict(ddf.dfs) if ddf is not None else {}
    dfs = {k: dfs.get(k, dfs.get(-1, math.inf)) for k in range(-1, len(design.effects))}
    t = H.type3_table("PLM", "Type III Tests of Model Effects", design, store.beta, store.cov, dfs, o.has("chisq"),
                      ddf.adjust() if ddf is not None else None)
    if keep is not None:
        order = [design.effects[k].name for k in wanted]
        t.rows = sorted([r for r in t.rows if r["Effect"] in order], key=lambda r: order.index(r["Effect"]))
    session.emit_table(t)


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
            cons = getattr(store.design, "constructed", None) or {}
            if not cons:
                session.log.note("The model has no constructed effects (EFFECT statement); SHOW EFFECTS shows "
                                 "nothing.")
            from .effects import knot_tables
            for t in knot_tables("PLM", cons):
                session.emit_table(t)
        elif w == "by":
            session.log.note("The item store was created without a BY statement.")


def _estimate(session, store, stmt, alpha, ddf):
    """ESTIMATE: z tests for a GENMOD store; t tests with the store's DF for a mixed-model store (the
    smallest DF of the effects a row involves, or the row's own KR/Satterthwaite DF), as the procedure."""
    o = H.hypothesis_options(session, stmt, "estimate", {"exp", "alpha", "cl", "ilink", "e", "divisor", "singular",
                                                         "adjust", "df"}, unsupported=["adjust"],
                             ignored=["e", "singular"])
    alpha = float(o.get("alpha", alpha))
    design = store.design
    df_of = ddf.df_of() if ddf is not None else None
    rows = []
    for label, L in H.parse_rows(stmt.items, design, stmt, nonpositional=True):
        r = {"Label": label}
        if not H.estimable(L, design):
            r.update({"Estimate": None, "StdErr": None, "_display": {"Estimate": "Non-est"}})
        else:
            est = float(L @ store.beta)
            se = math.sqrt(max(float(L @ store.cov @ L), 0.0))
            df = math.inf
            if ddf is not None:
                df = df_of(L) if df_of is not None else H.row_ddf(L, design, ddf.dfs)
            if o.has("df"):
                df = float(o.get("df"))
            r.update(H._stat_cols(est, se, df, alpha, o.has("cl"), o.has("ilink"), store.link, o.has("exp"),
                                  ddf is not None))
        rows.append(r)
    cols = [Column("Label")] + H._stat_columns(math.inf, o.has("cl"), o.has("ilink"), o.has("exp"), ddf is not None)
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
    needed = set(store.data_vars())
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
