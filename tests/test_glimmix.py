"""PROC GLIMMIX by adaptive quadrature and Laplace.  Reference numbers: ../shared/reference/README.md
(independent implementation for QUAD; glmmTMB for Laplace; lme4 nAGQ=K for a scalar random effect)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from conftest import COUNT_ROWS, SHARED, SHARED_DATA, needs_shared, run_sas
from sasglm.stats import glm as GL
from sasglm.stats import glmm as M
from sasglm.stats.families import Binomial, Log, Logit, Poisson

COURSE = (SHARED / "seed" / "course_program.sas")


def _tables(r, name):
    return [t for t in r.session.tables if t.name == name and t.proc == "GLIMMIX"]


@pytest.fixture(scope="module")
def course():
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data not present")
    return run_sas(COURSE.read_text(), libname_overrides={"s857": str(SHARED_DATA)})


def _solution(t):
    return [(r["Estimate"], r["StdErr"]) for r in t.rows if r["StdErr"] is not None]


@needs_shared
def test_course_program_runs_clean(course):
    assert not course.errors, course.errors
    assert course.exit_status == 1        # only the two ODS destination warnings


@needs_shared
def test_course_amenorrhea_quad5(course):
    sol = _tables(course, "ParameterEstimates")[0]
    got = _solution(sol)
    # reference: 3 decimals for the 5-point grid (note 5 of the reference file); we meet 4.  The reference
    # file lists Pr(y=0) estimates (its note 1); DIST=BINOMIAL with a numeric 0/1 response models Pr(y=1) in
    # SAS (see test_conformance's CAMIS case), so the fixed effects are their negatives and G is unchanged.
    est = [-3.3857, 0.8002, 0.0174, 0.5373, -0.0971]
    emp = [0.4876, 0.3661, 0.0685, 0.1937, 0.0521]
    for (b, se), e, s in zip(got, est, emp):
        assert b == pytest.approx(e, abs=1.5e-4) and se == pytest.approx(s, abs=1.5e-4)
    cp = _tables(course, "CovParms")[0].rows
    assert [r["Estimate"] for r in cp] == pytest.approx([4.0743, -0.1120, 0.3683], abs=1.5e-4)
    assert [r["StdErr"] for r in cp] == pytest.approx([1.793, 0.434, 0.139], abs=1.5e-3)
    fit = {r["Descr"]: r["Value"] for r in _tables(course, "FitStatistics")[0].rows}
    assert fit["-2 Log Likelihood"] == pytest.approx(3856.659, abs=2e-3)
    assert not [t for t in course.session.tables if t.name == "ResponseProfile" and t.proc == "GLIMMIX"]


@needs_shared
def test_course_epilepsy_quad50(course):
    sol = _tables(course, "ParameterEstimates")[1]
    got = _solution(sol)
    est = [1.0989, -0.0355, 0.0114, -0.1077]
    emp = [0.1510, 0.0271, 0.2006, 0.0509]
    for (b, se), e, s in zip(got, est, emp):
        assert b == pytest.approx(e, abs=5e-5) and se == pytest.approx(s, abs=5e-5)
    cp = _tables(course, "CovParms")[1].rows
    assert [r["Estimate"] for r in cp] == pytest.approx([0.5504, 0.0295, 0.0259], abs=5e-5)
    assert [r["StdErr"] for r in cp] == pytest.approx([0.0961, 0.0209, 0.0078], abs=5e-5)
    fit = {r["Descr"]: r["Value"] for r in _tables(course, "FitStatistics")[1].rows}
    assert fit["-2 Log Likelihood"] == pytest.approx(1929.828, abs=5e-4)


def _amen_data():
    a = pd.read_csv(SHARED_DATA / "amenorrhea.csv").dropna()
    y = (a.y == 0).astype(float).values
    X = np.column_stack([np.ones(len(a)), a.time, a.time ** 2, a.trt * a.time, a.trt * a.time ** 2])
    Z = np.column_stack([np.ones(len(a)), a.time])
    codes = pd.factorize(a.id)[0]
    return M.GLMMData.make(X, Z, y, np.ones(len(a)), np.zeros(len(a)), codes, Binomial(), Logit()), X, y


@needs_shared
@pytest.mark.parametrize("points,est,theta,m2ll", [
    (50, [3.4483, -0.8161, -0.0176, -0.5479, 0.0990], [4.6562, -0.3358, 0.5105], 3854.175),
    (1, [3.3442, -0.8340, -0.0026, -0.5125, 0.0925], [2.981, 0.158, 0.132], 3911.35),   # glmmTMB Laplace
])
def test_amenorrhea_other_grids(points, est, theta, m2ll):
    data, X, y = _amen_data()
    g = GL.fit(X, y, np.ones(len(y)), np.zeros(len(y)), Binomial(), Logit(), np.zeros(5, bool))
    res = M.fit(M.AGQ(data, M.make_cov("un", 2), points), g.beta, np.array([1.0, 0.0, 0.1]), beta_cov0=g.cov)
    assert res.beta == pytest.approx(est, abs=1.5e-4)
    assert res.theta == pytest.approx(theta, abs=1.5e-3)
    assert -2 * res.loglik == pytest.approx(m2ll, abs=0.01)


def _epil(random_slope=True):
    e = pd.read_csv(SHARED_DATA / "epilepsy.csv")
    rows = []
    for _, r in e.iterrows():
        for t, y in zip(range(5), [r.y0, r.y1, r.y3, r.y3, r.y4]):
            rows.append((r.id, r.trt, t, y, math.log(8) if t == 0 else math.log(2)))
    d = pd.DataFrame(rows, columns=["id", "trt", "time", "y", "t"])
    X = np.column_stack([np.ones(len(d)), d.time, d.trt, d.trt * d.time])
    Z = np.column_stack([np.ones(len(d)), d.time]) if random_slope else np.ones((len(d), 1))
    codes = pd.factorize(d.id)[0]
    y = d.y.values.astype(float)
    return M.GLMMData.make(X, Z, y, np.ones(len(d)), d.t.values, codes, Poisson(), Log()), X, y, d.t.values


@needs_shared
@pytest.mark.parametrize("k,beta,var", [
    (1, [1.04438, 0.02162, -0.03503, -0.04237], 0.65033),
    (7, [1.04430, 0.02162, -0.03502, -0.04238], 0.65106),
    (25, [1.04431, 0.02162, -0.03503, -0.04238], 0.65107),
])
def test_scalar_random_effect_matches_lme4_nagq(k, beta, var):
    """Random intercept only: adaptive quadrature with K points is what lme4's glmer(nAGQ=K) computes."""
    data, X, y, off = _epil(random_slope=False)
    g = GL.fit(X, y, np.ones(len(y)), off, Poisson(), Log(), np.zeros(4, bool))
    res = M.fit(M.AGQ(data, M.make_cov("vc", 1), k), g.beta, np.array([0.5]), beta_cov0=g.cov)
    # lme4 prints 5 decimals and stops at its own (looser) optimiser tolerance
    assert res.beta == pytest.approx(beta, abs=5e-5)
    assert res.theta[0] == pytest.approx(var, abs=5e-5)


