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


def test_residual_variance_per_group_and_homogeneity_test_match_sas():
    r = run_sas(DONUT + "proc glimmix data=donut1; class type; model absorb=type; random _residual_/group=type;\n"
                        "covtest homogeneity; run;")
    assert not r.errors, r.errors
    cp = _t(r, "CovParms")
    assert [c.name for c in cp.columns] == ["CovParm", "Group", "Estimate", "StdErr"]
    for row, (g, est, se) in zip(cp.rows, [("type 1", 178.00, 112.58), ("type 2", 60.4000, 38.2003),
                                          ("type 3", 97.6000, 61.7277), ("type 4", 67.6000, 42.7540)]):
        assert row["CovParm"] == "Residual (VC)" and row["Group"] == g
        assert row["Estimate"] == pytest.approx(est, abs=5e-5)
        assert row["StdErr"] == pytest.approx(se, abs=5e-3 if se > 100 else 5e-5)
    t3 = _t(r, "Tests3").rows[0]
    assert (t3["NumDF"], t3["DenDF"]) == (3, 20)
    assert t3["FValue"] == pytest.approx(8.39, abs=0.005) and t3["ProbF"] == pytest.approx(0.0008, abs=5e-5)
    ct = _t(r, "CovTests")
    assert ct.title == "Tests of Covariance Parameters" and ct.subtitle == "Based on the Restricted Likelihood"
    assert [c.header or c.name for c in ct.columns][2] == "-2 Res Log Like"
    row = ct.rows[0]
    assert (row["Label"], row["DF"], row["Note"]) == ("Homogeneity", 3, "DF")
    assert row["Objective"] == pytest.approx(156.21, abs=0.005)
    assert row["ChiSq"] == pytest.approx(1.90, abs=0.005)
    assert row["ProbChiSq"] == pytest.approx(0.5942, abs=5e-5)
    assert ct.footnotes == ["DF: P-value based on a chi-square with DF degrees of freedom."]


BIN = """data a; call streaminit(11); do id = 1 to 60; b = rand('normal', 0, 1); do t = 1 to 5;
x = rand('normal'); p = 1 / (1 + exp(-(-0.3 + 0.4 * x + b))); y = rand('bernoulli', p); output; end; end; run;
"""


def test_quad_zero_variance_test_is_the_glm_and_a_half_half_mixture():
    """The null model of 'no random-intercept variance' is the logistic regression: its -2 log L is checked
    against a logistic likelihood maximised here with scipy; the p-value is half the chi-square(1) tail."""
    import numpy as np
    from scipy.optimize import minimize
    r = run_sas(BIN + "proc glimmix data=a method=quad(qpoints=7); class id; model y(event='1') = x / dist=binary;\n"
                      "random intercept / subject=id; covtest 'H0: No random intercept variance' 0; covtest zerog;\n"
                      "run;")
    assert not r.errors, r.errors
    ds = r.session.get_dataset("a")
    x, y = (ds.column(v).to_numpy().astype(float) for v in ("x", "y"))

    def nll(b):
        e = b[0] + b[1] * x
        return float(np.sum(np.logaddexp(0, e) - y * e))
    glm_m2ll = 2 * minimize(nll, [0.0, 0.0], method="BFGS", options={"gtol": 1e-10}).fun
    full = {row["Descr"]: row["Value"] for row in _t(r, "FitStatistics").rows}["-2 Log Likelihood"]
    ct = _t(r, "CovTests")
    assert ct.subtitle == "Based on the Likelihood"
    for row in ct.rows:
        assert row["DF"] == 1 and row["Note"] == "MI"
        assert row["Objective"] == pytest.approx(glm_m2ll, abs=1e-5)
        assert row["ChiSq"] == pytest.approx(glm_m2ll - full, abs=1e-5)
        assert row["ProbChiSq"] == pytest.approx(0.5 * stats.chi2.sf(row["ChiSq"], 1), rel=1e-9)
    assert ct.rows[1]["Label"] == "ZeroG"
    assert ct.footnotes == ["MI: P-value based on a mixture of chi-squares."]


NORM = """data n; call streaminit(5); do id = 1 to 40; b0 = rand('normal', 0, 1); b1 = rand('normal', 0, 0.4);
do t = 0 to 4; y = 2 + 0.5 * t + b0 + b1 * t + rand('normal', 0, 0.7); output; end; end; run;
"""


