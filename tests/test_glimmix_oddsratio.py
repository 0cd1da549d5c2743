"""GLIMMIX MODEL / ODDSRATIO: SAS's default Odds Ratio Estimates table (LS-mean differences of CLASS main
effects against the last level, continuous variables one unit above their mean at each level of the CLASS
variables they interact with), for binary logit and multinomial cumulative logit models."""
from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import RESP_STEP, needs_resp, run_sas


def _table(r, name):
    return [t for t in r.session.tables if t.name == name]


INTERACTION = """
data d; call streaminit(7);
  do id = 1 to 90; u = rand('normal'); a = mod(id, 3) + 1; b = mod(int(id / 3), 2) + 1;
    do t = 1 to 4; x = rand('normal') + t / 2;
      eta = -0.3 + 0.4*(a=1) - 0.2*(a=2) + 0.5*(b=1) + 0.6*(a=1)*(b=1) + 0.3*x - 0.2*x*(a=2) + u;
      y = rand('bernoulli', 1/(1+exp(-eta))); output; end; end;
run;
proc glimmix data=d method=laplace;
  class id a b;
  model y(event='1') = a b a*b x a*x / dist=binary solution oddsratio;
  random intercept / subject=id;
run;
"""


def test_class_main_effects_use_ls_means_and_covariates_go_per_level():
    # SAS documents the default table ("The Odds Ratio Estimates Table", GLIMMIX details): a CLASS main
    # effect's odds ratios are exp of differences of its LS-means against the last level (here averaged over
    # b and at x = mean), a covariate in an interaction with a CLASS effect gets one odds ratio per level of
    # it (LS-means at x-bar + 1 against x-bar).  Checked against the printed solution (identities of the fit).
    r = run_sas(INTERACTION)
    assert not r.errors, r.errors
    sol = {(row["Effect"], row.get("a"), row.get("b")): row["Estimate"]
           for row in _table(r, "ParameterEstimates")[0].rows}
    ors = _table(r, "OddsRatios")[0].rows
    xbar = float(np.mean([row["x"] for row in _table(r, "OddsRatios")[0].rows if row["a"] is not None][:1]))
    # a: LS-mean difference level i vs 3 = a_i - a_3 + mean_b(ab_ib - ab_3b) + xbar (ax_i - ax_3)
    for i in (1.0, 2.0):
        lsd = (sol[("a", i, None)] + 0.5 * (sol[("a*b", i, 1.0)] + sol[("a*b", i, 2.0)])
               + xbar * sol[("a*x", i, None)])
        row = next(o for o in ors if o["a"] == i and o["_a"] == 3.0 and o["b"] is None)
        assert row["Estimate"] == pytest.approx(math.exp(lsd), rel=1e-9)
        assert row["x"] == pytest.approx(xbar) and row["_x"] == pytest.approx(xbar)
    # b: averaged over a, at x-bar
    lsd_b = sol[("b", 1.0, None) if ("b", 1.0, None) in sol else ("b", None, 1.0)] + \
        np.mean([sol[("a*b", i, 1.0)] for i in (1.0, 2.0, 3.0)])
    row_b = next(o for o in ors if o["b"] == 1.0)
    assert row_b["Estimate"] == pytest.approx(math.exp(lsd_b), rel=1e-9)
    # x: one row per level of a, exp(b_x + b_{a*x, i})
    for i in (1.0, 2.0, 3.0):
        row = next(o for o in ors if o["a"] == i and o["_a"] == i)
        assert row["x"] == pytest.approx(row["_x"] + 1.0)
        assert row["Estimate"] == pytest.approx(math.exp(sol[("x", None, None)] + sol[("a*x", i, None)]),
                                                rel=1e-9)
    assert len(ors) == 2 + 1 + 3


