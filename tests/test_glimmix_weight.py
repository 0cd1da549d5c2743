"""PROC GLIMMIX WEIGHT: each observation's log likelihood is multiplied by its weight (R becomes
W^-1/2 R W^-1/2), as the GLIMMIX documentation's WEIGHT statement and log-likelihood sections define it.

References, run by hand on the data below (exported to CSV): R glm(weights = wt) for the GLM mode; lme4
glmer(weights = wt, nAGQ = 5 / 7) for METHOD=QUAD; glmmTMB(weights = wt) for METHOD=LAPLACE; MASS glmmPQL
(weights = wt) for METHOD=MSPL with a residual scale; PROC MIXED's WEIGHT (itself checked against nlme) for the
normal model; and a direct numerical integral of the weighted Poisson likelihood for the -2 log likelihood
(lme4 and glmmTMB use other constants)."""
from __future__ import annotations

import pytest

from conftest import run_sas

DATA = """data d;
  call streaminit(11);
  do id=1 to 30; trt = mod(id,2); u = rand('normal')*0.6;
    do t=1 to 4; wt = 0.5 + mod(id*t, 4)*0.5; y = 1 + 0.5*trt + 0.3*t + u + rand('normal')/sqrt(wt);
      c = rand('poisson', exp(0.2 + 0.3*trt + 0.1*t + u)); b = (y > 2); output; end;
  end;
run;
"""


def _ri(method, model):
    """A weighted random-intercept GLIMMIX step."""
    return (f"proc glimmix data=d method={method}; class id trt; model {model} s;"
            " random intercept / subject=id; weight wt; run;\n")


def _tabs(r, name, proc="GLIMMIX"):
    return [t for t in r.session.tables if t.name == name and t.proc == proc]


def _lev(v):
    if v is None or v == "" or (isinstance(v, float) and v != v):
        return ""
    return str(int(v)) if isinstance(v, float) else str(v)


def _fixed(t):
    rows = {(row["Effect"], _lev(row.get("trt"))): row for row in t.rows}
    return [rows[("Intercept", "")]["Estimate"], rows[("trt", "0")]["Estimate"], rows[("t", "")]["Estimate"]]


def _m2ll(r, k=0):
    return next(row["Value"] for row in _tabs(r, "FitStatistics")[k].rows if row["Descr"] == "-2 Log Likelihood")


def test_glm_mode_poisson_weight_matches_r_glm():
    r = run_sas(DATA + "proc glimmix data=d; class trt; model c = trt t / dist=poisson s; weight wt; run;")
    assert not r.errors, r.errors
    pe = _tabs(r, "ParameterEstimates")[0]
    assert _fixed(pe) == pytest.approx([0.68738258, -0.27286200, 0.14975023], abs=2e-6)
    se = {(row["Effect"], _lev(row.get("trt"))): row["StdErr"] for row in pe.rows}
    assert se[("t", "")] == pytest.approx(0.05546941135, rel=1e-7)     # glm with epsilon=1e-14
    assert _m2ll(r) == pytest.approx(622.8593, abs=1e-3)
    mi = {row["Label"]: row["Value"] for row in _tabs(r, "ModelInfo")[0].rows}
    assert mi["Weight Variable"] == "wt"


def test_quad_poisson_weight_matches_glmer_and_the_weighted_integral():
    r = run_sas(DATA + _ri("quad(qpoints=5)", "c = trt t / dist=poisson") +
                _ri("quad(qpoints=21)", "c = trt t / dist=poisson"))
    assert not r.errors, r.errors
    # glmer nAGQ=5 (default bobyqa tolerances)
    assert _fixed(_tabs(r, "ParameterEstimates")[0]) == pytest.approx([0.38555317, -0.20094101, 0.10833890], abs=5e-5)
    assert _tabs(r, "CovParms")[0].rows[0]["Estimate"] == pytest.approx(0.64977392, rel=2e-4)
    # glmer nAGQ=21 with rhoend=1e-10; at those estimates the weighted likelihood integrated numerically (scipy
    # quad, sum of w (y log mu - mu - log y!)) gives -2 log L = 447.4750608
    assert _fixed(_tabs(r, "ParameterEstimates")[1]) == pytest.approx([0.3854682502, -0.2009331845, 0.1083362260],
                                                                       abs=1e-6)
    assert _tabs(r, "CovParms")[1].rows[0]["Estimate"] == pytest.approx(0.6504196078, rel=1e-6)
    assert _m2ll(r, 1) == pytest.approx(447.4750608, abs=1e-5)


def test_laplace_and_quad_binary_weight_match_glmmtmb_and_glmer():
    r = run_sas(DATA + _ri("laplace", "b(event='1') = trt t / dist=binary") +
                _ri("quad(qpoints=7)", "b(event='1') = trt t / dist=binary"))
    assert not r.errors, r.errors
    pe = _tabs(r, "ParameterEstimates")
    cp = _tabs(r, "CovParms")
    assert _fixed(pe[0]) == pytest.approx([-0.42769905, 0.23123942, 0.17787436], abs=2e-5)     # glmmTMB
    assert cp[0].rows[0]["Estimate"] == pytest.approx(1.1972246, rel=1e-4)
    # glmer nAGQ=7 with rhoend=1e-10
    assert _fixed(pe[1]) == pytest.approx([-0.4290097119, 0.2291180779, 0.1781986602], abs=2e-6)
    assert cp[1].rows[0]["Estimate"] == pytest.approx(1.407660963, rel=1e-5)


def test_mspl_poisson_weight_matches_glmmpql():
    r = run_sas(DATA + _ri("mspl", "c = trt t / dist=poisson").replace("weight wt;", "random _residual_; weight wt;"))
    assert not r.errors, r.errors
    assert _fixed(_tabs(r, "ParameterEstimates")[0]) == pytest.approx([0.43494171, -0.17045796, 0.10842125], abs=2e-5)
    assert [row["Estimate"] for row in _tabs(r, "CovParms")[0].rows] == pytest.approx([0.6005069, 0.9424781],
                                                                                          rel=1e-4)


def test_normal_weight_equals_mixed():
    r = run_sas(DATA + "proc mixed data=d; class id trt; model y = trt t / s; random intercept / subject=id;"
                       " weight wt; run;\n"
                       "proc glimmix data=d; class id trt; model y = trt t / s; random intercept / subject=id;"
                       " weight wt; run;")
    assert not r.errors, r.errors
    mixed = [row["Estimate"] for row in _tabs(r, "CovParms", "MIXED")[0].rows]
    glmx = [row["Estimate"] for row in _tabs(r, "CovParms")[0].rows]
    # MIXED follows SAS's Newton-Raphson path and stops within CONVH=1E-8 (-2 RLL 1.5e-7 above the optimum
    # here); GLIMMIX reports the optimum itself
    assert glmx == pytest.approx(mixed, rel=5e-4)
    assert _fixed(_tabs(r, "ParameterEstimates")[0]) == pytest.approx(_fixed(_tabs(r, "SolutionF", "MIXED")[0]),
                                                                       rel=1e-4)
