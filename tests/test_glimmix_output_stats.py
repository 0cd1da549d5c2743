"""GLIMMIX OUTPUT statistics beyond PRED and RESID: STDERR, LCL, UCL, PEARSON, STUDENT, VARIANCE (BLUP / NOBLUP,
ILINK), ALLSTATS, NOMISS, NOVAR, the ID statement and predictions for observations with a missing response.

References: PROC MIXED's OUTP= / OUTPM= (same normal linear mixed model; our MIXED code path), PROC GENMOD's
OUTPUT statistics (GLM mode), and dense matrix formulas evaluated in the tests from the printed estimates
(the prediction variance of the GLIMMIX documentation's "Estimated Precision of Estimates" and the residual
variances R V^-1 R - R V^-1 X Phi X' V^-1 R and V - X Phi X' of its "Notes on Output Statistics")."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st

from conftest import run_sas

NORMAL = """data d; call streaminit(11);
  do id=1 to 25; u = rand('normal'); v = rand('normal')*0.4;
    do t=0 to 3; x = rand('normal'); z = 1 + 0.5*x + u + v*t + rand('normal');
      if id=4 and t=1 then z=.; output; end; end; run;
"""


def _t(r, name, proc="GLIMMIX", k=0):
    return [t for t in r.session.tables if t.name == name and t.proc == proc][k]


def test_normal_lmm_statistics_equal_mixed_outp_and_dense_formulas():
    r = run_sas(NORMAL + """
      proc glimmix data=d; class id; model z = x t / s; random intercept t / subject=id type=un;
        output out=g pred stderr lcl ucl pred(noblup) stderr(noblup) lcl(noblup) ucl(noblup) resid student
               student(noblup) pearson pearson(noblup) variance variance(noblup);
      run;
      proc mixed data=d convh=1e-12; class id; model z = x t / s outp=mp outpm=mm;
        random intercept t / subject=id type=un; run;""")
    assert not r.errors, r.errors
    g, mp, mm = r.ds("g").df, r.ds("mp").df, r.ds("mm").df
    used = g["z"].notna().to_numpy()
    for a, b in (("Pred", "Pred"), ("StdErr", "StdErrPred")):
        assert g[a].to_numpy()[used] == pytest.approx(mp[b].to_numpy()[used], abs=2e-4), a
        assert g[a + "PA"].to_numpy()[used] == pytest.approx(mm[b].to_numpy()[used], abs=2e-4), a + "PA"
    # limits: t on the DF GLIMMIX uses for the intercept (MIXED's OUTP uses n - rank[X Z]; which DF SAS's
    # GLIMMIX OUTPUT uses is unchecked)
    q = st.t.ppf(0.975, _t(r, "ParameterEstimates").rows[0]["DF"])
    for sfx in ("", "PA"):
        assert g["LCL" + sfx].to_numpy() == pytest.approx((g["Pred" + sfx] - q * g["StdErr" + sfx]).to_numpy(), abs=1e-10)
        assert g["UCL" + sfx].to_numpy() == pytest.approx((g["Pred" + sfx] + q * g["StdErr" + sfx]).to_numpy(), abs=1e-10)
    # the observation with a missing response is predicted from the printed solutions
    beta = [row["Estimate"] for row in _t(r, "ParameterEstimates").rows]
    miss = np.nonzero(~used)[0][0]
    xm, tm = g["x"].iloc[miss], g["t"].iloc[miss]
    assert g["PredPA"].iloc[miss] == pytest.approx(beta[0] + beta[1] * xm + beta[2] * tm, abs=1e-8)
    assert np.isnan(g["Resid"].iloc[miss]) and np.isfinite(g["StdErr"].iloc[miss])
    # residual statistics from dense matrices built from the printed covariance parameters
    cp = [row["Estimate"] for row in _t(r, "CovParms").rows]
    G = np.array([[cp[0], cp[1]], [cp[1], cp[2]]])
    s2 = cp[3]
    gu = g[used].reset_index(drop=True)
    n = len(gu)
    X = np.column_stack([np.ones(n), gu["x"], gu["t"]])
    ids = gu["id"].to_numpy().astype(int)
    K = ids.max()
    Z = np.zeros((n, 2 * K))
    Z[np.arange(n), 2 * (ids - 1)] = 1.0
    Z[np.arange(n), 2 * (ids - 1) + 1] = gu["t"]
    V = Z @ np.kron(np.eye(K), G) @ Z.T + s2 * np.eye(n)
    Vi = np.linalg.inv(V)
    Phi = np.linalg.inv(X.T @ Vi @ X)
    P = Vi - Vi @ X @ Phi @ X.T @ Vi
    rc = gu["z"].to_numpy() - gu["Pred"].to_numpy()
    rm = gu["z"].to_numpy() - gu["PredPA"].to_numpy()
    assert gu["Resid"].to_numpy() == pytest.approx(rc, abs=1e-10)
    assert gu["Student"].to_numpy() == pytest.approx(rc / np.sqrt(s2 ** 2 * np.diag(P)), rel=1e-4)
    assert gu["StudentPA"].to_numpy() == pytest.approx(rm / np.sqrt(np.diag(V - X @ Phi @ X.T)), rel=1e-4)
    assert gu["Pearson"].to_numpy() == pytest.approx(rc / np.sqrt(s2), rel=1e-6)
    assert gu["PearsonPA"].to_numpy() == pytest.approx(rm / np.sqrt(np.diag(V)), rel=1e-6)
    assert gu["Variance"].to_numpy() == pytest.approx(np.full(n, s2), rel=1e-10)
    assert gu["VariancePA"].to_numpy() == pytest.approx(np.diag(V), rel=1e-8)


POIS = """data d;
  call streaminit(3);
  do id=1 to 30; u = rand('normal');
    do t=0 to 3; x = rand('normal'); y = rand('poisson', exp(0.5 + 0.3*x + u*0.5));
      if id=3 and t=2 then y=.; output; end;
  end;
