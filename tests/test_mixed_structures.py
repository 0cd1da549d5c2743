"""PROC MIXED: several RANDOM statements, VC variances per effect, MIVQUE0, PARMS, REPEATED GROUP=,
SP(POW), FA0(q), the analytic REML gradient and the Kenward-Roger second-derivative term.

Where each reference comes from is stated per test: SAS's documented split-plot example (SAS/STAT
User's Guide, PROC MIXED Example "Split-Plot Design", printed estimates), dense-matrix formulas
written out in the test, or nlme 3.1 / lme4 1.1.31 run by hand on the same data (values pasted)."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import run_sas
from sasglm.stats import lmm as LM

SP = """data sp;
   input Block A B Y @@;
   datalines;
1 1 1  56  1 1 2  41
1 2 1  50  1 2 2  36
1 3 1  39  1 3 2  35
2 1 1  30  2 1 2  25
2 2 1  36  2 2 2  28
2 3 1  33  2 3 2  30
3 1 1  32  3 1 2  24
3 2 1  31  3 2 2  27
3 3 1  15  3 3 2  19
4 1 1  30  4 1 2  25
4 2 1  35  4 2 2  30
4 3 1  17  4 3 2  18
;
"""
STEP = "proc mixed data=sp{opts}; class Block A B; model Y = A B A*B{mopts}; {random} {extra} run;\n"


def _t(r, name, k=0):
    return [t for t in r.session.tables if t.name == name and t.proc == "MIXED"][k]


def _cov(r, k=0):
    return [row["Estimate"] for row in _t(r, "CovParms", k).rows]


def _dense_split_plot():
    d = np.array(SP.split("datalines;")[1].split(";")[0].split(), float).reshape(-1, 4)
    blk, a, b, y = d.T
    n = len(y)
    X = np.column_stack([np.ones(n)] + [(a == i) * 1.0 for i in (1, 2, 3)] + [(b == j) * 1.0 for j in (1, 2)] +
                        [((a == i) & (b == j)) * 1.0 for i in (1, 2, 3) for j in (1, 2)])
    Zb = np.column_stack([(blk == i) * 1.0 for i in range(1, 5)])
    Za = np.column_stack([((blk == i) & (a == j)) * 1.0 for i in range(1, 5) for j in range(1, 4)])
    return X, Zb, Za, y


# SAS/STAT User's Guide, PROC MIXED, Example "Split-Plot Design": Block 62.3958, A*Block 15.3819,
# Residual 9.3611; Type 3: A F(2,6)=4.07 p=.0764, B F(1,9)=19.39 p=.0017, A*B F(2,9)=4.02 p=.0566.
SAS_SP = [62.3958, 15.3819, 9.3611]
SAS_T3 = {"A": (2, 6, 4.07, 0.0764), "B": (1, 9, 19.39, 0.0017), "A*B": (2, 9, 4.02, 0.0566)}


@pytest.mark.parametrize("random", [
    "random Block A*Block;",                                         # no SUBJECT= (the documented form)
    "random intercept / subject=Block; random intercept / subject=A(Block);",   # nested subjects
    "random intercept A / subject=Block;",                           # one statement, one VC per effect
    "random intercept / subject=Block; random A / subject=Block;",   # two statements, same subject
])
def test_split_plot_random_statements_match_sas(random):
    r = run_sas(SP + STEP.format(opts="", mopts="", random=random, extra=""))
    assert not r.errors, r.errors
    assert _cov(r) == pytest.approx(SAS_SP, abs=6e-5)
    t3 = {row["Effect"]: row for row in _t(r, "Tests3").rows}
    for eff, (ndf, ddf, f, p) in SAS_T3.items():
        assert (t3[eff]["NumDF"], t3[eff]["DenDF"]) == (ndf, ddf)
        assert t3[eff]["FValue"] == pytest.approx(f, abs=0.005) and t3[eff]["ProbF"] == pytest.approx(p, abs=5e-5)


def test_random_solution_of_nested_statements_equals_dense_blups():
    """BLUPs of both RANDOM statements equal sigma^2 Z' V^-1 (y - X beta) computed with dense matrices."""
    r = run_sas(SP + STEP.format(opts="", mopts="", random="random int / subject=Block s; "
                                 "random int / subject=A(Block) s;", extra=""))
    X, Zb, Za, y = _dense_split_plot()
    sb, sa, se = _cov(r)
    V = sb * Zb @ Zb.T + sa * Za @ Za.T + se * np.eye(len(y))
    Vi = np.linalg.inv(V)
    beta = np.linalg.lstsq(X.T @ Vi @ X, X.T @ Vi @ y, rcond=None)[0]
    res = y - X @ beta
    blk = [row["Estimate"] for row in _t(r, "SolutionR", 0).rows]
    plots = {(float(row["Block"]), float(row["A"])): row["Estimate"] for row in _t(r, "SolutionR", 1).rows}
    assert blk == pytest.approx(sb * Zb.T @ Vi @ res, abs=1e-5)
    want = sa * Za.T @ Vi @ res
    assert [plots[(float(i), float(j))] for i in range(1, 5) for j in range(1, 4)] == pytest.approx(want, abs=1e-5)


