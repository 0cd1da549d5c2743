"""The foot-shape data of the PROC GLIMMIX documentation (Example "Maximum Likelihood in Proportional Odds
Model with Random Effects", Gilmour et al.): a cumulative probit model with random sire effects by
quadrature, FREQ counts, RANDOM SOLUTION CL, COVTEST GLM, and the SGPLOT of the predicted sire effects with
error bars and MARKERCHAR labels, as that example runs them.

References: the COVTEST GLM null model is the cumulative probit model without random effects, whose
maximum log likelihood the test computes independently (scipy over the grouped counts); RANDOM CL limits
are estimate -/+ t(DF) x Std Err Pred by definition."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats as st

from conftest import run_sas

ROWS = """1 1 0 0 52 25 0
1 1 0 0 49 17 1
1 1 0 0 50 13 1
1 1 0 0 42 9 0
1 1 0 0 74 15 0
1 1 0 0 54 8 0
1 1 0 0 96 12 0
1 -1 1 0 57 52 9
1 -1 1 0 55 27 5
1 -1 1 0 70 36 4
1 -1 1 0 70 37 3
1 -1 1 0 82 21 1
1 -1 1 0 75 19 0
1 -1 -1 0 17 12 10
1 -1 -1 0 13 23 3
1 -1 -1 0 21 17 3
-1 0 0 1 37 41 23
-1 0 0 1 47 24 12
-1 0 0 1 46 25 9
-1 0 0 1 79 32 11
-1 0 0 1 50 23 5
-1 0 0 1 63 18 8
-1 0 0 -1 30 20 9
-1 0 0 -1 31 33 3
-1 0 0 -1 28 18 4
-1 0 0 -1 42 27 4
-1 0 0 -1 35 22 2
-1 0 0 -1 33 18 3
-1 0 0 -1 35 17 4
-1 0 0 -1 26 13 2
-1 0 0 -1 37 15 2
-1 0 0 -1 36 14 1
-1 0 0 -1 63 20 3
-1 0 0 -1 41 8 1"""

DATA = f"""data foot_mv; input yr b1 b2 b3 k1 k2 k3; sire = _n_; datalines;
{ROWS}
;
data footshape; set foot_mv; array k{{3}};
  do Shape = 1 to 3; count = k{{Shape}}; output; end;
  drop k:;
run;
"""


def _null_m2ll():
    """Cumulative probit, no random effects: -2 log L maximised directly over the grouped counts."""
    a = np.array([[float(v) for v in line.split()] for line in ROWS.splitlines()])
    X, K = a[:, :4], a[:, 4:]

    def nll(th):
        c1, c2 = th[0], th[0] + np.exp(th[1])
        eta = X @ th[2:]
        p1 = st.norm.cdf(c1 + eta)
        p2 = st.norm.cdf(c2 + eta)
        p = np.column_stack([p1, p2 - p1, 1 - p2])
        return -np.sum(K * np.log(np.maximum(p, 1e-300)))
    best = optimize.minimize(nll, np.array([0.3, 0.2, 0, 0, 0, 0]), method="BFGS", options={"gtol": 1e-9})
    return 2 * best.fun


def test_footshape_example(tmp_path):
    r = run_sas(DATA + "proc glimmix data=footshape method=quad;\n"
                "  class sire; model Shape = yr b1 b2 b3 / s link=cumprobit dist=multinomial;\n"
                "  random int / sub=sire s cl; ods output Solutionr=solr; freq count;\n"
                "  covtest GLM; run;\n"
                "proc sort data=solr; by Estimate; run;\n"
                "data solr; set solr; length sire $2; obs = _n_; sire = left(substr(Subject,6,2)); run;\n"
                "proc sgplot data=solr; scatter x=obs y=estimate / markerchar=sire yerrorupper=upper\n"
                "  yerrorlower=lower; xaxis grid label='Sire Rank'; run;\n", outdir=tmp_path)
    assert not r.errors and not r.warnings, r.log
    sol = [t for t in r.session.tables if t.name == "SolutionR"][0].rows
    assert len(sol) == 34
    for row in sol:
        q = st.t.ppf(0.975, row["DF"])
        assert row["Alpha"] == 0.05
        assert row["Lower"] == pytest.approx(row["Estimate"] - q * row["StdErrPred"], rel=1e-12)
        assert row["Upper"] == pytest.approx(row["Estimate"] + q * row["StdErrPred"], rel=1e-12)
    ct = [t for t in r.session.tables if t.name == "CovTests"][0].rows[0]
    assert ct["DF"] == 1
    assert ct["Objective"] == pytest.approx(_null_m2ll(), abs=1e-4)
    m2 = [t for t in r.session.tables if t.name == "FitStatistics"][0].rows[0]["Value"]
    assert ct["ChiSq"] == pytest.approx(ct["Objective"] - m2, abs=1e-8)
    assert ct["ProbChiSq"] == pytest.approx(0.5 * st.chi2.sf(ct["ChiSq"], 1), rel=1e-8)
    assert r.ds("solr").df["Lower"].notna().all()
    assert (tmp_path / "SGPlot.png").stat().st_size > 5000