run;
"""


def test_glm_mode_statistics_equal_genmod():
    """Without random effects: STDERR is GENMOD's STDXBETA, PEARSON its RESCHI and STUDENT its STDRESCHI (the
    standardized Pearson residual (y - mu) / sqrt(V(mu) (1 - h))); the limits use t on the residual DF."""
    r = run_sas(POIS + """
      proc glimmix data=d; model y = x / dist=poisson s;
        output out=g pred stderr lcl ucl pearson student pred(ilink) lcl(ilink) ucl(ilink) variance(ilink);
      run;
      proc genmod data=d; model y = x / dist=poisson;
        output out=m xbeta=xb stdxbeta=sxb reschi=rc stdreschi=src; run;""")
    assert not r.errors, r.errors
    g, m = r.ds("g").df, r.ds("m").df
    used = g["y"].notna().to_numpy()
    assert g["Pred"].to_numpy()[used] == pytest.approx(m["xb"].to_numpy()[used], abs=1e-6)
    assert g["StdErr"].to_numpy()[used] == pytest.approx(m["sxb"].to_numpy()[used], rel=1e-5)
    assert g["Pearson"].to_numpy()[used] == pytest.approx(m["rc"].to_numpy()[used], abs=1e-6)
    assert g["Student"].to_numpy()[used] == pytest.approx(m["src"].to_numpy()[used], abs=1e-5)
    dfe = _t(r, "ParameterEstimates").rows[0]["DF"]
    q = st.t.ppf(0.975, dfe)
    assert g["LCL"].to_numpy() == pytest.approx((g["Pred"] - q * g["StdErr"]).to_numpy(), abs=1e-10)
    assert g["UCLMu"].to_numpy() == pytest.approx(np.exp(g["UCL"].to_numpy()), rel=1e-10)
    assert g["VarianceMu"].to_numpy()[used] == pytest.approx(g["PredMu"].to_numpy()[used], rel=1e-10)
    # the observation with a missing response is predicted, its residuals are missing
    miss = np.nonzero(~used)[0][0]
    assert np.isfinite(g["LCLMu"].iloc[miss]) and np.isnan(g["Pearson"].iloc[miss])


def _dense_laplace_poisson_ri(X, y, ids, K):
    """An independent Laplace evaluation of a Poisson random-intercept model: per-subject scalar modes by
    Newton, the Laplace log likelihood (up to constants) and the modes' negative Hessians."""
    def modes(beta, s2):
        eta = X @ beta
        b = np.zeros(K)
        for _ in range(60):
            mu = np.exp(eta + b[ids])
            g = np.bincount(ids, y - mu, K) - b / s2
            h = np.bincount(ids, mu, K) + 1 / s2
            b = b + g / h
        mu = np.exp(eta + b[ids])
        return b, np.bincount(ids, mu, K) + 1 / s2, eta

    def loglik(z):
        beta, s2 = z[:-1], z[-1]
        b, h, eta = modes(beta, s2)
        e = eta + b[ids]
        return float(np.sum(y * e - np.exp(e)) - np.sum(b ** 2) / (2 * s2) - K / 2 * np.log(s2)
                     - 0.5 * np.sum(np.log(h)))
    return modes, loglik