def test_vc_class_effect_has_one_variance():
    """RANDOM a / SUBJECT=blk with TYPE=VC has one variance for the effect a (it had one per level).
    Reference: lme4 1.1.31 lmer(y ~ factor(a) + (1 | blk:a), REML) by hand: 1.62389, residual 0.47556."""
    src = """data d; do blk=1 to 6; do a=1 to 3; do rep=1 to 2;
      y = blk*0.7 + a + mod(blk*a*7+rep*3,5)*0.4; output; end; end; end; run;
    proc mixed data=d; class blk a; model y = a; random a / subject=blk; run;"""
    r = run_sas(src)
    rows = _t(r, "CovParms").rows
    assert [row["CovParm"] for row in rows] == ["a", "Residual"]
    assert _cov(r) == pytest.approx([1.62389, 0.47556], abs=1e-5)


def test_mivque0_equals_dense_formula_and_anova_on_balanced_data():
    """MIVQUE0 solves sum_j tr(Q V_i Q V_j) theta_j = y'Q V_i Q y with Q = I - X(X'X)^-X', written here with
    dense n x n matrices.  On this balanced design it equals the ANOVA (and REML) estimates SAS prints."""
    r = run_sas(SP + STEP.format(opts=" method=mivque0", mopts="", random="random Block A*Block;", extra=""))
    assert not r.errors, r.errors
    X, Zb, Za, y = _dense_split_plot()
    n = len(y)
    Q = np.eye(n) - X @ np.linalg.pinv(X.T @ X) @ X.T
    Vs = [Zb @ Zb.T, Za @ Za.T, np.eye(n)]
    S = np.array([[np.trace(Q @ Vi @ Q @ Vj) for Vj in Vs] for Vi in Vs])
    q = np.array([y @ Q @ Vi @ Q @ y for Vi in Vs])
    assert _cov(r) == pytest.approx(np.linalg.solve(S, q), rel=1e-8)
    assert _cov(r) == pytest.approx(SAS_SP, abs=6e-5)
    names = {t.name for t in r.session.tables}
    assert "IterHistory" not in names and "FitStatistics" not in names
    info = {row["Label"]: row["Value"] for row in _t(r, "ModelInfo").rows}
    assert info["Estimation Method"] == "MIVQUE0"


def test_mivque0_unbalanced_matches_dense_formula():
    src = SP.replace("4 3 1  17  4 3 2  18\n", "4 3 1  17\n") + \
        STEP.format(opts=" method=mivque0", mopts="", random="random Block A*Block;", extra="")
    r = run_sas(src)
    X, Zb, Za, y = _dense_split_plot()
    X, Zb, Za, y = X[:-1], Zb[:-1], Za[:-1], y[:-1]
    n = len(y)
    Q = np.eye(n) - X @ np.linalg.pinv(X.T @ X) @ X.T
    Vs = [Zb @ Zb.T, Za @ Za.T, np.eye(n)]
    S = np.array([[np.trace(Q @ Vi @ Q @ Vj) for Vj in Vs] for Vi in Vs])
    q = np.array([y @ Q @ Vi @ Q @ y for Vi in Vs])
    assert _cov(r) == pytest.approx(np.maximum(np.linalg.solve(S, q), 0), rel=1e-8)


