"""LSMEANS / ESTIMATE / CONTRAST against closed forms.  In a Poisson one-way model the LS-mean of a level
is log(mean of that group) and its standard error 1/sqrt(group total); differences and contrasts follow."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from conftest import run_sas

SRC = ("data a; input g $ y @@; datalines;\na 1 a 3 a 2 b 4 b 6 b 8 c 10 c 12\n;\n"
       "proc genmod data=a; class g; model y = g / dist=poisson;\n")


def _t(r, name):
    return [t for t in r.session.tables if t.name == name]


def test_lsmeans_one_way_poisson_closed_form():
    r = run_sas(SRC + "lsmeans g / diff cl ilink; run;\n")
    ls = _t(r, "LSMeans")[0].rows
    groups = {"a": [1, 3, 2], "b": [4, 6, 8], "c": [10, 12]}
    for row in ls:
        y = groups[row["g"]]
        assert row["Estimate"] == pytest.approx(math.log(np.mean(y)))
        assert row["StdErr"] == pytest.approx(1 / math.sqrt(sum(y)))
        assert row["Mean"] == pytest.approx(np.mean(y))
        assert row["StdErrMean"] == pytest.approx(np.mean(y) / math.sqrt(sum(y)))
    diffs = _t(r, "Diffs")[0].rows
    ab = diffs[0]
    assert (ab["g"], ab["_g"]) == ("a", "b")
    assert ab["Estimate"] == pytest.approx(math.log(2 / 6))
    assert ab["StdErr"] == pytest.approx(math.sqrt(1 / 6 + 1 / 18))


def test_estimate_exp_and_contrast_lr_wald():
    r = run_sas(SRC + "estimate 'a-c' g 1 0 -1 / exp;\ncontrast 'all' g 1 -1 0, g 0 1 -1;\n"
                "contrast 'a-b' g 1 -1 0 / wald; run;\n")
    est = _t(r, "Estimates")[0].rows
    assert est[0]["LBetaEstimate"] == pytest.approx(math.log(2 / 11))
    assert est[1]["Label"] == "Exp(a-c)" and est[1]["LBetaEstimate"] == pytest.approx(2 / 11)
    c_all, c_ab = [t.rows[0] for t in _t(r, "Contrasts")]
    # LR test of equal means = deviance of the intercept-only model (the full model is saturated by group)
    y = np.array([1, 3, 2, 4, 6, 8, 10, 12.0])
    mus = np.array([2, 2, 2, 6, 6, 6, 11, 11.0])
    lr = 2 * np.sum(y * np.log(mus / y.mean()))
    assert c_all["DF"] == 2 and c_all["ChiSq"] == pytest.approx(lr) and c_all["Type"] == "LR"
    wald = math.log(2 / 6) ** 2 / (1 / 6 + 1 / 18)
    assert c_ab["ChiSq"] == pytest.approx(wald) and c_ab["Type"] == "Wald"


def test_lsmeans_needs_glm_parameterization():
    r = run_sas("data a; input g $ y @@; datalines;\na 1 b 2 c 3\n;\n"
                "proc genmod data=a; class g / param=ref; model y = g / dist=poisson; lsmeans g; run;\n")
    assert any("GLM parameterization" in e for e in r.errors)


CT_DATA = ("data d; call streaminit(3); do id = 1 to 40; trt = mod(id, 3); u = rand('normal');\n"
           "do t = 1 to 4; y = 1 + 0.5*trt + 0.3*t + u + rand('normal'); c = (y > 2); output; end; end; run;\n")


@pytest.mark.parametrize("step", [
    "proc mixed data=d; class id trt t; model y = trt t / ddfm=kr; repeated t / subject=id type=un;\n",
    "proc mixed data=d; class id trt t; model y = trt t / ddfm=satterth; random intercept / subject=id;\n",
    "proc glimmix data=d method=laplace; class id trt; model c = trt t / dist=binary;\n"
    "random intercept / subject=id;\n",
    "proc glimmix data=d; class id trt; model c = trt t / dist=binary; random intercept / subject=id;\n",
])
def test_contrast_f_tests_agree_with_type3_and_estimate(step):
    """CONTRAST in MIXED and GLIMMIX: the two-row contrast spanning trt is the Type 3 test of trt (F, DF,
    KR/Satterthwaite adjustment included); a one-row contrast is the square of the ESTIMATE t with the
    same DF; CHISQ adds the Wald chi-square = NumDF x F (without KR scaling)."""
    r = run_sas(CT_DATA + step + "contrast 'overall' trt 1 -1 0, trt 1 0 -1 / chisq;\n"
                "contrast 'one' trt 1 0 -1; estimate 'one' trt 1 0 -1; run;\n")
    assert not r.errors, r.errors
    t3 = [row for row in _t(r, "Tests3")[0].rows if row["Effect"] == "trt"][0]
    ct = _t(r, "Contrasts")[0].rows
    est = _t(r, "Estimates")[0].rows[0]
    assert ct[0]["NumDF"] == 2 and ct[0]["FValue"] == pytest.approx(t3["FValue"], rel=1e-9)
    assert ct[0]["DenDF"] == pytest.approx(t3["DenDF"], rel=1e-9)
    assert ct[0]["ProbF"] == pytest.approx(t3["ProbF"], rel=1e-9)
    assert ct[1]["FValue"] == pytest.approx(est["tValue"] ** 2, rel=1e-9)
    assert ct[1]["DenDF"] == pytest.approx(est["DF"], rel=1e-9)
    assert ct[1]["ProbF"] == pytest.approx(est["Probt"], rel=1e-9)
    if "ddfm=kr" not in step:
        assert ct[0]["ChiSq"] == pytest.approx(2 * ct[0]["FValue"], rel=1e-9)
    assert "ChiSq" not in ct[1] and ct[0]["ProbChiSq"] == pytest.approx(st.chi2.sf(ct[0]["ChiSq"], 2), rel=1e-12)


@pytest.mark.parametrize("ddfm", ["kr", "satterth"])
def test_mixed_lsmeans_use_the_kr_and_satterthwaite_df(ddfm):
    """MIXED LS-means take their DF from DDFM=KR/SATTERTHWAITE like ESTIMATE does (they used the containment
    DF, 37 here, for every row). The LS-mean of trt 0 is the ESTIMATE intercept 1 trt 1 0 0 t .25 .25 .25 .25,
    so both must print the same estimate and DF."""
    r = run_sas(CT_DATA + f"proc mixed data=d; class id trt t; model y = trt t / ddfm={ddfm};\n"
                "repeated t / subject=id type=un; lsmeans trt / diff;\n"
                "estimate 'ls0' intercept 1 trt 1 0 0 t .25 .25 .25 .25; estimate 'd02' trt 1 0 -1; run;\n")
    assert not r.errors, r.errors
    ls = _t(r, "LSMeans")[0].rows[0]
    dif = [x for x in _t(r, "Diffs")[0].rows if x["trt"] == 0 and x["_trt"] == 2][0]
    e0, e2 = _t(r, "Estimates")[0].rows           # one Estimates table for all ESTIMATE statements
    assert ls["Estimate"] == pytest.approx(e0["Estimate"], abs=1e-10)
    assert ls["DF"] == pytest.approx(e0["DF"], rel=1e-9) and dif["DF"] == pytest.approx(e2["DF"], rel=1e-9)
    assert abs(ls["DF"] - 37) > 0.5                      # not the containment DF
