"""GLIMMIX DIST=MULTINOMIAL (cumulative links) with a random intercept and in GLM mode.
References (run by hand on the data this DATA step writes, values pasted): ordinal 2022.11
clmm(y ~ x + trt + (1 | id), nAGQ = 7) and clm(y ~ x + trt); R's logit P(Y <= k) = theta_k - eta against
SAS's alpha_k + eta, so the slopes change sign and the cutpoints do not."""
from __future__ import annotations

import pytest

from conftest import run_sas
from glmm_checks import rows

DATA = """data d;
  call streaminit(61);
  do id=1 to 60; u = rand('normal')*0.8; trt = mod(id,2);
    do t=0 to 3; x = rand('normal');
      eta = 0.5*x + 0.4*trt + u; lat = eta + rand('logistic');
      y = 1 + (lat > -0.5) + (lat > 1); output; end;
  end;
run;
"""


def _est(r):
    return [(row["Effect"], row.get("y", ""), row["Estimate"], row["StdErr"])
            for row in rows(r, "ParameterEstimates") if row["StdErr"] is not None]


def test_cumulative_logit_quadrature_matches_clmm():
    r = run_sas(DATA + """proc glimmix data=d method=quad(qpoints=7); class id trt;
      model y = x trt / dist=multinomial link=cumlogit s; random intercept / subject=id; run;""")
    assert not r.errors, r.errors
    est = _est(r)
    assert [e[:2] for e in est] == [("Intercept", "1"), ("Intercept", "2"), ("x", ""), ("trt", "")]
    assert [e[2] for e in est] == pytest.approx([-0.57239347, 0.94138148, -0.50454230, -0.18568292], abs=2e-5)
    assert [e[3] for e in est] == pytest.approx([0.237585, 0.246029, 0.135779, 0.322004], abs=2e-5)
    # the likelihood is flat along G here: both fits reach -2 log L 505.0657994, G within 5e-5
    assert rows(r, "CovParms")[0]["Estimate"] == pytest.approx(0.60584982, abs=6e-5)
    fit = {row["Descr"]: row["Value"] for row in rows(r, "FitStatistics")}
    assert fit["-2 Log Likelihood"] == pytest.approx(505.0657994, abs=1e-4)
    prof = rows(r, "ResponseProfile")
    assert [p_["Count"] for p_ in prof] and len(prof) == 3


def test_laplace_reaches_at_least_clmms_likelihood():
    """clmm's Laplace fit stops at -2 log L 505.7382748; ours must be at least as good."""
    r = run_sas(DATA + """proc glimmix data=d method=laplace; class id trt; model y = x trt / dist=mult s;
      random intercept / subject=id; run;""")
    fit = {row["Descr"]: row["Value"] for row in rows(r, "FitStatistics")}
    assert 505.70 < fit["-2 Log Likelihood"] <= 505.7382748 + 1e-7


def test_cumulative_logit_glm_mode_matches_clm():
    r = run_sas(DATA + "proc glimmix data=d; class trt; model y = x trt / dist=multinomial s; run;")
    assert not r.errors, r.errors
    est = _est(r)
    assert [e[2] for e in est] == pytest.approx([-0.52662541, 0.81840950, -0.45963063, -0.13725091], abs=2e-6)
    assert [e[3] for e in est] == pytest.approx([0.179513, 0.184114, 0.122989, 0.241003], abs=2e-6)
    fit = {row["Descr"]: row["Value"] for row in rows(r, "FitStatistics")}
    assert fit["-2 Log Likelihood"] == pytest.approx(510.9042124, abs=1e-5)


def test_multinomial_with_pseudo_likelihood_or_lsmeans_is_an_error():
    r = run_sas(DATA + "proc glimmix data=d; class id; model y = x / dist=multinomial; random intercept / subject=id;"
                       " run;")
    assert any("MULTINOMIAL" in e for e in r.errors)
    r = run_sas(DATA + """proc glimmix data=d method=laplace; class id trt; model y = x trt / dist=multinomial;
      random intercept / subject=id; lsmeans trt; run;""")
    assert any("MULTINOMIAL" in e for e in r.errors)
