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
