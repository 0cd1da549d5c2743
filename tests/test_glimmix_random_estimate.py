"""GLIMMIX ESTIMATE and CONTRAST with random-effect coefficients (after '|', with SUBJECT coefficients), and
the one Estimates table of the unadjusted ESTIMATE statements.

References: for the normal linear mixed model (RSPL = REML) PROC MIXED's ESTIMATE / CONTRAST with the same
coefficients (our MIXED path, itself checked against dense mixed model equations in
test_mixed_random_estimate.py); for METHOD=LAPLACE a dense, independent evaluation of the documentation's
approximate prediction variance ("Estimated Precision of Estimates"; modes by Newton, the Hessian of all
parameters and the modes' derivatives by central differences), as for RANDOM SOLUTION in
test_glimmix_output_stats.py.  The table layout follows the GLIMMIX ESTIMATE statement's documentation
("Results from unadjusted estimates are reported first in a single table, followed by separate tables for
each of the adjusted estimates")."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import run_sas
from test_glimmix_output_stats import POIS, _dense_laplace_poisson_ri, dense_laplace_pieces

NORMAL = """data d;
  do id = 1 to 14; u = sin(id*1.7)*0.8; v = cos(id*2.3)*0.3;
    do t = 0 to 4;
      x = mod(id,2); y = 2 + (0.5+v)*t + x + u + cos(id*t*3.1)*0.4; output;
    end;
  end;
run;
"""

HYPS = """  estimate 'subj3 t2' intercept 1 x 1 t 2 | intercept 1 t 2 / subject 0 0 1;
  estimate 'blup only' | intercept 1 / subject 0 0 1;
  estimate 'avg' intercept 1 t 2 | intercept 1;
  contrast 'two' intercept 1 x 1 | intercept 1, intercept 1 t 1 | t 1 / subject 0 1;
