"""PROC MEANS / PROC SUMMARY: CLASS, VAR, BY, statistic keywords, MAXDEC=, NWAY, OUTPUT OUT=."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
from scipy import stats as st

from .. import ast as A
from ..data.dataset import Dataset
from ..errors import SasError
from ..ods.table import Column, Table
from ..stats.quantile import sas_percentile
from .common import Options, by_groups, by_items, dsref_from_value, expand_by_freq, input_data, numeric_var, \
    statements, var_names, where_statements

STATS = {
    "n": ("N", "N"), "nmiss": ("NMiss", "N Miss"), "mean": ("Mean", "Mean"), "std": ("StdDev", "Std Dev"),
    "stddev": ("StdDev", "Std Dev"), "min": ("Min", "Minimum"), "max": ("Max", "Maximum"),
    "sum": ("Sum", "Sum"), "sumwgt": ("SumWgt", "Sum Weights"), "var": ("Var", "Variance"),
    "stderr": ("StdErr", "Std Error"),
    "median": ("Median", "Median"), "p50": ("Median", "Median"), "q1": ("Q1", "Lower Quartile"),
    "p25": ("Q1", "Lower Quartile"), "q3": ("Q3", "Upper Quartile"), "p75": ("Q3", "Upper Quartile"),
    "p1": ("P1", "1st Pctl"), "p5": ("P5", "5th Pctl"), "p10": ("P10", "10th Pctl"),
    "p90": ("P90", "90th Pctl"), "p95": ("P95", "95th Pctl"), "p99": ("P99", "99th Pctl"),
    "range": ("Range", "Range"), "cv": ("CV", "Coeff of Variation"), "lclm": ("LCLM", "Lower 95% CL for Mean"),
    "uclm": ("UCLM", "Upper 95% CL for Mean"), "t": ("t", "t Value"), "probt": ("Probt", "Pr > |t|"),
    "css": ("CSS", "Corrected SS"), "uss": ("USS", "Uncorrected SS"), "qrange": ("QRange", "Quartile Range"),
    "mode": ("Mode", "Mode"), "skewness": ("Skew", "Skewness"), "kurtosis": ("Kurt", "Kurtosis"),
}
DEFAULT = ["n", "mean", "std", "min", "max"]


def _pctl(x: np.ndarray, p: float) -> float:
    """SAS default percentile definition (PCTLDEF=5: empirical distribution with averaging)."""
    return sas_percentile(x, p)


WEIGHTED_NOT_YET = {"median", "p50", "q1", "p25", "q3", "p75", "p1", "p5", "p10", "p90", "p95", "p99", "qrange",
                    "mode", "skewness", "kurtosis"}


def compute(stat: str, x: np.ndarray, alpha=0.05, w: np.ndarray | None = None) -> float:
    if w is not None:
        return _compute_weighted(stat, x, w, alpha)
    v = x[~np.isnan(x)]
    n = len(v)
    if stat in ("n", "sumwgt"):
        return float(n)
    if stat == "nmiss":
        return float(len(x) - n)
    if n == 0:
        return math.nan
    if stat == "mean":
        return float(v.mean())
    if stat == "sum":
        return float(v.sum())
    if stat == "min":
        return float(v.min())
    if stat == "max":
        return float(v.max())
    if stat == "range":
        return float(v.max() - v.min())
    if stat == "uss":
        return float((v ** 2).sum())
    if stat == "css":
        return float(((v - v.mean()) ** 2).sum())
    if stat in ("median", "p50"):
        return _pctl(v, 50)
    if stat in ("q1", "p25"):
        return _pctl(v, 25)
    if stat in ("q3", "p75"):
        return _pctl(v, 75)
    if stat == "qrange":
        return _pctl(v, 75) - _pctl(v, 25)
    if stat.startswith("p") and stat[1:].isdigit():
        return _pctl(v, float(stat[1:]))
    if stat == "mode":
        vals, counts = np.unique(v, return_counts=True)
        return float(vals[np.argmax(counts)])
    if n < 2:
        return math.nan
    sd = float(v.std(ddof=1))
    if stat in ("std", "stddev"):
        return sd
    if stat == "var":
        return sd ** 2
    if stat == "stderr":
        return sd / math.sqrt(n)
    if stat == "cv":
        return 100 * sd / float(v.mean()) if v.mean() != 0 else math.nan
    se = sd / math.sqrt(n)
    if stat in ("lclm", "uclm"):
        q = st.t.ppf(1 - alpha / 2, n - 1)
        return float(v.mean() - q * se) if stat == "lclm" else float(v.mean() + q * se)
    if stat == "t":
        return float(v.mean() / se) if se > 0 else math.nan
    if stat == "probt":
        return float(2 * st.t.sf(abs(v.mean() / se), n - 1)) if se > 0 else math.nan
    if stat == "skewness":
        return float(st.skew(v, bias=False)) if n > 2 else math.nan
    if stat == "kurtosis":
        return float(st.kurtosis(v, bias=False)) if n > 3 else math.nan
    raise SasError(f"Statistic {stat.upper()} is not supported.")


def _compute_weighted(stat, x, w, alpha):
    """Base SAS's weighted statistics (VARDEF=DF): the mean, sum, USS and CSS use the weights, the variance
    divides the weighted CSS by n - 1 (n the number of observations), the standard error of the mean is
    sqrt(variance / sum of weights); N, NMISS, MIN, MAX and RANGE ignore the weights.  A missing weight drops
    the observation, a negative one counts as 0."""
    if stat in WEIGHTED_NOT_YET:
        raise SasError(f"The statistic {stat.upper()} is not supported yet with a WEIGHT statement.")
    keep = ~np.isnan(w)
    x, w = x[keep], np.maximum(w[keep], 0.0)
    ok = ~np.isnan(x)
    v, wv = x[ok], w[ok]
    n = len(v)
    if stat in ("n", "nmiss", "min", "max", "range"):
        return compute(stat, x)
    if stat == "sumwgt":
        return float(wv.sum())
    sw = float(wv.sum())
    if n == 0 or sw <= 0:
        return math.nan
    mean = float((wv * v).sum() / sw)
    if stat == "mean":
        return mean
    if stat == "sum":
        return float((wv * v).sum())
    if stat == "uss":
        return float((wv * v * v).sum())
    css = float((wv * (v - mean) ** 2).sum())
    if stat == "css":
        return css
    if n < 2:
        return math.nan
    var = css / (n - 1)
    sd = math.sqrt(var)
    se = math.sqrt(var / sw)
    if stat in ("std", "stddev"):
        return sd
    if stat == "var":
        return var
    if stat == "stderr":
        return se
    if stat == "cv":
        return 100 * sd / mean if mean != 0 else math.nan
    if stat in ("lclm", "uclm"):
        q = st.t.ppf(1 - alpha / 2, n - 1)
        return mean - q * se if stat == "lclm" else mean + q * se
    if stat == "t":
        return mean / se if se > 0 else math.nan
    if stat == "probt":
        return float(2 * st.t.sf(abs(mean / se), n - 1)) if se > 0 else math.nan
    raise SasError(f"Statistic {stat.upper()} is not supported yet with a WEIGHT statement.")


def run_means(session, proc):
    _run(session, proc, "MEANS")


def run_summary(session, proc):
    _run(session, proc, "SUMMARY")


def _run(session, proc, name):
    known = set(STATS) | {"data", "maxdec", "noprint", "print", "nway", "missing", "alpha", "clm", "vardef",
                          "fw", "order", "descending", "completetypes", "chartype", "noobs", "nonobs", "qmethod",
                          "printalltypes", "exclnpwgt", "mode"}
    opts = Options(proc.options, known, f"PROC {name}")
    ds, ref = input_data(session, opts, proc, where_statements(proc))
    from .common import warn_ignored
    warn_ignored(session, opts, ['fw', 'order', 'descending', 'completetypes', 'chartype', 'noobs', 'nonobs', 'qmethod', 'printalltypes', 'exclnpwgt', 'vardef'], f'PROC {name}')
    stats = [s for s in opts.flags if s in STATS]
    order = [it.value.lower() for it in proc.options if isinstance(it, A.Word) and str(it.value).lower() in STATS]
    stats = order or DEFAULT
    if opts.has("clm") and "lclm" not in stats:
        stats += ["lclm", "uclm"]
    varlist = None
    classes: list[str] = []
    by = []
    outputs = []
    freq = weight = None
    for kw, stm in statements(proc, {"var", "class", "by", "output", "where", "types", "ways", "id", "freq",
                                     "weight"}):
        if kw == "var":
            varlist = var_names(stm.items, ds)
        elif kw == "class":
            classes = var_names(stm.items, ds, "CLASS")
        elif kw == "by":
            by = by_items(stm.items, ds)
        elif kw == "output":
            outputs.append(stm)
        elif kw == "freq":
            freq = numeric_var(stm, ds)
        elif kw == "weight":
            weight = numeric_var(stm, ds)
        elif kw in ("types", "ways", "id"):
            raise SasError(f"The {kw.upper()} statement of PROC {name} is not supported yet.", stm.line, stm.col)
    if weight is not None:
        bad = [st_ for st_ in stats if st_ in WEIGHTED_NOT_YET]
        if bad:
            raise SasError(f"The statistic {bad[0].upper()} is not supported yet with a WEIGHT statement.",
                           proc.line, proc.col)
    if freq is not None:
        # FREQ: every observation counts as if it appeared f times (f truncated; f < 1 or missing drops it)
        ds = expand_by_freq(ds, freq)[0]
    if varlist is None:
        excl = {c.lower() for c in classes} | {b.lower() for b, _ in by} | \
            {c.lower() for c in (freq, weight) if c}
        varlist = [m.name for m in ds.ordered_meta() if m.type == "N" and m.name.lower() not in excl]
    for v in varlist:
        if ds.var(v).is_char:
            raise SasError(f"Variable {v} in list does not match type prescribed for this list.", proc.line, proc.col)
    ds = _group_by_format(ds, classes, session)
    maxdec = opts.get("maxdec")
    printing = (name == "MEANS" and not opts.has("noprint")) or opts.has("print")
    out_frames = []
    for byline, sub in by_groups(ds, by, session, name):
        df = sub.df
        if classes:
            if not opts.has("missing"):
                mask = np.ones(len(df), dtype=bool)
                for c in classes:
                    col = df[c]
                    mask &= ~(col.isna() | (col == "")) if sub.var(c).is_char else ~col.isna()
                df = df[mask]
            groups = list(df.groupby(classes, sort=True, dropna=False))
        else:
            groups = [((), df)]
        if printing:
            cols = [Column(c, c) for c in classes]
            if classes:
                cols.append(Column("NObs", "N Obs", "INT", "r"))
            cols.append(Column("Variable", "Variable" if len(varlist) > 1 or classes else "Variable"))
            for s in stats:
                fmt = None if maxdec is None else f"12.{int(maxdec)}"
                if s in ("n", "nmiss"):
                    fmt = "INT"
                if s == "probt":
                    fmt = "PVALUE6.4"
                cols.append(Column(STATS[s][0], STATS[s][1], fmt))
            rows = []
            for key, g in groups:
                key = key if isinstance(key, tuple) else (key,)
                for i, v in enumerate(varlist):
                    row = {}
                    for c, kv in zip(classes, key):
                        row[c] = (_fmt_class(kv, sub.var(c), session) if i == 0 else "")
                    if classes:
                        row["NObs"] = float(len(g)) if i == 0 else ""
                    row["Variable"] = v
                    x = g[v].to_numpy(dtype=float)
                    wx = g[weight].to_numpy(dtype=float) if weight else None
                    for s in stats:
                        row[STATS[s][0]] = compute(s, x, float(opts.get("alpha", 0.05)), wx)
                    rows.append(row)
            if classes and not rows:
                pass
            if len(varlist) == 1 and not classes:
                cols = [c for c in cols if c.name != "Variable"]
                title = ""
                tbl = Table(name, "Summary", title, cols, rows, byline=byline)
                tbl.subtitle = f"Analysis Variable : {varlist[0]}" + (
                    f" {sub.var(varlist[0]).label}" if sub.var(varlist[0]).label else "")
            else:
                tbl = Table(name, "Summary", "", cols, rows, byline=byline)
            session.emit_table(tbl)
        for o in outputs:
            out_frames.append(_output_frame(o, sub, groups, classes, varlist, by, opts, session, byline, weight))
    for o, frames in _group_outputs(outputs, out_frames):
        out_node = next((it.value for it in o.items if isinstance(it, A.Opt) and it.key == "out"), None)
        for it in o.items:
            if isinstance(it, A.Opt) and it.key not in STATS and it.key != "out":
                raise SasError(f"The option {it.key.upper()} is not supported on the OUTPUT statement.",
                               it.line, it.col)
        ref_out = dsref_from_value(out_node) if out_node is not None else A.DsRef(None, session._next_dataN())
        for n in sorted(_output_columns(o, varlist)[1]):
            session.log.warning(f"Variable {n} already exists on file {ref_out.display}.")
        df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        from ..data.dataset import normalise_frame
        session.put_dataset(ref_out, Dataset(normalise_frame(df)))


def _group_by_format(ds, classes, session):
    """SAS forms CLASS groups from formatted values: a formatted CLASS variable's raw values are
    replaced (in a copy) by the smallest raw value of their formatted group."""
    from ..data.dataset import Dataset
    from .modeling import formatted
    fmt_classes = [c for c in classes if ds.var(c).format]
    if not fmt_classes:
        return ds
    df = ds.df.copy()
    for c in fmt_classes:
        lab = pd.Series(formatted(ds, c, session), index=df.index)
        col = df[ds.colname(c)]
        rep = col.groupby(lab).transform("min")
        df[ds.colname(c)] = rep.where(col.notna(), col)
    out = Dataset(df, ds.meta, ds.label, ds.sorted_by)
    out.display_name = getattr(ds, "display_name", "")
    out.where_text = getattr(ds, "where_text", None)
    return out


def _fmt_class(v, meta, session):
    from ..datastep.formats import format_value
    if meta.is_char:
        return v
    return format_value(v, meta.format, session.user_formats, is_char=False, strip=True)


def _group_outputs(outputs, frames):
    per = len(outputs)
    if per == 0:
        return []
    res = []
    for i, o in enumerate(outputs):
        res.append((o, frames[i::per]))
    return res


def _output_columns(o, varlist):
    """What OUTPUT OUT= computes: [(statistic, variable, output name)] in request order (empty: the
    default _STAT_ layout), and the names two requests claimed (SAS keeps the first, with a WARNING)."""
    items = o.items
    requests = []   # (stat, [names]) ; names may be empty -> variable names
    i = 0
    while i < len(items):
        it = items[i]
        if isinstance(it, A.Opt) and it.key in STATS:
            names = [str(it.value.value)] if isinstance(it.value, A.Word) and it.value.kind == "name" else []
            j = i + 1
            if names and j < len(items) and isinstance(items[j], A.Word) and items[j].kind == "op" \
                    and items[j].value == "=" and names[0].lower() in STATS:
                # `mean= std=`: the first request has no names, the "name" is the next statistic
                requests.append((it.key, []))
                requests.append((names[0].lower(), []))
                i = j + 1
                continue
            while j < len(items) and isinstance(items[j], A.Word) and items[j].kind == "name":
                names.append(str(items[j].value))
                j += 1
            requests.append((it.key, names))
            i = j
            continue
        if isinstance(it, A.Group) and it.name and it.name.lower() in STATS:
            requests.append((it.name.lower(), []))
        elif isinstance(it, A.Word) and it.kind == "name" and str(it.value).lower() in STATS:
            requests.append((str(it.value).lower(), []))
        i += 1
    slash = list(getattr(o, "options", None) or [])
    autoname = any(isinstance(it, A.Word) and str(it.value).lower() == "autoname" for it in items + slash)
    for it in slash:
        key = str(it.value).lower() if isinstance(it, A.Word) else getattr(it, "key", "?")
        if key != "autoname":
            raise SasError(f"The OUTPUT statement option {key.upper()} is not supported yet (AUTONAME is).",
                           getattr(it, "line", None), getattr(it, "col", None))
    columns, dups, taken = [], set(), set()
    for s, names in requests:
        for k, v in enumerate(varlist):
            if names and k >= len(names):
                break
            outname = names[k] if names else (f"{v}_{STATS[s][0]}" if autoname else v)
            if outname.lower() in taken:
                dups.add(outname)
                continue
            taken.add(outname.lower())
            columns.append((s, v, outname))
    return columns, dups


def _output_frame(o, sub, groups, classes, varlist, by, opts, session, byline, weight=None):
    """OUTPUT OUT= data: one row per class combination (and the overall _TYPE_=0 row unless NWAY)."""
    columns, _ = _output_columns(o, varlist)
    bycols = [b for b, _ in by]

    def wts(g):
        return g[weight].to_numpy(dtype=float) if weight else None
    rows = []
    levels = [()]
    if classes and not opts.has("nway"):
        levels = [()] + [tuple(c) for r in range(1, len(classes) + 1) for c in itertools.combinations(classes, r)]
    elif classes:
        levels = [tuple(classes)]
    df = sub.df
    for lev in levels:
        typ = sum(2 ** (len(classes) - 1 - classes.index(c)) for c in lev)
        grouped = [((), df)] if not lev else list(df.groupby(list(lev), sort=True, dropna=False))
        for key, g in grouped:
            key = key if isinstance(key, tuple) else (key,)
            row = {b: sub.df[b].iloc[0] if len(sub.df) else None for b in bycols}
            for c in classes:
                row[c] = key[lev.index(c)] if c in lev else (None if not sub.var(c).is_char else "")
            row["_TYPE_"] = float(typ)
            row["_FREQ_"] = float(len(g))
            if not columns:
                for s in ["n", "min", "max", "mean", "std"]:
                    r2 = dict(row)
                    r2["_STAT_"] = {"n": "N", "min": "MIN", "max": "MAX", "mean": "MEAN", "std": "STD"}[s]
                    for v in varlist:
                        r2[v] = compute(s, g[v].to_numpy(dtype=float), w=wts(g))
                    rows.append(r2)
                continue
            for s, v, outname in columns:
                row[outname] = compute(s, g[v].to_numpy(dtype=float), w=wts(g))
            rows.append(row)
    return pd.DataFrame(rows)
