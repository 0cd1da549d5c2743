"""PROC FREQ: one-way, two-way and multiway TABLES with percentages, / CHISQ (and Fisher's exact for 2x2),
CMH, RELRISK, NOCUM, NOPERCENT, NOROW, NOCOL, MISSING, NOPRINT, OUT=; WEIGHT; BY; ORDER=."""
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
                                          "trend", "alpha", "binomial", "plots", "totpct", "nowarn", "bdt",
                                          "cmh1", "cmh2", "noprint", "scores"}, "TABLES")
            warn_ignored(session, topts, ["list", "expected", "deviation", "cellchi2", "sparse", "outpct",
                                          "plots", "totpct", "nowarn"] +
                         ([] if topts.has("relrisk") or _cmh_kind(topts) else ["alpha"]),
                         "TABLES")
            for unsupported in ("measures", "agree", "riskdiff", "trend", "binomial"):
                if topts.has(unsupported):
                    raise SasError(f"The TABLES option {unsupported.upper()} is not supported yet.", stm.line, stm.col)
            if topts.has("bdt") and not _cmh_kind(topts):
                session.log.warning("The TABLES option BDT needs the CMH option and was ignored.")
            if "scores" in topts.nodes and str(topts.get("scores")).lower() != "table":
                raise SasError("SCORES= other than TABLE is not supported yet.", stm.line, stm.col)
            noprint = opts.has("noprint")
            for req in _requests(stm.items):
                cols = []
                for v in req:
                    c = sub.colname(v)
                    if c is None:
                        raise SasError(f"Variable {v.upper()} not found.", stm.line, stm.col)
                    cols.append(c)
                if len(cols) == 1:
                    _oneway(session, sub, cols[0], topts, order, weight, byline, noprint or topts.has("noprint"))
                elif len(cols) == 2:
                    _twoway(session, sub, cols[0], cols[1], topts, order, weight, byline, noprint,
                            crosstab=not topts.has("noprint"))
                    if _cmh_kind(topts) and not noprint:
                        _cmh(session, sub, [], cols[0], cols[1], topts, order, weight, byline)
                else:
                    if "out" in topts.nodes:
                        raise SasError("OUT= for tables of three or more dimensions is not supported yet.",
                                       stm.line, stm.col)
                    _multiway(session, sub, cols, topts, order, weight, byline, noprint)
                    if _cmh_kind(topts) and not noprint:
                        _cmh(session, sub, cols[:-2], cols[-2], cols[-1], topts, order, weight, byline)


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


def _multiway(session, sub, cols, topts, order, weight, byline, noprint):
    """A*B*...*R*C: one R by C table (and its statistics) per combination of the strata variables that occurs,
    "Table k of R by C" controlling for the strata values, in level order."""
    strata = cols[:-2]
    missing = topts.has("missing")
    codes, labels = [], []
    for v in strata:
        _, lab, code, _ = _levels(sub, v, order, session, missing)
        codes.append(code)
        labels.append(lab)
    ok = np.all(np.column_stack(codes) >= 0, axis=1)
    combos = sorted({tuple(int(c[i]) for c in codes) for i in np.nonzero(ok)[0]})
    for k, combo in enumerate(combos, 1):
        mask = ok.copy()
        for c, li in zip(codes, combo):
            mask &= c == li
        part = Dataset(sub.df[mask].reset_index(drop=True), sub.meta, sub.label, sub.sorted_by)
        ctl = "Controlling for " + " ".join(f"{v}={lab[li]}" for v, lab, li in zip(strata, labels, combo))
        _twoway(session, part, cols[-2], cols[-1], topts, order, weight, byline, noprint,
                title=f"Table {k} of {cols[-2]} by {cols[-1]}", subtitle=ctl,
                crosstab=not topts.has("noprint"))


