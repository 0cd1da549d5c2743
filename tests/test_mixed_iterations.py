"""PROC MIXED's Iteration History: SAS's ridge-stabilised Newton-Raphson on the profiled (restricted)
likelihood from MIVQUE0 starting values, with Evaluations and the relative Hessian criterion.

References: the Iteration History tables printed in the SAS/STAT User's Guide, PROC MIXED chapter
(Getting Started "Clustered Data Example": heights of family members; Example "Split-Plot Design";
Example "Repeated Measures": Pothoff and Roy growth data, METHOD=ML, TYPE=UN).  Each iterate there depends on
the starting values, the profiling of the residual variance, the exact Newton step and the criterion's
scaling, so matching all eight decimals of every row checks the algorithm, not only the optimum.
"""
import numpy as np
import pytest

from conftest import run_sas

HEIGHTS = """data heights;
   input Family Gender$ Height @@;
   datalines;
1 F 67   1 F 66   1 F 64   1 M 71   1 M 72   2 F 63
2 F 63   2 F 67   2 M 69   2 M 68   2 M 70   3 F 63
3 M 64   4 F 67   4 F 66   4 M 67   4 M 67   4 M 69
;
"""

PR = """data pr;
   input Person Gender $ y1 y2 y3 y4;
   y=y1; Age=8;  output;
   y=y2; Age=10; output;
   y=y3; Age=12; output;
   y=y4; Age=14; output;
   drop y1-y4;
   datalines;
 1   F   21.0    20.0    21.5    23.0
 2   F   21.0    21.5    24.0    25.5
 3   F   20.5    24.0    24.5    26.0
 4   F   23.5    24.5    25.0    26.5
 5   F   21.5    23.0    22.5    23.5
 6   F   20.0    21.0    21.0    22.5
 7   F   21.5    22.5    23.0    25.0
 8   F   23.0    23.0    23.5    24.0
 9   F   20.0    21.0    22.0    21.5
10   F   16.5    19.0    19.0    19.5
11   F   24.5    25.0    28.0    28.0
12   M   26.0    25.0    29.0    31.0
13   M   21.5    22.5    23.0    26.5
14   M   23.0    22.5    24.0    27.5
15   M   25.5    27.5    26.5    27.0
16   M   20.0    23.5    22.5    26.0
17   M   24.5    25.5    27.0    28.5
18   M   22.0    22.0    24.5    26.5
19   M   24.0    21.5    24.5    25.5
20   M   23.0    20.5    31.0    26.0
21   M   27.5    28.0    31.0    31.5
22   M   23.0    23.0    23.5    25.0
23   M   21.5    23.5    24.0    28.0
24   M   17.0    24.5    26.0    29.5
25   M   22.5    25.5    25.5    26.0
26   M   23.0    24.5    26.0    30.0
27   M   22.0    21.5    23.5    25.0
;
"""

SP = """data sp;
   input Block A B Y @@;
   datalines;
1 1 1  56  1 1 2  41  1 2 1  50  1 2 2  36  1 3 1  39  1 3 2  35
2 1 1  30  2 1 2  25  2 2 1  36  2 2 2  28  2 3 1  33  2 3 2  30
3 1 1  32  3 1 2  24  3 2 1  31  3 2 2  27  3 3 1  15  3 3 2  19
4 1 1  30  4 1 2  25  4 2 1  35  4 2 2  30  4 3 1  17  4 3 2  18
;
"""


def _history(r, k=0):
    t = [t for t in r.session.tables if t.name == "IterHistory" and t.proc == "MIXED"][k]
    return [(row["Iteration"], row["Evaluations"], row["Objective"], row["Criterion"]) for row in t.rows]


def _check(rows, expected):
    assert len(rows) == len(expected)
    for (i, e, v, c), (ei, ee, ev, ec) in zip(rows, expected):
        assert (i, e) == (ei, ee)
        assert v == pytest.approx(ev, abs=6e-9)          # printed with 8 decimals
        if ec is None:
            assert c is None
        else:
            assert c == pytest.approx(ec, abs=6e-9)


