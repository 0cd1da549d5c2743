"""PROC FREQ: one-way and two-way TABLES with percentages, / CHISQ (and Fisher's exact for 2x2),
NOCUM, NOPERCENT, NOROW, NOCOL, MISSING, OUT=; BY; ORDER=."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as st

from .. import ast as A
from ..data.dataset import Dataset, normalise_frame
from ..errors import SasError
from ..ods.table import Column, Table
from .common import Options, by_groups, by_items, dsref_from_value, input_data, statements, warn_ignored, \
    where_statements


def _requests(items):
    """Parse `a b*c (a b)*c` into lists of variable tuples."""
    reqs = []
    cur: list[list[str]] = []
    pending_star = False
    for it in items:
        if isinstance(it, A.Word) and it.kind == "op" and it.value == "*":
            pending_star = True
            continue
        names = []
        if isinstance(it, A.Word) and it.kind == "name":
            names = [str(it.value)]
        elif isinstance(it, A.Group) and it.name is None:
            names = [str(x.value) for x in it.items if isinstance(x, A.Word)]
        else:
            raise SasError("Invalid TABLES request.", getattr(it, "line", None), getattr(it, "col", None))
        if pending_star and cur:
            cur.append(names)
        else:
            if cur:
                reqs.extend(_expand(cur))
            cur = [names]
        pending_star = False
    if cur:
        reqs.extend(_expand(cur))
    return reqs


def _expand(dims):
    out = [[]]
    for d in dims:
        out = [o + [x] for o in out for x in d]
    return [tuple(o) for o in out]


def run_freq(session, proc):
    opts = Options(proc.options, {"data", "order", "noprint", "page", "nlevels", "formchar", "compress"},
                   "PROC FREQ")
    ds, ref = input_data(session, opts, proc, where_statements(proc))
    warn_ignored(session, opts, ['page', 'nlevels', 'formchar', 'compress'], 'PROC FREQ')
    tables = []
    by = []
    weight = None
    zeros = False
    for kw, stm in statements(proc, {"tables", "table", "by", "where", "weight", "exact", "test"}):
        if kw in ("tables", "table"):
            tables.append(stm)
        elif kw == "by":
            by = by_items(stm.items, ds)
        elif kw == "weight":
            weight = str(stm.items[0].value)
            if ds.colname(weight) is None:
                raise SasError(f"Variable {weight.upper()} not found.", stm.line, stm.col)
            weight = ds.colname(weight)
            zeros = Options(stm.options or [], {"zeros"}, "WEIGHT").has("zeros")
        elif kw in ("exact", "test"):
            raise SasError(f"The {kw.upper()} statement of PROC FREQ is not supported yet.", stm.line, stm.col)
    if not tables:
        tables = [A.GenStmt("tables", [A.Word("name", m.name) for m in ds.ordered_meta()], None)]
    order = str(opts.get("order", "internal")).lower()
    if weight is not None:
        # observations with a missing or negative weight are not used, nor zero weights without ZEROS
        w = ds.column(weight).to_numpy(dtype=float)
        keep = (w >= 0) if zeros else (w > 0)
        if not keep.all():
            ds = Dataset(ds.df[keep].reset_index(drop=True), ds.meta, ds.label, ds.sorted_by)
    for byline, sub in by_groups(ds, by, session, "FREQ"):
        for stm in tables:
            topts = Options(stm.options, {"chisq", "nocum", "nopercent", "norow", "nocol", "nofreq", "missing",
                                          "out", "list", "expected", "deviation", "cellchi2", "fisher", "nocol",
                                          "sparse", "outpct", "measures", "cmh", "agree", "relrisk", "riskdiff",
                                          "trend", "alpha", "binomial", "plots", "totpct", "nowarn"}, "TABLES")
            warn_ignored(session, topts, ["list", "expected", "deviation", "cellchi2", "sparse", "outpct",
                                          "plots", "totpct", "nowarn"] + ([] if topts.has("relrisk") else ["alpha"]),
                         "TABLES")
            for unsupported in ("measures", "cmh", "agree", "riskdiff", "trend", "binomial"):
                if topts.has(unsupported):
                    raise SasError(f"The TABLES option {unsupported.upper()} is not supported yet.", stm.line, stm.col)
            for req in _requests(stm.items):
                cols = []
                for v in req:
                    c = sub.colname(v)
                    if c is None:
                        raise SasError(f"Variable {v.upper()} not found.", stm.line, stm.col)
                    cols.append(c)
                if len(cols) == 1:
                    _oneway(session, sub, cols[0], topts, order, weight, byline, opts.has("noprint"))
                elif len(cols) == 2:
                    _twoway(session, sub, cols[0], cols[1], topts, order, weight, byline, opts.has("noprint"))
                else:
                    raise SasError("Tables of three or more dimensions are not supported yet.", stm.line, stm.col)


def _levels(sub: Dataset, col: str, order: str, session, missing: bool):
    """The levels of a TABLES variable, formed (as SAS does) from formatted values: returns
    (representative raw values, their formatted labels, per-row level index (-1 for an excluded
    missing value), number of missing rows excluded)."""
    from ..stats import design as D
    from .modeling import formatted
    s = sub.df[col]
    meta = sub.var(col)
    is_missing = ((s == "") if meta.is_char else s.isna()).to_numpy()
    keep = ~is_missing if not missing else np.ones(len(s), dtype=bool)
    raw = s.to_numpy()[keep]
    fmt = np.asarray(formatted(sub, col, session), dtype=object)[keep]
    levels, labels, alias = D.order_levels_grouped(list(raw), list(fmt), order, False)
    codes = np.full(len(s), -1)
    if len(raw):
        codes[keep] = D.ClassVar(col, levels, labels, alias=alias).codes(raw)
    return levels, labels, codes, int(is_missing.sum()) if not missing else 0


def _oneway(session, sub, col, topts, order, weight, byline, noprint):
    missing = topts.has("missing")
    uniq, labels, codes, nmiss = _levels(sub, col, order, session, missing)
    w = sub.df[weight].to_numpy(dtype=float) if weight else np.ones(len(codes))
    ok = codes >= 0
    counts = [float(c) for c in np.bincount(codes[ok], weights=w[ok], minlength=len(uniq))]
    total = sum(counts)
    rows = []
    cum = 0.0
    for lab, c in zip(labels, counts):
        cum += c
        rows.append({col: lab, "Frequency": c, "Percent": 100 * c / total if total else math.nan,
                     "CumFrequency": cum, "CumPercent": 100 * cum / total if total else math.nan})
    cols = [Column(col, sub.var(col).label or col if False else col), Column("Frequency", "Frequency", "INT")]
    if not topts.has("nopercent"):
        cols.append(Column("Percent", "Percent", "8.2"))
    if not topts.has("nocum"):
        cols.append(Column("CumFrequency", "Cumulative\nFrequency", "INT"))
        if not topts.has("nopercent"):
            cols.append(Column("CumPercent", "Cumulative\nPercent", "8.2"))
    foot = [f"Frequency Missing = {nmiss}"] if nmiss else []
    if not noprint:
        session.emit_table(Table("FREQ", "OneWayFreqs", "", cols, rows, footnotes=foot, byline=byline))
    if "out" in topts.nodes:
        out = pd.DataFrame({col: uniq, "COUNT": counts,
                            "PERCENT": [100 * c / total if total else math.nan for c in counts]})
        session.put_dataset(dsref_from_value(topts.nodes["out"]), Dataset(normalise_frame(out)))


def _twoway(session, sub, rcol, ccol, topts, order, weight, byline, noprint):
    missing = topts.has("missing")
    ru, rlab, rcode, rmiss = _levels(sub, rcol, order, session, missing)
    cu, clab, ccode, cmiss = _levels(sub, ccol, order, session, missing)
    df = sub.df
    w = df[weight].to_numpy(dtype=float) if weight else np.ones(len(df))
    valid = (rcode >= 0) & (ccode >= 0)
    tab = np.bincount(rcode[valid] * len(cu) + ccode[valid], weights=w[valid],
                      minlength=len(ru) * len(cu)).reshape(len(ru), len(cu)).astype(float)
    total = tab.sum()
    rs, cs = tab.sum(axis=1), tab.sum(axis=0)
    rows = []
    for i, r in enumerate(rlab):
        for j, c in enumerate(clab):
            rows.append({rcol: r, ccol: c, "Frequency": tab[i, j],
                         "Percent": 100 * tab[i, j] / total if total else math.nan,
                         "RowPercent": 100 * tab[i, j] / rs[i] if rs[i] else math.nan,
                         "ColPercent": 100 * tab[i, j] / cs[j] if cs[j] else math.nan})
        rows.append({rcol: r, ccol: "Total", "Frequency": rs[i],
                     "Percent": 100 * rs[i] / total if total else math.nan, "RowPercent": None, "ColPercent": None})
    for j, c in enumerate(clab):
        rows.append({rcol: "Total", ccol: c, "Frequency": cs[j],
                     "Percent": 100 * cs[j] / total if total else math.nan, "RowPercent": None, "ColPercent": None})
    rows.append({rcol: "Total", ccol: "Total", "Frequency": total, "Percent": 100.0, "RowPercent": None,
                 "ColPercent": None})
    cols = [Column(rcol), Column(ccol)]
    if not topts.has("nofreq"):
        cols.append(Column("Frequency", "Frequency", "INT"))
    if not topts.has("nopercent"):
        cols.append(Column("Percent", "Percent", "8.2"))
    if not topts.has("norow"):
        cols.append(Column("RowPercent", "Row Pct", "8.2"))
    if not topts.has("nocol"):
        cols.append(Column("ColPercent", "Col Pct", "8.2"))
    nm = int((~valid).sum())
    foot = [f"Frequency Missing = {nm}"] if nm else []
    if not noprint:
        session.emit_table(Table("FREQ", "CrossTabFreqs", f"Table of {rcol} by {ccol}", cols, rows,
                                 footnotes=foot, byline=byline))
    if topts.has("chisq") and not noprint:
        _chisq(session, tab, rcol, ccol, byline)
    if (topts.has("fisher") or (topts.has("chisq") and tab.shape == (2, 2))) and not noprint:
        _fisher(session, tab, rcol, ccol, byline)
    if topts.has("relrisk") and not noprint:
        _relrisk(session, tab, rcol, ccol, byline, float(topts.get("alpha", 0.05)))
    if "out" in topts.nodes:
        rr, cc, cnt, pct = [], [], [], []
        for i, r in enumerate(ru):
            for j, c in enumerate(cu):
                if tab[i, j] > 0:
                    rr.append(r)
                    cc.append(c)
                    cnt.append(tab[i, j])
                    pct.append(100 * tab[i, j] / total)
        out = pd.DataFrame({rcol: rr, ccol: cc, "COUNT": cnt, "PERCENT": pct})
        session.put_dataset(dsref_from_value(topts.nodes["out"]), Dataset(normalise_frame(out)))


def _chisq(session, tab, rcol, ccol, byline):
    tab = tab[tab.sum(axis=1) > 0][:, tab.sum(axis=0) > 0]
    n = tab.sum()
    r, c = tab.shape
    exp = np.outer(tab.sum(axis=1), tab.sum(axis=0)) / n
    df = (r - 1) * (c - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        x2 = float(((tab - exp) ** 2 / exp).sum())
        g2 = float(2 * np.nansum(np.where(tab > 0, tab * np.log(tab / exp), 0.0)))
    rows = [{"Statistic": "Chi-Square", "DF": df, "Value": x2, "Prob": st.chi2.sf(x2, df)},
            {"Statistic": "Likelihood Ratio Chi-Square", "DF": df, "Value": g2, "Prob": st.chi2.sf(g2, df)}]
    if (r, c) == (2, 2):
        a = np.abs(tab - exp) - 0.5
        a = np.maximum(a, 0)
        xc = float((a ** 2 / exp).sum())
        rows.append({"Statistic": "Continuity Adj. Chi-Square", "DF": 1, "Value": xc, "Prob": st.chi2.sf(xc, 1)})
    # Mantel-Haenszel (scores = column/row index)
    rs = np.arange(1, r + 1, dtype=float)
    cs_ = np.arange(1, c + 1, dtype=float)
    pr, pc = tab.sum(axis=1) / n, tab.sum(axis=0) / n
    mr, mc = (rs * pr).sum(), (cs_ * pc).sum()
    cov = ((np.outer(rs - mr, cs_ - mc)) * tab).sum() / n
    vr, vc = (((rs - mr) ** 2) * pr).sum(), (((cs_ - mc) ** 2) * pc).sum()
    rho2 = cov ** 2 / (vr * vc) if vr > 0 and vc > 0 else math.nan
    mh = (n - 1) * rho2
    rows.append({"Statistic": "Mantel-Haenszel Chi-Square", "DF": 1, "Value": mh, "Prob": st.chi2.sf(mh, 1)})
    phi = math.sqrt(x2 / n)
    if (r, c) == (2, 2):
        phi = (tab[0, 0] * tab[1, 1] - tab[0, 1] * tab[1, 0]) / math.sqrt(np.prod(tab.sum(axis=1)) *
                                                                            np.prod(tab.sum(axis=0)))
    rows.append({"Statistic": "Phi Coefficient", "DF": None, "Value": phi, "Prob": None})
    rows.append({"Statistic": "Contingency Coefficient", "DF": None, "Value": math.sqrt(x2 / (x2 + n)), "Prob": None})
    cv = phi if (r, c) == (2, 2) else math.sqrt(x2 / n / (min(r, c) - 1))
    rows.append({"Statistic": "Cramer's V", "DF": None, "Value": cv, "Prob": None})
    cols = [Column("Statistic"), Column("DF", "DF", "INT"), Column("Value", "Value", "8.4"),
            Column("Prob", "Prob", "PVALUE6.4")]
    session.emit_table(Table("FREQ", "ChiSq", f"Statistics for Table of {rcol} by {ccol}", cols, rows,
                             byline=byline))


def _fisher(session, tab, rcol, ccol, byline):
    if tab.shape != (2, 2):
        raise SasError("Fisher's exact test is only supported for 2x2 tables.")
    a = tab.astype(int)
    _, p_left = st.fisher_exact(a, alternative="less")
    _, p_right = st.fisher_exact(a, alternative="greater")
    _, p_two = st.fisher_exact(a, alternative="two-sided")
    rows = [{"Label1": "Cell (1,1) Frequency (F)", "nValue1": float(a[0, 0])},
            {"Label1": "Left-sided Pr <= F", "nValue1": p_left},
            {"Label1": "Right-sided Pr >= F", "nValue1": p_right},
            {"Label1": "Two-sided Pr <= P", "nValue1": p_two}]
    session.emit_table(Table("FREQ", "FishersExact", "Fisher's Exact Test",
                             [Column("Label1", ""), Column("nValue1", "", "8.4")], rows, kind="kv",
                             byline=byline))


def _relrisk(session, tab, rcol, ccol, byline, alpha):
    """RELRISK (2 x 2 tables): table RelativeRisks, "Odds Ratio and Relative Risks": the odds ratio
    (n11 n22) / (n12 n21) and the column-1 and column-2 risks of row 1 over row 2, with Wald limits on the
    log scale (log OR +/- z sqrt(1/n11 + 1/n12 + 1/n21 + 1/n22); log RR1 +/- z sqrt((1 - p1)/n11 + (1 - p2)/n21)
    with p the row proportions).  An estimate or limit that a zero count makes undefined is missing."""
    if tab.shape != (2, 2):
        session.log.note(f"RELRISK statistics are computed only for 2 x 2 tables; the table of {rcol} by {ccol} "
                         f"is {tab.shape[0]} x {tab.shape[1]}.")
        return
    (a, b), (c, d) = tab
    z = st.norm.ppf(1 - alpha / 2)

    def row(label, est, var):
        lo = hi = None
        if est is not None and var is not None and est > 0:
            h = z * math.sqrt(var)
            lo, hi = est * math.exp(-h), est * math.exp(h)
        return {"Statistic": label, "Value": est, "LowerCL": lo, "UpperCL": hi}

    ratio = (lambda x, y: x / y if y > 0 else None)
    odds = ratio(a * d, b * c)
    rows = [row("Odds Ratio", odds, (1 / a + 1 / b + 1 / c + 1 / d) if min(a, b, c, d) > 0 else None)]
    for k, (x1, x2) in enumerate(((a, c), (b, d)), start=1):
        n1, n2 = a + b, c + d
        rr = ratio(x1 / n1, x2 / n2) if n1 > 0 and n2 > 0 else None
        var = (1 / x1 - 1 / n1 + 1 / x2 - 1 / n2) if x1 > 0 and x2 > 0 else None
        rows.append(row(f"Relative Risk (Column {k})", rr, var))
    pct = f"{100 * (1 - alpha):g}%"
    cols = [Column("Statistic"), Column("Value", None, "10.4"), Column("LowerCL", f"{pct} Confidence", "10.4"),
            Column("UpperCL", "Limits", "10.4")]
    session.emit_table(Table("FREQ", "RelativeRisks", "Odds Ratio and Relative Risks", cols, rows, byline=byline))