def _twoway(session, sub, rcol, ccol, topts, order, weight, byline, noprint, title=None, subtitle=None,
            crosstab=True):
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
    if not noprint and crosstab:
        session.emit_table(Table("FREQ", "CrossTabFreqs", title or f"Table of {rcol} by {ccol}", cols, rows,
                                 subtitle=subtitle, footnotes=foot, byline=byline))
    stat_title = (f"Statistics for {title}" if title else f"Statistics for Table of {rcol} by {ccol}")
    if topts.has("chisq") and not noprint:
        rs_ = _table_scores(ru, tab.sum(axis=1) > 0)
        cs_ = _table_scores(cu, tab.sum(axis=0) > 0)
        _chisq(session, tab, rcol, ccol, byline, stat_title, subtitle, rs_, cs_)
    if (topts.has("fisher") or (topts.has("chisq") and tab.shape == (2, 2))) and not noprint:
        _fisher(session, tab, rcol, ccol, byline, subtitle)
    if topts.has("relrisk") and not noprint:
        _relrisk(session, tab, rcol, ccol, byline, float(topts.get("alpha", 0.05)), subtitle)
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


def _table_scores(levels, keep=None) -> np.ndarray:
    """SCORES=TABLE: a numeric variable's (unformatted) values, else the level numbers 1, 2, ..."""
    vals = list(levels)
    try:
        sc = np.array([float(v) for v in vals])
        if np.isnan(sc).any():
            raise ValueError
    except (TypeError, ValueError):
        sc = np.arange(1, len(vals) + 1, dtype=float)
    return sc if keep is None else sc[np.asarray(keep)]


def _chisq(session, tab, rcol, ccol, byline, title=None, subtitle=None, rscores=None, cscores=None):
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
    # Mantel-Haenszel: (n - 1) times the squared Pearson correlation of the table scores
    rs = rscores if rscores is not None else np.arange(1, r + 1, dtype=float)
    cs_ = cscores if cscores is not None else np.arange(1, c + 1, dtype=float)
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
    session.emit_table(Table("FREQ", "ChiSq", title or f"Statistics for Table of {rcol} by {ccol}", cols, rows,
                             subtitle=subtitle, byline=byline))


def _fisher(session, tab, rcol, ccol, byline, subtitle=None):
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
                             subtitle=subtitle, byline=byline))


def _relrisk(session, tab, rcol, ccol, byline, alpha, subtitle=None):
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
    session.emit_table(Table("FREQ", "RelativeRisks", "Odds Ratio and Relative Risks", cols, rows, subtitle=subtitle,
                             byline=byline))


# ---------------------------------------------------------------------- CMH (stratified) statistics
def _cmh_kind(topts) -> int:
    """CMH1 (correlation only), CMH2 (and row mean scores), CMH (all three): 1, 2, 3; 0 without."""
    return 3 if topts.has("cmh") else 2 if topts.has("cmh2") else 1 if topts.has("cmh1") else 0


def _strata_tables(session, sub, strata, rcol, ccol, order, weight, missing):
    """The R x C count tables of every stratum (an array q x R x C on the levels of the whole data), and the
    row and column levels."""
    ru, rlab, rcode, _ = _levels(sub, rcol, order, session, missing)
    cu, clab, ccode, _ = _levels(sub, ccol, order, session, missing)
    w = sub.df[weight].to_numpy(dtype=float) if weight else np.ones(len(rcode))
    ok = (rcode >= 0) & (ccode >= 0)
    scode = np.zeros(len(rcode), dtype=int)
    for v in strata:
        _, _, code, _ = _levels(sub, v, order, session, missing)
        ok &= code >= 0
        scode = scode * (int(code.max()) + 2) + np.maximum(code, 0)
    _, sidx = np.unique(scode[ok], return_inverse=True)
    q = int(sidx.max()) + 1 if ok.any() else 0
    R, C = len(ru), len(cu)
    flat = np.bincount((sidx * R + rcode[ok]) * C + ccode[ok], weights=w[ok], minlength=q * R * C)
    return flat.reshape(q, R, C), ru, rlab, cu, clab