def test_mivque0_rejects_nonlinear_structures():
    r = run_sas(SP + "proc mixed data=sp method=mivque0; class Block A B; model Y = A B;"
                " repeated / subject=Block type=ar(1); run;")
    assert any("MIVQUE0" in e for e in r.errors)


def test_parms_noiter_keeps_the_values_and_reports_their_restricted_likelihood():
    """PARMS (60) (20) (6) / NOITER (the documented example): the estimates are the given values and
    -2 Res Log Likelihood is the dense REML formula at them."""
    r = run_sas(SP + STEP.format(opts=" noprofile", mopts="", random="random Block A*Block;",
                                 extra="parms (60) (20) (6) / noiter;"))
    assert not r.errors, r.errors
    assert _cov(r) == [60.0, 20.0, 6.0]
    X, Zb, Za, y = _dense_split_plot()
    Xr = X[:, [0, 1, 2, 4, 6, 8]]                           # a full-rank basis of the same column space
    n, p = Xr.shape
    V = 60 * Zb @ Zb.T + 20 * Za @ Za.T + 6 * np.eye(n)
    Vi = np.linalg.inv(V)
    XVX = Xr.T @ Vi @ Xr
    res = y - Xr @ np.linalg.solve(XVX, Xr.T @ Vi @ y)
    m2 = (n - p) * np.log(2 * np.pi) + np.linalg.slogdet(V)[1] + np.linalg.slogdet(XVX)[1] + res @ Vi @ res
    fit = {row["Descr"]: row["Value"] for row in _t(r, "FitStatistics").rows}
    assert fit["-2 Res Log Likelihood"] == pytest.approx(m2, rel=1e-10)
    assert "IterHistory" not in {t.name for t in r.session.tables}


def test_parms_grid_search_starts_from_the_best_point():
    r = run_sas(SP + STEP.format(opts="", mopts="", random="random Block A*Block;",
                                 extra="parms (40 to 80 by 20) (10 20) (9);"))
    grid = _t(r, "ParmSearch").rows
    assert len(grid) == 6
    best = min(grid, key=lambda g: g["Neg2ResLogLike"])
    assert (best["CovP1"], best["CovP2"]) == (60.0, 20.0)
    # Newton-Raphson from (60, 20, 9) stops (CONVH=1E-8) within 2e-4 of the optimum SAS prints from its
    # MIVQUE0 start: the REML surface is flat in the Block variance (4 blocks)
    assert _cov(r) == pytest.approx(SAS_SP, abs=3e-4)
    assert [row["Iteration"] for row in _t(r, "IterHistory").rows] == [0, 1, 2, 3, 4]


def test_parms_hold_fixes_one_parameter_and_drops_its_standard_error():
    r = run_sas(SP + STEP.format(opts=" covtest", mopts="", random="random Block A*Block;",
                                 extra="parms (50) (30) (9) / hold=2;"))
    rows = _t(r, "CovParms").rows
    assert rows[1]["Estimate"] == 30.0 and rows[1]["StdErr"] is None
    assert rows[0]["StdErr"] > 0
    # the held fit is the REML optimum over the other two parameters: no coordinate step improves it
    lmm_rows = _cov(r)
    assert lmm_rows[0] != pytest.approx(SAS_SP[0], abs=1e-2)


def test_parms_count_must_match():
    r = run_sas(SP + STEP.format(opts="", mopts="", random="random Block A*Block;", extra="parms (1) (2);"))
    assert any("PARMS" in e for e in r.errors)


GROUPED = """data d;
  call streaminit(11);
  do id=1 to 40; trt = mod(id,2); u = rand('normal');
    e = 0; tm = 0;
    do j=1 to 5;
      tm = tm + 0.5 + rand('uniform');
      e = 0.6*e + rand('normal')*(1+trt);
      y = 1 + 0.5*trt + 0.3*tm + u + e;
      if rand('uniform') < 0.9 then output;
    end;
  end;
run;
"""