def test_normal_model_tests_refit_the_reml_model_and_use_stram_lee_mixture():
    """DIST=NORMAL under RSPL is REML: the null model of 'no random slope' (last row and column of an UN G)
    must have PROC MIXED's -2 Res Log Likelihood for the random-intercept model, and its p-value is SAS's
    50:50 mixture of chi-square(1) and chi-square(2)."""
    r = run_sas(NORM + "proc glimmix data=n; class id; model y = t; random intercept t / subject=id type=un;\n"
                       "covtest 'no slope' . 0 0; covtest indep; run;\n"
                       "proc mixed data=n; class id; model y = t; random intercept t / subject=id type=un; run;\n"
                       "proc mixed data=n; class id; model y = t; random intercept t / subject=id type=vc; run;\n"
                       "proc mixed data=n; class id; model y = t; random intercept / subject=id; run;\n")
    assert not r.errors, r.errors
    m2 = [{row["Descr"]: row["Value"] for row in t.rows}["-2 Res Log Likelihood"]
          for t in r.session.tables if t.name == "FitStatistics" and t.proc == "MIXED"]
    ct = _t(r, "CovTests")
    full = m2[0]
    slope, indep = ct.rows
    assert (slope["DF"], slope["Note"], indep["DF"], indep["Note"]) == (2, "MI", 1, "DF")
    assert slope["Objective"] == pytest.approx(m2[2], abs=1e-4)
    assert indep["Objective"] == pytest.approx(m2[1], abs=1e-4)
    assert slope["ChiSq"] == pytest.approx(m2[2] - full, abs=1e-4)
    c = slope["ChiSq"]
    assert slope["ProbChiSq"] == pytest.approx(0.5 * stats.chi2.sf(c, 1) + 0.5 * stats.chi2.sf(c, 2), rel=1e-9)
    assert indep["ProbChiSq"] == pytest.approx(stats.chi2.sf(indep["ChiSq"], 1), rel=1e-9)
    assert set(ct.footnotes) == {"DF: P-value based on a chi-square with DF degrees of freedom.",
                                 "MI: P-value based on a mixture of chi-squares."}


def test_covtest_errors_name_what_is_not_supported():
    from conftest import assert_errors
    r = run_sas(DONUT + "proc glimmix data=donut1; class type; model absorb=type; covtest 0; run;\n"
                        "proc glimmix data=donut1; class type; model absorb=type; random _residual_;\n"
                        "  covtest homogeneity; run;\n"
                        "proc glimmix data=donut1; class type; model absorb=type; random _residual_/group=type;\n"
                        "  covtest homogeneity / cl; run;\n"
                        "proc glimmix data=donut1; class type; model absorb=type; random _residual_/group=type;\n"
                        "  covtest general 1 -1; run;\n")
    assert_errors(r, ["COVTEST needs a model with random effects", "COVTEST HOMOGENEITY needs a RANDOM statement "
                      "with GROUP=", "The COVTEST option CL is not supported yet",
                      "COVTEST GENERAL is not supported yet"])


@pytest.mark.parametrize("method,mixed", [("rspl", "reml"), ("mspl", "ml")])
def test_normal_linear_mixed_model_is_labelled_reml_or_ml_with_mixed_criteria(method, mixed):
    """For normal data with the identity link RSPL is REML and MSPL is ML, and GLIMMIX says so in its labels
    (documentation, Default Estimation Techniques); the information criteria are PROC MIXED's."""
    r = run_sas(NORM + f"proc glimmix data=n method={method}; class id; model y = t; random intercept / subject=id;"
                       f" run;\nproc mixed data=n method={mixed}; class id; model y = t; random intercept / subject=id;"
                       " run;\n")
    assert not r.errors, r.errors
    info = {row["Label"]: row["Value"] for row in _t(r, "ModelInfo").rows}
    assert info["Estimation Technique"] == ("Restricted Maximum Likelihood" if mixed == "reml" else
                                            "Maximum Likelihood")
    g = {row["Descr"]: row["Value"] for row in _t(r, "FitStatistics", 0).rows}
    m = {row["Descr"]: row["Value"] for row in _t(r, "FitStatistics", 1).rows}
    lab = "-2 Res Log Likelihood" if mixed == "reml" else "-2 Log Likelihood"
    assert g[lab] == pytest.approx(m[lab], abs=1e-5)
    for crit in ("AIC", "AICC", "BIC"):
        assert g[f"{crit}{' ' if crit == 'AICC' else '  '}(smaller is better)"] == \
            pytest.approx(m[f"{crit} (Smaller is Better)"], abs=1e-5), crit
    assert "-2 Res Log Pseudo-Likelihood" not in g
