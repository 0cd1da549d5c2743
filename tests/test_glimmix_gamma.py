"""GLIMMIX DIST=GAMMA (LINK=LOG by default): Laplace with a random intercept, GLM mode, and RSPL.
References (run by hand on the data this DATA step writes, values pasted): glmmTMB 1.1.5
glmmTMB(y ~ x + trt + (1 | id), family = Gamma(link = "log")) (phi = sigma^2), and
glm(y ~ x + trt, family = Gamma(link = "log"), control = glm.control(epsilon = 1e-14)) with MASS 7.3
gamma.dispersion (the ML dispersion)."""
from __future__ import annotations

import pytest

from conftest import run_sas
from glmm_checks import check_fit

DATA = """data d;
  call streaminit(31);
  do id=1 to 50; u = rand('normal')*0.5; trt = mod(id,2);
    do t=0 to 3; x = rand('normal');
      mu = exp(1 + 0.3*x - 0.4*trt + u);
      y = rand('gamma', 2) * mu / 2; output; end;
  end;
run;
"""


def _rows(r, name):
    return [t for t in r.session.tables if t.name == name][0].rows


def test_gamma_laplace_matches_glmmtmb():
    r = run_sas(DATA + """proc glimmix data=d method=laplace; class id trt; model y = x trt / dist=gamma s;
      random intercept / subject=id; run;""")
    check_fit(r, [0.55532297, 0.25149687, 0.50143205], [0.1258100, 0.0517641, 0.1772390],
              {"Intercept": 0.27049744, "Scale": 0.46236689}, 716.9410754)
    info = {row["Label"]: row["Value"] for row in _rows(r, "ModelInfo")}
    assert info["Response Distribution"] == "Gamma" and info["Link Function"] == "Log"


def test_gamma_glm_mode_matches_glm_with_ml_dispersion():
    r = run_sas(DATA + "proc glimmix data=d; class trt; model y = x trt / dist=gamma s; run;")
    rows = _rows(r, "ParameterEstimates")
    est = [row["Estimate"] for row in rows if row["StdErr"] is not None and row["Effect"] != "Scale"]
    assert est == pytest.approx([0.7457130556, 0.3095982362, 0.4087917748], abs=2e-7)
    assert [row for row in rows if row["Effect"] == "Scale"][0]["Estimate"] == pytest.approx(0.6971433216, abs=2e-7)
    fit = {row["Descr"]: row["Value"] for row in _rows(r, "FitStatistics")}
    assert fit["-2 Log Likelihood"] == pytest.approx(754.4031657, abs=1e-5)


def test_gamma_pseudo_likelihood_estimates_a_residual_scale():
    r = run_sas(DATA + """proc glimmix data=d; class id trt; model y = x trt / dist=gamma s;
      random intercept / subject=id; run;""")
    assert not r.errors, r.errors
    cp = {row["CovParm"]: row["Estimate"] for row in _rows(r, "CovParms")}
    assert set(cp) == {"Intercept", "Residual"}
    # the pseudo-likelihood scale and G are close to the Laplace maximum likelihood values (0.462, 0.270)
    assert cp["Residual"] == pytest.approx(0.46, abs=0.08) and cp["Intercept"] == pytest.approx(0.27, abs=0.08)


EXPO = """data d;
  call streaminit(41);
  do id=1 to 50; u = rand('normal')*0.5;
    do t=0 to 3; x = rand('normal');
      y = rand('exponential') * exp(1 + 0.3*x + u); output; end;
  end;
run;
"""


def test_exponential_laplace_matches_glmmtmb_with_unit_dispersion():
    """DIST=EXPONENTIAL = gamma with phi fixed at 1.  Reference: glmmTMB 1.1.5 glmmTMB(y ~ x + (1 | id),
    family = Gamma(link = "log"), map = list(betad = factor(NA)), start = list(betad = 0)) by hand."""
    r = run_sas(EXPO + """proc glimmix data=d method=laplace; class id; model y = x / dist=exponential s;
      random intercept / subject=id; run;""")
    check_fit(r, [0.96549284, 0.34077451], [0.1008028, 0.0715703], {"Intercept": 0.22796026}, 826.9053614)
    assert [row["CovParm"] for row in _rows(r, "CovParms")] == ["Intercept"]


def test_exponential_glm_mode_matches_glm():
    r = run_sas(EXPO + "proc glimmix data=d; model y = x / dist=expo s; run;")
    est = [row["Estimate"] for row in _rows(r, "ParameterEstimates")]
    assert est == pytest.approx([1.0822329291, 0.3332304113], abs=2e-7)
    fit = {row["Descr"]: row["Value"] for row in _rows(r, "FitStatistics")}
    assert fit["-2 Log Likelihood"] == pytest.approx(842.412323684, abs=1e-5)