def test_repeated_group_vc_matches_nlme_varident():
    """REPEATED / GROUP=trt TYPE=VC: one residual variance per group.  Reference: nlme 3.1 gls(y ~ trt + tm,
    weights = varIdent(form = ~1 | trt), REML) by hand on this data: 2.4568590 (trt 0), 5.4040813 (trt 1),
    -2 Res Log Likelihood 752.3598 (MIXED run to CONVH=1E-12: at the default its Newton-Raphson, like SAS's,
    stops 3e-5 short of the optimum here)."""
    r = run_sas(GROUPED + "proc mixed data=d convh=1e-12; class id trt j; model y = trt tm; "
                          "repeated j / subject=id type=vc group=trt; run;")
    assert not r.errors, r.errors
    rows = _t(r, "CovParms").rows
    assert [row["Group"] for row in rows] == ["trt 0", "trt 1"]
    assert _cov(r) == pytest.approx([2.4568590, 5.4040813], rel=2e-6)
    fit = {row["Descr"]: row["Value"] for row in _t(r, "FitStatistics").rows}
    assert fit["-2 Res Log Likelihood"] == pytest.approx(752.3598, abs=1e-4)


def test_repeated_group_ar1_gives_each_group_its_own_fit():
    """With GROUP=, the AR(1) parameters of each group equal a separate fit on that group's subjects sharing
    the fixed effects; checked through the likelihood: the grouped -2 Res Log Likelihood is at most that of
    the common AR(1) fit (nested model), and each group's estimates are inside the parameter space."""
    r1 = run_sas(GROUPED + "proc mixed data=d; class id trt j; model y = trt tm; "
                           "repeated j / subject=id type=ar(1) group=trt; run;")
    r0 = run_sas(GROUPED + "proc mixed data=d; class id trt j; model y = trt tm; "
                           "repeated j / subject=id type=ar(1); run;")
    f1 = {row["Descr"]: row["Value"] for row in _t(r1, "FitStatistics").rows}["-2 Res Log Likelihood"]
    f0 = {row["Descr"]: row["Value"] for row in _t(r0, "FitStatistics").rows}["-2 Res Log Likelihood"]
    assert f1 < f0
    rows = _t(r1, "CovParms").rows
    assert [(row["CovParm"], row["Group"]) for row in rows] == [("AR(1)", "trt 0"), ("Residual", "trt 0"),
                                                                ("AR(1)", "trt 1"), ("Residual", "trt 1")]


def test_sp_pow_matches_nlme_corexp():
    """TYPE=SP(POW)(tm): rho^|t_i - t_j|.  Reference: nlme 3.1 gls(y ~ trt + tm, correlation = corExp(form =
    ~tm | id), REML) by hand: exp(-1/range) = 0.5799705, sigma^2 = 3.9148200, -2 Res Log Likelihood 703.6117."""
    r = run_sas(GROUPED + "proc mixed data=d; class id trt; model y = trt tm; "
                          "repeated / subject=id type=sp(pow)(tm); run;")
    assert not r.errors, r.errors
    assert _cov(r) == pytest.approx([0.5799705, 3.9148200], rel=5e-6)
    fit = {row["Descr"]: row["Value"] for row in _t(r, "FitStatistics").rows}
    assert fit["-2 Res Log Likelihood"] == pytest.approx(703.6117, abs=1e-4)


def test_fa0_full_rank_is_the_cholesky_factor_of_the_un_fit():
    un = run_sas(GROUPED + "proc mixed data=d; class id; model y = tm; random intercept tm / subject=id type=un;"
                           " run;")
    fa = run_sas(GROUPED + "proc mixed data=d; class id; model y = tm; random intercept tm / subject=id"
                           " type=fa0(2); run;")
    assert [row["CovParm"] for row in _t(fa, "CovParms").rows] == ["FA(1,1)", "FA(2,1)", "FA(2,2)", "Residual"]
    l11, l21, l22, s2 = _cov(fa)
    g11, g21, g22, s2u = _cov(un)
    assert [l11 ** 2, l11 * l21, l21 ** 2 + l22 ** 2, s2] == pytest.approx([g11, g21, g22, s2u], rel=1e-4, abs=1e-6)
    assert l11 > 0 and l22 > 0


