"""PROC NLMIXED (subset): marginal likelihood by adaptive Gauss-Hermite quadrature over normal random effects.

References:
- SAS's own estimates for the BIOS 667 contraception-trial program contra002.sas (github tydarnell/BiosCourses,
  Courses/Bios667/Code/contra002.sas): its second NLMIXED step starts from the first step's printed
  estimates, int=-3.8057 time_=1.1332 time2_=-0.04192 dt_=0.5644 dt2_=-0.1096 logsigma=0.81113 (log of the
  square root of sigmasq).  The data are the same 1151 women as ../shared/data/amenorrhea.csv (ALA's file).
- PROC GLIMMIX METHOD=QUAD on the same model and number of points (itself checked against SAS and lme4 in
  test_glimmix.py and the course-program tests): the two quadratures must give the same maximum.
- Closed forms for a normal model without random effects (maximum likelihood regression)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import SHARED_DATA, needs_shared, run_sas

INFECTION = """data infection;
   input clinic t x n;
   datalines;
1 1 11 36
1 0 10 37
2 1 16 20
2 0 22 32
3 1 14 19
3 0  7 19
4 1  2 16
4 0  1 17
5 1  6 17
5 0  0 12
6 1  1 11
6 0  0 10
7 1  1  5
7 0  1  9
8 1  4  6
8 0  6  7
;
"""


def _table(r, name, k=0):
    return [t for t in r.session.tables if t.name == name][k]


def _est(r, k=0):
    return {row["Parameter"]: row for row in _table(r, "ParameterEstimates", k).rows}


def _m2ll(r, name="FitStatistics", k=0):
    return [row["Value"] for row in _table(r, name, k).rows if row["Descr"].startswith("-2")][0]


@needs_shared
def test_contraception_trial_matches_sas_contra002():
    r = run_sas(f"""data A;
      infile '{SHARED_DATA / "amenorrhea.csv"}' dsd firstobs=2;
      input id dose time y;
      time2 = time * time; dt = dose * time; dt2 = dose * time2;
    run;
    proc nlmixed data=A qpoints=50;
      parms int = -2.2 time_ = 0.70 time2_ = -0.032 dt_ = 0.34 dt2_ = -0.068 sigmasq = 4;
      eta = int + time_ * time + time2_ * time2 + dt_ * dt + dt2_ * dt2 + u;
      p = 1 / (1 + exp(-eta));
      model y ~ binary(p);
      random u ~ normal(0, sigmasq) subject=id;
    run;""")
    assert not r.errors and not r.warnings, (r.errors, r.warnings)
    e = _est(r)
    sas = {"int": -3.8057, "time_": 1.1332, "time2_": -0.04192, "dt_": 0.5644, "dt2_": -0.1096}
    for k, v in sas.items():
        tol = 0.6e-5 if k == "time2_" else 0.6e-4       # SAS's printed digits
        assert e[k]["Estimate"] == pytest.approx(v, abs=tol), k
    assert 0.5 * math.log(e["sigmasq"]["Estimate"]) == pytest.approx(0.81113, abs=2e-5)
    dims = {row["Descr"]: row["Value"] for row in _table(r, "Dimensions").rows}
    assert dims["Observations Used"] == 3616 and dims["Observations Not Used"] == 988
    assert dims["Subjects"] == 1151 and dims["Quadrature Points"] == 50
    assert e["int"]["DF"] == 1150                   # subjects minus random effects


def test_infection_equals_glimmix_quadrature():
    r = run_sas(INFECTION + """proc nlmixed data=infection qpoints=7;
       parms beta0=-1 beta1=1 s2u=2;
       eta    = beta0 + beta1*t + u;
       expeta = exp(eta);
       p      = expeta/(1+expeta);
       model x ~ binomial(n,p);
       random u ~ normal(0,s2u) subject=clinic;
       predict eta out=eta;
       estimate '1/beta1' 1/beta1;
    run;
    proc glimmix data=infection method=quad(qpoints=7);
       class clinic;
       model x/n = t / s;
       random intercept / subject=clinic;
    run;""")
    assert not r.errors and not r.warnings, (r.errors, r.warnings)
    e = _est(r)
    g = _table(r, "ParameterEstimates", 1).rows
    cp = _table(r, "CovParms").rows[0]
    assert e["beta0"]["Estimate"] == pytest.approx(g[0]["Estimate"], abs=2e-5)
    assert e["beta1"]["Estimate"] == pytest.approx(g[1]["Estimate"], abs=2e-5)
    assert e["s2u"]["Estimate"] == pytest.approx(cp["Estimate"], abs=5e-5)
    assert e["beta1"]["StandardError"] == pytest.approx(g[1]["StdErr"], rel=1e-3)
    assert e["s2u"]["StandardError"] == pytest.approx(cp["StdErr"], rel=1e-3)
    assert _m2ll(r) == pytest.approx(_m2ll(r, "FitStatistics", 1), abs=1e-4)
    # the delta method for 1/beta1: SE(beta1) / beta1^2
    a = _table(r, "AdditionalEstimates").rows[0]
    b1, se1 = e["beta1"]["Estimate"], e["beta1"]["StandardError"]
    assert a["Estimate"] == pytest.approx(1 / b1, rel=1e-9)
    assert a["StandardError"] == pytest.approx(se1 / b1 ** 2, rel=1e-4)
    assert e["beta0"]["DF"] == 7 and a["DF"] == 7
    # PREDICT OUT=: eta at the empirical Bayes modes, one row per observation
    out = r.ds("eta").df
    assert len(out) == 16 and {"Pred", "StdErrPred", "Lower", "Upper"} <= set(out.columns)
    fx = {row["Descr"]: row["Value"] for row in _table(r, "FitStatistics").rows}
    m2 = fx["-2 Log Likelihood"]
    assert fx["AIC (smaller is better)"] == pytest.approx(m2 + 6)
    assert fx["AICC (smaller is better)"] == pytest.approx(m2 + 6 * 16 / 12)       # observations
    assert fx["BIC (smaller is better)"] == pytest.approx(m2 + 3 * math.log(8))   # subjects


@needs_shared
def test_two_correlated_random_effects_equal_glimmix_un():
    """RANDOM u1 u2 ~ NORMAL([0,0],[s11,s21,s22]): the product rule over two effects, as the course's
    amenorrhea GLIMMIX step (random intercept and time slope, TYPE=UN, 5 points)."""
    r = run_sas(f"""data A;
      infile '{SHARED_DATA / "amenorrhea.csv"}' dsd firstobs=2;
      input id trt time y;
      time2 = time * time;
    run;
    proc nlmixed data=A qpoints=5;
      parms b0=-3.7 b1=1.1 b2=-0.04 b3=0.6 b4=-0.1 s11=5 s21=0 s22=0.5;
      eta = b0 + b1*time + b2*time2 + b3*trt*time + b4*trt*time2 + u1 + u2*time;
      model y ~ binary(1/(1+exp(-eta)));
      random u1 u2 ~ normal([0,0],[s11,s21,s22]) subject=id;
    run;
    proc glimmix data=A method=quad(qpoints=5);
      model y(event='1') = time time2 trt*time trt*time2 / dist=binary s;
      random intercept time / subject=id type=un;
    run;""")
    assert not r.errors, r.errors
    e = _est(r)
    g = [row["Estimate"] for row in _table(r, "ParameterEstimates", 1).rows]
    cp = [row["Estimate"] for row in _table(r, "CovParms").rows]
    assert [e[k]["Estimate"] for k in ("b0", "b1", "b2", "b3", "b4")] == pytest.approx(g, abs=5e-4)
    assert [e[k]["Estimate"] for k in ("s11", "s21", "s22")] == pytest.approx(cp, abs=2e-3)
    assert _m2ll(r) == pytest.approx(_m2ll(r, "FitStatistics", 1), abs=1e-3)


def test_normal_model_without_random_effects_is_ml_regression():
    r = run_sas("""data d; do i = 1 to 30; x = mod(i*7, 11); g = (i > 15);
         y = 2 + 0.5*x + g + sin(i); output; end; run;
    proc nlmixed data=d;
      parms a=0 b=0 c=0 s2=1;
      bounds s2 > 0;
      if g = 1 then shift = c; else shift = 0;
      m = a + b*x + shift;
      model y ~ normal(m, s2);
    run;""")
    assert not r.errors and not r.warnings, (r.errors, r.warnings)
    d = r.ds("d").df
    X = np.column_stack([np.ones(30), d["x"], d["g"]])
    yv = d["y"].to_numpy()
    beta, *_ = np.linalg.lstsq(X, yv, rcond=None)
    rss = float(np.sum((yv - X @ beta) ** 2))
    s2 = rss / 30
    e = _est(r)
    assert [e[k]["Estimate"] for k in "abc"] == pytest.approx(beta, abs=1e-5)
    assert e["s2"]["Estimate"] == pytest.approx(s2, rel=1e-5)
    se = np.sqrt(np.diag(s2 * np.linalg.inv(X.T @ X)))
    assert [e[k]["StandardError"] for k in "abc"] == pytest.approx(se, rel=1e-3)
    assert e["s2"]["StandardError"] == pytest.approx(math.sqrt(2 * s2 ** 2 / 30), rel=1e-3)
    assert e["a"]["DF"] == 30                       # no RANDOM statement: the observations
    assert _m2ll(r) == pytest.approx(30 * (math.log(2 * math.pi * s2) + 1), rel=1e-8)


@pytest.mark.parametrize("stmt, msg", [
    ("model y ~ gamma(a, b);", "GAMMA distribution is not supported"),
    ("model y ~ normal(m, s2); contrast 'c' a;", "CONTRAST statement is not supported"),
    ("model y ~ normal(m, s2); random u ~ normal(0, s2) subject=i out=re;", "OUT= is not supported"),
])
def test_unsupported_parts_are_errors(stmt, msg):
    r = run_sas(f"""data d; do i = 1 to 10; y = i; output; end; run;
    proc nlmixed data=d; parms a=1 s2=1; m = a; {stmt} run;
    data after; x = 1; run;""")
    assert any(msg in e for e in r.errors), r.errors
    assert r.ds("after").df["x"].tolist() == [1]     # the session goes on