"""


def _t(r, name, proc="GLIMMIX", k=0):
    return [t for t in r.session.tables if t.name == name and t.proc == proc][k]


def test_normal_rspl_equals_mixed():
    model = "  class id; model y = x t / s; random int t / subject=id type=un s;\n"
    r = run_sas(NORMAL + "proc mixed data=d;\n" + model + HYPS + "run;\n"
                "proc glimmix data=d;\n" + model + HYPS + "run;\n")
    assert not r.errors and not r.warnings, r.log
    g, m = _t(r, "Estimates").rows, _t(r, "Estimates", "MIXED").rows
    assert [row["Label"] for row in g] == ["subj3 t2", "blup only", "avg"]     # one table for the three
    for a, b in zip(g, m):
        assert a["Estimate"] == pytest.approx(b["Estimate"], abs=1e-6)
        assert a["StdErr"] == pytest.approx(b["StdErr"], rel=1e-5)
    # the rows with fixed coefficients keep the fixed part's DF; the one without takes the DF of GLIMMIX's
    # Solution for Random Effects (MIXED's is its residual containment DF)
    assert g[0]["DF"] == m[0]["DF"] and g[2]["DF"] == m[2]["DF"]
    assert g[1]["DF"] == _t(r, "SolutionR").rows[0]["DF"]
    # 'blup only' is subject 3's intercept BLUP, with its prediction standard error
    sol = [row for row in _t(r, "SolutionR").rows if row["Subject"] == "id 3" and row["Effect"] == "Intercept"][0]
    assert g[1]["Estimate"] == pytest.approx(sol["Estimate"], abs=1e-10)
    assert g[1]["StdErr"] == pytest.approx(sol["StdErrPred"], rel=1e-8)
    cg, cm = _t(r, "Contrasts").rows[0], _t(r, "Contrasts", "MIXED").rows[0]
    assert (cg["NumDF"], cg["DenDF"]) == (cm["NumDF"], cm["DenDF"]) == (2, 13)
    assert cg["FValue"] == pytest.approx(cm["FValue"], rel=1e-5)


def test_laplace_follows_the_documented_prediction_variance():
    """Estimate L beta + sum_k m_k gamma_k hat, variance w' C w + sum_k m_k^2 / Gamma_k with
    w = (L, 0) + sum_k m_k D_k: the modes' errors carry the uncertainty of all parameters (C, the inverse
    Hessian) through their derivatives D_k, plus the independent conditional variances 1 / Gamma_k.  Without
    SUBJECT coefficients the random coefficients apply to every subject with weight 1 / (number of subjects)."""
    r = run_sas(POIS + """
      proc glimmix data=d method=laplace; class id; model y = x / dist=poisson s covb;
        random intercept / subject=id s;
        estimate 'avg x1' intercept 1 x 1 | intercept 1;
        estimate 'id 5' intercept 1 | intercept 1 / subject 0 0 0 0 1;
        estimate 'diff 1-2' | intercept 1 / subject 1 -1;
        contrast 'two' intercept 1 | intercept 1, x 1 | intercept 1 / subject 0 1;
      run;""")
    assert not r.errors and not r.warnings, r.log
    beta = np.array([row["Estimate"] for row in _t(r, "ParameterEstimates").rows])
    s2 = _t(r, "CovParms").rows[0]["Estimate"]
    d = r.ds("d").df
    d = d[d["y"].notna()].reset_index(drop=True)
    n, K = len(d), 30
    X = np.column_stack([np.ones(n), d["x"]])
    ids = d["id"].to_numpy().astype(int) - 1
    modes, loglik = _dense_laplace_poisson_ri(X, d["y"].to_numpy(), ids, K)
    C, D = dense_laplace_pieces(modes, loglik, beta, s2, K)
    b, gam, _ = modes(beta, s2)

    def dense(L, m):
        w = np.concatenate([L, [0.0]]) + m @ D
        return L @ beta + m @ b, w @ C @ w + np.sum(m ** 2 / gam)

    unit = np.eye(K)
    want = [dense(np.array([1.0, 1.0]), np.full(K, 1 / K)), dense(np.array([1.0, 0.0]), unit[4]),
            dense(np.zeros(2), unit[0] - unit[1])]
    rows = _t(r, "Estimates").rows
    assert [row["Label"] for row in rows] == ["avg x1", "id 5", "diff 1-2"]
    for row, (est, var) in zip(rows, want):
        assert row["Estimate"] == pytest.approx(est, abs=1e-5)
        assert row["StdErr"] == pytest.approx(np.sqrt(var), rel=2e-3)
    # the averaged random part clearly matters: without the parameters' uncertainty the SE of 'id 5' differs
    assert abs(rows[1]["StdErr"] / np.sqrt(C[0, 0] + 1 / gam[4]) - 1) > 0.01
    sol = _t(r, "SolutionR").rows
    assert rows[2]["DF"] == sol[0]["DF"]
    # CONTRAST: the two rows with subject 2's mode, Wald F = est' V^-1 est / 2
    L = np.array([[1.0, 0.0], [0.0, 1.0]])
    m2 = unit[1]
    W = np.array([np.concatenate([Lr, [0.0]]) + m2 @ D for Lr in L])
    V = W @ C @ W.T + np.outer([1, 1], [1, 1]) / gam[1]
    est = L @ beta + b[1]
    F = est @ np.linalg.solve(V, est) / 2
    assert _t(r, "Contrasts").rows[0]["FValue"] == pytest.approx(F, rel=5e-3)


def test_unadjusted_estimates_share_one_table_adjusted_ones_follow():
    r = run_sas(POIS + """
      proc glimmix data=d method=laplace; class id; model y = x / dist=poisson;
        random intercept / subject=id;
        estimate 'b1' x 1, 'b2' x 2 / adjust=bon;
        estimate 'a' intercept 1 x 1 / ilink;
        lsmeans / ;
        estimate 'c' intercept 1;
      run;""")
    assert not r.errors and not r.warnings, r.log
    tabs = [t for t in r.session.tables if t.name == "Estimates"]
    assert [[row["Label"] for row in t.rows] for t in tabs] == [["a", "c"], ["b1", "b2"]]
    a, c = tabs[0].rows
    assert a["Mean"] == pytest.approx(np.exp(a["Estimate"]), rel=1e-10)
    assert c.get("Mean") is None                 # ILINK was asked for by 'a' only
    assert "Adjp" in tabs[1].rows[0] or "AdjP" in tabs[1].rows[0]


@pytest.mark.parametrize("step", [
    "proc glimmix data=d; model y = x / dist=poisson; estimate 'a' intercept 1 | intercept 1; run;",
    "proc glimmix data=d; class id; model y = x; random _residual_ / subject=id type=cs;\n"
    "  contrast 'a' intercept 1 | intercept 1; run;",
])
def test_random_coefficients_without_g_side_effects_are_an_error_before_any_table(step):
    r = run_sas(POIS + step)
    assert any("Random-effect coefficients" in e for e in r.errors), r.log
    assert not [t for t in r.session.tables if t.proc == "GLIMMIX"]


def test_nested_subjects_under_pseudo_likelihood_equal_mixed():
    """Nested SUBJECT= effects (processing by the coarsest subject, MIXED's layout of the random effects): the
    SUBJECT coefficients index the RANDOM statement's own subjects, as in MIXED."""
    step = """ data=d; class c id; model y = x t / s;
      random int / subject=c; random int / subject=id(c);
      estimate 'e' intercept 1 t 1 | intercept 1 / subject 0 1; run;"""
    r = run_sas("""data d;
      do c = 1 to 4; uc = sin(c*2.1)*0.7;
        do id = 1 to 5; u = cos(c*id*1.3)*0.5;
          do t = 0 to 3; x = mod(id,2); y = 1 + 0.4*t + x + uc + u + sin(c*id*t*0.7)*0.3; output; end;
        end;
      end;
    run;
    proc mixed""" + step + "\nproc glimmix" + step)
    assert not r.errors and not r.warnings, r.log
    g, m = _t(r, "Estimates").rows[0], _t(r, "Estimates", "MIXED").rows[0]
    assert g["Estimate"] == pytest.approx(m["Estimate"], abs=1e-6)
    assert g["StdErr"] == pytest.approx(m["StdErr"], rel=1e-5)