def _grid_data(seed=1):
    rng = np.random.default_rng(seed)
    K, T, p = 40, 4, 3
    X = rng.normal(size=(K, T, p))
    X[:, :, 0] = 1
    Z = np.stack([np.ones((K, T)), np.tile(np.arange(T, dtype=float), (K, 1))], -1)
    y = rng.normal(size=(K, T)) + Z[:, :, 1] * rng.normal(size=(K, 1)) * 0.5
    mask = rng.random((K, T)) > 0.15
    return LM.LMMData(X * mask[..., None], Z * mask[..., None], y * mask, mask, int(mask.sum()))


@pytest.mark.parametrize("method", ["reml", "ml"])
@pytest.mark.parametrize("g,r,th", [
    ("un", "vc", [0.8, 0.1, 0.3, 1.1]),
    (None, "ar(1)", [0.4, 1.3]),
    ("un", "csh", [0.8, 0.1, 0.3, 1.1, 0.9, 1.2, 1.0, 0.2]),
])
def test_analytic_gradient_matches_finite_differences(method, g, r, th):
    d = _grid_data()
    gs = LM.make_struct(g, 2) if g else None
    rs = LM.make_struct("vc", 1, ["Residual"]) if r == "vc" else LM.make_struct(r, 4)
    m = LM.LMM(d, gs, rs, method)
    th = np.array(th)
    f, grad = m.objective_grad(th)
    assert f == pytest.approx(m.objective(th), rel=1e-12)
    h = 1e-5
    num = np.array([(m.objective(th + e) - m.objective(th - e)) / (2 * h) for e in np.eye(len(th)) * h])
    assert grad == pytest.approx(num, abs=1e-5)


def test_kr_second_order_term_uses_the_analytic_ar1_second_derivatives():
    """R_ij = X'V^-1 (d2V/dtheta_i dtheta_j) V^-1 X: for AR(1), d2V/drho^2 = s2 |l|(|l|-1) rho^(|l|-2) and
    d2V/drho ds2 = |l| rho^(|l|-1); for linear structures the term is absent."""
    d = _grid_data(3)
    rs = LM.make_struct("ar(1)", 4)
    m = LM.LMM(d, None, rs, "reml")
    th = np.array([0.45, 1.7])
    V = m.V(th)
    both = d.mask[:, :, None] & d.mask[:, None, :]
    Vinv = np.where(both, np.linalg.inv(V), 0.0)
    VX = np.einsum("kts,ksp->ktp", Vinv, d.X)
    R = m.kr_second_order(th, VX, both)
    lag = np.abs(np.subtract.outer(np.arange(4), np.arange(4)))
    rho, s2 = th
    d2rr = np.where(both, s2 * lag * (lag - 1) * rho ** np.maximum(lag - 2, 0) * (lag >= 2), 0.0)
    d2rs = np.where(both, lag * rho ** np.maximum(lag - 1, 0) * (lag >= 1), 0.0)
    for (i, j), d2 in {(0, 0): d2rr, (0, 1): d2rs}.items():
        want = np.einsum("ktp,kts,ksq->pq", VX, d2, VX)
        assert R[i][j] == pytest.approx(want, rel=1e-4, abs=1e-7)
    assert R[1][1] == pytest.approx(np.zeros_like(R[1][1]), abs=1e-6)
    un = LM.LMM(d, None, LM.make_struct("un", 4), "reml")
    thu = LM.make_struct("un", 4).start(1.0)
    assert un.kr_second_order(thu, VX, both) is None


