"""PROC MIXED / GLIMMIX TYPE=ANTE(1), TOEPH, UNR and ARMA(1,1).

Data: tests/data/covstruct_sim.csv, 60 subjects x 4 times simulated (numpy, seed 7) from an ANTE(1)
covariance (sd 1, 1.5, 2, 2.5; adjacent correlations 0.7, 0.5, 0.8).

References, each independent of our engine:
- ANTE(1) with a saturated time mean on complete data: the REML estimates are closed-form, the sample
  variances (divisor n - 1) and the correlations of adjacent times (the Gaussian Markov chain's likelihood
  factorises over adjacent pairs); computed here with numpy.
- UNR is UN reparameterised: the same -2 Res Log Likelihood, Var(i) = UN(i,i), Corr(i,j) = UN(i,j) / sd_i sd_j.
- ARMA(1,1): R nlme 3.1 gls(y ~ time, correlation = corARMA(p = 1, q = 1)) run by hand on the same file;
  SAS's gamma is nlme's lag-one correlation (1 + phi theta)(phi + theta) / (1 + 2 phi theta + theta^2), rho is phi.
- TOEPH: the REML objective maximised by a dense numpy/scipy computation written in this file.
- Labels: SAS listings of PROC MIXED TYPE=ANTE(1) and TYPE=TOEPH (openpharma/mmrm design/SAS/
  sas_antedependence_reml.txt, sas_toeph_reml.txt): "Ante-dependence", Var(k), Rho(k); "Heterogeneous
  Toeplitz", Var(k), TOEPH(k).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import optimize

from conftest import assert_errors, run_sas

CSV = Path(__file__).resolve().parent / "data" / "covstruct_sim.csv"
READ = f"proc import datafile='{CSV}' out=a dbms=csv replace; run;\n"


def tab(r, name, proc="MIXED"):
    return [t for t in r.session.tables if t.name == name and t.proc == proc][0]


def cov(r, proc="MIXED"):
    return {row["CovParm"]: row["Estimate"] for row in tab(r, "CovParms", proc).rows}


def m2ll(r):
    return tab(r, "FitStatistics").rows[0]["Value"]


def wide():
    d = np.genfromtxt(CSV, delimiter=",", names=True)
    return d["y"].reshape(-1, 4)


def test_ante1_is_the_closed_form_reml_estimate():
    r = run_sas(READ + "proc mixed data=a cl; class time id; model y = time; "
                "repeated time / subject=id type=ante(1); run;")
    assert not r.errors and not r.warnings, r.log
    Y = wide()
    S = np.cov(Y.T)
    est = cov(r)
    assert list(est) == ["Var(1)", "Var(2)", "Var(3)", "Var(4)", "Rho(1)", "Rho(2)", "Rho(3)"]
    for k in range(4):
        assert est[f"Var({k + 1})"] == pytest.approx(S[k, k], rel=1e-6)
    for k in range(3):
        assert est[f"Rho({k + 1})"] == pytest.approx(S[k, k + 1] / np.sqrt(S[k, k] * S[k + 1, k + 1]), abs=1e-7)
    info = {row["Label"]: row["Value"] for row in tab(r, "ModelInfo").rows}
    assert info["Covariance Structure"] == "Ante-dependence"
    assert info["Residual Variance Method"] == "None"
    # CL: Satterthwaite limits for the variances (asymmetric), Wald limits for the correlations (symmetric)
    rows = {row["CovParm"]: row for row in tab(r, "CovParms").rows}
    v, rho = rows["Var(1)"], rows["Rho(1)"]
    assert v["Upper"] - v["Estimate"] > 1.5 * (v["Estimate"] - v["Lower"])
    assert rho["Upper"] - rho["Estimate"] == pytest.approx(rho["Estimate"] - rho["Lower"], rel=1e-9)


def test_unr_is_un_reparameterised():
    src = READ + "proc mixed data=a; class time id; model y = time; repeated time / subject=id type={}; run;"
    un, unr = run_sas(src.format("un")), run_sas(src.format("unr"))
    assert not unr.errors and not unr.warnings, unr.log
    assert m2ll(unr) == pytest.approx(m2ll(un), abs=1e-6)
    a, b = cov(un), cov(unr)
    for i in range(1, 5):
        assert b[f"Var({i})"] == pytest.approx(a[f"UN({i},{i})"], rel=1e-5)
        for j in range(1, i):
            c = a[f"UN({i},{j})"] / np.sqrt(a[f"UN({i},{i})"] * a[f"UN({j},{j})"])
            assert b[f"Corr({i},{j})"] == pytest.approx(c, abs=1e-5)


def test_arma11_matches_nlme():
    r = run_sas(READ + "proc mixed data=a covtest; class time id; model y = time; "
                "repeated time / subject=id type=arma(1,1); run;")
    assert not r.errors and not r.warnings, r.log
    est = cov(r)
    assert list(est) == ["Rho", "Gamma", "Residual"]
    # nlme: -2 REML log-lik 794.659834271, phi 0.64590166934, lag-one correlation 0.635845, sigma^2 2.336139
    assert m2ll(r) == pytest.approx(794.659834271, abs=1e-5)
    assert est["Rho"] == pytest.approx(0.64590167, abs=2e-5)
    assert est["Gamma"] == pytest.approx(0.635845, abs=2e-5)
    assert est["Residual"] == pytest.approx(2.336139, abs=2e-5)
    rows = {row["CovParm"]: row for row in tab(r, "CovParms").rows}
    assert rows["Rho"]["ProbZ"] == pytest.approx(2 * (1 - __import__("scipy").stats.norm.cdf(rows["Rho"]["ZValue"])))


def test_arma11_ml_with_missing_visits_matches_nlme():
    r = run_sas(READ + "data a2; set a; if mod(id, 7) = 0 and time = 3 then delete; run;\n"
                "proc mixed data=a2 method=ml; class time id; model y = time; "
                "repeated time / subject=id type=arma(1,1); run;")
    assert not r.errors, r.log
    est = cov(r)
    # nlme gls(method = "ML", corARMA(form = ~ time | id, p = 1, q = 1)): -2 log-lik 756.313254917,
    # phi 0.6478441, lag-one correlation 0.6588847, sigma^2 2.297002
    assert m2ll(r) == pytest.approx(756.313254917, abs=1e-5)
    assert (est["Rho"], est["Gamma"], est["Residual"]) == pytest.approx((0.6478441, 0.6588847, 2.297002), abs=3e-5)


def _toeph_reml(Y, bands):
    """-2 REML log-likelihood of a TOEPH(bands) model with one mean per time (complete data), dense."""
    n, T = Y.shape
    R = Y - Y.mean(axis=0)
    lag = np.abs(np.subtract.outer(np.arange(T), np.arange(T)))

    def f(x):
        sd = np.exp(x[:T] / 2)
        vals = np.concatenate([[1.0], np.tanh(x[T:]), np.zeros(T - bands)])
        S = np.outer(sd, sd) * vals[lag]
        sign, ld = np.linalg.slogdet(S)
        if sign <= 0:
            return 1e10
        Si = np.linalg.inv(S)
        # REML with the saturated mean: (n - 1) log|S| + tr(S^-1 R'R) + T log n + const
        return (n - 1) * ld + np.trace(Si @ R.T @ R) + T * np.log(n) + (n - 1) * T * np.log(2 * np.pi)
    x0 = np.concatenate([np.log(Y.var(axis=0)), np.zeros(bands - 1)])
    res = optimize.minimize(f, x0, method="BFGS", options={"gtol": 1e-10})
    return res.fun, np.exp(res.x[:T]), np.tanh(res.x[T:])


@pytest.mark.parametrize("bands", [4, 2])
def test_toeph_matches_dense_reml(bands):
    kind = "toeph" if bands == 4 else f"toeph({bands})"
    r = run_sas(READ + f"proc mixed data=a; class time id; model y = time; "
                f"repeated time / subject=id type={kind}; run;")
    assert not r.errors and not r.warnings, r.log
    f, var, rho = _toeph_reml(wide(), bands)
    assert m2ll(r) == pytest.approx(f, abs=1e-5)
    est = cov(r)
    assert list(est) == [f"Var({k})" for k in range(1, 5)] + [f"TOEPH({k})" for k in range(1, bands)]
    assert [est[f"Var({k})"] for k in range(1, 5)] == pytest.approx(var, rel=1e-4)
    assert [est[f"TOEPH({k})"] for k in range(1, bands)] == pytest.approx(rho, abs=1e-5)
    info = {row["Label"]: row["Value"] for row in tab(r, "ModelInfo").rows}
    assert info["Covariance Structure"] == "Heterogeneous Toeplitz"


def test_glimmix_rside_structures_equal_mixed():
    for kind in ("ante(1)", "arma(1,1)", "toeph"):
        src = READ + "proc {p} data=a; class time id; model y = time; {st} / subject=id type=" + kind + "; run;"
        m = run_sas(src.format(p="mixed", st="repeated time"))
        g = run_sas(src.format(p="glimmix", st="random _residual_"))
        assert not g.errors, g.log
        a, b = cov(m), cov(g, "GLIMMIX")
        assert list(a) == list(b)
        assert list(b.values()) == pytest.approx(list(a.values()), abs=2e-4)


def test_random_arma_is_gside_and_unknown_types_are_errors():
    r = run_sas(READ + "proc mixed data=a; class time id; model y = time; "
                "random time / subject=id type=arma(1,1); run;")
    assert not r.errors, r.log
    assert list(cov(r)) == ["Variance", "Rho", "Gamma", "Residual"]
    r = run_sas(READ + "proc mixed data=a; class time id; model y = time; "
                "repeated time / subject=id type=hf; run;")
    assert_errors(r, ["REPEATED TYPE=HF is not supported"])


def test_local_nugget_with_ante_and_error_with_vc():
    r = run_sas(READ + "proc mixed data=a; class time id; model y = time; "
                "repeated time / subject=id type=ante(1) local; run;")
    assert not r.errors, r.log
    assert list(cov(r)) == [f"Var({k})" for k in range(1, 5)] + ["Rho(1)", "Rho(2)", "Rho(3)", "Residual"]
    r = run_sas(READ + "proc mixed data=a; class time id; model y = time; "
                "repeated time / subject=id type=vc local; run;")
    assert_errors(r, ["REPEATED LOCAL is not supported with TYPE=VC"])