def test_course_program_odds_ratios_are_per_treatment_for_time_and_time2():
    # The course's amenorrhea step: `model y = time time2 trt*time trt*time2 / ... oddsratio`.  trt is not a
    # main effect, so it gets no odds ratio; time and time2 get one per trt level (exp of the slope plus the
    # interaction at that level).  Mixed scales (time^2 up to 16) once made the estimability check fail.
    prog = """
data a; call streaminit(3);
  do id = 1 to 120; trt = mod(id, 2); u = rand('normal');
    do time = 0 to 3; time2 = time*time;
      y = rand('bernoulli', 1/(1+exp(-(-1 + 0.5*time - 0.05*time2 + 0.3*trt*time + u)))); output; end; end;
run;
proc glimmix data=a method=laplace order=data;
  class id trt;
  model y = time time2 trt*time trt*time2 / dist=binary s oddsratio;
  random intercept / subject=id;
run;
"""
    r = run_sas(prog)
    assert not r.errors, r.errors
    sol = {(row["Effect"], row.get("trt")): row["Estimate"] for row in _table(r, "ParameterEstimates")[0].rows}
    ors = _table(r, "OddsRatios")[0].rows
    assert len(ors) == 4 and all(o["Estimate"] is not None for o in ors)
    assert "trt" in _table(r, "OddsRatios")[0].rows[0] and "_trt" in ors[0]
    for o in ors:
        var = "time" if o["time"] != o["_time"] else "time2"
        lev = o["trt"]
        assert o["Estimate"] == pytest.approx(math.exp(sol[(var, None)] + sol[(f"trt*{var}", lev)]), rel=1e-9)


CAMIS_ORDINAL = RESP_STEP + """
proc glimmix data=resp method=quad(qpoints=5) empirical;
	class trtp(ref="P") avisitn(ref='1') usubjid;
	model respord=trtp avisitn trtp*avisitn base / dist=multinomial link=cumlogit solution oddsratio ddfm=betwithin;
	random intercept /subject=usubjid;
	ods output ParameterEstimates=ParamMulti_ord;
run;
"""

# R ordinal 2023.12 clmm(ordered(respord) ~ trtp*avisitn + base + (1|usubjid), nAGQ = 5), run by hand on
# resp_gee.csv (2026-11-24).  clmm writes logit P(Y <= j) = theta_j - eta, SAS alpha_j + eta: the slopes
# change sign, the thresholds do not.  clmm stopped with a max gradient of 8e-4, so the estimates agree to
# 5e-5 and our -2 log L is no larger than its.
CLMM = {"trtpA": -0.43717927, "avisitn2": 0.01258956, "avisitn3": -0.10964398, "avisitn4": 0.17136450,
        "base": -0.21199033, "trtpA:avisitn2": 0.26168527, "trtpA:avisitn3": 0.57239543,
        "trtpA:avisitn4": 0.30950931}
CLMM_THETA = (-0.6643190, 0.5637120)
CLMM_VAR = 0.1737092
CLMM_M2LL = 962.9875311