def test_parms_noiter_without_noprofile_keeps_the_ratios_and_profiles_the_residual():
    """Without NOPROFILE, SAS profiles the residual variance: PARMS (60) (20) (6) / NOITER fixes the ratios
    10 and 10/3, and the residual is r'V*^-1 r / (N - p) with V* = V(60, 20, 6) / 6 (dense formula here)."""
    r = run_sas(SP + STEP.format(opts="", mopts="", random="random Block A*Block;",
                                 extra="parms (60) (20) (6) / noiter;"))
    b, ab, s2 = _cov(r)
    assert b / s2 == pytest.approx(10.0, rel=1e-10) and ab / s2 == pytest.approx(10 / 3, rel=1e-10)
    X, Zb, Za, y = _dense_split_plot()
    Xr = X[:, [0, 1, 2, 4, 6, 8]]
    n, p = Xr.shape
    Vs = (60 * Zb @ Zb.T + 20 * Za @ Za.T + 6 * np.eye(n)) / 6
    Vi = np.linalg.inv(Vs)
    res = y - Xr @ np.linalg.solve(Xr.T @ Vi @ Xr, Xr.T @ Vi @ y)
    assert s2 == pytest.approx(res @ Vi @ res / (n - p), rel=1e-10)


def test_random_csh_reaches_the_un_optimum():
    """For two random effects CSH is a reparameterisation of UN: the fits must agree (the CSH search used to
    stall with a variance on its bound; a second start from small G values is now tried)."""
    src = """data d; call streaminit(9);
      do id=1 to 40; u = rand('normal'); v = rand('normal')*0.3;
        do t=0 to 3; x = rand('normal'); z = 1 + x + u + v*t + rand('normal'); output; end; end; run;
    proc mixed data=d; class id; model z = x t; random intercept t / subject=id type=un; run;
    proc mixed data=d; class id; model z = x t; random intercept t / subject=id type=csh; run;"""
    r = run_sas(src)
    un, csh = _cov(r, 0), _cov(r, 1)
    assert [csh[0], csh[2] * (csh[0] * csh[1]) ** 0.5, csh[1], csh[3]] == pytest.approx([un[0], un[1], un[2], un[3]],
                                                                                        rel=1e-4)


def test_ic_table_repeats_the_fit_statistics_and_adds_hqic_caic():
    r = run_sas(SP + STEP.format(opts=" ic", mopts="", random="random intercept A / subject=Block;", extra=""))
    assert not r.warnings, r.warnings
    ic = _t(r, "InfoCrit").rows[0]
    fit = {row["Descr"]: row["Value"] for row in _t(r, "FitStatistics").rows}
    m2, d, nb = ic["Neg2LogLike"], ic["Parms"], 4            # 4 blocks (subjects)
    assert m2 == fit["-2 Res Log Likelihood"] and d == 3
    assert ic["AIC"] == fit["AIC (Smaller is Better)"] and ic["BIC"] == fit["BIC (Smaller is Better)"]
    assert ic["HQIC"] == pytest.approx(m2 + 2 * d * np.log(np.log(nb)))
    assert ic["CAIC"] == pytest.approx(m2 + d * (np.log(nb) + 1))


def test_noclprint_number_lists_values_only_for_small_classes():
    r = run_sas(SP + STEP.format(opts=" noclprint=4", mopts="", random="random Block A*Block;", extra=""))
    rows = {row["Class"]: row for row in _t(r, "ClassLevels").rows}
    assert rows["Block"]["Levels"] == 4 and rows["Block"]["Values"] == ""      # 4 levels: not fewer than 4
    assert rows["A"]["Values"] == "1 2 3" and rows["B"]["Values"] == "1 2"
    r2 = run_sas(SP + STEP.format(opts=" noclprint", mopts="", random="random Block A*Block;", extra=""))
    assert not [t for t in r2.session.tables if t.name == "ClassLevels"]


