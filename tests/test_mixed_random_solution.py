"""PROC MIXED RANDOM SOLUTION, MODEL OUTP=/OUTPM= and PROC MIXED CL.  Reference numbers: R lme4 1.1-31
(lmer REML fit of the same model; ranef; the mixed-model-equations C matrix built from lmer's
estimates, whose diagonal gives SAS's prediction standard errors), run by hand on the data generated
below."""
from __future__ import annotations


import numpy as np
import pytest
from scipy import stats as st

from conftest import run_sas

SRC = """data a; do id = 1 to 12; u = mod(id * 7, 5) - 2; v = mod(id * 3, 4) / 2 - 0.7;
  do t = 0 to 3; y = 10 + u + (0.5 + v) * t + mod(id * 11 + t * 5, 7) / 3; output; end; end; run;
proc mixed data=a cl covtest; class id; model y = t / s outp=op outpm=opm;
  random intercept t / subject=id type=un solution cl; run;
"""


def _table(r, name):
    return [t for t in r.session.tables if t.name == name][0]


def test_blups_prediction_errors_and_predictions_match_lme4():
    r = run_sas(SRC)
    assert not r.errors and not r.warnings, r.log
    sol = _table(r, "SolutionR").rows
    assert len(sol) == 24 and [row["Effect"] for row in sol[:2]] == ["Intercept", "t"]
    assert [row["id"] for row in sol[:4]] == [1.0, 1.0, 2.0, 2.0]
    # ranef(m)$id rows 1 and 2
    assert [row["Estimate"] for row in sol[:4]] == pytest.approx([-0.017988118, 0.57819065, 1.642501321,
                                                                   0.31890664], abs=2e-5)
    # sqrt(diag(C)) for subject 1's (Intercept, t): includes the uncertainty of beta hat
    assert [row["StdErrPred"] for row in sol[:2]] == pytest.approx([0.64480581, 0.31329050], abs=2e-5)
    # DF: residual containment, N - rank[X Z] = 48 - 24
    assert sol[0]["DF"] == 24
    q = st.t.ppf(0.975, 24)
    assert sol[0]["Lower"] == pytest.approx(sol[0]["Estimate"] - q * sol[0]["StdErrPred"], abs=1e-12)
    op, opm = r.ds("op").df, r.ds("opm").df
    # fitted(m)[1:2] and the conditional prediction SE of observation 2
    assert op["Pred"].iloc[:2].tolist() == pytest.approx([11.19312299, 12.29631364], abs=2e-5)
    assert op["StdErrPred"].iloc[1] == pytest.approx(0.39485838, abs=2e-5)
    assert np.allclose(op["Resid"], op["y"] - op["Pred"])
    # OUTPM: X beta hat with the SE of x'beta hat
    fe = {row["Effect"]: row["Estimate"] for row in _table(r, "SolutionF").rows}
    assert opm["Pred"].to_numpy() == pytest.approx(fe["Intercept"] + fe["t"] * opm["t"].to_numpy(), abs=1e-10)
    assert opm["StdErrPred"].iloc[0] == pytest.approx(_table(r, "SolutionF").rows[0]["StdErr"], abs=1e-10)


def test_covariance_parameter_limits():
    r = run_sas(SRC)
    cp = _table(r, "CovParms").rows
    # lme4 REML variances: 1.68971 (intercept), 0.28682 (slope), 0.61250 (residual)
    assert [cp[0]["Estimate"], cp[2]["Estimate"], cp[3]["Estimate"]] == pytest.approx([1.68971, 0.28682, 0.61250],
                                                                                      abs=2e-5)
    for row in cp:
        if row["CovParm"] == "UN(2,1)":     # a covariance: Wald limits
            assert row["Lower"] == pytest.approx(row["Estimate"] - 1.959964 * row["StdErr"], abs=1e-5)
        else:                               # variances: Satterthwaite, nu = 2 Z^2
            nu = 2 * row["ZValue"] ** 2
            assert row["Lower"] == pytest.approx(nu * row["Estimate"] / st.chi2.ppf(0.975, nu), rel=1e-9)
            assert row["Upper"] == pytest.approx(nu * row["Estimate"] / st.chi2.ppf(0.025, nu), rel=1e-9)
            assert row["Lower"] > 0
    wald = run_sas(SRC.replace("cl covtest", "cl=wald covtest"))
    row = _table(wald, "CovParms").rows[0]
    assert row["Lower"] == pytest.approx(row["Estimate"] - 1.959964 * row["StdErr"], abs=1e-5)


def test_vciry_scales_by_the_inverse_lower_cholesky_root_of_v():
    """MODEL VCIRY (BIOS 667 tlc011.sas): OUTPM= gets ScaledDep = L^-1 y and ScaledResid = L^-1 (y - X beta),
    L the lower Cholesky root of the subject's estimated V = Z G Z' + R, observations in the order read.
    Rebuilt here from the printed covariance parameters; the scaled residuals of a correct model are
    roughly uncorrelated with unit variance.  The data are read in a shuffled order within subjects."""
    src = SRC.replace("random intercept t", "random intercept t").replace(
        "proc mixed data=a cl covtest;", "data a; set a; key = mod(_n_ * 5, 4); run;\n"
        "proc sort data=a; by id key; run;\nproc mixed data=a cl covtest;").replace(
        "outpm=opm;", "outpm=opm vciry;")
    r = run_sas(src)
    assert not r.errors and not r.warnings, r.log
    cp = {row["CovParm"]: row["Estimate"] for row in _table(r, "CovParms").rows}
    G = np.array([[cp["UN(1,1)"], cp["UN(2,1)"]], [cp["UN(2,1)"], cp["UN(2,2)"]]])
    opm = r.ds("opm").df
    assert list(opm["t"].iloc[:4]) != [0, 1, 2, 3]                       # not in time order
    for k in (1, 7):
        sub = opm[opm["id"] == k]
        Zk = np.column_stack([np.ones(len(sub)), sub["t"].to_numpy()])
        V = Zk @ G @ Zk.T + cp["Residual"] * np.eye(len(sub))
        L = np.linalg.cholesky(V)
        assert sub["ScaledDep"].to_numpy() == pytest.approx(np.linalg.solve(L, sub["y"].to_numpy()), abs=1e-8)
        assert sub["ScaledResid"].to_numpy() == pytest.approx(
            np.linalg.solve(L, (sub["y"] - sub["Pred"]).to_numpy()), abs=1e-8)
    assert abs(float(opm["ScaledResid"].mean())) < 0.5 and 0.3 < float(opm["ScaledResid"].std()) < 1.5
    assert "ScaledDep" not in r.ds("op").df.columns