def test_heights_random_family_effects_follow_sas_iterations():
    # SAS Getting Started (Clustered Data Example): profiled REML Newton-Raphson from MIVQUE0, six iterations
    r = run_sas(HEIGHTS + "proc mixed; class Family Gender; model Height = Gender; random Family Family*Gender; run;")
    assert not r.errors, r.errors
    _check(_history(r), [(0, 1, 74.11074833, None), (1, 2, 71.51614003, 0.01441208),
                         (2, 1, 71.13845990, 0.00412226), (3, 1, 71.03613556, 0.00058188),
                         (4, 1, 71.02281757, 0.00001689), (5, 1, 71.02245904, 0.00000002),
                         (6, 1, 71.02245869, 0.00000000)])
    assert "Convergence criteria met." in r.out
    # iteration 0 prints no criterion (a blank, not a missing-value dot)
    line = next(ln for ln in r.out.splitlines() if "74.11074833" in ln)
    assert line.rstrip().endswith("74.11074833")


def test_split_plot_converges_at_the_mivque0_start():
    # SAS Example "Split-Plot Design": balanced data, MIVQUE0 is the REML estimate: one iteration, one evaluation
    r = run_sas(SP + "proc mixed data=sp; class A B Block; model Y = A B A*B; random Block A*Block; run;")
    _check(_history(r), [(0, 1, 139.81461222, None), (1, 1, 119.76184570, 0.0)])


def test_pothoff_roy_unstructured_ml_starts_from_residual_cross_products():
    # SAS Example "Repeated Measures" (METHOD=ML, REPEATED TYPE=UN): no residual to profile; the start is the
    # OLS residual cross-products over subjects
    r = run_sas(PR + "proc mixed data=pr method=ml covtest; class Person Gender;\n"
                     "model y = Gender Age Gender*Age / s; repeated / type=un subject=Person r; run;")
    assert not r.errors, r.errors
    _check(_history(r), [(0, 1, 478.24175986, None), (1, 2, 419.47721707, 0.00000152),
                         (2, 1, 419.47704812, 0.00000000)])
    hdr = next(ln for ln in r.out.splitlines() if "Evaluations" in ln)
    assert hdr.split() == ["Iteration", "Evaluations", "-2", "Log", "Like", "Criterion"]


def test_convh_and_maxiter_options():
    step = "proc mixed {o}; class Family Gender; model Height = Gender; random Family Family*Gender; run;"
    r = run_sas(HEIGHTS + step.format(o="convh=1e-3") + step.format(o="maxiter=2"))
    # CONVH=1E-3: the criterion 0.00058188 of iteration 3 ends the iteration there
    assert [row[0] for row in _history(r, 0)] == [0, 1, 2, 3]
    # MAXITER=2 stops before convergence: SAS's warning and the estimates of the last iterate
    assert [row[0] for row in _history(r, 1)] == [0, 1, 2]
    assert "WARNING: Did not converge." in r.log


def test_profiled_newton_hessian_is_the_hessian_of_the_profiled_objective():
    """The analytic Hessian (linear structures), moved to the profiled coordinates by the Schur complement of
    the scale, against second differences of the profiled objective itself."""
    from sasglm.stats import lmm as LM
    rng = np.random.default_rng(3)
    K, T = 30, 3
    X = np.stack([np.ones((K, T)), rng.normal(size=(K, T))], axis=2)
    Z = np.ones((K, T, 1))
    y = X[..., 1] + rng.normal(size=(K, 1)) + rng.normal(size=(K, T))
    d = LM.LMMData(X, Z, y, np.ones((K, T), bool), K * T)
    m = LM.LMM(d, LM.make_gside("vc", 1), LM.make_struct("vc", 1, ["Residual"]), "reml")

    def fp(x):
        t = np.array([x[0], 1.0])
        return m.objective(t * m.profiled_scale(t))
    x0 = np.array([0.7])
    h = 1e-4
    num = (fp(x0 + h) - 2 * fp(x0) + fp(x0 - h)) / h ** 2
    from sasglm.stats.lmm_newton import newton_raphson, profiled_hessian
    s = m.profiled_scale(np.array([x0[0], 1.0]))
    th = np.array([x0[0] * s, s])
    f, g, H = m.hessian_linear(th)
    assert profiled_hessian(g, H, x0, s, 1, [1.0, 1.0])[0, 0] == pytest.approx(num, rel=1e-5)
    # and the iteration converges to the optimum of the objective
    res = newton_raphson(m, th, resid=1, expo=[1.0, 1.0], convh=1e-14)
    assert res.converged
    opt = m.fit(th)
    assert res.theta == pytest.approx(opt.theta, rel=1e-6)


