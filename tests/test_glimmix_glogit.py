"""PROC GLIMMIX DIST=MULTINOMIAL LINK=GLOGIT (nominal response).

References, all computed independently inside the tests (no SAS output for these models is stored):
- GLM mode: the multinomial log likelihood written out here and maximised with scipy's BFGS; standard errors
  from the inverse of its Hessian by central differences.
- Random intercepts per category (METHOD=QUAD, GROUP=response): each subject's marginal likelihood by
  the trapezoid rule on a dense grid over the two random effects at the estimates sasglm prints; the printed -2 log L must
  equal the sum, and moving any printed estimate must not increase the brute-force likelihood (optimality).
"""
import math

import numpy as np
import pytest
from scipy import optimize

from tests.conftest import assert_errors, run_sas

_trapz = getattr(np, "trapezoid", None) or np.trapz     # numpy < 2 has only trapz


def _tables(r, name):
    return [t for t in r.session.tables if t.name == name]


def _data_step(seed, nsub, nvis, sd1, sd2):
    """A DATA step simulating a 3-category nominal response (A, B, C) with subject effects."""
    return f"""
data nom;
  call streaminit({seed});
  do id = 1 to {nsub};
    trt = mod(id, 2);
    u1 = rand('normal', 0, {sd1});
    u2 = rand('normal', 0, {sd2});
    do visit = 1 to {nvis};
      x = rand('normal');
      e1 = exp(0.3 + 0.5*trt - 0.4*x + u1);
      e2 = exp(-0.2 + 0.2*trt + 0.6*x + u2);
      p1 = e1 / (1 + e1 + e2);
      p2 = e2 / (1 + e1 + e2);
      v = rand('uniform');
      if v < p1 then cat = 'A';
      else if v < p1 + p2 then cat = 'B';
      else cat = 'C';
      output;
    end;
  end;
  keep id trt visit x cat;
run;
"""


def _rows(r, name):
    t = _tables(r, name)[-1]
    return t.rows


def _mnl_loglik(B, X, yk):
    """log L of the baseline-category model; B is p x 2, categories 0,1 modelled against 2."""
    return _mnl_loglik_eta(X @ B, yk)


def test_glm_mode_matches_independent_mle():
    src = _data_step(11, 150, 2, 0.0, 0.0) + """
proc glimmix data=nom;
  class trt;
  model cat = trt x / dist=multinomial link=glogit solution;
run;
"""
    r = run_sas(src)
    assert r.errors == [], r.log
    pe = [row for row in _rows(r, "ParameterEstimates") if row["StdErr"] is not None]
    df = r.ds("nom").frame if hasattr(r.ds("nom"), "frame") else r.ds("nom").df
    yk = df["cat"].map({"A": 0, "B": 1, "C": 2}).to_numpy()
    # GLM coding, trt's last level (1) redundant: columns intercept, trt=0, x
    X = np.column_stack([np.ones(len(df)), (df["trt"] == 0).astype(float), df["x"].to_numpy()])
    f = lambda b: -_mnl_loglik(b.reshape(3, 2), X, yk)
    opt = optimize.minimize(f, np.zeros(6), method="BFGS", options={"gtol": 1e-10})
    ours = np.array([row["Estimate"] for row in pe])
    assert [(row["Effect"], row["cat"]) for row in pe] == \
        [("Intercept", "A"), ("Intercept", "B"), ("trt", "A"), ("trt", "B"), ("x", "A"), ("x", "B")]
    np.testing.assert_allclose(ours, opt.x, atol=1e-6)
    # standard errors: inverse Hessian of the independent log likelihood
    h = 1e-4
    H = np.zeros((6, 6))
    for i in range(6):
        for j in range(6):
            e_i, e_j = np.eye(6)[i] * h, np.eye(6)[j] * h
            H[i, j] = (f(opt.x + e_i + e_j) - f(opt.x + e_i - e_j) - f(opt.x - e_i + e_j) + f(opt.x - e_i - e_j)) / (4 * h * h)
    se = np.sqrt(np.diag(np.linalg.inv(H)))
    np.testing.assert_allclose([row["StdErr"] for row in pe], se, rtol=1e-4)
    fs = {row["Descr"]: row["Value"] for row in _rows(r, "FitStatistics")}
    assert fs["-2 Log Likelihood"] == pytest.approx(2 * opt.fun, abs=1e-6)
    # Type III: trt tested for both logits at once
    t3 = {row["Effect"]: row for row in _rows(r, "Tests3")}
    assert t3["trt"]["NumDF"] == 2 and t3["x"]["NumDF"] == 2
    prof = _tables(r, "ResponseProfile")[-1]
    assert "cat='C' serves as the reference category" in prof.footnotes[0]


