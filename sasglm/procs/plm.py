"""PROC PLM: SOURCE= item store; SHOW; SCORE DATA= OUT= PREDICTED= STDERR= LCLM= UCLM= / ILINK."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as st

from .. import ast as A
from ..data.dataset import Dataset, VarMeta
from ..errors import SasError
from ..ods.table import Column, Table
from .common import Options, dsref_from_value, statements, value_of, warn_ignored
from .modeling import is_missing_value


def run_plm(session, proc):
    opts = Options(proc.options, {"source", "restore", "alpha", "noinfo", "noclprint", "format"}, "PROC PLM")
    warn_ignored(session, opts, ["alpha", "noclprint", "format"], "PROC PLM")
    src = opts.nodes.get("source", opts.nodes.get("restore"))
    if src is None:
        raise SasError("PROC PLM requires SOURCE=.", proc.line, proc.col)
    name = str(src.value) if isinstance(src, A.Word) else str(src)
    store = session.get_store(name, (proc.line, proc.col))
    if not opts.has("noinfo"):
        rows = [("Item Store", name.upper() if "." in name else f"WORK.{name.upper()}"),
                ("Data Set Created From", store.data_name), ("Created By", f"PROC {store.proc}"),
                ("Response Variable", store.response or ""), ("Link Function", store.link.sas),
                ("Distribution", store.family.sas)]
        session.emit_table(Table("PLM", "StoreInfo", "Store Information", [Column("Label", ""), Column("Value", "")],
                                 [{"Label": a, "Value": b} for a, b in rows], kind="kv"))
    for kw, st_ in statements(proc, {"score", "show"}):
        if kw == "show":
            session.log.warning("The SHOW statement of PROC PLM is not supported yet and was ignored.")
            continue
        _score(session, store, st_)


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
            known = np.array([x in set(cv.levels) for x in col])
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