@needs_shared
def test_one_point_quadrature_is_laplace():
    r1 = run_sas(f"libname s '{SHARED_DATA}';\ndata e; set s.epilepsy; do time = 0 to 4; y = y1; output; end; run;\n"
                 "proc glimmix data=e method=quad(qpoints=1); class id; model y = time / dist=poisson s;\n"
                 "random intercept / subject=id; run;\n"
                 "proc glimmix data=e method=laplace; class id; model y = time / dist=poisson s;\n"
                 "random intercept / subject=id; run;\n")
    a, b = _tables(r1, "ParameterEstimates")
    assert [x["Estimate"] for x in a.rows] == pytest.approx([x["Estimate"] for x in b.rows], abs=1e-8)


@needs_shared
def test_analytic_gradient_matches_finite_differences():
    data, X, y, off = _epil()
    agq = M.AGQ(data, M.make_cov("un", 2), 5)
    beta, theta = np.array([1.0, -0.03, 0.02, -0.1]), np.array([0.5, 0.03, 0.03])
    _, g = agq.subject_grad(beta, theta)
    z = np.concatenate([beta, theta])
    for j in range(7):
        e = np.zeros(7)
        e[j] = 1e-6
        f = lambda zz: agq.subject_loglik(zz[:4], agq.cov.G(zz[4:])).sum()
        assert g.sum(axis=0)[j] == pytest.approx((f(z + e) - f(z - e)) / 2e-6, rel=1e-5, abs=1e-5)


