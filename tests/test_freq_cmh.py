"""PROC FREQ multiway tables and the CMH option.

References:
- SAS's printed output for the FREQ documentation example "Cochran-Mantel-Haenszel Statistics" (Migraine
  data, SAS/STAT procstat 9.22 HTML page, Output 3.7.1): the three CMH statistics are 8.3052, DF 1,
  Prob 0.0040.  The common odds ratio / relative risk and Breslow-Day values of that example are checked
  against the closed forms of the FREQ documentation ("Mantel-Haenszel Estimators", "Logit Estimators",
  "Breslow-Day Test"), evaluated independently below.
- R 4.x mantelhaen.test() on the 3 x 3 x 2 table below (general association M^2 = 15.19906677), run by hand
  on 2026-11-25; for one stratum the correlation statistic is (n - 1) r^2 and the row mean scores statistic
  (n - 1) SSB / SST of the column scores, written out below.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from conftest import run_sas

MIGRAINE = """data Migraine;
   input Gender $ Treatment $ Response $ Count @@;
   datalines;
female Active  Better 16   female Active  Same 11
female Placebo Better  5   female Placebo Same 20
male   Active  Better 12   male   Active  Same 16
male   Placebo Better  7   male   Placebo Same 19
;
"""
STRATA = [np.array([[16.0, 11.0], [5.0, 20.0]]), np.array([[12.0, 16.0], [7.0, 19.0]])]


def _tables(r, name):
    return [t for t in r.session.tables if t.name == name]


def test_migraine_cmh_statistics_match_sas_output():
    r = run_sas(MIGRAINE + """proc freq data=Migraine;
   tables Gender*Treatment*Response / cmh;
   weight Count;
run;
""")
    assert not r.errors and not r.warnings, r.log
    xt = _tables(r, "CrossTabFreqs")
    assert [t.title for t in xt] == ["Table 1 of Treatment by Response", "Table 2 of Treatment by Response"]
    assert [t.subtitle for t in xt] == ["Controlling for Gender=female", "Controlling for Gender=male"]
    cmh = _tables(r, "CMH")[0]
    assert cmh.title == "Cochran-Mantel-Haenszel Statistics (Based on Table Scores)"
    assert [row["AltHyp"] for row in cmh.rows] == ["Nonzero Correlation", "Row Mean Scores Differ",
                                                   "General Association"]
    for row in cmh.rows:
        assert row["DF"] == 1
        assert row["Value"] == pytest.approx(8.3052, abs=5e-5)       # SAS Output 3.7.1
        assert row["Prob"] == pytest.approx(0.0040, abs=5e-5)


def test_common_odds_ratio_relative_risks_and_breslow_day():
    r = run_sas(MIGRAINE + """proc freq data=Migraine;
   tables Gender*Treatment*Response / cmh noprint;
   weight Count;
run;
proc freq data=Migraine;
   tables Gender*Treatment*Response / cmh bdt noprint alpha=0.1;
   weight Count;
run;
""")
    assert not r.errors and not r.warnings, r.log
    assert not _tables(r, "CrossTabFreqs")                          # TABLES / NOPRINT
    z = stats.norm.ppf(0.975)
    a, b, c, d = (np.array([t[i, j] for t in STRATA]) for i, j in ((0, 0), (0, 1), (1, 0), (1, 1)))
    n = a + b + c + d
    R, S = (a * d / n).sum(), (b * c / n).sum()
    P, Q = (a + d) / n, (b + c) / n
    var = ((P * a * d / n).sum() / (2 * R * R) + ((P * b * c + Q * a * d) / n).sum() / (2 * R * S)
           + (Q * b * c / n).sum() / (2 * S * S))                     # Robins, Breslow and Greenland
    mh = R / S
    w = 1 / (1 / a + 1 / b + 1 / c + 1 / d)
    logit = math.exp((w * np.log(a * d / (b * c))).sum() / w.sum())
    n1, n2 = a + b, c + d
    num, den = (a * n2 / n).sum(), (c * n1 / n).sum()
    rr1 = num / den
    vrr1 = (((a + c) * n1 * n2 / n - a * c) / n).sum() / (num * den)   # Greenland and Robins
    rows = _tables(r, "CommonRelRisks")[0].rows
    assert [(row["Statistic"], row["Method"]) for row in rows][:3] == [
        ("Odds Ratio", "Mantel-Haenszel"), ("", "Logit"), ("Relative Risk (Column 1)", "Mantel-Haenszel")]
    assert rows[0]["Value"] == pytest.approx(mh, rel=1e-12)
    assert (rows[0]["LowerCL"], rows[0]["UpperCL"]) == pytest.approx(
        (mh * math.exp(-z * math.sqrt(var)), mh * math.exp(z * math.sqrt(var))), rel=1e-12)
    assert rows[1]["Value"] == pytest.approx(logit, rel=1e-12)
    assert rows[2]["Value"] == pytest.approx(rr1, rel=1e-12)
    assert rows[2]["UpperCL"] == pytest.approx(rr1 * math.exp(z * math.sqrt(vrr1)), rel=1e-12)
    assert rows[0]["Value"] == pytest.approx(3.3132, abs=5e-5)       # printed in the FREQ example

    def expected_a(t, psi):
        r1, r2, c1 = t[0].sum(), t[1].sum(), t[:, 0].sum()
        lo, hi = max(0.0, c1 - r2), min(r1, c1)
        x = optimize.brentq(lambda x: x * (r2 - c1 + x) - psi * (r1 - x) * (c1 - x), lo, hi)
        return x, 1 / (1 / x + 1 / (r1 - x) + 1 / (c1 - x) + 1 / (r2 - c1 + x))
    parts = [expected_a(t, mh) for t in STRATA]
    bd = sum((t[0, 0] - e) ** 2 / v for t, (e, v) in zip(STRATA, parts))
    tarone = bd - sum(t[0, 0] - e for t, (e, _) in zip(STRATA, parts)) ** 2 / sum(v for _, v in parts)
    bd1, bd2 = _tables(r, "BreslowDayTest")
    assert bd1.title == "Breslow-Day Test for Homogeneity of the Odds Ratios"
    assert bd1.rows[0]["nValue1"] == pytest.approx(bd, rel=1e-10)
    assert bd1.rows[2]["nValue1"] == pytest.approx(stats.chi2.sf(bd, 1), rel=1e-10)
    assert bd2.title == "Breslow-Day-Tarone Test for Homogeneity of the Odds Ratios"
    assert bd2.rows[0]["nValue1"] == pytest.approx(tarone, rel=1e-10)
    assert "90% Confidence" in r.out


def test_general_cmh_on_3x3x2_table_and_single_stratum_identities():
    r = run_sas("""data t; input s x y n @@; datalines;