def dense_laplace_pieces(modes, loglik, beta, s2, K):
    """From the dense evaluation: the inverse Hessian C of all parameters (beta, s2) by central differences
    of the Laplace log likelihood, and the modes' derivatives D (K x 3) by central differences of the modes."""
    z0 = np.concatenate([beta, [s2]])
    h = 1e-3 * np.maximum(1.0, np.abs(z0))
    H = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            ei, ej = np.eye(3)[i] * h[i], np.eye(3)[j] * h[j]
            H[i, j] = -(loglik(z0 + ei + ej) - loglik(z0 + ei - ej) - loglik(z0 - ei + ej)
                        + loglik(z0 - ei - ej)) / (4 * h[i] * h[j])
    D = np.zeros((K, 3))
    for j in range(3):
        e = np.eye(3)[j] * h[j] * 0.1
        D[:, j] = (modes((z0 + e)[:2], (z0 + e)[2])[0] - modes((z0 - e)[:2], (z0 - e)[2])[0]) / (2 * e[j])
    return np.linalg.inv(H), D


def test_laplace_prediction_standard_errors_follow_the_documented_prediction_variance():
    """STDERR with the BLUPs and RANDOM SOLUTION's Std Err Pred for METHOD=LAPLACE: the documentation's
    approximate prediction variance of (beta hat, gamma hat) ("Estimated Precision of Estimates", Booth and
    Hobert's conditional MSEP, the same matrix as NLMIXED's "Prediction" section):
    Var(gamma hat - gamma) = Gamma^-1 + D H^-1 D' and Cov(gamma hat, beta hat) = D H^-1[:, beta], with D the
    derivative of the mode in (beta, theta) and H^-1 the inverse Hessian of all parameters.  Here everything is
    recomputed densely and independently: modes by Newton, H by central differences of the Laplace log
    likelihood, D by central differences of the modes.  The documentation notes that this differs from the
    mixed model equations' prediction errors even for normal data; here the covariance parameter terms
    change them by up to about 10 per cent."""
    r = run_sas(POIS + """
      proc glimmix data=d method=laplace; class id; model y = x / dist=poisson s covb;
        random intercept / subject=id s;
        output out=g pred stderr lcl ucl stderr(noblup) pred(ilink) stderr(ilink);
      run;""")
    assert not r.errors, r.errors
    g = r.ds("g").df
    used = g["y"].notna().to_numpy()
    covb = np.array([[row["Col1"], row["Col2"]] for row in _t(r, "CovB").rows])
    s2 = _t(r, "CovParms").rows[0]["Estimate"]
    beta = np.array([row["Estimate"] for row in _t(r, "ParameterEstimates").rows])
    sol = _t(r, "SolutionR").rows
    gu = g[used].reset_index(drop=True)
    n = len(gu)
    X = np.column_stack([np.ones(n), gu["x"]])
    ids = gu["id"].to_numpy().astype(int) - 1
    modes, loglik = _dense_laplace_poisson_ri(X, gu["y"].to_numpy(), ids, 30)
    Cfull, D = dense_laplace_pieces(modes, loglik, beta, s2, 30)
    assert Cfull[:2, :2] == pytest.approx(covb, rel=2e-3)          # the printed COVB is this block
    b0, gam, _ = modes(beta, s2)
    assert [row["Estimate"] for row in sol] == pytest.approx(b0, abs=1e-5)
    C22 = 1 / gam + np.einsum("km,mn,kn->k", D, Cfull, D)
    assert [row["StdErrPred"] for row in sol] == pytest.approx(np.sqrt(C22), rel=1e-3)
    # the fixed effects alone (the mixed model equations) give clearly different values
    mme = 1 / gam + np.einsum("km,mn,kn->k", D[:, :2], Cfull[:2, :2], D[:, :2])
    assert np.max(np.abs(np.sqrt(C22 / mme) - 1)) > 0.05
    C21 = D @ Cfull[:, :2]                                          # 30 x 2: Cov(gamma hat_i, beta hat)
    var = np.einsum("ij,jk,ik->i", X, Cfull[:2, :2], X) + 2 * np.einsum("ip,ip->i", C21[ids], X) + C22[ids]
    assert gu["StdErr"].to_numpy() == pytest.approx(np.sqrt(var), rel=1e-3)
    assert gu["StdErrPA"].to_numpy() == pytest.approx(np.sqrt(np.einsum("ij,jk,ik->i", X, covb, X)), rel=1e-6)
    assert gu["StdErrMu"].to_numpy() == pytest.approx(gu["PredMu"].to_numpy() * gu["StdErr"].to_numpy(), rel=1e-10)
    q = st.t.ppf(0.975, sol[0]["DF"])
    assert g["UCL"].to_numpy() == pytest.approx((g["Pred"] + q * g["StdErr"]).to_numpy(), abs=1e-10)
    # the missing response (id 3) is predicted with id 3's BLUP
    miss = np.nonzero(~used)[0][0]
    b3 = sol[2]["Estimate"]
    assert g["Pred"].iloc[miss] == pytest.approx(beta[0] + beta[1] * g["x"].iloc[miss] + b3, abs=1e-8)