def test_simulation_recovers_parameters():
    rng = np.random.default_rng(2024)
    K, T = 1500, 5
    G = np.array([[0.8, 0.1], [0.1, 0.2]])
    b = rng.multivariate_normal([0, 0], G, size=K)
    t = np.tile(np.arange(T), K).astype(float)
    x = rng.normal(size=K * T)
    eta = -0.5 + 0.3 * t + 0.6 * x + np.repeat(b[:, 0], T) + np.repeat(b[:, 1], T) * t
    y = (rng.random(K * T) < 1 / (1 + np.exp(-eta))).astype(float)
    X = np.column_stack([np.ones(K * T), t, x])
    Z = np.column_stack([np.ones(K * T), t])
    codes = np.repeat(np.arange(K), T)
    data = M.GLMMData.make(X, Z, y, np.ones(K * T), np.zeros(K * T), codes, Binomial(), Logit())
    g = GL.fit(X, y, np.ones(K * T), np.zeros(K * T), Binomial(), Logit(), np.zeros(3, bool))
    res = M.fit(M.AGQ(data, M.make_cov("un", 2), 5), g.beta, np.array([1.0, 0.0, 0.1]), beta_cov0=g.cov)
    se = np.sqrt(np.diag(res.cov))
    truth = np.array([-0.5, 0.3, 0.6, 0.8, 0.1, 0.2])
    got = np.concatenate([res.beta, res.theta])
    assert np.all(np.abs(got - truth) < 4 * se), (got, se)


PLDATA = ("data a; call streaminit(11); do id = 1 to 60; b = rand('normal', 0, 1); do t = 1 to 5;\n"
          "x = rand('normal'); p = 1 / (1 + exp(-(-0.3 + 0.4 * x + b))); y = rand('bernoulli', p); output;\n"
          "end; end; run;\n")


def test_rspl_normal_equals_mixed_reml():
    """For a normal response the pseudo-likelihood is the likelihood: RSPL must reproduce PROC MIXED REML."""
    r = run_sas(PLDATA + "proc glimmix data=a; class id; model x = t / s; random intercept / subject=id; run;\n"
                "proc mixed data=a; class id; model x = t / s; random intercept / subject=id; run;\n")
    g = [row["Estimate"] for row in _tables(r, "CovParms")[0].rows]
    m = [row["Estimate"] for row in [t for t in r.session.tables if t.proc == "MIXED" and t.name == "CovParms"][0].rows]
    assert g == pytest.approx(m, rel=1e-5)
    fit = {row["Descr"]: row["Value"] for row in _tables(r, "FitStatistics")[0].rows}
    assert fit["Gener. Chi-Square / DF"] == pytest.approx(m[1], rel=1e-5)


def test_rspl_binary_default_method_converges_and_mpl_variants_run():
    r = run_sas(PLDATA + "proc glimmix data=a; class id; model y(event='1') = x / dist=binary s;\n"
                "random intercept / subject=id; run;\n"
                "proc glimmix data=a method=mmpl; class id; model y(event='1') = x / dist=binary s ddfm=residual;\n"
                "random intercept / subject=id; run;\n")
    assert not r.errors and not r.warnings
    conv = [t for t in r.session.tables if t.name == "ConvergenceStatus" and t.proc == "GLIMMIX"]
    assert len(conv) == 2
    sol = _tables(r, "ParameterEstimates")
    assert sol[0].rows[1]["Estimate"] == pytest.approx(0.40, abs=0.15)      # the simulated slope 0.4
    assert sol[1].rows[1]["DF"] == 298                                        # DDFM=RESIDUAL: 300 - 2