1 1 1 5 1 1 2 3 1 1 3 2 1 2 1 4 1 2 2 6 1 2 3 5 1 3 1 1 1 3 2 4 1 3 3 8
2 1 1 7 2 1 2 2 2 1 3 1 2 2 1 3 2 2 2 5 2 2 3 2 2 3 1 2 2 3 2 3 2 3 3 6
;
proc freq data=t; tables s*x*y / cmh noprint; weight n; run;
proc freq data=t; tables x*y / cmh chisq; weight n; run;
""")
    assert not r.errors and not r.warnings, r.log
    strat, single = _tables(r, "CMH")
    assert [row["DF"] for row in strat.rows] == [1, 2, 4]
    assert strat.rows[2]["Value"] == pytest.approx(15.19906677, abs=1e-7)       # R mantelhaen.test
    t = np.array([[12.0, 5, 3], [7, 11, 7], [3, 7, 14]])
    N = t.sum()
    sc = np.array([1.0, 2, 3])
    rr = np.repeat(np.repeat(sc[:, None], 3, 1).ravel(), t.ravel().astype(int))
    cc = np.repeat(np.repeat(sc[None, :], 3, 0).ravel(), t.ravel().astype(int))
    corr = (N - 1) * np.corrcoef(rr, cc)[0, 1] ** 2
    ni, ybar = t.sum(axis=1), (t.sum(axis=0) @ sc) / N
    rms = (N - 1) * (ni * ((t @ sc) / ni - ybar) ** 2).sum() / (t.sum(axis=0) * (sc - ybar) ** 2).sum()
    assert single.rows[0]["Value"] == pytest.approx(corr, rel=1e-10)
    assert single.rows[1]["Value"] == pytest.approx(rms, rel=1e-10)
    mh = [row for row in _tables(r, "ChiSq")[0].rows if row["Statistic"] == "Mantel-Haenszel Chi-Square"][0]
    assert mh["Value"] == pytest.approx(corr, rel=1e-10)
    assert not _tables(r, "CommonRelRisks")                 # only for 2 x 2 tables


def test_mantel_haenszel_chi_square_uses_the_numeric_values_as_scores():
    r = run_sas("""data t; input dose resp n @@; datalines;
0 0 20 0 1 5 1 0 15 1 1 10 5 0 8 5 1 17
;
proc freq data=t; tables dose*resp / chisq; weight n; run;
""")
    assert not r.errors, r.log
    dose = np.repeat([0.0, 0, 1, 1, 5, 5], [20, 5, 15, 10, 8, 17])
    resp = np.repeat([0.0, 1, 0, 1, 0, 1], [20, 5, 15, 10, 8, 17])
    want = (len(dose) - 1) * np.corrcoef(dose, resp)[0, 1] ** 2      # SCORES=TABLE: the dose values 0, 1, 5
    mh = [row for row in _tables(r, "ChiSq")[0].rows if row["Statistic"] == "Mantel-Haenszel Chi-Square"][0]
    assert mh["Value"] == pytest.approx(want, rel=1e-10)


def test_multiway_out_is_rejected_before_printing():
    r = run_sas(MIGRAINE + """proc freq data=Migraine;
   tables Gender*Treatment*Response / out=o;
   weight Count;
run;
""")
    assert len(r.errors) == 1 and "OUT= for tables of three or more dimensions" in r.errors[0]
    assert not _tables(r, "CrossTabFreqs")


def test_bdt_without_cmh_warns():
    r = run_sas(MIGRAINE + "proc freq data=Migraine; tables Gender*Treatment*Response / bdt noprint; weight Count; run;\n")
    assert not r.errors and len(r.warnings) == 1 and "BDT" in r.warnings[0]