def test_v_and_r_value_lists_print_the_listed_subjects_blocks():
    # SAS RANDOM V=value-list / REPEATED R=value-list: blocks of the listed subjects (1-based, in the order
    # the subjects appear), titled with the subject's value; BIOS667 fat002.sas uses v = 20, 30 vcorr = 20, 30
    r = run_sas(PR + """proc mixed data=pr; class Person Gender; model y = Gender Age Gender*Age;
        random intercept / subject=Person v = 3, 12 vcorr = 12; run;
      proc mixed data=pr; class Person Gender; model y = Gender Age Gender*Age;
        repeated / type=un subject=Person r = 2, 27 rcorr; run;""")
    assert not r.errors, r.errors
    titles = [t.title for t in r.session.tables if t.name in ("V", "VCorr", "R", "RCorr")]
    assert titles == ["Estimated V Matrix for Person 3", "Estimated V Matrix for Person 12",
                      "Estimated V Correlation Matrix for Person 12", "Estimated R Matrix for Person 2",
                      "Estimated R Matrix for Person 27", "Estimated R Correlation Matrix for Person 1"]
    v3 = [t for t in r.session.tables if t.name == "V"][0].rows
    cp = {row["CovParm"]: row["Estimate"] for row in
          [t for t in r.session.tables if t.name == "CovParms"][0].rows}
    assert v3[0]["Col1"] == pytest.approx(cp["Intercept"] + cp["Residual"], rel=1e-12)
    assert v3[0]["Col2"] == pytest.approx(cp["Intercept"], rel=1e-12)
    r2 = run_sas(PR + "proc mixed data=pr; class Person Gender; model y = Gender;"
                      " random intercept / subject=Person v = 28; run;")
    assert any("V= value 28 is not a subject number between 1 and 27" in e for e in r2.errors)


def test_random_intercept_with_repeated_cs_is_confounded_and_the_sweep_keeps_cs_at_0():
    # BIOS667 tlc010 "A non-identifiable model": RANDOM INTERCEPT and REPEATED TYPE=CS have the same V
    # derivative.  SAS's sweep (MIVQUE0 equations, Newton step, covariance) leaves the later parameter, CS, at 0;
    # the fit is the random-intercept fit, the final Hessian is singular (SAS's NOTE) and CS has no standard error.
    base = "proc mixed data=pr covtest; class Person Gender; model y = Gender Age Gender*Age; {s} run;"
    r = run_sas(PR + base.format(s="random intercept / subject=Person type=un; "
                                   "repeated / subject=Person type=cs;")
                + base.format(s="random intercept / subject=Person;"))
    assert not r.errors, r.errors
    both = [t for t in r.session.tables if t.name == "CovParms"][0].rows
    ri = [t for t in r.session.tables if t.name == "CovParms"][1].rows
    assert [x["CovParm"] for x in both] == ["UN(1,1)", "CS", "Residual"]
    assert both[1]["Estimate"] == 0.0
    assert both[1]["StdErr"] is None or np.isnan(both[1]["StdErr"])
    assert [both[0]["Estimate"], both[2]["Estimate"]] == pytest.approx([x["Estimate"] for x in ri], rel=1e-6)
    assert "NOTE: Convergence criteria met but final hessian is not positive definite." in r.log
    assert r.log.count("NOTE: Convergence criteria met.") == 1


