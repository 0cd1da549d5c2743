"""PROC CORR: Pearson (and Spearman) correlations with their p-values, simple statistics and the
covariance matrix; VAR, WITH, BY, FREQ and WEIGHT statements; OUTP=/OUTS= TYPE=CORR data sets."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as st

from ..data.dataset import Dataset, VarMeta, normalise_frame
from ..errors import SasError
from ..ods.table import Column, Table, format_cell
from .common import Options, by_groups, by_items, dsref_from_value, input_data, numeric_var, statements, \
    var_names, warn_ignored, where_statements

KNOWN = {"data", "pearson", "spearman", "kendall", "hoeffding", "cov", "noprob", "nosimple", "nocorr", "nomiss",
         "noprint", "outp", "outs", "vardef", "alpha", "best", "rank", "plots", "csscp", "sscp", "exclnpwgt",
         "fisher", "nocenter", "singular", "outk", "outh", "polychoric", "polyserial"}
UNSUPPORTED = ["kendall", "hoeffding", "alpha", "best", "rank", "csscp", "sscp", "fisher", "outk", "outh",
               "polychoric", "polyserial"]


def run_corr(session, proc):
    opts = Options(proc.options, KNOWN, "PROC CORR")
    for o in UNSUPPORTED:
        if opts.has(o):
            raise SasError(f"The PROC CORR option {o.upper()} is not supported yet.", proc.line, proc.col)
    warn_ignored(session, opts, ["plots", "nocenter", "singular"], "PROC CORR")
    ds, _ = input_data(session, opts, proc, where_statements(proc))
    vardef = str(opts.get("vardef", "df")).lower()
    if vardef not in ("df", "n"):
        raise SasError(f"VARDEF={vardef.upper()} is not supported yet (DF and N are).", proc.line, proc.col)
    varlist = withlist = None
    by, freq, weight = [], None, None
    for kw, stm in statements(proc, {"var", "with", "by", "freq", "weight", "where", "partial", "id"}):
        if kw == "var":
            varlist = var_names(stm.items, ds)
        elif kw == "with":
            withlist = var_names(stm.items, ds, "WITH")
        elif kw == "by":
            by = by_items(stm.items, ds)
        elif kw == "freq":
            freq = numeric_var(stm, ds)
        elif kw == "weight":
            weight = numeric_var(stm, ds)
        elif kw in ("partial", "id"):
            raise SasError(f"The {kw.upper()} statement of PROC CORR is not supported yet.", stm.line, stm.col)
    # OUTS= invokes SPEARMAN and OUTP= PEARSON; SPEARMAN alone replaces the default Pearson table
    spearman = opts.has("spearman") or opts.has("outs")
    pearson = opts.has("pearson") or opts.has("outp") or not spearman
    if weight and spearman:
        raise SasError("The SPEARMAN option is not valid with the WEIGHT statement.", proc.line, proc.col)
    if varlist is None:
        excl = {b.lower() for b, _ in by} | {c.lower() for c in (freq, weight) if c} | \
            {w.lower() for w in (withlist or [])}
        varlist = [m.name for m in ds.ordered_meta() if m.type == "N" and m.name.lower() not in excl]
    for v in varlist + (withlist or []):
        if ds.var(v).is_char:
            raise SasError(f"Variable {v} in list does not match type prescribed for this list.", proc.line, proc.col)
    varlist = [ds.colname(v) for v in varlist]
    withlist = [ds.colname(v) for v in withlist] if withlist else None
    printing = not opts.has("noprint")
    outp, outs = [], []
    for byline, sub in by_groups(ds, by, session, "CORR"):
        byvals = {b: sub.df[b].iloc[0] for b, _ in by} if by and len(sub.df) else None
        res = _analyse(sub, varlist, withlist, freq, weight, opts.has("nomiss"), vardef, spearman,
                       opts.has("exclnpwgt"))
        if printing:
            for t in _tables(sub, res, varlist, withlist, opts, pearson, spearman, weight):
                t.byline = byline
                t.by_values = byvals
                session.emit_table(t)
        if opts.has("outp"):
            outp.append(_type_corr(res, "pearson", varlist, withlist, byvals))
        if opts.has("outs"):
            outs.append(_type_corr(res, "spearman", varlist, withlist, byvals))
    for key, frames in (("outp", outp), ("outs", outs)):
        if opts.has(key):
            out = Dataset(normalise_frame(pd.concat(frames, ignore_index=True)))
            for v in varlist + (withlist or []):
                if ds.var(v).label:
                    out.meta[v.upper()] = VarMeta(v, "N", 8, label=ds.var(v).label)
            out.meta["_TYPE_"] = VarMeta("_TYPE_", "C", 8)       # SAS's TYPE=CORR lengths
            out.meta["_NAME_"] = VarMeta("_NAME_", "C", 32)
            out.label = "Pearson Correlation Matrix" if key == "outp" else "Spearman Correlation Matrix"
            session.put_dataset(dsref_from_value(opts.nodes[key]), out)


class _Result:
    def __init__(self):
        self.simple = {}       # var -> (n, mean, std, sum, min, max)
        self.mats = {}         # kind -> {(row, col): (r, p, n)}
        self.cov = {}          # (row, col) -> (cov, df)


def _analyse(sub, varlist, withlist, freq, weight, nomiss, vardef, spearman, exclnpwgt) -> _Result:
    df = sub.df
    allv = list(dict.fromkeys((withlist or []) + varlist))
    f = np.ones(len(df)) if freq is None else np.floor(df[freq].to_numpy(dtype=float))
    ok = ~np.isnan(f) & (f >= 1)
    w = np.ones(len(df)) if weight is None else df[weight].to_numpy(dtype=float)
    ok &= ~np.isnan(w)
    if exclnpwgt:                   # EXCLNPWGT: a nonpositive weight drops the observation (else it counts as 0)
        ok &= w > 0
    w = np.where(w > 0, w, 0.0)
    X = {v: df[v].to_numpy(dtype=float) for v in allv}
    if nomiss:
        for v in allv:
            ok &= ~np.isnan(X[v])
    res = _Result()
    rows = withlist or varlist
    for v in allv:
        m = ok & ~np.isnan(X[v])
        x, ff, ww = X[v][m], f[m], w[m]
        n = float(ff.sum())
        sw = float((ff * ww).sum())
        mean = float((ff * ww * x).sum() / sw) if sw > 0 else math.nan
        d = n - 1 if vardef == "df" else n
        var = float((ff * ww * (x - mean) ** 2).sum() / d) if d > 0 and sw > 0 else math.nan
        res.simple[v] = (n, mean, math.sqrt(var) if var == var else math.nan,
                         float((ff * ww * x).sum()) if n else math.nan,
                         float(x.min()) if n else math.nan, float(x.max()) if n else math.nan)
    # the Pearson statistics are always computed: COV and OUTP= need them even when only SPEARMAN is printed
    for kind, on in (("pearson", True), ("spearman", spearman)):
        if not on:
            continue
        mat = {}
        for a in rows:
            for b in varlist:
                m = ok & ~np.isnan(X[a]) & ~np.isnan(X[b])
                xa, xb, ff, ww = X[a][m], X[b][m], f[m], w[m]
                if kind == "spearman":
                    xa, xb = _ranks(xa, ff), _ranks(xb, ff)
                n = float(ff.sum())
                r, c = _corr(xa, xb, ff * ww)
                if a == b and n > 1 and r == r:
                    r = 1.0
                p = math.nan
                if n > 2 and r == r and a != b:
                    if abs(r) >= 1:
                        p = 0.0
                    else:
                        t = r * math.sqrt((n - 2) / (1 - r * r))
                        p = float(2 * st.t.sf(abs(t), n - 2))
                mat[(a, b)] = (r, p, n)
                if kind == "pearson":
                    d = n - 1 if vardef == "df" else n
                    res.cov[(a, b)] = (c / d if d > 0 else math.nan, d)
        res.mats[kind] = mat
    return res


def _corr(x, y, w):
    sw = w.sum()
    if sw <= 0 or len(x) < 2:
        return math.nan, math.nan
    mx, my = (w * x).sum() / sw, (w * y).sum() / sw
    sxy = float((w * (x - mx) * (y - my)).sum())
    sxx, syy = float((w * (x - mx) ** 2).sum()), float((w * (y - my) ** 2).sum())
    r = sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else math.nan
    return r, sxy


def _ranks(x, f):
    """Midranks of x when each value appears f times (ties get the average rank)."""
    order = np.argsort(x, kind="stable")
    xs, fs = x[order], f[order]
    out = np.empty(len(x))
    start = 0.0
    i = 0
    while i < len(xs):
        j = i
        while j + 1 < len(xs) and xs[j + 1] == xs[i]:
            j += 1
        tot = fs[i:j + 1].sum()
        out[order[i:j + 1]] = start + (tot + 1) / 2
        start += tot
        i = j + 1
    return out


def _tables(sub, res, varlist, withlist, opts, pearson, spearman, weight):
    tables = []
    info = []
    if withlist:
        info.append({"Label": f"{len(withlist)}  With Variables:", "Value": "    ".join(withlist)})
    info.append({"Label": f"{len(varlist)}  Variables:", "Value": "    ".join(varlist)})
    if weight:
        info.append({"Label": "Weight Variable", "Value": weight})
    tables.append(Table("CORR", "VarInformation", "", [Column("Label", ""), Column("Value", "")], info, kind="kv"))
    labels = {v: sub.var(v).label for v in dict.fromkeys((withlist or []) + varlist)}
    has_label = any(labels.values())
    if not opts.has("nosimple"):
        cols = [Column("Variable"), Column("N", "N", "INT"), Column("Mean", "Mean", "D12.5"),
                Column("StdDev", "Std Dev", "D12.5"), Column("Sum", "Sum", "D12.5"),
                Column("Min", "Minimum", "D12.5"), Column("Max", "Maximum", "D12.5")]
        if has_label:
            cols.append(Column("Label"))
        rows = []
        for v in dict.fromkeys((withlist or []) + varlist):
            n, mean, sd, s, lo, hi = res.simple[v]
            row = {"Variable": v, "N": n, "Mean": mean, "StdDev": sd, "Sum": s, "Min": lo, "Max": hi}
            if has_label:
                row["Label"] = labels[v] or ""
            rows.append(row)
        tables.append(Table("CORR", "SimpleStats", "Simple Statistics", cols, rows))
    rows_v = withlist or varlist
    if opts.has("cov"):
        dfs = {d for _, d in res.cov.values()}
        title = "Covariance Matrix, DF = %d" % next(iter(dfs)) if len(dfs) == 1 else "Covariance Matrix"
        cols = [Column("Variable", "")] + ([Column("Label", "")] if has_label else []) + \
            [Column(b, b, "D12.5") for b in varlist]
        rows = []
        for a in rows_v:
            row = {"Variable": a}
            if has_label:
                row["Label"] = labels[a] or ""
            for b in varlist:
                row[b] = res.cov[(a, b)][0]
            rows.append(row)
        tables.append(Table("CORR", "Cov", title, cols, rows))
    if opts.has("nocorr"):
        return tables
    for kind in ("pearson", "spearman"):
        if kind not in res.mats or (kind == "pearson" and not pearson):
            continue
        mat = res.mats[kind]
        name = "PearsonCorr" if kind == "pearson" else "SpearmanCorr"
        head = "Pearson Correlation Coefficients" if kind == "pearson" else "Spearman Correlation Coefficients"
        ns = {n for _, _, n in mat.values()}
        same_n = len(ns) == 1
        prob = not opts.has("noprob")
        title = head + (", N = %d" % next(iter(ns)) if same_n else "")
        lines = []
        if prob:
            lines.append("Prob > |r| under H0: Rho=0")
        if not same_n:
            lines.append("Number of Observations")
        cols = [Column("Variable", "")] + ([Column("Label", "")] if has_label else [])
        cols += [Column(b, b, "8.5") for b in varlist]
        cols += [Column("P" + b, "P" + b, "PVALUE6.4", hidden=True) for b in varlist]
        if not same_n:
            cols += [Column("N" + b, "N" + b, "INT", hidden=True) for b in varlist]
        rows = []
        for a in rows_v:
            row = {"Variable": a}
            if has_label:
                row["Label"] = labels[a] or ""
            under_p, under_n = {}, {}
            for b in varlist:
                r, p, n = mat[(a, b)]
                row[b] = r
                row["P" + b] = p
                under_p[b] = "" if p != p else format_cell(p, "PVALUE6.4")
                if not same_n:
                    row["N" + b] = n
                    under_n[b] = format_cell(n, "INT")
            stack = ([under_p] if prob else []) + ([under_n] if not same_n else [])
            row["_stack"] = stack + ([{}] if stack else [])
            rows.append(row)
        t = Table("CORR", name, title, cols, rows, subtitle="\n".join(lines) or None)
        tables.append(t)
    return tables


def _type_corr(res, kind, varlist, withlist, byvals):
    """The TYPE=CORR data set: MEAN, STD and N rows, then one CORR row per variable."""
    allv = list(dict.fromkeys((withlist or []) + varlist))
    rows = []
    lead = dict(byvals or {})
    for typ, k in (("MEAN", 1), ("STD", 2), ("N", 0)):
        row = dict(lead, _TYPE_=typ, _NAME_="")
        for v in allv:
            row[v] = res.simple[v][k]
        rows.append(row)
    mat = res.mats.get(kind, {})
    for a in (withlist or varlist):
        row = dict(lead, _TYPE_="CORR", _NAME_=a)
        for b in allv:
            row[b] = mat[(a, b)][0] if (a, b) in mat else (mat[(b, a)][0] if (b, a) in mat else math.nan)
        rows.append(row)
    return pd.DataFrame(rows)