def test_odds_ratios_of_a_main_effects_model_are_exp_of_the_solutions():
    # SAS's OddsRatios table (MODEL / ODDSRATIO): with no interactions, a continuous covariate's odds
    # ratio is exp(beta) for a one-unit change and a class level's is exp(beta_level - beta_last) =
    # exp(beta_level); the limits use the same t quantile as the solution's CL (identities, no reference)
    prog = ("data d; do id = 1 to 40; u = rannor(1); g = mod(id, 3); do t = 1 to 4;\n"
            "  y = (ranuni(2) < 1/(1+exp(-(u + 0.3*t - 0.5 + 0.4*g)))); output; end; end; run;\n"
            "proc glimmix data=d method=quad; class id g;\n"
            "  model y = t g / dist=binary oddsratio solution cl; random intercept / subject=id; run;\n")
    r = run_sas(prog)
    assert not r.errors, r.errors
    # g is numeric and unformatted, so its level column is numeric (missing on rows without g), as in SAS
    sol = {(row["Effect"], row.get("g")): row for row in _tables(r, "ParameterEstimates")[0].rows}
    # rows name the two conditions in the columns g/_g and t/_t (t at its mean, t + 1 for t's own row); the
    # numeric CLASS variable's level columns are numeric, as in the solution table
    ors = {("t", None) if row["g"] is None else ("g", row["g"]): row for row in _tables(r, "OddsRatios")[0].rows}
    for key_or, key_sol in [(("t", None), ("t", None)), (("g", 0.0), ("g", 0.0)), (("g", 1.0), ("g", 1.0))]:
        s, o = sol[key_sol], ors[key_or]
        assert o["Estimate"] == pytest.approx(math.exp(s["Estimate"]), rel=1e-10)
        assert o["Lower"] == pytest.approx(math.exp(s["Lower"]), rel=1e-8)
        assert o["Upper"] == pytest.approx(math.exp(s["Upper"]), rel=1e-8)
    assert ors[("g", 0.0)]["_g"] == 2.0
    assert ors[("t", None)]["t"] == pytest.approx(ors[("t", None)]["_t"] + 1.0)
    assert ors[("t", None)]["_t"] == pytest.approx(2.5)


GLM_MODE_DATA = "data d; input g x y; datalines;\n" + COUNT_ROWS + "3 1.7 6\n;\n"


def test_glm_mode_without_random_matches_glm_and_reml_least_squares():
    # No RANDOM statement: GLIMMIX fits the GLM (ML for Poisson; REML = least squares for the normal,
    # scale = MSE), t/F tests on the residual DF.  References: R 4.x by hand (2026-11-24):
    # glm(y ~ g + x, poisson): -2 logLik 31.91389168, x 0.58046324 (SE 0.20329129);
    # lm(y ~ g + x): -2 REML logLik 23.39386317, sigma^2 2.284817738, x 2.57609921 (SE 0.62159799, p 0.008959375)
    r = run_sas(GLM_MODE_DATA + "proc glimmix data=d; class g; model y = g x / dist=poisson s; run;\n"
                "proc glimmix data=d; class g; model y = g x / s; run;\n")
    assert not r.errors, r.errors
    pe = _tables(r, "ParameterEstimates")
    fit = _tables(r, "FitStatistics")
    pois = {row["Effect"]: row for row in pe[0].rows if row["Effect"] != "g"}
    assert pois["x"]["Estimate"] == pytest.approx(0.58046324, abs=1e-7)
    assert pois["x"]["StdErr"] == pytest.approx(0.20329129, abs=1e-6)   # R stops IRLS at 1e-8 deviance change
    assert pois["x"]["DF"] == 5
    assert fit[0].rows[0]["Value"] == pytest.approx(31.91389168, abs=1e-6)
    norm = {row["Effect"]: row for row in pe[1].rows if row["Effect"] != "g"}
    assert norm["x"]["Estimate"] == pytest.approx(2.57609921, abs=1e-7)
    assert norm["x"]["StdErr"] == pytest.approx(0.62159799, abs=1e-7)
    assert norm["x"]["Probt"] == pytest.approx(0.008959375, abs=1e-8)
    assert norm["Scale"]["Estimate"] == pytest.approx(2.284817738, abs=1e-8)
    assert fit[1].rows[0]["Descr"] == "-2 Res Log Likelihood"
    assert fit[1].rows[0]["Value"] == pytest.approx(23.39386317, abs=1e-6)
    t3 = {row["Effect"]: row for row in _tables(r, "Tests3")[1].rows}
    assert t3["x"]["FValue"] == pytest.approx(4.144317160 ** 2, rel=1e-7)