def _cmh(session, sub, strata, rcol, ccol, topts, order, weight, byline):
    """Cochran-Mantel-Haenszel statistics (FREQ documentation, "Cochran-Mantel-Haenszel Statistics"): with
    the table scores, Q = (n - m)' A' (A V A')^- A (n - m) summed over strata, where m and V are each stratum's
    expected counts and their covariance under independence given the margins, and A picks the correlation
    (row and column scores), the row mean scores (column scores, R - 1 rows) or general association
    ((R - 1)(C - 1) cells).  For 2 x 2 strata also the Mantel-Haenszel and logit common odds ratio and relative
    risks, and the Breslow-Day test for homogeneity of the odds ratios (BDT: with Tarone's correction)."""
    tabs, ru, rlab, cu, clab = _strata_tables(session, sub, strata, rcol, ccol, order, weight, topts.has("missing"))
    q, R, C = tabs.shape
    a = _table_scores(ru)
    b = _table_scores(cu)
    diff = np.zeros(R * C)
    V = np.zeros((R * C, R * C))
    for t in tabs:
        n = t.sum()
        if n <= 1:
            continue
        pr, pc = t.sum(axis=1) / n, t.sum(axis=0) / n
        diff += (t - n * np.outer(pr, pc)).ravel()
        V += n * n / (n - 1) * np.kron(np.diag(pr) - np.outer(pr, pr), np.diag(pc) - np.outer(pc, pc))
    kind = _cmh_kind(topts)
    er, ec = np.eye(R)[:-1], np.eye(C)[:-1]
    specs = [("Nonzero Correlation", np.kron(a[None, :], b[None, :]))]
    if kind >= 2:
        specs.append(("Row Mean Scores Differ", np.kron(er, b[None, :])))
    if kind >= 3:
        specs.append(("General Association", np.kron(er, ec)))
    rows = []
    for k, (label, A_) in enumerate(specs, 1):
        M = A_ @ V @ A_.T
        u, sv, vt = np.linalg.svd(M)
        tol = sv.max() * 1e-10 * max(M.shape) if sv.size else 0
        r = int((sv > tol).sum())
        z = A_ @ diff
        val = float(z @ (vt[:r].T / sv[:r]) @ u[:, :r].T @ z) if r else math.nan
        rows.append({"Statistic": k, "AltHyp": label, "DF": r, "Value": val,
                     "Prob": st.chi2.sf(val, r) if r else None})
    ctl = f"Summary Statistics for {rcol} by {ccol}" + (f"\nControlling for {'*'.join(strata)}" if strata else "")
    session.emit_table(Table("FREQ", "CMH", "Cochran-Mantel-Haenszel Statistics (Based on Table Scores)",
                             [Column("Statistic", "Statistic", "INT"), Column("AltHyp", "Alternative Hypothesis"),
                              Column("DF", "DF", "INT"), Column("Value", "Value", "8.4"),
                              Column("Prob", "Prob", "PVALUE6.4")], rows, subtitle=ctl, byline=byline))
    if (R, C) == (2, 2):
        _common_relrisks(session, tabs, float(topts.get("alpha", 0.05)), byline)
        _breslow_day(session, tabs, topts.has("bdt"), byline)


