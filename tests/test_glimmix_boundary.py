"""Adaptive quadrature over standardised random effects (g = L u, G = L L') and estimates on the boundary of
the parameter space (a singular G: a correlation of +/-1).

References: a direct evaluation of the adaptive Gauss-Hermite rule on the g scale written here (mode by
Newton, lower Cholesky factor of the inverse Hessian, product grid), finite differences of the quadrature
log likelihood, and, for the boundary, an independent fit of the same model written as a scalar random effect
(G = a a' is a rank-one G: g = a v with v standard normal), maximised here with scipy.  By hand (not in the
tests) the boundary fits also agree with glmmTMB 1.1: (1 + t | id) Poisson and nbinom2 fits reporting a
correlation of 1.00 give the same fixed effects and standard errors to the 4 decimals printed."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss
from scipy import optimize
from scipy.special import gammaln

from conftest import run_sas
from sasglm.stats import glmm as M
from sasglm.stats.families import Log, Poisson


def _poisson_data(seed=3, K=25, T=5, corr_one=False):
    rng = np.random.default_rng(seed)
    u = rng.normal(size=K) * 0.6
    s = 0.25 * u if corr_one else rng.normal(size=K) * 0.3
    t = np.tile(np.arange(T), K).astype(float)
    x = rng.normal(size=K * T)
    ids = np.repeat(np.arange(K), T)
    y = rng.poisson(np.exp(0.4 + 0.3 * x + u[ids] + s[ids] * t)).astype(float)
    X = np.column_stack([np.ones(K * T), t, x])
    Z = np.column_stack([np.ones(K * T), t])
    return X, Z, y, ids


def _gscale_agq(X, Z, y, ids, beta, G, n):
    """log L_i on the g scale: nodes at the mode of g, scaled by the lower Cholesky factor of the inverse
    negative Hessian there (SAS's rule), written directly from the definition."""
    z1, w1 = hermegauss(n)
    nodes = np.array(list(itertools.product(z1, repeat=2)))
    wts = np.prod(np.array(list(itertools.product(w1, repeat=2))), axis=1)
    Gi = np.linalg.inv(G)
    out = []
    for i in np.unique(ids):
        m = ids == i
        Xi, Zi, yi = X[m], Z[m], y[m]
        e0 = Xi @ beta

        def logf(g):
            eta = e0 + Zi @ g
            return np.sum(yi * eta - np.exp(eta) - gammaln(yi + 1)) - 0.5 * g @ Gi @ g \
                - 0.5 * math.log(np.linalg.det(2 * math.pi * G))
        g = np.zeros(2)
        for _ in range(50):
            mu = np.exp(e0 + Zi @ g)
            H = Zi.T @ (mu[:, None] * Zi) + Gi
            g = g + np.linalg.solve(H, Zi.T @ (yi - mu) - Gi @ g)
        mu = np.exp(e0 + Zi @ g)
        C = np.linalg.cholesky(np.linalg.inv(Zi.T @ (mu[:, None] * Zi) + Gi))
        vals = [logf(g + C @ zn) + 0.5 * zn @ zn for zn in nodes]
        out.append(math.log(np.linalg.det(C)) + math.log(np.sum(wts * np.exp(vals))))
    return np.array(out)


def test_standardised_quadrature_equals_the_g_scale_rule():
    X, Z, y, ids = _poisson_data()
    d = M.GLMMData.make(X, Z, y, np.ones(len(y)), np.zeros(len(y)), ids, Poisson(), Log())
    agq = M.AGQ(d, M.make_cov("un", 2), 5)
    beta, G = np.array([0.35, 0.05, 0.3]), np.array([[0.4, -0.05], [-0.05, 0.08]])
    ours = agq.subject_loglik(beta, G)
    assert ours == pytest.approx(_gscale_agq(X, Z, y, ids, beta, G, 5), abs=1e-9)


def test_gradient_on_a_singular_factor_matches_finite_differences():
    """At L22 = 0 (correlation 1) the quadrature is still defined and differentiable in the Cholesky
    elements; the analytic gradient (mode and scaling movement included) equals central differences."""
    X, Z, y, ids = _poisson_data()
    d = M.GLMMData.make(X, Z, y, np.ones(len(y)), np.zeros(len(y)), ids, Poisson(), Log())
    cov = M.make_cov("un", 2)
    agq = M.AGQ(d, cov, 3)
    beta, xi = np.array([0.35, 0.05, 0.3]), np.array([0.6, 0.15, 0.0])
    _, g = agq.subject_grad_L(beta, *M.internal_factor(cov, xi))
    z = np.concatenate([beta, xi])

    def f(zz):
        return agq.subject_loglik_L(zz[:3], M.internal_factor(cov, zz[3:])[0]).sum()
    for j in range(6):
        e = np.zeros(6)
        e[j] = 1e-6
        assert g.sum(axis=0)[j] == pytest.approx((f(z + e) - f(z - e)) / 2e-6, rel=1e-5, abs=1e-5), j


def _rank_one_laplace(X, Z, y, ids, K):
    """-log L of the Poisson model with g_i = a v_i, v_i ~ N(0, 1), by Laplace (per-subject scalar modes)."""
    def negll(z):
        beta, a = z[:3], z[3:]
        e0, za = X @ beta, Z @ a
        v = np.zeros(K)
        for _ in range(60):
            mu = np.exp(e0 + za * v[ids])
            v = v + (np.bincount(ids, (y - mu) * za, K) - v) / (np.bincount(ids, mu * za ** 2, K) + 1)
        eta = e0 + za * v[ids]
        h = np.bincount(ids, np.exp(eta) * za ** 2, K) + 1
        return -(np.sum(y * eta - np.exp(eta) - gammaln(y + 1)) - 0.5 * np.sum(v ** 2) - 0.5 * np.sum(np.log(h)))
    return negll


def test_correlation_one_is_estimated_on_the_boundary():
    """Intercept and slope random effects generated perfectly correlated: the maximum likelihood G is
    singular.  Before, the optimiser stalled short of it (non-convergence WARNING, no standard errors; a
    negative binomial fit ended in an ERROR).  Now the fit converges on the boundary, SAS's NOTE about G is
    written, and estimates, -2 log L and fixed-effect standard errors equal an independent rank-one fit."""
    X, Z, y, ids = _poisson_data(seed=7, K=40, corr_one=True)
    rows = "\n".join(f"{i} {t:g} {x:.12g} {v:g}" for i, t, x, v in zip(ids, X[:, 1], X[:, 2], y))
    r = run_sas(f"""data d; input id t x y; datalines;
{rows}
;
proc glimmix data=d method=laplace; class id; model y = t x / dist=poisson s;
  random intercept t / subject=id type=un; run;""")
    assert not r.errors, r.errors
    assert any("Estimated G matrix is not positive definite" in ln for ln in r.log.splitlines())
    assert not any("did not converge" in ln for ln in r.log.splitlines())
    tab = {t.name: t for t in r.session.tables if t.proc == "GLIMMIX"}
    sol = tab["ParameterEstimates"].rows
    cp = [row["Estimate"] for row in tab["CovParms"].rows]
    m2ll = {row["Descr"]: row["Value"] for row in tab["FitStatistics"].rows}["-2 Log Likelihood"]
    assert cp[0] * cp[2] - cp[1] ** 2 == pytest.approx(0.0, abs=1e-9)           # singular G

    negll = _rank_one_laplace(X, Z, y, ids, 40)
    ref = optimize.minimize(negll, np.array([0.4, 0.1, 0.3, 0.5, 0.1]), method="BFGS", options={"gtol": 1e-8})
    beta, a = ref.x[:3], ref.x[3:]
    assert [row["Estimate"] for row in sol] == pytest.approx(beta, abs=2e-4)
    assert cp == pytest.approx([a[0] ** 2, a[0] * a[1], a[1] ** 2], abs=2e-4)
    assert m2ll == pytest.approx(2 * ref.fun, abs=1e-4)
    # standard errors: the inverse Hessian of the rank-one parameterisation (central differences)
    z0, h = ref.x, 1e-4
    H = np.zeros((5, 5))
    for i in range(5):
        for j in range(5):
            ei, ej = np.eye(5)[i] * h, np.eye(5)[j] * h
            H[i, j] = (negll(z0 + ei + ej) - negll(z0 + ei - ej) - negll(z0 - ei + ej) + negll(z0 - ei - ej)) / (4 * h * h)
    se = np.sqrt(np.diag(np.linalg.inv(H)))[:3]
    assert [row["StdErr"] for row in sol] == pytest.approx(se, rel=2e-3)