def test_quad_group_random_intercepts_match_brute_force_integration():
    src = _data_step(5, 30, 4, 1.0, 0.6) + """
proc glimmix data=nom method=quad(qpoints=15);
  class id;
  model cat(ref=first) = x / dist=multinomial link=glogit solution;
  random intercept / subject=id group=cat;
run;
"""
    r = run_sas(src)
    assert r.errors == [], r.log
    pe = _rows(r, "ParameterEstimates")
    cp = _rows(r, "CovParms")
    # REF=FIRST: A is the reference; B and C modelled, each with its own variance (GROUP=cat)
    assert [row["Group"] for row in cp] == ["cat B", "cat C"]
    assert [(row["Effect"], row["cat"]) for row in pe] == [("Intercept", "B"), ("Intercept", "C"), ("x", "B"), ("x", "C")]
    beta = np.array([row["Estimate"] for row in pe]).reshape(2, 2)
    s2 = np.array([row["Estimate"] for row in cp])
    m2ll = {row["Descr"]: row["Value"] for row in _rows(r, "FitStatistics")}["-2 Log Likelihood"]
    df = r.ds("nom").frame if hasattr(r.ds("nom"), "frame") else r.ds("nom").df
    code = df["cat"].map({"B": 0, "C": 1, "A": 2}).to_numpy()
    ids = df["id"].to_numpy()
    xs = df["x"].to_numpy()

    def loglik(beta, s2):
        """Sum over subjects of log of the 2-D integral by the trapezoid rule on a 601 x 601 grid over
        +-8 prior SDs (spectrally accurate for these smooth, fast-decaying integrands)."""
        g1 = np.linspace(-8, 8, 601) * math.sqrt(s2[0])
        g2 = np.linspace(-8, 8, 601) * math.sqrt(s2[1])
        B1, B2 = np.meshgrid(g1, g2, indexing="ij")
        logprior = -B1 ** 2 / (2 * s2[0]) - B2 ** 2 / (2 * s2[1]) - math.log(2 * math.pi * math.sqrt(s2[0] * s2[1]))
        tot = 0.0
        for i in np.unique(ids):
            sel = ids == i
            X = np.column_stack([np.ones(sel.sum()), xs[sel]])
            yk = code[sel]
            lf = logprior.copy()
            for xrow, yv in zip(X, yk):
                e1, e2 = xrow @ beta[:, 0] + B1, xrow @ beta[:, 1] + B2
                lse = np.logaddexp(0.0, np.logaddexp(e1, e2))
                lf += (e1 if yv == 0 else e2 if yv == 1 else 0.0) - lse
            mx = lf.max()
            tot += mx + math.log(_trapz(_trapz(np.exp(lf - mx), g2, axis=1), g1))
        return tot
    ll = loglik(beta, s2)
    assert m2ll == pytest.approx(-2 * ll, abs=2e-5)       # 15-point quadrature vs adaptive 2-D integration
    # optimality: a step of 0.02 in either slope lowers the brute-force likelihood
    for k in (2, 3):
        for sgn in (1, -1):
            b2 = beta.copy().reshape(-1)
            b2[k] += sgn * 0.02
            assert loglik(b2.reshape(2, 2), s2) < ll
    assert all(row["StdErr"] > 0 for row in pe)


def _mnl_loglik_eta(eta, yk):
    lse = np.log1p(np.exp(eta).sum(axis=1))
    pick = np.where(yk < 2, eta[np.arange(len(yk)), np.minimum(yk, 1)], 0.0)
    return float(np.sum(pick - lse))


def test_glogit_unsupported_pieces_are_errors():
    src = _data_step(3, 20, 2, 0.5, 0.5) + """
proc glimmix data=nom;
  class trt;
  model cat = trt / dist=multinomial link=glogit;
  lsmeans trt;
run;
proc glimmix data=nom method=quad;
  class id trt;
  model cat = trt / dist=multinomial link=glogit;
  random intercept / subject=id group=trt;
run;
proc glimmix data=nom;
  class id trt;
  model cat = trt / dist=multinomial link=glogit;
  random intercept / subject=id;
run;
proc glimmix data=nom;
  class trt;
  model cat = trt / dist=multinomial link=glogit covb;
run;
proc glimmix data=nom method=laplace;
  class id trt;
  model cat = trt / dist=multinomial link=glogit;
  random intercept / subject=id;
  parms (1);
run;
"""
    r = run_sas(src)
    assert_errors(r, ["LSMEANS, ESTIMATE, CONTRAST and OUTPUT are not supported yet with LINK=GLOGIT",
                      "GROUP= is not supported yet",
                      "DIST=MULTINOMIAL is not supported yet with METHOD=RSPL",
                      "MODEL COVB is not supported yet with LINK=GLOGIT",
                      "The PARMS statement is not supported yet with LINK=GLOGIT"])
