"""GLIMMIX OUTPUT OUT=: PRED and RESID with ILINK / NOBLUP, checked against the printed solutions
(the linear predictor recomputed here from the Solutions for Fixed Effects and the BLUPs)."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import run_sas

DATA = """data d;
  call streaminit(3);
  do id=1 to 30; u = rand('normal');
    do t=0 to 3; x = rand('normal'); y = rand('poisson', exp(0.5 + 0.3*x + u*0.5)); output; end;
  end;
run;
"""


def _t(r, name):
    return [t for t in r.session.tables if t.name == name][0]


@pytest.mark.parametrize("method", ["laplace", "rspl"])
def test_output_pred_and_resid_agree_with_the_printed_solutions(method):
    r = run_sas(DATA + f"""proc glimmix data=d method={method}; class id; model y = x / dist=poisson s;
      random intercept / subject=id s;
      output out=o pred=eta pred(ilink)=mu pred(noblup ilink)=mum resid=r resid(ilink)=ri;
    run;""")
    assert not r.errors, r.errors
    b0, b1 = [row["Estimate"] for row in _t(r, "ParameterEstimates").rows]
    blup = {row["Subject"]: row["Estimate"] for row in _t(r, "SolutionR").rows}
    o = r.ds("o").df
    u = np.array([blup[f"id {int(i)}"] for i in o["id"]])
    eta = b0 + b1 * o["x"].to_numpy() + u
    assert o["eta"].to_numpy() == pytest.approx(eta, abs=1e-8)
    assert o["mu"].to_numpy() == pytest.approx(np.exp(eta), rel=1e-8)
    assert o["mum"].to_numpy() == pytest.approx(np.exp(b0 + b1 * o["x"].to_numpy()), rel=1e-8)
    y = o["y"].to_numpy()
    assert o["ri"].to_numpy() == pytest.approx(y - np.exp(eta), abs=1e-8)
    assert o["r"].to_numpy() == pytest.approx((y - np.exp(eta)) / np.exp(eta), abs=1e-8)


def test_output_default_names_and_statement_ilink_in_glm_mode():
    """ILINK after the slash applies to every keyword; unnamed statistics get SAS's default names for their
    form (PredMu, ResidMu: the GLIMMIX documentation's table of OUTPUT statistics, and Vonesh's GLIMMIX_GOF
    macro, which reads PredMu and PredMuPA from OUTPUT OUT= / ALLSTATS)."""
    r = run_sas(DATA + """proc glimmix data=d; model y = x / dist=poisson s; output out=o pred resid / ilink; run;""")
    b0, b1 = [row["Estimate"] for row in _t(r, "ParameterEstimates").rows]
    o = r.ds("o").df
    mu = np.exp(b0 + b1 * o["x"].to_numpy())
    assert o["PredMu"].to_numpy() == pytest.approx(mu, rel=1e-8)
    assert o["ResidMu"].to_numpy() == pytest.approx(o["y"].to_numpy() - mu, abs=1e-8)


def test_output_unsupported_statistic_is_an_error():
    r = run_sas(DATA + """proc glimmix data=d; model y = x / dist=poisson; output out=o pred / obscat; run;
      proc glimmix data=d; model y = x / dist=poisson; output out=o2 pred rstudent; run;""")
    assert any("OBSCAT" in e for e in r.errors)
    assert any("RSTUDENT" in e for e in r.errors)


def test_pl_random_solution_and_g_equal_mixed_for_normal_data():
    """With DIST=NORMAL, RSPL is REML: GLIMMIX's RANDOM S (and G) must equal PROC MIXED's on the same model
    (they were silently not printed under pseudo-likelihood)."""
    src = DATA + """proc glimmix data=d; class id; model x = t; random intercept / subject=id s g; run;
    proc mixed data=d; class id; model x = t; random intercept / subject=id s g; run;"""
    r = run_sas(src)
    assert not r.errors, r.errors
    g_sol = [t for t in r.session.tables if t.name == "SolutionR" and t.proc == "GLIMMIX"][0].rows
    m_sol = [t for t in r.session.tables if t.name == "SolutionR" and t.proc == "MIXED"][0].rows
    assert [x["Estimate"] for x in g_sol] == pytest.approx([x["Estimate"] for x in m_sol], abs=1e-6)
    assert [x["StdErrPred"] for x in g_sol] == pytest.approx([x["StdErrPred"] for x in m_sol], abs=1e-6)
    g_g = [t for t in r.session.tables if t.name == "G" and t.proc == "GLIMMIX"][0].rows[0]["Col1"]
    m_g = [t for t in r.session.tables if t.name == "G" and t.proc == "MIXED"][0].rows[0]["Col1"]
    assert g_g == pytest.approx(m_g, rel=1e-5)


@pytest.mark.parametrize("rtype", ["chol", "csh", "ar(1)", "un(1)"])
def test_pl_g_side_structures_equal_mixed_for_normal_data(rtype):
    """G-side TYPE=CHOL, CSH, AR(1), UN(1) under RSPL equal PROC MIXED's REML fit for normal data (CHOL as
    the Cholesky factor of MIXED's UN fit)."""
    mixed_type = "un" if rtype == "chol" else rtype
    data2 = """data d; call streaminit(9);
      do id=1 to 40; u = rand('normal'); v = rand('normal')*0.3;
        do t=0 to 3; x = rand('normal'); z = 1 + x + u + v*t + rand('normal'); output; end; end; run;
    """
    r = run_sas(data2 + f"""proc glimmix data=d; class id; model z = x t; random intercept t / subject=id type={rtype}; run;
      proc mixed data=d; class id; model z = x t; random intercept t / subject=id type={mixed_type}; run;""")
    assert not r.errors, r.errors
    g = [row["Estimate"] for row in [t for t in r.session.tables if t.name == "CovParms" and t.proc == "GLIMMIX"][0].rows]
    m = [row["Estimate"] for row in [t for t in r.session.tables if t.name == "CovParms" and t.proc == "MIXED"][0].rows]
    if rtype == "chol":
        l11, l21, l22, s2 = g
        g = [l11 ** 2, l11 * l21, l21 ** 2 + l22 ** 2, s2]
    assert g == pytest.approx(m, rel=1e-4, abs=1e-6)