def test_model_cl_adds_t_limits_to_the_solution():
    # SAS MODEL CL (ALPHA=): Alpha, Lower, Upper after Pr > |t|, est +- t(1 - alpha/2, DF) SE on each row's DF;
    # the CAMIS MMRM program uses "solution cl alpha=0.05 ddfm=KR"
    from scipy import stats
    r = run_sas(PR + "proc mixed data=pr; class Person Gender; model y = Gender Age Gender*Age / s cl alpha=0.1"
                     " ddfm=kr; repeated / type=un subject=Person; run;")
    assert not r.errors and not r.warnings, (r.errors, r.warnings)
    t = [t for t in r.session.tables if t.name == "SolutionF"][0]
    assert [c.name for c in t.columns][-3:] == ["Alpha", "Lower", "Upper"]
    for row in t.rows:
        if row["StdErr"] is None:
            assert row["Lower"] is None and row["Alpha"] is None
            continue
        q = stats.t.ppf(0.95, row["DF"])
        assert row["Alpha"] == 0.1
        assert row["Lower"] == pytest.approx(row["Estimate"] - q * row["StdErr"], rel=1e-12)
        assert row["Upper"] == pytest.approx(row["Estimate"] + q * row["StdErr"], rel=1e-12)


def test_reml_unstructured_with_saturated_means_converges_at_the_mivque0_start():
    # As in SAS output for a complete, balanced REPEATED TYPE=UN fit with a cell-means model (FEV1 drug x hour:
    # "0 1 1263.95663130 / 1 1 197.46436713 0.00000000", Columns in Z 0): under REML the MIVQUE0 start is the
    # REML estimate, so iteration 1 evaluates only the start.  (Under ML the start is the residual
    # cross-products over subjects, test above.)
    r = run_sas(PR + "proc mixed data=pr; class Person Gender Age; model y = Gender Age Gender*Age;"
                     " repeated Age / type=un subject=Person; run;")
    assert not r.errors, r.errors
    rows = _history(r)
    assert [(i, e) for i, e, _, _ in rows] == [(0, 1), (1, 1)]
    assert rows[1][3] < 5e-9
    dims = {row["Descr"]: row["Value"] for row in [t for t in r.session.tables if t.name == "Dimensions"][0].rows}
    assert dims["Columns in Z"] == 0 and dims["Subjects"] == 27


def test_model_covb_and_corrb_tables():
    # SAS MODEL COVB / CORRB: "Covariance (Correlation) Matrix for Fixed Effects", one row per X column with
    # zeros for the redundant ones (ODS CovB is what PROC MIANALYZE reads after MIXED); its diagonal is the
    # square of the solution's standard errors
    r = run_sas(PR + "proc mixed data=pr; class Person Gender; model y = Gender Age Gender*Age / s covb corrb;"
                     " repeated / type=un subject=Person; run;")
    assert not r.errors and not r.warnings, (r.errors, r.warnings)
    cb = [t for t in r.session.tables if t.name == "CovB"][0]
    cr = [t for t in r.session.tables if t.name == "CorrB"][0]
    sol = [t for t in r.session.tables if t.name == "SolutionF"][0].rows
    assert cb.title == "Covariance Matrix for Fixed Effects"
    assert [c.name for c in cb.columns][:3] == ["Row", "Effect", "Gender"]
    for i, (row, s) in enumerate(zip(cb.rows, sol)):
        v = row[f"Col{i + 1}"]
        if s["StdErr"] is None:
            assert v == 0.0
        else:
            assert v == pytest.approx(s["StdErr"] ** 2, rel=1e-10)
            assert cr.rows[i][f"Col{i + 1}"] == pytest.approx(1.0)
    assert cb.rows[0]["Col2"] == pytest.approx(cb.rows[1]["Col1"])


def test_asycov_is_twice_the_inverse_hessian_shown_with_the_estimates_labels():
    # SAS PROC MIXED ASYCOV: "Asymptotic Covariance Matrix of Estimates" (ODS AsyCov; Row, CovParm, Subject,
    # CovP1..); its diagonal is the square of COVTEST's standard errors
    r = run_sas(PR + "proc mixed data=pr asycov asycorr covtest; class Person Gender; model y = Gender Age Gender*Age;"
                     " random intercept / subject=Person; run;")
    assert not r.errors and not r.warnings, (r.errors, r.warnings)
    ac = [t for t in r.session.tables if t.name == "AsyCov"][0]
    cp = [t for t in r.session.tables if t.name == "CovParms"][0].rows
    assert [c.name for c in ac.columns] == ["Row", "CovParm", "Subject", "CovP1", "CovP2"]
    assert [row["CovParm"] for row in ac.rows] == ["Intercept", "Residual"]
    for i, row in enumerate(ac.rows):
        assert row[f"CovP{i + 1}"] == pytest.approx(cp[i]["StdErr"] ** 2, rel=1e-10)
    assert ac.rows[0]["CovP2"] == pytest.approx(ac.rows[1]["CovP1"])
    rc = [t for t in r.session.tables if t.name == "AsyCorr"][0]
    assert rc.title == "Asymptotic Correlation Matrix of Estimates"
    assert rc.rows[0]["CovP2"] == pytest.approx(ac.rows[0]["CovP2"] / (cp[0]["StdErr"] * cp[1]["StdErr"]))


