"""PROC FREQ RELRISK on 2 x 2 tables: the odds ratio and the two column relative risks (row 1 over row 2)
with Wald limits on the log scale, as the FREQ documentation's "Odds Ratio and Relative Risks for 2 x 2
Tables" gives them.  References: the closed forms written out below (Agresti, Categorical Data Analysis,
sections 3.1.1 and 3.1.4), evaluated on the counts of the test, not on our code."""
from __future__ import annotations

import math

import pytest
from scipy import stats

from conftest import run_sas

TABLE = """data t; input exp $ out $ n; datalines;
yes yes 20
yes no 30
no yes 10
no no 40
;
"""


def _wald(est, var, alpha):
    z = stats.norm.ppf(1 - alpha / 2)
    return est * math.exp(-z * math.sqrt(var)), est * math.exp(z * math.sqrt(var))


def test_relrisk_odds_ratio_and_relative_risks_with_wald_limits():
    r = run_sas(TABLE + """proc freq data=t order=data; weight n; tables exp*out / chisq relrisk; run;
proc freq data=t order=data; weight n; tables exp*out / relrisk alpha=0.1; run;
""")
    assert not r.errors and not r.warnings, r.log
    t95, t90 = [t for t in r.session.tables if t.name == "RelativeRisks"]
    assert t95.title == "Odds Ratio and Relative Risks"
    a, b, c, d = 20.0, 30.0, 10.0, 40.0
    expect = {"Odds Ratio": (a * d / (b * c), 1 / a + 1 / b + 1 / c + 1 / d),
              "Relative Risk (Column 1)": ((a / (a + b)) / (c / (c + d)), (b / a) / (a + b) + (d / c) / (c + d)),
              "Relative Risk (Column 2)": ((b / (a + b)) / (d / (c + d)), (a / b) / (a + b) + (c / d) / (c + d))}
    for tab, alpha in ((t95, 0.05), (t90, 0.10)):
        assert [row["Statistic"] for row in tab.rows] == list(expect)
        for row in tab.rows:
            est, var = expect[row["Statistic"]]
            assert row["Value"] == pytest.approx(est, rel=1e-12)
            assert (row["LowerCL"], row["UpperCL"]) == pytest.approx(_wald(est, var, alpha), rel=1e-12)
    assert t95.rows[0]["LowerCL"] == pytest.approx(1.0901, abs=5e-5)        # hand arithmetic: exp(0.9808 - 1.96 x 0.4564)
    assert "90% Confidence" in r.out


def test_relrisk_zero_cell_and_larger_tables():
    r = run_sas("""data t; input x y n; datalines;
1 1 5
1 2 0
2 1 3
2 2 4
;
proc freq data=t; weight n / zeros; tables x*y / relrisk; run;
data u; do x = 1 to 3; do y = 1 to 2; output; end; end; run;
proc freq data=u; tables x*y / relrisk; run;
""")
    rows = [t for t in r.session.tables if t.name == "RelativeRisks"][0].rows
    # n12 = 0: the odds ratio and the column-2 risk ratio are undefined (missing), column 1 is 1/(3/7)
    assert rows[0]["Value"] is None and rows[0]["LowerCL"] is None
    assert rows[1]["Value"] == pytest.approx(1 / (3 / 7)) and rows[1]["LowerCL"] is not None
    assert rows[2]["Value"] == 0 and rows[2]["LowerCL"] is None
    assert "RELRISK statistics are computed only for 2 x 2 tables" in r.log


def test_weight_zeros_option_keeps_zero_weight_levels():
    r = run_sas("""data t; input y n; datalines;
1 5
2 0
3 -1
4 .
5 2
;
proc freq data=t; weight n; tables y / out=a; run;
proc freq data=t; weight n / zeros; tables y / out=b; run;
""")
    assert not r.errors, r.log
    assert list(r.ds("a").df["y"]) == [1, 5]                  # zero, negative and missing weights left out
    freq_b = [t for t in r.session.tables if t.name == "OneWayFreqs"][1].rows
    assert [row["y"] for row in freq_b] == ["1", "2", "5"]    # ZEROS: the zero-weight level is listed
    assert [row["Frequency"] for row in freq_b] == [5, 0, 2]
