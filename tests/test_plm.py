"""PROC PLM on GENMOD item stores: SHOW, ESTIMATE and LSMEANS must reproduce what the fitting procedure
printed for the same model (the store holds the estimates, their covariance and the design's row space)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from conftest import run_sas

DATA = """data a; input g $ x y @@; datalines;
a 1 0 a 2 1 a 3 1 b 1 0 b 2 0 b 3 1 c 1 1 c 2 1 c 3 0 a 4 1 b 4 0 c 4 1 a 2 0 b 5 1 c 0 0
;
"""


def _tables(r, name, proc=None):
    return [t for t in r.session.tables if t.name == name and (proc is None or t.proc == proc)]


def test_plm_show_estimate_lsmeans_reproduce_genmod():
    r = run_sas(DATA + "proc genmod data=a descending; class g; model y = g x / dist=bin covb;\n"
                "  lsmeans g / diff cl ilink om; estimate 'a vs c' g 1 0 -1 / exp;\n"
                "  store work.m; run;\n"
                "proc plm source=m; show parms covb fit; estimate 'a vs c' g 1 0 -1 / exp cl;\n"
                "  lsmeans g / diff cl ilink om; estimate 'nonest' g 1; run;\n")
    assert not r.errors and not r.warnings, r.log
    pe = [row for row in _tables(r, "ParameterEstimates", "GENMOD")[0].rows if row["Parameter"] != "Scale"]
    ps = _tables(r, "ParameterEstimates", "PLM")[0].rows
    assert [row["Estimate"] for row in ps] == pytest.approx([row["Estimate"] for row in pe], abs=1e-12)
    # SAS's GENMOD prints 0 SE for an aliased parameter, PLM a missing one
    assert [row["StdErr"] for row in ps[:3] + ps[4:]] == pytest.approx(
        [row["StdErr"] for row in pe[:3] + pe[4:5]], abs=1e-12)
    assert ps[3]["StdErr"] is None
    cov_g = _tables(r, "CovB", "GENMOD")[0].rows
    cov_p = _tables(r, "Cov", "PLM")[0].rows
    assert cov_p[0]["Prm2"] == pytest.approx(cov_g[0]["Prm2"], abs=1e-12)
    fit = {row["Criterion"]: row["Value"] for row in _tables(r, "FitStatistics", "PLM")[0].rows}
    mf = {row["Criterion"]: row["Value"] for row in _tables(r, "ModelFit", "GENMOD")[0].rows}
    assert fit["Deviance"] == pytest.approx(mf["Deviance"], abs=1e-12)
    # ESTIMATE: GENMOD prints L'beta and a chi-square, PLM z; z^2 is the chi-square
    eg = _tables(r, "Estimates", "GENMOD")[0].rows[0]
    ep = _tables(r, "Estimates", "PLM")[0].rows
    assert ep[0]["Estimate"] == pytest.approx(eg["LBetaEstimate"], abs=1e-12)
    assert ep[0]["StdErr"] == pytest.approx(eg["StdErr"], abs=1e-12)
    assert ep[0]["zValue"] ** 2 == pytest.approx(eg["ChiSq"], rel=1e-10)
    assert ep[0]["ExpEstimate"] == pytest.approx(math.exp(eg["LBetaEstimate"]), rel=1e-12)
    assert ep[0]["Lower"] == pytest.approx(eg["LBetaLowerCL"], abs=1e-10)
    assert _tables(r, "Estimates", "PLM")[1].rows[0]["Estimate"] is None                         # g 1 alone is not estimable
    for name in ("LSMeans", "Diffs"):
        g, p = _tables(r, name, "GENMOD")[0].rows, _tables(r, name, "PLM")[0].rows
        assert len(g) == len(p) > 0
        for a, b in zip(g, p):
            for k in ("Estimate", "StdErr", "Lower", "Upper", "Mean"):
                if k in a:
                    assert b[k] == pytest.approx(a[k], abs=1e-12), (name, k)


def test_plm_lsmeans_by_hand_and_alpha_option():
    # LS-mean of level b: intercept + g_b + beta_x * mean(x), with the PLM ALPHA= as the default level
    r = run_sas(DATA + "proc genmod data=a descending; class g; model y = g x / dist=bin; store m; run;\n"
                "proc plm source=m alpha=0.1 noinfo noclprint; lsmeans g / cl; run;\n")
    assert not r.errors, r.errors
    assert not _tables(r, "StoreInfo") and not _tables(r, "ClassLevels", "PLM")
    pe = _tables(r, "ParameterEstimates", "GENMOD")[0].rows
    est = {(row["Parameter"], row.get("Level1", "")): row["Estimate"] for row in pe}
    xbar = float(np.mean(r.ds("a").df["x"]))
    want = est[("Intercept", "")] + est[("g", "b")] + est[("x", "")] * xbar
    row = _tables(r, "LSMeans", "PLM")[0].rows[1]
    assert row["Estimate"] == pytest.approx(want, abs=1e-10)
    assert row["Alpha"] == 0.1
    assert row["Upper"] - row["Estimate"] == pytest.approx(st.norm.ppf(0.95) * row["StdErr"], rel=1e-10)


def test_plm_on_a_gee_store_uses_the_empirical_covariance():
    r = run_sas(DATA + "data b; set a; id = ceil(_n_ / 3); run;\n"
                "proc genmod data=b descending; class g id; model y = g x / dist=bin;\n"
                "  repeated subject=id / type=exch; lsmeans g; store m; run;\n"
                "proc plm source=m; lsmeans g; run;\n")
    assert not r.errors, r.errors
    g, p = _tables(r, "LSMeans", "GENMOD")[0].rows, _tables(r, "LSMeans", "PLM")[0].rows
    assert [x["StdErr"] for x in p] == pytest.approx([x["StdErr"] for x in g], abs=1e-12)
