"""ESTIMATE and CONTRAST with random-effect coefficients (after '|') and SUBJECT coefficients in PROC MIXED.

References: the narrow, intermediate and broad inference-space estimates of the MIXED documentation's
ESTIMATE section (split-plot data), checked against Henderson's mixed model equations written out densely
in the test (C = [X'R^-1X X'R^-1Z; Z'R^-1X Z'R^-1Z + G^-1]^-, estimate [K M][beta; u], variance [K M] C
[K M]') at the covariance parameters the fit reports; for random coefficients, the OUTP= predictions and the
Solution for Random Effects of the same fit (a separate code path for the same quantities)."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import run_sas
from test_mixed_structures import SP      # the MIXED documentation's split-plot data

ESTS = """estimate 'A1 mean narrow' intercept 1 A 1 B .5 .5 A*B .5 .5 |
                            block .25 .25 .25 .25 A*Block .25 .25 .25 .25 0 0 0 0 0 0 0 0;
  estimate 'A1 mean intermed' intercept 1 A 1 B .5 .5 A*B .5 .5 | Block .25 .25 .25 .25;
  estimate 'A1 mean broad' intercept 1 A 1 B .5 .5 A*B .5 .5;
  contrast 'A narrow' A 1 -1 0 A*B .5 .5 -.5 -.5 0 0 | A*Block .25 .25 .25 .25 -.25 -.25 -.25 -.25 0 0 0 0,
                      A 1 0 -1 A*B .5 .5 0 0 -.5 -.5 | A*Block .25 .25 .25 .25 0 0 0 0 -.25 -.25 -.25 -.25;
"""


def _t(r, name, k=0):
    return [t for t in r.session.tables if t.name == name and t.proc == "MIXED"][k]


def _mme(df, vb, vab, s2):
    """Dense mixed model equations of the split-plot model (cell-means X: the estimates below are estimable)."""
    a, b, blk, y = (df[c].to_numpy() for c in ("A", "B", "Block", "Y"))
    a, b, blk = a.astype(int), b.astype(int), blk.astype(int)
    n = len(y)
    X = np.zeros((n, 6))
    X[np.arange(n), (a - 1) * 2 + (b - 1)] = 1            # mu_ab
    Z = np.zeros((n, 16))
    Z[np.arange(n), blk - 1] = 1                            # Block 1..4
    Z[np.arange(n), 4 + (a - 1) * 4 + (blk - 1)] = 1        # A*Block, A slowest
    Ginv = np.diag([1 / vb] * 4 + [1 / vab] * 12)
    top = np.hstack([X.T @ X, X.T @ Z]) / s2
    bot = np.hstack([Z.T @ X / s2, Z.T @ Z / s2 + Ginv])
    Cinv = np.vstack([top, bot])
    C = np.linalg.inv(Cinv)
    sol = C @ np.concatenate([X.T @ y, Z.T @ y]) / s2
    return sol, C


def test_split_plot_inference_spaces_match_the_mixed_model_equations():
    r = run_sas(SP + "proc mixed data=sp; class A B Block; model Y = A B A*B; random Block A*Block;\n  "
                + ESTS + " run;")
    assert not r.errors, r.errors
    vb, vab, s2 = [row["Estimate"] for row in _t(r, "CovParms").rows]
    assert (vb, vab, s2) == pytest.approx((62.3958, 15.3819, 9.3611), abs=1e-4)   # the documented fit
    sol, C = _mme(r.ds("sp").df, vb, vab, s2)
    k = np.zeros(22)
    k[[0, 1]] = 0.5                                          # mean of A1 over B
    narrow = k.copy()
    narrow[6:10] = 0.25
    narrow[10:14] = 0.25
    inter = k.copy()
    inter[6:10] = 0.25
    est = _t(r, "Estimates").rows
    assert [row["Label"] for row in est] == ["A1 mean narrow", "A1 mean intermed", "A1 mean broad"]
    for row, vec in zip(est, [narrow, inter, k]):
        assert row["Estimate"] == pytest.approx(vec @ sol, abs=1e-8)
        assert row["StdErr"] == pytest.approx(np.sqrt(vec @ C @ vec), rel=1e-6)
    # the contrast's F from the same equations
    c1, c2 = np.zeros(22), np.zeros(22)
    c1[[0, 1]], c1[[2, 3]] = 0.5, -0.5
    c1[10:14], c1[14:18] = 0.25, -0.25
    c2[[0, 1]], c2[[4, 5]] = 0.5, -0.5
    c2[10:14], c2[18:22] = 0.25, -0.25
    Lm = np.array([c1, c2])
    e = Lm @ sol
    F = e @ np.linalg.solve(Lm @ C @ Lm.T, e) / 2
    ct = _t(r, "Contrasts").rows[0]
    assert (ct["NumDF"], ct["FValue"]) == (2, pytest.approx(F, rel=1e-6))


RC = """data d;
  call streaminit(5);
  do id=1 to 40; trt = mod(id,3); u = rand('normal'); v = rand('normal')*0.3;
    do time=1 to 4; y = 10 + trt + 0.5*time + u + v*time + rand('normal'); output; end;
  end;