def test_glm_mode_names_an_ineffective_method_and_honours_ddfm_none():
    r = run_sas(GLM_MODE_DATA + "proc glimmix data=d method=laplace; class g; model y = g x / dist=poisson "
                "ddfm=none s; run;\n")
    assert not r.errors, r.errors
    assert any("METHOD=LAPLACE has no effect" in w for w in r.warnings)
    x = next(row for row in _tables(r, "ParameterEstimates")[0].rows if row["Effect"] == "x")
    assert x["DF"] == math.inf
    from scipy import stats
    assert x["Probt"] == pytest.approx(2 * stats.norm.sf(abs(x["tValue"])), rel=1e-12)


def test_variance_on_the_boundary_is_zero_converged_and_the_glm_fit():
    """Every subject has exactly two events in four visits: less between-subject spread than independent
    Bernoulli responses give, so the random-intercept variance's maximum likelihood estimate is on its
    boundary, 0.  SAS then reports the variance as 0 with no standard error and the fixed effects of the
    GLM fit (PROC GENMOD below gives the same -2 log L and estimates); the fit converges.  Before, the
    optimiser chased the variance towards 0 on its internal scale and the step ended 'did not converge'."""
    rows = []
    for i in range(40):
        ev = {(i % 4), ((i + 1 + i // 4) % 4)}
        if len(ev) == 1:
            ev.add((i + 2) % 4)
        for v in range(4):
            rows.append(f"{i + 1} {v + 1} {int(v in ev)} {((i * 7 + v * 3) % 11) / 5:.1f}")
    src = "data b; input id visit y x; datalines;\n" + "\n".join(rows) + "\n;\n"
    for method in ("laplace", "quad(qpoints=5)"):
        src += f"""proc glimmix data=b method={method};
  class id;
  model y(event='1') = x / dist=binary solution;
  random intercept / subject=id;
run;
"""
    src += """proc genmod data=b descending;
  model y = x / dist=bin;
run;"""
    r = run_sas(src)
    assert not r.errors and not r.warnings, r.log
    assert r.log.count("NOTE: Estimated G matrix is not positive definite.") == 2
    conv = _tables(r, "ConvergenceStatus")
    assert len(conv) == 2
    gm = {row["Parameter"]: row["Estimate"] for t in r.session.tables if t.name == "ParameterEstimates"
          and t.proc == "GENMOD" for row in t.rows}
    ll = next(row["Value"] for t in r.session.tables if t.name == "ModelFit" and t.proc == "GENMOD"
              for row in t.rows if row["Criterion"] == "Log Likelihood")
    for cp, sol, fit in zip(_tables(r, "CovParms"), _tables(r, "ParameterEstimates"), _tables(r, "FitStatistics")):
        assert cp.rows[0]["Estimate"] == 0.0 and cp.rows[0]["StdErr"] is None
        est = {row["Effect"]: row["Estimate"] for row in sol.rows}
        assert est["Intercept"] == pytest.approx(gm["Intercept"], abs=2e-5)
        assert est["x"] == pytest.approx(gm["x"], abs=2e-5)
        assert fit.rows[0]["Value"] == pytest.approx(-2 * ll, abs=1e-6)
