"""PROC MIXED: REML against closed forms on balanced designs, and Kenward-Roger's known exactness there."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import assert_errors, run_sas, sim_trial

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


SLOPE_DATA = ("data d; call streaminit(3);\n"
              "do id = 1 to 40; trt = mod(id, 3); u = rand('normal'); s = rand('normal')*0.3;\n"
              "do t = 1 to 4; y = 1 + 0.5*trt + (0.3+s)*t + u + rand('normal');\n"
              "if not (id = 1 and t = 3) then output; end; end; run;\n")


def test_random_slope_un_reaches_the_bounded_reml_optimum():
    """A random intercept + slope (TYPE=UN) whose REML optimum has the slope variance on its bound 0.
    The quasi-Newton search used to stop at its first step (-2 Res Log L 622.4). Reference: lme4 1.1.31
    lmer(y ~ trt + t + (t | id)), run by hand, reaches 556.7836 with G forced positive semidefinite; SAS
    only bounds the variances, so its optimum can only be lower. The fit must also be a local optimum:
    no feasible coordinate step lowers the objective."""
    from sasglm.stats import lmm as LM
    seen = {}
    orig = LM.LMM.fit

    def spy(self, th0, maxiter=200, **kw):
        out = orig(self, th0, maxiter, **kw)
        seen.setdefault("fit", (self, out))
        return out
    LM.LMM.fit = spy
    try:
        r = run_sas(SLOPE_DATA + "proc mixed data=d; class id trt; model y = trt t;\n"
                    "random intercept t / subject=id type=un g v; run;\n")
    finally:
        LM.LMM.fit = orig
    assert not r.errors, r.errors
    fit = {row["Descr"]: row["Value"] for row in [t for t in r.session.tables if t.name == "FitStatistics"][0].rows}
    m2 = fit["-2 Res Log Likelihood"]
    assert m2 <= 556.7836 and m2 > 556.6          # below lme4's PSD-constrained value, above the unbounded one
    cp = {row["CovParm"]: row["Estimate"] for row in [t for t in r.session.tables if t.name == "CovParms"][0].rows}
    assert cp["UN(2,2)"] == pytest.approx(0.0, abs=1e-6)
    assert "NOTE: Estimated G matrix is not positive definite." in r.log
    lmm, res = seen["fit"]
    f0 = lmm.objective(res.theta)
    for k in range(len(res.theta)):
        for h in (1e-3, -1e-3):
            th = res.theta.copy()
            th[k] += h
            if k in (0, 2, 3) and th[k] < 0:
                continue
            assert lmm.objective(th) >= f0 - 1e-7
    G = [t for t in r.session.tables if t.name == "G"][0].rows
    assert G[0]["Col2"] == pytest.approx(cp["UN(2,1)"], abs=1e-12) and G[1]["Effect"] == "t"
    V = [t for t in r.session.tables if t.name == "V"][0]
    assert len(V.rows) == 3 and V.title == "Estimated V Matrix for id 1"     # subject 1 has 3 visits
    # V = Z G Z' + sigma^2 I for subject 1 (visits 1, 2, 4)
    Z = np.array([[1, 1], [1, 2], [1, 4]], dtype=float)
    Gm = np.array([[cp["UN(1,1)"], cp["UN(2,1)"]], [cp["UN(2,1)"], cp["UN(2,2)"]]])
    want = Z @ Gm @ Z.T + cp["Residual"] * np.eye(3)
    got = np.array([[row[f"Col{j + 1}"] for j in range(3)] for row in V.rows])
    assert got == pytest.approx(want, abs=1e-10)


def test_repeated_ar1_r_matrix_for_a_subject_with_a_missing_visit():
    r = run_sas(SLOPE_DATA + "proc mixed data=d; class id trt t; model y = trt;\n"
                "repeated t / subject=id type=ar(1) r rcorr; run;\n")
    assert not r.errors, r.errors
    cp = {row["CovParm"]: row["Estimate"] for row in [t for t in r.session.tables if t.name == "CovParms"][0].rows}
    rho, s2 = cp["AR(1)"], cp["Residual"]
    R = np.array([[row[f"Col{j + 1}"] for j in range(3)] for row in
                  [t for t in r.session.tables if t.name == "R"][0].rows])
    lag = np.abs(np.subtract.outer([1, 2, 4], [1, 2, 4]))
    assert R == pytest.approx(s2 * rho ** lag, abs=1e-10)


SLICE_DATA = sim_trial()


def test_lsmeans_slice_is_the_contrast_of_the_simple_effect():
    # SAS (Shared Concepts, SLICE): the slice of A*B at a level of B is the F test that the A*B
    # LS-means there are equal, with the effect's DF adjusted as the procedure's DDFM does.  The same
    # hypotheses written as CONTRAST statements must give the same F and DF (here with Kenward-Roger),
    # and GLIMMIX's slice of the same model must equal MIXED's (MIXED run to CONVH=1E-12: at the default
    # 1E-8 its Newton-Raphson stops, as SAS's does, short of the optimum GLIMMIX reaches).
    src = SLICE_DATA + """
