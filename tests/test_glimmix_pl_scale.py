"""DIST=NEGBIN and DIST=BETA under pseudo-likelihood (RSPL, the default method).

The pseudo-data are weighted by the variance function without its scale (mu; mu(1 - mu)) and the scale is a
covariance parameter of the pseudo model's R: negative binomial Var = mu + k mu^2 gives R = diag(1 + k mu)
(log link), beta Var = mu(1 - mu)/(1 + phi) gives R = I/(1 + phi).  SAS reports it as "Scale".

Reference: at convergence the printed estimates are the REML fit of the final pseudo linear mixed model.  The
test rebuilds that model densely from the OUTPUT data set (the linear predictor with BLUPs), maximises its
restricted likelihood with scipy, and compares: an implementation independent of stats/lmm.
"""
from __future__ import annotations


import numpy as np
import pytest
from scipy import optimize

from conftest import run_sas

def program(seed, subjects, visits, b_sd, response, dist):
    """Simulated clustered data (x normal, a normal random intercept b) and the default-method GLIMMIX fit."""
    return f"""
data d;
  call streaminit({seed});
  do id = 1 to {subjects};
    b = rand('normal') * {b_sd};
    do j = 1 to {visits};
      x = rand('normal'); {response}
      output;
    end;
  end;
run;
proc glimmix data=d;
  class id;
  model y = x / dist={dist} s;
  random int / subject=id;
  output out=o pred=eta;
run;
"""


# negative binomial: Poisson with a gamma frailty of variance 1/2 (k = 0.5)
NB = program(11, 60, 5, 0.6, "g = rand('gamma', 2) / 2; y = rand('poisson', g * exp(0.5 + 0.4 * x + b));", "negbin")
# beta with precision phi = 8
BETA = program(12, 50, 4, 0.5, "m = 1 / (1 + exp(-(0.2 + 0.5 * x + b))); y = rand('beta', m * 8, (1 - m) * 8);",
               "beta")


def tab(r, name):
    return [t for t in r.session.tables if t.name == name][0].rows


def dense_reml(z, X, ids, a, rfun):
    """REML for z = X beta + b_id + e, Var(b) = s2, Var(e_i) = rfun(scale)_i / a_i; returns (s2, scale, beta)."""
    Zm = (ids[:, None] == np.unique(ids)[None, :]).astype(float)

    def parts(t):
        s2, sc = t
        V = s2 * Zm @ Zm.T + np.diag(rfun(sc) / a)
        Vi = np.linalg.inv(V)
        XVX = X.T @ Vi @ X
        beta = np.linalg.solve(XVX, X.T @ Vi @ z)
        r = z - X @ beta
        return np.linalg.slogdet(V)[1] + np.linalg.slogdet(XVX)[1] + r @ Vi @ r, beta

    res = optimize.minimize(lambda t: parts(t)[0], [0.3, 0.5], method="L-BFGS-B",
                            bounds=[(1e-8, None), (1e-8, None)], options={"ftol": 1e-15, "gtol": 1e-10})
    return res.x[0], res.x[1], parts(res.x)[1]


@pytest.mark.parametrize("prog,dist", [(NB, "negbin"), (BETA, "beta")])
def test_pl_scale_is_the_reml_fit_of_the_final_pseudo_model(prog, dist):
    r = run_sas(prog)
    assert not r.errors, r.errors
    cp = {row["CovParm"]: row for row in tab(r, "CovParms")}
    assert list(cp) == ["Intercept", "Scale"] and cp["Scale"]["Subject"] == ""
    est = [row["Estimate"] for row in tab(r, "ParameterEstimates")]
    o = r.ds("o").df
    y, x, eta, ids = (o[c].to_numpy(dtype=float) for c in ("y", "x", "eta", "id"))
    X = np.column_stack([np.ones(len(y)), x])
    if dist == "negbin":
        mu = np.exp(eta)
        z = eta + (y - mu) / mu
        a = mu                                   # weights d1^2 / mu with d1 = mu
        s2, k, beta = dense_reml(z, X, ids, a, lambda sc: 1 + sc * mu)
    else:
        mu = 1 / (1 + np.exp(-eta))
        d1 = mu * (1 - mu)
        z = eta + (y - mu) / d1
        a = d1                                   # d1^2 / (mu (1 - mu))
        s2, k, beta = dense_reml(z, X, ids, a, lambda sc: np.full(len(y), 1 / (1 + sc)))
    assert cp["Intercept"]["Estimate"] == pytest.approx(s2, rel=1e-4)
    assert cp["Scale"]["Estimate"] == pytest.approx(k, rel=1e-4)
    assert est == pytest.approx(list(beta), abs=1e-5)
    # the simulation's truths are k = 0.5 (gamma frailty of variance 1/2) and phi = 8
    assert cp["Scale"]["Estimate"] == pytest.approx(0.5 if dist == "negbin" else 8, rel=0.5)