BETA = """data d;
  call streaminit(51);
  do id=1 to 50; u = rand('normal')*0.5;
    do t=0 to 3; x = rand('normal');
      mu = 1/(1+exp(-(-0.3 + 0.5*x + u)));
      y = rand('beta', mu*8, (1-mu)*8); output; end;
  end;
run;
"""


def test_beta_laplace_matches_glmmtmb():
    """DIST=BETA (Var = mu(1-mu)/(1+phi), LINK=LOGIT).  Reference: glmmTMB 1.1.5 glmmTMB(y ~ x + (1 | id),
    family = beta_family()) by hand (its sigma is phi)."""
    r = run_sas(BETA + """proc glimmix data=d method=laplace; class id; model y = x / dist=beta s;
      random intercept / subject=id; run;""")
    check_fit(r, [-0.30351223, 0.43647799], [0.0810678, 0.0577975], {"Intercept": 0.18686414, "Scale": 6.6715484},
              -113.185007)


def test_beta_glm_mode_matches_glmmtmb_without_random_effects():
    r = run_sas(BETA + "proc glimmix data=d; model y = x / dist=beta s; run;")
    assert not r.errors, r.errors
    rows = _rows(r, "ParameterEstimates")
    assert [row["Estimate"] for row in rows[:2]] == pytest.approx([-0.2908940721, 0.3854541492], abs=2e-6)
    # glmmTMB stops at phi = 4.892558; maximising the dbeta log likelihood directly in R (optim, BFGS,
    # reltol 1e-15; optimize over phi at glmmTMB's beta) gives 4.892534-4.892536, a lower -2 log L
    # (-96.3167070598 against glmmTMB's -96.3167070572): that is the maximum
    assert rows[2]["Effect"] == "Scale" and rows[2]["Estimate"] == pytest.approx(4.892535, abs=3e-6)
    fit = {row["Descr"]: row["Value"] for row in _rows(r, "FitStatistics")}
    assert fit["-2 Log Likelihood"] == pytest.approx(-96.3167070598, abs=1e-6)


def test_beta_with_pseudo_likelihood_and_an_r_side_effect_is_an_error():
    """BETA runs under pseudo-likelihood (tests/test_glimmix_pl_scale.py); with an R-side effect it does not."""
    r = run_sas(BETA + "proc glimmix data=d; class id; model y = x / dist=beta; random intercept / subject=id; "
                "random _residual_ / subject=id; run;")
    assert len(r.errors) == 1 and "DIST=BETA" in r.errors[0]


IG = """data d;
  call streaminit(71);
  do id=1 to 50; u = rand('normal')*0.3;
    do t=0 to 3; x = rand('normal');
      mu = exp(1 + 0.3*x + u);
      y = rand('gamma', 3) * mu / 3; output; end;
  end;
run;
"""


def test_inverse_gaussian_glm_mode_matches_glm_and_laplace_with_g_held_at_zero_agrees():
    """DIST=INVGAUSS LINK=LOG.  Reference: glm(y ~ x, family = inverse.gaussian(link = "log"), epsilon 1e-14)
    with the ML dispersion sum(deviance residuals^2)/n, by hand: 1.0143417571, 0.4150703219, phi 0.3440527957,
    -2 log L 810.654473233.  With G held at 1e-8 the Laplace fit is that GLM."""
    r = run_sas(IG + """proc glimmix data=d; model y = x / dist=invgauss link=log s; run;
      proc glimmix data=d method=laplace; class id; model y = x / dist=ig link=log s; random int / subject=id;
        parms (1e-8) (0.25) / hold=1; run;""")
    assert not r.errors, r.errors
    glm = [t for t in r.session.tables if t.name == "ParameterEstimates"][0].rows
    assert [row["Estimate"] for row in glm] == pytest.approx([1.0143417571, 0.4150703219, 0.3440527957], abs=2e-6)
    fits = [t for t in r.session.tables if t.name == "FitStatistics"]
    assert {row["Descr"]: row["Value"] for row in fits[0].rows}["-2 Log Likelihood"] == \
        pytest.approx(810.654473233, abs=1e-5)
    lap = [t for t in r.session.tables if t.name == "ParameterEstimates"][1].rows
    assert [row["Estimate"] for row in lap] == pytest.approx([1.0143417571, 0.4150703219], abs=1e-4)
    cp = {row["CovParm"]: row["Estimate"] for row in [t for t in r.session.tables if t.name == "CovParms"][0].rows}
    assert cp["Scale"] == pytest.approx(0.3440527957, abs=1e-4)