ods output Slices=sl Contrasts=ct;
proc mixed data=a convh=1e-12;
  class id trt time;
  model y = trt time trt*time / ddfm=kr;
  repeated time / subject=id type=un;
  lsmeans trt*time / slice=time slice=trt;
  contrast 'trt at time 2' trt 1 -1 trt*time 0 1 0 0 0 -1 0 0;
  contrast 'time at trt 0' time 1 -1 0 0 trt*time 1 -1 0 0 0 0 0 0,
                           time 1 0 -1 0 trt*time 1 0 -1 0 0 0 0 0,
                           time 1 0 0 -1 trt*time 1 0 0 -1 0 0 0 0;
run;
ods output Slices=gs;
proc glimmix data=a;
  class id trt time;
  model y = trt time trt*time / ddfm=kr;
  random time / subject=id type=un residual;
  lsmeans trt*time / slice=time;
run;
proc genmod data=a; class trt time; model y = trt time trt*time; lsmeans trt*time / slice=time; run;
"""
    r = run_sas(src)
    assert_errors(r, ["The LSMEANS option SLICE is not supported yet."])   # GENMOD: not yet
    sl, ct, gs = r.ds("sl").df, r.ds("ct").df, r.ds("gs").df
    assert len(sl) == 6 and sl["NumDF"].tolist() == [1, 1, 1, 1, 3, 3]
    t2 = sl.iloc[1]
    c = ct.set_index("Label")
    assert t2["FValue"] == pytest.approx(c.loc["trt at time 2", "FValue"], rel=1e-10)
    assert t2["DenDF"] == pytest.approx(c.loc["trt at time 2", "DenDF"], rel=1e-10)
    trt0 = sl.iloc[4]
    assert trt0["FValue"] == pytest.approx(c.loc["time at trt 0", "FValue"], rel=1e-8)
    assert trt0["DenDF"] == pytest.approx(c.loc["time at trt 0", "DenDF"], rel=1e-8)
    np.testing.assert_allclose(gs["FValue"], sl["FValue"].iloc[:4], rtol=1e-5)
    assert "Tests of Effect Slices for trt*time Sliced By time" in r.out


def test_fixed_effects_only_model_uses_residual_df_and_prints_non_est():
    # SAS: without RANDOM and REPEATED SUBJECT= there is no processing by subjects, BETWITHIN has no effect
    # and every test uses the residual DF N - rank(X) (here 5 - 3 = 2; the intercept got 0 before).  The
    # empty cell b*y makes its LS-mean non-estimable, which SAS prints as "Non-est".
    r = run_sas("data a; input g $ h $ y; datalines;\na x 1\na y 2\nb x 3\nb x 4\na x 2\n;\n"
                "ods output SolutionF=sf LSMeans=lsm;\n"
                "proc mixed data=a; class g h; model y = g h g*h / s; lsmeans g*h; run;\n")
    sf, lsm = r.ds("sf").df, r.ds("lsm").df
    assert sf["DF"].dropna().tolist() == [2, 2, 2]
    # OLS by hand: additive fit through the three observed cells, intercept = ay + bx - ax = 2 + 3.5 - 1.5
    assert sf["Estimate"].iloc[0] == pytest.approx(4.0)
    assert lsm["Estimate"].isna().tolist() == [False, False, False, True]
    assert "Non-est" in r.out and "Residual" in r.out


# 12 groups x 5 observations with known precision weights w (generated once, typed in so that the R
# numbers below stay tied to them)
WEIGHTED = """data d; input g x w y @@; datalines;
1 3.232 1.0 3.288  1 0.216 2.0 0.464  1 1.634 0.5 2.776  1 3.997 0.5 3.858  1 0.938 1.0 2.869  2 3.377 1.0 3.804
2 1.972 2.0 2.366  2 2.222 2.0 3.45  2 3.519 0.5 4.713  2 3.48 0.5 1.199  3 3.489 1.0 1.987  3 0.005 0.5 0.683
3 1.747 4.0 1.903  3 3.225 0.5 1.023  3 0.596 1.0 2.625  4 0.942 2.0 2.701  4 3.2 2.0 4.313  4 0.945 2.0 2.274
4 3.733 4.0 3.994  4 1.472 0.5 1.029  5 3.746 1.0 4.347  5 2.966 2.0 3.586  5 2.737 2.0 2.343  5 2.564 1.0 4.34
5 2.769 4.0 2.871  6 0.776 2.0 2.101  6 3.192 4.0 3.644  6 2.45 1.0 2.011  6 3.967 2.0 5.603  6 0.611 2.0 1.274
7 1.605 1.0 -0.379  7 3.834 2.0 1.916  7 1.608 0.5 0.395  7 2.526 0.5 4.157  7 3.695 2.0 1.261  8 3.293 1.0 3.748
8 1.62 1.0 1.226  8 3.315 0.5 3.719  8 2.108 4.0 3.623  8 2.213 1.0 0.674  9 1.115 1.0 4.714  9 0.011 1.0 2.004
9 1.367 0.5 3.909  9 1.922 4.0 4.076  9 2.668 1.0 3.41  10 1.596 4.0 1.899  10 2.95 2.0 3.986  10 2.789 2.0 3.535
10 0.156 4.0 1.904  10 0.813 0.5 2.736  11 2.404 0.5 5.954  11 1.466 4.0 3.797  11 2.721 0.5 7.631  11 1.503 4.0 3.151
11 1.367 0.5 2.123  12 2.02 4.0 2.904  12 2.14 2.0 5.438  12 0.202 1.0 2.233  12 2.12 1.0 2.975  12 0.08 1.0 3.732
;
"""


def test_weight_statement_matches_nlme_varfixed():
    """WEIGHT w: R = W^-1/2 R W^-1/2 (Var(e_i) = sigma^2 / w_i).  Reference: R nlme 3.1,
    lme(y ~ x, random = ~1 | g, weights = varFixed(~1/w), method = "REML") and the same gls() without
    the random intercept, run by hand on exactly these rows."""
    r = run_sas(WEIGHTED + "proc mixed data=d; class g; model y = x / s; random intercept / subject=g; weight w; run;\n"
                "proc mixed data=d; model y = x / s; weight w; run;\n")
    assert not r.errors, r.log
    cp = {row["CovParm"]: row["Estimate"] for row in _t(r, "CovParms").rows}
    assert cp["Intercept"] == pytest.approx(0.6252459, rel=1e-4)
    assert cp["Residual"] == pytest.approx(1.4019445, rel=1e-4)
    sol = _t(r, "SolutionF").rows
    assert (sol[0]["Estimate"], sol[1]["Estimate"]) == pytest.approx((1.5533951763, 0.6402595762), abs=2e-5)
    assert (sol[0]["StdErr"], sol[1]["StdErr"]) == pytest.approx((0.362485544, 0.120648600), rel=1e-4)
    fit = {row["Descr"]: row["Value"] for row in _t(r, "FitStatistics").rows}
    assert fit["-2 Res Log Likelihood"] == pytest.approx(194.3555865, abs=1e-3)
    gls = _t(r, "SolutionF", 1).rows
    assert (gls[0]["Estimate"], gls[1]["Estimate"]) == pytest.approx((1.9587985774, 0.4794175498), abs=1e-6)
    assert (gls[0]["StdErr"], gls[1]["StdErr"]) == pytest.approx((0.3218893697, 0.1364179666), rel=1e-5)
    assert _t(r, "CovParms", 1).rows[0]["Estimate"] == pytest.approx(2.212610979, rel=1e-5)


def test_weight_drops_nonpositive_weights():
    r = run_sas(WEIGHTED + "data d2; set d; if _n_ <= 3 then w = 0; run;\n"
                "data d3; set d; if _n_ > 3; run;\n"
                "proc mixed data=d2; model y = x / s; weight w; run;\n"
                "proc mixed data=d3; model y = x / s; weight w; run;\n")
    assert not r.errors, r.log
    a, b = _t(r, "SolutionF", 0).rows, _t(r, "SolutionF", 1).rows
    assert a[1]["Estimate"] == pytest.approx(b[1]["Estimate"], abs=1e-9)
    nobs = {row["Label"]: row["N"] for row in _t(r, "NObs", 0).rows}
    assert nobs["Number of Observations Used"] == 57