run;
"""


def test_subject_specific_estimates_equal_outp_and_the_blups():
    r = run_sas(RC + """proc mixed data=d;
      class id trt;
      model y = trt time / s outp=op;
      random intercept time / subject=id type=un s;
      estimate 'id1 t2' intercept 1 trt 0 1 0 time 2 | intercept 1 time 2 / subject 1 cl;
      estimate 'id2 t3' intercept 1 trt 0 0 1 time 3 | intercept 1 time 3 / subject 0 1;
      estimate 'u id1' | intercept 1 / subject 1;
      estimate 'slope id2' | time 1 / subject 0 1;
      estimate 'u1 - u2' | intercept 1 / subject 1 -1;
      contrast 'id1 vs id2' | intercept 1 / subject 1 -1;
    run;""")
    assert not r.errors, r.errors
    est = {row["Label"]: row for row in _t(r, "Estimates").rows}
    op = r.ds("op").df
    p1 = op[(op.id == 1) & (op.time == 2)].iloc[0]
    p2 = op[(op.id == 2) & (op.time == 3)].iloc[0]
    assert (est["id1 t2"]["Estimate"], est["id1 t2"]["StdErr"]) == pytest.approx((p1.Pred, p1.StdErrPred), rel=1e-9)
    assert (est["id2 t3"]["Estimate"], est["id2 t3"]["StdErr"]) == pytest.approx((p2.Pred, p2.StdErrPred), rel=1e-9)
    sr = _t(r, "SolutionR").rows
    u1 = next(row for row in sr if row["Effect"] == "Intercept" and str(row["id"]) in ("1", "1.0"))
    s2 = next(row for row in sr if row["Effect"] == "time" and str(row["id"]) in ("2", "2.0"))
    assert (est["u id1"]["Estimate"], est["u id1"]["StdErr"], est["u id1"]["DF"]) == \
        pytest.approx((u1["Estimate"], u1["StdErrPred"], u1["DF"]), rel=1e-9)
    assert (est["slope id2"]["Estimate"], est["slope id2"]["StdErr"]) == \
        pytest.approx((s2["Estimate"], s2["StdErrPred"]), rel=1e-9)
    ct = _t(r, "Contrasts").rows[0]
    assert ct["FValue"] == pytest.approx(est["u1 - u2"]["tValue"] ** 2, rel=1e-9)
    assert "Lower" in est["id1 t2"] and est["id1 t2"]["Lower"] < est["id1 t2"]["Estimate"]


def test_random_coefficients_errors():
    r = run_sas(RC + "proc mixed data=d; class id; model y = time; random intercept / subject=id;"
                     " estimate 'x' intercept 1 | time 1; run;")
    assert any("Effect time is not a RANDOM effect" in e for e in r.errors)
    r = run_sas(RC + "proc mixed data=d; class id; model y = time; repeated / subject=id type=cs;"
                     " estimate 'x' intercept 1 | intercept 1; run;")
    assert any("after '|'" in e for e in r.errors)
    r = run_sas(RC + "proc mixed data=d; class id; model y = time; random intercept / subject=id;"
                     " estimate 'x' intercept 1 / subject 1; run;")
    assert any("SUBJECT coefficients need random-effect coefficients" in e for e in r.errors)
    r = run_sas(RC + "proc genmod data=d; model y = time; estimate 'x' intercept 1 | intercept 1; run;")
    assert any("after '|'" in e for e in r.errors)