def test_allstats_names_nomiss_novar_and_id():
    r = run_sas(POIS + """
      proc glimmix data=d method=laplace; class id; model y = x / dist=poisson;
        random intercept / subject=id;
        output out=a / allstats;
        output out=b pred(ilink)=mu / nomiss novar;
        output out=c pred=x;
        id id x;
      run;""")
    assert not r.errors, r.errors
    a = r.ds("a").df
    names = ["Pred", "PredPA", "PredMu", "PredMuPA", "StdErr", "StdErrPA", "StdErrMu", "StdErrMuPA", "Resid",
             "ResidPA", "ResidMu", "ResidMuPA", "Pearson", "PearsonPA", "PearsonMu", "PearsonMuPA", "Student",
             "StudentPA", "LCL", "LCLPA", "LCLMu", "LCLMuPA", "UCL", "UCLPA", "UCLMu", "UCLMuPA", "Variance",
             "VariancePA", "VarianceMu", "VarianceMuPA"]
    assert list(a.columns) == ["id", "x"] + names
    b = r.ds("b").df
    assert list(b.columns) == ["id", "x", "mu"] and len(b) == 119
    c = r.ds("c").df
    assert list(c.columns) == ["id", "x", "x1"]   # a clashing name is made unique (our suffix rule)


def test_output_statistics_need_one_g_side_subject():
    r = run_sas(NORMAL + """proc glimmix data=d; class id t; model z = x;
        random _residual_ / subject=id type=ar(1); output out=o stderr; run;""")
    assert any("STDERR" in e and "R-side" in e for e in r.errors)


def test_nested_subjects_write_pred_and_leave_missing_responses_unpredicted():
    """Nested SUBJECT= effects (processed by the coarsest subject): PRED is written for the observations used
    (PredPA = x'b from the printed solution); an observation with a missing response is left
    missing (its random-effects design is the coarsest subject's and is not rebuilt). This crashed once."""
    r = run_sas("""data d; call streaminit(4);
      do c=1 to 6; v = rand('normal')*0.5;
      do id=1 to 8; u = rand('normal')*0.5;
        do t=0 to 2; x = rand('normal'); y = rand('poisson', exp(0.3 + 0.3*x + u + v));
          if c=2 and id=3 and t=1 then y=.; output; end; end; end;
    run;
    proc glimmix data=d method=laplace; class c id; model y = x / dist=poisson s;
      random intercept / subject=c; random intercept / subject=id(c);
      output out=o pred pred(noblup); run;""")
    assert not r.errors, r.errors
    o = r.ds("o").df
    used = o["y"].notna().to_numpy()
    beta = [row["Estimate"] for row in _t(r, "ParameterEstimates").rows]
    assert o["PredPA"].to_numpy()[used] == pytest.approx(beta[0] + beta[1] * o["x"].to_numpy()[used], abs=1e-8)
    assert np.all(np.isfinite(o["Pred"].to_numpy()[used]))
    assert np.isnan(o["Pred"].to_numpy()[~used]).all()