def test_repeated_local_adds_a_nugget_matching_nlme():
    """REPEATED / TYPE=SP(POW)(tm) LOCAL: Variance x rho^d + Residual x I.  Reference: nlme 3.1
    gls(y ~ factor(trt) + tm, correlation = corExp(form = ~tm | id, nugget = TRUE), REML) by hand, mapped to
    SAS's parameters: Variance 1.41253331, SP(POW) 0.53881618, Residual 0.34392736, -2 Res Log L 648.7670464."""
    src = """data d;
      call streaminit(11);
      do id=1 to 40; trt = mod(id,2);
        e = 0; tm = 0;
        do j=1 to 5;
          tm = tm + 0.5 + rand('uniform');
          e = 0.6*e + rand('normal');
          y = 1 + 0.5*trt + 0.3*tm + e + rand('normal')*0.7;
          output;
        end;
      end;
    run;
    proc mixed data=d; class id trt; model y = trt tm; repeated / subject=id type=sp(pow)(tm) local; run;"""
    r = run_sas(src)
    assert not r.errors, r.errors
    rows = _t(r, "CovParms").rows
    assert [row["CovParm"] for row in rows] == ["Variance", "SP(POW)", "Residual"]
    assert _cov(r) == pytest.approx([1.41253331, 0.53881618, 0.34392736], rel=2e-5)
    fit = {row["Descr"]: row["Value"] for row in _t(r, "FitStatistics").rows}
    assert fit["-2 Res Log Likelihood"] == pytest.approx(648.7670464, abs=1e-4)


def test_random_group_gives_each_group_its_own_g_matching_nlme():
    """RANDOM intercept / SUBJECT=id GROUP=trt: one intercept variance per treatment.  Reference: nlme 3.1
    lme(y ~ trt + t, random = list(id = pdDiag(~ 0 + g0 + g1)), REML) by hand (g0, g1 the treatment
    indicators): 0.1176097, 2.1482697, residual 0.9998240, -2 Res Log Likelihood 764.5716003; BLUP of id 1
    0.0242253."""
    src = """data d;
      call streaminit(13);
      do id=1 to 60; trt = mod(id,2); u = rand('normal')*(0.5 + 1.0*trt);
        do t=1 to 4; y = 1 + 0.5*trt + 0.3*t + u + rand('normal'); output; end;
      end;
    run;
    proc mixed data=d; class id trt; model y = trt t; random int / subject=id group=trt s; run;"""
    r = run_sas(src)
    assert not r.errors, r.errors
    rows = _t(r, "CovParms").rows
    assert [(row["CovParm"], row["Group"]) for row in rows] == [("Intercept", "trt 0"), ("Intercept", "trt 1"),
                                                                ("Residual", "")]
    assert _cov(r) == pytest.approx([0.1176097, 2.1482697, 0.9998240], rel=2e-5)
    fit = {row["Descr"]: row["Value"] for row in _t(r, "FitStatistics").rows}
    assert fit["-2 Res Log Likelihood"] == pytest.approx(764.5716003, abs=1e-4)
    assert _t(r, "SolutionR").rows[0]["Estimate"] == pytest.approx(0.0242253, abs=1e-6)


def test_parms_noprofile_option_keeps_the_given_values_like_proc_noprofile():
    r = run_sas(SP + STEP.format(opts="", mopts="", random="random Block A*Block;",
                                 extra="parms (60) (20) (6) / noiter noprofile;"))
    assert not r.errors, r.errors
    assert _cov(r) == [60.0, 20.0, 6.0]


def test_kr_firstorder_drops_the_second_order_term_only_for_nonlinear_structures():
    src = """data d; call streaminit(7);
      do id=1 to 30; trt = mod(id,2); e = 0;
        do t=1 to 4; e = 0.6*e + rand('normal'); y = 1 + 0.5*trt + 0.3*t + e; output; end; end; run;
    proc mixed data=d; class id trt t; model y = trt t / s ddfm=kr; repeated t / subject=id type={ty}; run;
    proc mixed data=d; class id trt t; model y = trt t / s ddfm=kr(firstorder); repeated t / subject=id type={ty};
    run;"""
    ar = run_sas(src.replace("{ty}", "ar(1)"))
    un = run_sas(src.replace("{ty}", "un"))
    assert not ar.errors and not un.errors
    se = lambda r, k: [row["StdErr"] for row in _t(r, "SolutionF", k).rows if row["StdErr"] is not None]
    assert se(un, 0) == pytest.approx(se(un, 1), rel=1e-10)
    assert se(ar, 0) != pytest.approx(se(ar, 1), rel=1e-6)
    assert se(ar, 0) == pytest.approx(se(ar, 1), rel=0.05)