def test_nobound_lets_a_variance_go_negative_to_the_anova_estimate():
    # PROC MIXED NOBOUND: no boundary constraint on variances.  Balanced one-way data with little between-group
    # spread: with bounds the Intercept variance stops at 0; without, REML gives the ANOVA estimates
    # (MSB - MSW) / n and MSW (closed form, computed here from the same numbers)
    vals = [[0.31, -1.20, 0.85, 0.10, -0.44], [-0.95, 1.33, 0.02, -0.61, 0.48], [0.77, -0.18, -1.05, 0.36, 0.90],
            [-0.29, 0.64, -0.83, 1.12, -0.07], [0.55, -0.71, 0.19, -1.38, 0.83], [-0.12, 0.98, -0.49, 0.27, -0.66]]
    lines = "\n".join(f"{i} {v}" for i, row in enumerate(vals) for v in row)
    step = "proc mixed data=a {o}; class id; model y = ; random intercept / subject=id; run;"
    r = run_sas(f"data a; input id y; datalines;\n{lines}\n;\n" + step.format(o="") + step.format(o="nobound"))
    assert not r.errors and not r.warnings, (r.errors, r.warnings)
    a = np.array(vals)
    n, k = a.shape[1], a.shape[0]
    msw = ((a - a.mean(axis=1, keepdims=True)) ** 2).sum() / (k * (n - 1))
    msb = n * ((a.mean(axis=1) - a.mean()) ** 2).sum() / (k - 1)
    assert (msb - msw) / n < 0
    bounded, free = [[row["Estimate"] for row in t.rows] for t in r.session.tables if t.name == "CovParms"]
    assert bounded[0] == 0.0
    # (the MIVQUE0 start has the negative variance set to 0, so Newton-Raphson stops, under CONVH=1E-8, a few
    # 1e-6 from the optimum rather than at it)
    assert free == pytest.approx([(msb - msw) / n, msw], rel=1e-5)


def test_a_variance_on_its_bound_has_no_standard_error():
    # A variance estimated on its bound 0 is an active constraint: SAS prints "0" with no standard error, Z or
    # p-value, and the other parameters' standard errors come from the information with it held at 0.  With
    # the intercept variance at 0 the model is the one without RANDOM, so the residual variance and its
    # standard error must equal that model's (an exact check; before, the full information's inverse was used)
    vals = [[0.31, -1.20, 0.85, 0.10, -0.44], [-0.95, 1.33, 0.02, -0.61, 0.48], [0.77, -0.18, -1.05, 0.36, 0.90],
            [-0.29, 0.64, -0.83, 1.12, -0.07], [0.55, -0.71, 0.19, -1.38, 0.83], [-0.12, 0.98, -0.49, 0.27, -0.66]]
    lines = "\n".join(f"{i} {v}" for i, row in enumerate(vals) for v in row)
    r = run_sas(f"data a; input id y; datalines;\n{lines}\n;\n"
                "proc mixed data=a covtest; class id; model y = ; random intercept / subject=id; run;\n"
                "proc mixed data=a covtest; class id; model y = ; repeated / subject=id; run;")
    assert not r.errors, r.errors
    bounded, plain = [t.rows for t in r.session.tables if t.name == "CovParms"]
    assert bounded[0]["Estimate"] == 0.0
    assert bounded[0]["StdErr"] is None and bounded[0]["ZValue"] is None and bounded[0]["ProbZ"] is None
    assert bounded[1]["Estimate"] == pytest.approx(plain[0]["Estimate"], rel=1e-6)
    assert bounded[1]["StdErr"] == pytest.approx(plain[0]["StdErr"], rel=1e-6)
    assert "Estimated G matrix is not positive definite" in r.log
