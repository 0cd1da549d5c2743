"""GLIMMIX DIST=NEGBIN: Laplace and adaptive quadrature with a random intercept, and GLM mode.
References (run by hand on the data this test's DATA step writes, values pasted):
glmmTMB 1.1.5 glmmTMB(y ~ x + trt + (1 | id), family = nbinom2) (SAS's k = 1/theta), and
MASS 7.3 glm.nb(y ~ x + trt)."""
from __future__ import annotations

import pytest

from conftest import run_sas
from glmm_checks import check_fit

DATA = """data d;
  call streaminit(21);
  do id=1 to 60; u = rand('normal')*0.6; trt = mod(id,2);
    do t=0 to 3; x = rand('normal');
      mu = exp(0.8 + 0.3*x - 0.4*trt + u);
      lam = rand('gamma', 2) * mu / 2;
      y = rand('poisson', lam); output; end;
  end;
run;
"""


def _rows(r, name, k=0):
    return [t for t in r.session.tables if t.name == name][k].rows


def test_negbin_laplace_matches_glmmtmb():
    r = run_sas(DATA + """proc glimmix data=d method=laplace; class id trt;
      model y = x trt / dist=negbin s; random intercept / subject=id; run;""")
    fit = check_fit(r, [0.61896898, 0.25908068, 0.19748928], [0.1132967, 0.0652826, 0.1540507],
                    {"Intercept": 0.11384137, "Scale": 0.44089407}, 925.9497995)
    assert fit["AIC  (smaller is better)"] == pytest.approx(925.9497995 + 2 * 5, abs=1e-4)


def test_negbin_quadrature_one_point_equals_laplace_and_more_points_move_little():
    r1 = run_sas(DATA + """proc glimmix data=d method=quad(qpoints=1); class id trt;
      model y = x trt / dist=negbin s; random intercept / subject=id; run;""")
    r7 = run_sas(DATA + """proc glimmix data=d method=quad(qpoints=7); class id trt;
      model y = x trt / dist=negbin s; random intercept / subject=id; run;""")
    f1 = {row["Descr"]: row["Value"] for row in _rows(r1, "FitStatistics")}["-2 Log Likelihood"]
    f7 = {row["Descr"]: row["Value"] for row in _rows(r7, "FitStatistics")}["-2 Log Likelihood"]
    assert f1 == pytest.approx(925.9497995, abs=1e-4)
    assert abs(f7 - f1) < 1.0 and f7 != pytest.approx(f1, abs=1e-3)


def test_negbin_glm_mode_matches_glm_nb():
    r = run_sas(DATA + "proc glimmix data=d; class trt; model y = x trt / dist=negbin s; run;")
    rows = _rows(r, "ParameterEstimates")
    est = [row["Estimate"] for row in rows if row["StdErr"] is not None and row["Effect"] != "Scale"]
    assert est == pytest.approx([0.68173730, 0.23518776, 0.18478296], abs=2e-6)
    scale = [row for row in rows if row["Effect"] == "Scale"][0]
    assert scale["Estimate"] == pytest.approx(0.58304051, abs=2e-6)
    fit = {row["Descr"]: row["Value"] for row in _rows(r, "FitStatistics")}
    assert fit["-2 Log Likelihood"] == pytest.approx(930.7353457, abs=1e-5)


def test_negbin_with_pseudo_likelihood_and_an_r_side_effect_is_an_error():
    """NEGBIN runs under pseudo-likelihood (tests/test_glimmix_pl_scale.py); with an R-side effect it does not."""
    r = run_sas(DATA + "proc glimmix data=d; class id; model y = x / dist=negbin; random intercept / subject=id; "
                "random _residual_ / subject=id type=cs; run;")
    assert len(r.errors) == 1 and "DIST=NEGBIN" in r.errors[0] and "R-side" in r.errors[0]
