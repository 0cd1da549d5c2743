"""PROC MIXED: REML against closed forms on balanced designs, and Kenward-Roger's known exactness there."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import run_sas

BAL = """data a; call streaminit(5); do id = 1 to 20; trt = mod(id, 2); b = rand('normal', 0, 1.5);
do visit = 1 to 4; y = 10 + trt + 0.5 * visit + b + rand('normal', 0, 1); output; end; end; run;
"""


def _t(r, name, k=0):
    return [t for t in r.session.tables if t.name == name and t.proc == "MIXED"][k]


def test_one_way_random_effects_reml_closed_form():
    r = run_sas(BAL + "proc mixed data=a covtest; class id; model y = / s; random intercept / subject=id; run;\n")
    d = r.ds("a").df
    y = d["y"].to_numpy().reshape(20, 4)
    k, n = y.shape
    msw = ((y - y.mean(1, keepdims=True)) ** 2).sum() / (k * (n - 1))
    msb = n * ((y.mean(1) - y.mean()) ** 2).sum() / (k - 1)
    cp = {row["CovParm"]: row for row in _t(r, "CovParms").rows}
    assert cp["Intercept"]["Estimate"] == pytest.approx((msb - msw) / n, rel=1e-6)
    assert cp["Residual"]["Estimate"] == pytest.approx(msw, rel=1e-6)
    assert cp["Residual"]["StdErr"] == pytest.approx(np.sqrt(2 * msw ** 2 / (k * (n - 1))), rel=1e-3)
    sol = _t(r, "SolutionF").rows[0]
    assert sol["Estimate"] == pytest.approx(y.mean()) and sol["StdErr"] == pytest.approx(np.sqrt(msb / (k * n)))
    assert sol["DF"] == k - 1


def test_kenward_roger_balanced_compound_symmetry_gives_classical_split_plot():
    r = run_sas(BAL + "proc mixed data=a; class id trt visit; model y = trt visit trt*visit / ddfm=kr;\n"
                "repeated visit / subject=id type=cs; run;\n"
                "proc mixed data=a; class id trt visit; model y = trt visit trt*visit;\n"
                "random intercept / subject=id(trt); run;\n")
    kr = {row["Effect"]: row for row in _t(r, "Tests3", 0).rows}
    cont = {row["Effect"]: row for row in _t(r, "Tests3", 1).rows}
    assert kr["trt"]["DenDF"] == pytest.approx(18, abs=1e-6)
    assert kr["visit"]["DenDF"] == pytest.approx(54, abs=1e-6)
    assert kr["trt*visit"]["DenDF"] == pytest.approx(54, abs=1e-6)
    # CS and a random intercept are the same model here: same F statistics
    for eff in ("trt", "visit", "trt*visit"):
        assert kr[eff]["FValue"] == pytest.approx(cont[eff]["FValue"], rel=1e-5)
    assert cont["trt"]["DenDF"] == 18            # containment: id(trt) contains trt


def test_unstructured_ml_vs_reml_and_null_model_test():
    r = run_sas(BAL + "proc mixed data=a method=ml; class id visit; model y = visit; repeated visit / subject=id "
                "type=un; run;\n")
    lrt = _t(r, "LRT").rows[0]
    assert lrt["DF"] == 9 and lrt["ChiSq"] > 0
    fit = {row["Descr"]: row["Value"] for row in _t(r, "FitStatistics").rows}
    assert "-2 Log Likelihood" in fit


def test_satterthwaite_balanced_compound_symmetry_is_exact():
    r = run_sas(BAL + "proc mixed data=a; class id trt visit; model y = trt visit trt*visit / s ddfm=satterth;\n"
                "repeated visit / subject=id type=cs; run;\n")
    t3 = {row["Effect"]: row["DenDF"] for row in _t(r, "Tests3").rows}
    assert t3["trt"] == pytest.approx(18, rel=1e-4) and t3["visit"] == pytest.approx(54, rel=1e-4)