MULTI = """data d; call streaminit(9);
  do id=1 to 40; u = rand('normal'); v = rand('normal')*0.3; g = mod(id, 3);
    do t=0 to 3; x = rand('normal'); y = rand('poisson', exp(0.3 + 0.3*x + u*0.5 + v*t));
      z = 1 + x + u + v*t + rand('normal'); output; end; end; run;
"""


def _cp(r, proc, k=0):
    return [row["Estimate"] for row in [t for t in r.session.tables if t.name == "CovParms" and t.proc == proc][k].rows]


def test_several_random_statements_with_one_subject_equal_one_vc_statement():
    """RANDOM intercept / SUBJECT=id; RANDOM t / SUBJECT=id is the same model as RANDOM intercept t /
    SUBJECT=id TYPE=VC: under Laplace and, for normal data, under RSPL (= PROC MIXED's REML; MIXED run to
    CONVH=1E-12, since at its default 1E-8 it stops, as SAS does, about 1e-4 short of the optimum here)."""
    r = run_sas(MULTI + """proc glimmix data=d method=laplace; class id; model y = x t / dist=poisson;
        random intercept t / subject=id; run;
      proc glimmix data=d method=laplace; class id; model y = x t / dist=poisson;
        random intercept / subject=id; random t / subject=id; run;
      proc glimmix data=d; class id; model z = x t; random intercept / subject=id; random t / subject=id; run;
      proc mixed data=d convh=1e-12; class id; model z = x t; random intercept t / subject=id; run;""")
    assert not r.errors, r.errors
    assert _cp(r, "GLIMMIX", 1) == pytest.approx(_cp(r, "GLIMMIX", 0), rel=1e-6)
    assert _cp(r, "GLIMMIX", 2) == pytest.approx(_cp(r, "MIXED", 0), rel=1e-5)


def test_vc_class_effect_has_one_variance_in_glimmix():
    """RANDOM g / SUBJECT=id with TYPE=VC has one variance (it had one per level); each id has one level of g
    here, so the model is the random intercept model."""
    r = run_sas(MULTI + """proc glimmix data=d method=laplace; class id g; model y = x / dist=poisson;
        random g / subject=id; run;
      proc glimmix data=d method=laplace; class id; model y = x / dist=poisson; random intercept / subject=id; run;""")
    rows = [t for t in r.session.tables if t.name == "CovParms"][0].rows
    assert [row["CovParm"] for row in rows] == ["g"]
    assert _cp(r, "GLIMMIX", 0) == pytest.approx(_cp(r, "GLIMMIX", 1), rel=1e-5)


def test_random_statements_with_crossed_subjects_are_an_error():
    r = run_sas(MULTI + """proc glimmix data=d; class id t; model y = x / dist=poisson;
        random intercept / subject=id; random intercept / subject=t; run;""")
    assert any("not nested" in e for e in r.errors)


NEST = """data d; call streaminit(17);
  do c=1 to 8; uc = rand('normal')*0.7;
    do p=1 to 6; up = rand('normal')*0.5;
      do t=1 to 4; x = rand('normal'); z = 1 + x + uc + 2*up + rand('normal');
        y = rand('poisson', exp(0.2 + 0.3*x + uc + up)); output; end; end; end; run;
"""