@needs_resp
def test_camis_ordinal_glmm_with_odds_ratios(resp_dir):
    """The CAMIS GLMM page's ordinal program (PSIAIMS/CAMIS SAS/glmm.qmd, verbatim): cumulative logit random
    intercept by 5-point quadrature with EMPIRICAL and ODDSRATIO (which used to be an ERROR with
    DIST=MULTINOMIAL)."""
    r = run_sas(CAMIS_ORDINAL)
    assert not r.errors, r.errors
    sol = {(row["Effect"], row.get("respord") or row.get("trtp") or None, row.get("avisitn")): row
           for row in _table(r, "ParameterEstimates")[0].rows}
    assert sol[("Intercept", "1", None)]["Estimate"] == pytest.approx(CLMM_THETA[0], abs=5e-5)
    assert sol[("Intercept", "2", None)]["Estimate"] == pytest.approx(CLMM_THETA[1], abs=5e-5)
    b = {"trtpA": sol[("trtp", "A", None)], "base": sol[("base", None, None)]}
    for v in (2.0, 3.0, 4.0):
        b[f"avisitn{int(v)}"] = sol[("avisitn", None, v)]
        b[f"trtpA:avisitn{int(v)}"] = sol[("trtp*avisitn", "A", v)]
    for k, val in CLMM.items():
        assert b[k]["Estimate"] == pytest.approx(-val, abs=5e-5), k
    cp = _table(r, "CovParms")[0].rows[0]
    assert cp["Estimate"] == pytest.approx(CLMM_VAR, abs=5e-5)
    fit = _table(r, "FitStatistics")[0].rows[0]
    assert CLMM_M2LL - 1e-5 < fit["Value"] <= CLMM_M2LL + 1e-7
    # odds ratios: trtp against P from LS-means (averaged over avisitn), avisitn against 1 (averaged over
    # trtp), base per unit; the limits use the DF of the effects involved (between-within: 109 / 327)
    ors = _table(r, "OddsRatios")[0].rows
    inter = [b[f"trtpA:avisitn{v}"]["Estimate"] for v in (2, 3, 4)] + [0.0]
    trt = next(o for o in ors if o["trtp"] == "A")
    assert trt["Estimate"] == pytest.approx(math.exp(b["trtpA"]["Estimate"] + np.mean(inter)), rel=1e-9)
    assert trt["DF"] == 109
    for v in (2, 3, 4):
        o = next(o for o in ors if o["avisitn"] == float(v))
        assert o["_avisitn"] == 1.0
        lsd = b[f"avisitn{v}"]["Estimate"] + 0.5 * b[f"trtpA:avisitn{v}"]["Estimate"]
        assert o["Estimate"] == pytest.approx(math.exp(lsd), rel=1e-9)
        assert o["DF"] == 327
    ob = next(o for o in ors if o["trtp"] == "" and o["avisitn"] is None)
    assert ob["Estimate"] == pytest.approx(math.exp(b["base"]["Estimate"]), rel=1e-9)
    assert ob["Lower"] == pytest.approx(math.exp(b["base"]["Estimate"] - 1.9820 * b["base"]["StdErr"]), rel=1e-3)


def test_diff_first_compares_against_the_first_level_and_other_suboptions_are_errors():
    base = INTERACTION.replace("a*x / dist=binary solution oddsratio", "a*x / dist=binary solution oddsratio{}")
    last = run_sas(base.format(""))
    first = run_sas(base.format("(diff=first)"))
    assert not first.errors, first.errors
    rl = {(o["a"], o["_a"]): o["Estimate"] for o in _table(last, "OddsRatios")[0].rows
          if o["a"] is not None and o["a"] != o["_a"]}
    rf = {(o["a"], o["_a"]): o["Estimate"] for o in _table(first, "OddsRatios")[0].rows
          if o["a"] is not None and o["a"] != o["_a"]}
    assert set(rf) == {(2.0, 1.0), (3.0, 1.0)}
    assert rf[(3.0, 1.0)] == pytest.approx(1.0 / rl[(1.0, 3.0)], rel=1e-10)
    assert rf[(2.0, 1.0)] == pytest.approx(rl[(2.0, 3.0)] / rl[(1.0, 3.0)], rel=1e-10)
    bad = run_sas(base.format("(label)"))
    assert any("ODDSRATIO suboption LABEL" in e for e in bad.errors)
    assert not _table(bad, "ParameterEstimates")           # the step stops before the fit


def test_model_alpha_sets_the_odds_ratio_limits():
    r90 = run_sas(INTERACTION.replace("solution oddsratio", "solution oddsratio alpha=0.1"))
    r95 = run_sas(INTERACTION)
    o90, o95 = _table(r90, "OddsRatios")[0], _table(r95, "OddsRatios")[0]
    assert o90.column("Lower").label.startswith("90% Confidence")
    for a, b in zip(o90.rows, o95.rows):
        assert a["Estimate"] == pytest.approx(b["Estimate"], rel=1e-12)
        # log-scale half-widths scale with the t quantiles (same DF)
        from scipy import stats
        ratio = stats.t.ppf(0.95, b["DF"]) / stats.t.ppf(0.975, b["DF"])
        assert math.log(a["Upper"] / a["Estimate"]) == pytest.approx(ratio * math.log(b["Upper"] / b["Estimate"]),
                                                                     rel=1e-9)
