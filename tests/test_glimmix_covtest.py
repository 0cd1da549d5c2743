"""GLIMMIX on the donut data of a course's completely randomised design (fat absorbed by batches of donuts
fried in four fats, six batches each; Snedecor and Cochran's doughnut data): the GLM-mode listing, a
residual variance per fat (RANDOM _RESIDUAL_ / GROUP=) and the COVTEST likelihood ratio tests.

Reference: the SAS listings printed in STAT 212 course notes "The Completely Randomized Design" (a public
course repository found with the search tool): GLM mode -2 Res Log Likelihood 156.21, AIC 166.21, AICC 170.49,
BIC 171.19, CAIC 176.19, HQIC 167.18, Optimization Information "None / 5 / 1 / 0 / Not Profiled", no Parameter
Estimates table without SOLUTION; with GROUP=type the Residual (VC) estimates 178.00 (SE 112.58), 60.4000
(38.2003), 97.6000 (61.7277), 67.6000 (42.7540) and COVTEST HOMOGENEITY: DF 3, -2 Res Log Like 156.21,
ChiSq 1.90, Pr > ChiSq 0.5942, note DF."""
from __future__ import annotations

import math

import pytest
from scipy import stats

from conftest import run_sas

DONUT = """data donut1;
  input type absorb @@;
  datalines;
1 164 1 172 1 168 1 177 1 156 1 195
2 178 2 191 2 197 2 182 2 185 2 177
3 175 3 193 3 178 3 171 3 163 3 176
4 155 4 166 4 149 4 164 4 170 4 168
;
"""


def _t(r, name, i=0):
    return [t for t in r.session.tables if t.name == name][i]


def test_glm_mode_normal_listing_matches_sas():
    r = run_sas(DONUT + "proc glimmix data=donut1; class type; model absorb=type; lsmeans type/pdiff cl; run;")
    assert not r.errors, r.errors
    names = [t.name for t in r.session.tables]
    assert "ParameterEstimates" not in names            # no SOLUTION: no Parameter Estimates table
    assert "ConvergenceStatus" not in names             # the least-squares fit is not iterative
    assert names.index("OptInfo") == names.index("Dimensions") + 1
    opt = {row["Descr"]: row["Value"] for row in _t(r, "OptInfo").rows}
    assert opt == {"Optimization Technique": "None", "Parameters": 5, "Lower Boundaries": 1,
                   "Upper Boundaries": 0, "Fixed Effects": "Not Profiled"}
    fit = {row["Descr"]: row["Value"] for row in _t(r, "FitStatistics").rows}
    for k, v in [("-2 Res Log Likelihood", 156.21), ("AIC  (smaller is better)", 166.21),
                 ("AICC (smaller is better)", 170.49), ("BIC  (smaller is better)", 171.19),
                 ("CAIC (smaller is better)", 176.19), ("HQIC (smaller is better)", 167.18),
                 ("Pearson Chi-Square", 2018.00), ("Pearson Chi-Square / DF", 100.90)]:
        assert fit[k] == pytest.approx(v, abs=0.005), k
    t3 = _t(r, "Tests3").rows[0]
    assert (t3["NumDF"], t3["DenDF"]) == (3, 20)
    assert t3["FValue"] == pytest.approx(5.41, abs=0.005) and t3["ProbF"] == pytest.approx(0.0069, abs=5e-5)
    # with SOLUTION the table is there
    r = run_sas(DONUT + "proc glimmix data=donut1; class type; model absorb=type / solution; run;")
    assert _t(r, "ParameterEstimates").rows[0]["Estimate"] == pytest.approx(162.0)