def test_nested_random_statements_under_pl_equal_mixed_for_normal_data():
    r = run_sas(NEST + """proc glimmix data=d; class c p; model z = x / s; random intercept / subject=c;
        random intercept / subject=p(c); run;
      proc mixed data=d convh=1e-12; class c p; model z = x / s; random intercept / subject=c;
        random intercept / subject=p(c);
      run;""")
    assert not r.errors, r.errors
    g = [t for t in r.session.tables if t.name == "CovParms" and t.proc == "GLIMMIX"][0].rows
    m = [t for t in r.session.tables if t.name == "CovParms" and t.proc == "MIXED"][0].rows
    assert [x["Subject"] for x in g] == ["c", "p(c)", ""]
    assert [x["Estimate"] for x in g] == pytest.approx([x["Estimate"] for x in m], rel=1e-5)
    assert g[1]["Estimate"] > 0.5
    gs = [t for t in r.session.tables if t.name == "ParameterEstimates" and t.proc == "GLIMMIX"][0].rows
    ms = [t for t in r.session.tables if t.name == "SolutionF" and t.proc == "MIXED"][0].rows
    assert [x["Estimate"] for x in gs] == pytest.approx([x["Estimate"] for x in ms], rel=1e-5)
    assert [x["DF"] for x in gs] == [x["DF"] for x in ms]


def test_nested_random_statements_with_quadrature_are_an_error():
    """Nested subjects run under LAPLACE (tests/test_glimmix_gside_structures.py), not under QUAD."""
    r = run_sas(NEST + """proc glimmix data=d method=quad; class c p; model y = x / dist=poisson;
        random intercept / subject=c; random intercept / subject=p(c); run;""")
    assert len(r.errors) == 1 and "METHOD=QUAD" in r.errors[0]


def test_pseudo_likelihood_prints_optimization_information_and_sas_iteration_columns():
    # SAS (GLIMMIX Details, Optimization Information / Iteration History): PL fits show the inner technique,
    # the covariance parameters in the optimisation (a normal model's residual variance is profiled out),
    # fixed effects profiled, pseudo-data started from the data; the history has Restarts, Subiterations and the
    # largest projected gradient at the end of each inner optimisation
    r = run_sas(MULTI + "proc glimmix data=d; class id; model y = x t / dist=poisson; random intercept / subject=id; run;"
                        "proc glimmix data=d; class id; model z = x t; random intercept / subject=id; run;")
    assert not r.errors, r.errors
    infos = [{row["Descr"]: row["Value"] for row in t.rows} for t in r.session.tables if t.name == "OptInfo"]
    assert infos[0] == {"Optimization Technique": "Dual Quasi-Newton", "Parameters in Optimization": 1,
                        "Lower Boundaries": 1, "Upper Boundaries": 0, "Fixed Effects": "Profiled",
                        "Starting From": "Data"}
    assert infos[1]["Parameters in Optimization"] == 1          # Residual profiled
    hist = [t for t in r.session.tables if t.name == "IterHistory"][0]
    assert [c.name for c in hist.columns] == ["Iteration", "Restarts", "Subiterations", "ObjFunction", "Change",
                                              "MaxGrad"]
    assert all(row["Restarts"] == 0 and 0 <= row["MaxGrad"] < 1e-3 for row in hist.rows)


@pytest.mark.parametrize("method,extra,ddfm", [("laplace", "empirical", ""), ("quad", "", ""),
                                               ("rspl", "", " ddfm=kr"), ("rspl", "empirical", "")])
def test_model_covb_and_corrb_are_the_matrix_behind_the_standard_errors(method, extra, ddfm):
    """MODEL COVB / CORRB (issue #3 names COVB): the printed standard errors are the square roots of the
    CovB diagonal -- the sandwich with EMPIRICAL, the Kenward-Roger adjusted matrix with DDFM=KR -- and
    CorrB is CovB scaled by them; a redundant CLASS column has zeros.  ODS OUTPUT saves CovB as a data set."""
    r = run_sas(DATA + f"""data d; set d; g = mod(id, 3); run;
    proc glimmix data=d method={method} {extra}; class id g; model y = g x / dist=poisson s covb corrb{ddfm};
      random intercept / subject=id;
      ods output CovB=cb;
    run;""")
    assert not r.errors and not r.warnings, r.log
    se = np.array([row["StdErr"] if row["StdErr"] is not None else 0.0
                   for row in _t(r, "ParameterEstimates").rows])
    cb = _t(r, "CovB")
    M = np.array([[row[f"Col{j + 1}"] for j in range(len(se))] for row in cb.rows])
    assert np.sqrt(np.diag(M)) == pytest.approx(se, rel=1e-10)
    assert [row["Effect"] for row in cb.rows] == ["Intercept", "g", "g", "g", "x"]
    assert np.all(M[3] == 0) and np.all(M[:, 3] == 0)          # g=2, the redundant last level
    C = np.array([[row[f"Col{j + 1}"] for j in range(len(se))] for row in _t(r, "CorrB").rows])
    keep = se > 0
    assert C[np.ix_(keep, keep)] == pytest.approx(M[np.ix_(keep, keep)] / np.outer(se[keep], se[keep]), rel=1e-10)
    assert r.ds("cb").nobs == 5