def _common_relrisks(session, tabs, alpha, byline):
    """Mantel-Haenszel estimates of the common odds ratio (Robins-Breslow-Greenland variance) and relative
    risks (Greenland-Robins variance), and logit (inverse-variance weighted) estimates, which add 0.5 to every
    cell of a stratum with a zero cell."""
    z = st.norm.ppf(1 - alpha / 2)
    a, b, c, d = tabs[:, 0, 0], tabs[:, 0, 1], tabs[:, 1, 0], tabs[:, 1, 1]
    n = a + b + c + d
    use = n > 0
    a, b, c, d, n = a[use], b[use], c[use], d[use], n[use]

    def limits(est, var):
        if est is None or var is None or not est > 0 or not var >= 0:
            return None, None
        h = z * math.sqrt(var)
        return est * math.exp(-h), est * math.exp(h)

    rows = []
    # odds ratio, Mantel-Haenszel
    Rs, Ss = (a * d / n).sum(), (b * c / n).sum()
    P, Q = (a + d) / n, (b + c) / n
    if Rs > 0 and Ss > 0:
        mh = Rs / Ss
        var = ((P * a * d / n).sum() / (2 * Rs ** 2) + ((P * b * c + Q * a * d) / n).sum() / (2 * Rs * Ss)
               + (Q * b * c / n).sum() / (2 * Ss ** 2))
    else:
        mh = var = None
    rows.append(("Odds Ratio", "Mantel-Haenszel", mh, *limits(mh, var)))
    za, zb, zc, zd = (np.where((a * b * c * d) == 0, x + 0.5, x) for x in (a, b, c, d))
    wts = 1 / (1 / za + 1 / zb + 1 / zc + 1 / zd)
    lo = float((wts * np.log(za * zd / (zb * zc))).sum() / wts.sum())
    rows.append(("", "Logit", math.exp(lo), *limits(math.exp(lo), 1 / wts.sum())))
    n1, n2 = a + b, c + d
    for k, (x1, x2) in enumerate(((a, c), (b, d)), 1):
        m = x1 + x2
        num, den = (x1 * n2 / n).sum(), (x2 * n1 / n).sum()
        if num > 0 and den > 0:
            rr = num / den
            var = ((m * n1 * n2 / n - x1 * x2) / n).sum() / (num * den)
        else:
            rr = var = None
        rows.append((f"Relative Risk (Column {k})", "Mantel-Haenszel", rr, *limits(rr, var)))
        zero = (x1 == 0) | (x2 == 0) | (n1 - x1 == 0) | (n2 - x2 == 0)
        y1, y2 = np.where(zero, x1 + 0.5, x1), np.where(zero, x2 + 0.5, x2)
        m1, m2 = np.where(zero, n1 + 1.0, n1), np.where(zero, n2 + 1.0, n2)
        v = (m1 - y1) / (y1 * m1) + (m2 - y2) / (y2 * m2)
        w = 1 / v
        lr = float((w * np.log((y1 / m1) / (y2 / m2))).sum() / w.sum())
        rows.append(("", "Logit", math.exp(lr), *limits(math.exp(lr), 1 / w.sum())))
    pct = f"{100 * (1 - alpha):g}%"
    session.emit_table(Table(
        "FREQ", "CommonRelRisks", "Common Odds Ratio and Relative Risks",
        [Column("Statistic"), Column("Method"), Column("Value", None, "10.4"),
         Column("LowerCL", f"{pct} Confidence", "10.4"), Column("UpperCL", "Limits", "10.4")],
        [{"Statistic": s_, "Method": m_, "Value": v_, "LowerCL": l_, "UpperCL": u_} for s_, m_, v_, l_, u_ in rows],
        byline=byline))


def _breslow_day(session, tabs, tarone, byline):
    """Breslow-Day statistic: sum over strata of (n11 - E)^2 / Var, E and Var those of n11 given the margins
    when the odds ratio is the Mantel-Haenszel estimate; DF = strata - 1.  Tarone's correction subtracts
    (sum (n11 - E))^2 / sum Var."""
    from scipy import optimize
    a, b, c, d = tabs[:, 0, 0], tabs[:, 0, 1], tabs[:, 1, 0], tabs[:, 1, 1]
    n = a + b + c + d
    Rs = (a * d / np.where(n > 0, n, 1)).sum()
    Ss = (b * c / np.where(n > 0, n, 1)).sum()
    if not (Rs > 0 and Ss > 0):
        return
    psi = Rs / Ss
    stat = dsum = vsum = 0.0
    used = 0
    for ai, bi, ci, di in zip(a, b, c, d):
        n1, n2, m1 = ai + bi, ci + di, ai + ci
        lo, hi = max(0.0, m1 - n2), min(n1, m1)
        if hi <= lo:
            continue                # a margin is zero: the stratum carries no information
        f = lambda x: x * (n2 - m1 + x) - psi * (n1 - x) * (m1 - x)     # noqa: E731
        E = optimize.brentq(f, lo, hi)
        Var = 1 / (1 / E + 1 / (n1 - E) + 1 / (m1 - E) + 1 / (n2 - m1 + E))
        stat += (ai - E) ** 2 / Var
        dsum += ai - E
        vsum += Var
        used += 1
    if tarone:
        stat -= dsum ** 2 / vsum
    df = used - 1
    title = ("Breslow-Day-Tarone Test for Homogeneity of the Odds Ratios" if tarone else
             "Breslow-Day Test for Homogeneity of the Odds Ratios")
    rows = [{"Label1": "Chi-Square", "nValue1": stat}, {"Label1": "DF", "nValue1": float(df), "_display": {"nValue1": str(df)}},
            {"Label1": "Pr > ChiSq", "nValue1": st.chi2.sf(stat, df) if df > 0 else None}]
    session.emit_table(Table("FREQ", "BreslowDayTest", title, [Column("Label1", ""), Column("nValue1", "", "8.4")],
                             rows, kind="kv", byline=byline))
