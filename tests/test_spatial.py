"""Spatial covariance structures TYPE=SP(EXP|GAU|SPH|POW|LIN)(coordinates) on the MIXED REPEATED statement and
the GLIMMIX R-side (RANDOM _RESIDUAL_), with SUBJECT=INTERCEPT (all the data one block) or a subject effect.

References: nlme 3.1 gls(..., correlation = corExp / corGaus / corSpher(form = ~x + y or ~t | id), method =
"REML" or "ML") run by hand on the data below (values pasted; corExp etc. use the same range parameterisation
as SAS's SP(EXP), SP(GAU), SP(SPH)); for the binomial spatial model of the GLIMMIX documentation's Hessian fly
example, a pseudo-likelihood fixed point checked by an independent dense REML fit written in the test."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from conftest import run_sas

# 70 points on [0, 10]^2 with an exponential spatial process (range 2.5) plus noise, simulated once (numpy)
SPDATA = """data sp;
  input x y g z @@;
  datalines;
6.251 6.718 2 2.0226   8.972 3.004 2 3.3593   7.757 8.741 1 1.8946   2.252 6.622 1 0.0866
3.002 1.316 2 3.7636   8.736 8.451 1 2.3857   0.053 9.449 2 1.0425   8.212 9.039 2 1.9311
7.971 5.697 1 2.6134   4.679 1.455 1 2.7486   3.03 1.925 2 3.5381   2.784 9.279 2 0.77
2.549 5.523 0 0.6686   4.451 1.806 0 2.6299   5.045 8.841 0 3.2091   5.535 6.416 1 3.3161
9.955 5.697 0 3.8254   7.927 3.763 1 2.7163   6.222 4.11 1 0.9922   9.89 2.395 2 4.9978
2.153 0.381 2 3.8665   1.602 8.762 0 0.6026   6.125 4.677 2 2.0056   0.439 5.476 2 1.7506
0.357 3.222 2 2.8651   5.149 7.513 2 3.42   4.662 0.252 0 2.2368   9.172 3.722 2 5.1836
6.292 0.304 0 0.9787   5.141 1.229 1 3.5376   4.969 9.671 2 3.1267   2.475 6.578 2 1.2218
0.118 4.282 0 4.2225   1.924 5.237 0 3.1305   6.92 8.728 1 1.3709   2.006 3.442 1 1.2276
3.695 5.903 2 2.6404   0.037 6.837 0 -0.2157   8.3 3.554 0 3.0077   1.545 5.191 0 3.1158
2.676 7.652 1 -0.3975   8.803 9.092 0 -0.073   5.098 1.511 0 2.7673   8.472 9.334 2 1.3766
6.397 0.052 2 1.4437   7.418 7.53 2 1.9492   0.915 8.105 1 -0.1888   5.411 1.368 0 0.9887
5.078 4.189 2 1.6104   8.713 8.153 1 1.3826   3.613 0.143 2 0.907   5.982 6.285 1 3.374
0.593 7.93 0 -0.2519   3.876 5.13 1 3.0578   3.23 7.258 1 0.2718   1.502 2.264 1 2.22
8.163 1.985 1 2.1163   3.794 3.631 0 1.0225   9.787 1.794 0 4.3432   5.9 3.461 2 0.4683
6.051 9.481 2 2.7668   6.38 5.733 1 3.1655   6.765 3.401 0 3.612   1.508 2.715 1 0.9555
4.403 9.52 1 3.9499   2.396 4.445 1 2.2897   4.025 9.804 0 2.5437   0.967 5.155 0 0.9013
9.678 5.212 2 3.2863   2.15 8.965 0 1.3645
;
"""
# 12 subjects x 5 unequally spaced times, Gaussian-correlated errors
REPDATA = """data rep;
  input id trt t w @@;
  datalines;
1 0 0 -1.9973   1 0 1 -1.5829   1 0 3 -1.5849   1 0 5 -3.1903   1 0 10 4.6144
2 1 0 4.0539   2 1 1 4.0373   2 1 2 3.8136   2 1 8 3.5081   2 1 10 4.0002
3 0 0 0.757   3 0 1 2.5445   3 0 3 2.0541   3 0 8 4.8027   3 0 10 5.8321
4 1 0 3.4019   4 1 1 3.7405   4 1 2 0.9334   4 1 3 1.1141   4 1 8 3.4192
5 0 1 3.0075   5 0 2 3.2883   5 0 3 5.119   5 0 5 4.702   5 0 10 5.2405
6 1 0 3.2151   6 1 2 3.2709   6 1 3 3.3762   6 1 8 3.1774   6 1 10 3.4349
7 0 1 1.2465   7 0 3 4.8933   7 0 5 6.308   7 0 8 5.8495   7 0 10 5.6509
8 1 0 1.5872   8 1 1 1.6307   8 1 2 2.0377   8 1 3 0.7484   8 1 5 1.1848
9 0 1 5.1693   9 0 2 4.7215   9 0 5 3.2148   9 0 8 5.1363   9 0 10 6.1389
10 1 0 1.6315   10 1 2 0.6428   10 1 3 1.3538   10 1 5 0.8105   10 1 10 1.8402
11 0 1 3.4053   11 0 2 5.6803   11 0 5 5.1028   11 0 8 4.1523   11 0 10 3.3753
12 1 0 0.4461   12 1 2 0.7501   12 1 3 1.6781   12 1 5 2.5519   12 1 8 3.8409
;
"""


def _t(r, name, proc="MIXED", k=0):
    return [t for t in r.session.tables if t.name == name and t.proc == proc][k]


def _cov(r, proc="MIXED"):
    return [row["Estimate"] for row in _t(r, "CovParms", proc).rows]


def _m2(r, proc="MIXED"):
    rows = _t(r, "FitStatistics", proc).rows
    return rows[0]["Value"]


def _x(r, name="x", proc="MIXED"):
    table = "SolutionF" if proc == "MIXED" else "ParameterEstimates"
    row = next(row for row in _t(r, table, proc).rows if row["Effect"] == name)
    return row["Estimate"], row["StdErr"], row["DF"]


@pytest.mark.parametrize("kind, ref", [
    # range, sigma^2, -2 Res Log Likelihood, x estimate and SE (nlme gls REML)
    ("exp", (1.057608414, 1.714010348, 213.8147482, 0.1595604259, 0.09397605302)),
    ("gau", (0.5333165874, 1.552399364, 222.4229767, 0.16752272926, 0.06050170739)),
    # nlme from its default start stops at a degenerate range (14158, -2 RLL 220.40); from corSpher(value = 1.7)
    # it reaches the optimum we find
    ("sph", (1.701598723, 1.594941468, 217.6765917, 0.1694621609, None)),
])
def test_mixed_spatial_one_block_matches_nlme(kind, ref):
    r = run_sas(SPDATA + f"proc mixed data=sp; class g; model z = x g / s; "
                         f"repeated / subject=intercept type=sp({kind})(x y); run;")
    assert not r.errors, r.errors
    rows = _t(r, "CovParms").rows
    assert [(row["CovParm"], row["Subject"]) for row in rows] == [(f"SP({kind.upper()})", "Intercept"),
                                                                   ("Residual", "")]
    assert _cov(r) == pytest.approx(ref[:2], rel=2e-5)
    assert _m2(r) == pytest.approx(ref[2], abs=2e-4)
    est, se, df = _x(r)
    assert est == pytest.approx(ref[3], abs=2e-6)
    if ref[4] is not None:
        assert se == pytest.approx(ref[4], rel=2e-5)
    # one subject: BETWITHIN has nothing to split, the residual DF n - rank(X) = 66 (nlme's 66)
    assert df == 66


def test_mixed_spatial_type3_matches_nlme_marginal_anova():
    """nlme anova(m, type = "marginal") of the SP(EXP) fit: F(x) = 2.882810, F(g) = 0.766827 on 66 DF."""
    r = run_sas(SPDATA + "proc mixed data=sp; class g; model z = x g; "
                         "repeated / subject=intercept type=sp(exp)(x y); run;")
    f = {row["Effect"]: (row["FValue"], row["DenDF"]) for row in _t(r, "Tests3").rows}
    assert f["x"] == pytest.approx((2.882810, 66), rel=2e-5)
    assert f["g"] == pytest.approx((0.766827, 66), rel=2e-5)


def test_mixed_spatial_local_nugget_matches_nlme():
    """REPEATED ... TYPE=SP(EXP)(x y) LOCAL against gls(corExp(form = ~x + y, nugget = TRUE)): range 1.6758365469,
    nugget share 0.1479747017 of sigma^2 1.841581799, -2 RLL 213.0691362."""
    r = run_sas(SPDATA + "proc mixed data=sp; class g; model z = x g; "
                         "repeated / subject=intercept type=sp(exp)(x y) local; run;")
    assert not r.errors, r.errors
    assert [row["CovParm"] for row in _t(r, "CovParms").rows] == ["Variance", "SP(EXP)", "Residual"]
    s2, nug = 1.841581799, 0.1479747017
    assert _cov(r) == pytest.approx([s2 * (1 - nug), 1.6758365469, s2 * nug], rel=5e-5)
    assert _m2(r) == pytest.approx(213.0691362, abs=2e-4)


@pytest.mark.parametrize("kind, method, ref", [
    ("exp", "reml", (5.986314797, 3.409602198, 205.3267988)),
    ("gau", "reml", (1.7417931, 3.202360619, 224.9295795)),
    ("sph", "reml", (10.55860534, 3.471315311, 204.9284014)),
    ("exp", "ml", (5.292726192, 2.970694657, 201.1060018)),
])
def test_mixed_spatial_by_subject_matches_nlme(kind, method, ref):
    """REPEATED / SUBJECT=id TYPE=SP(kind)(t) against gls(correlation = corX(form = ~t | id))."""
    r = run_sas(REPDATA + f"proc mixed data=rep method={method}; class id trt; model w = trt t trt*t; "
                          f"repeated / subject=id type=sp({kind})(t); run;")
    assert not r.errors, r.errors
    assert _cov(r) == pytest.approx(ref[:2], rel=5e-5)
    assert _m2(r) == pytest.approx(ref[2], abs=2e-4)


def test_glimmix_normal_rside_spatial_equals_mixed():
    src = SPDATA + ("proc mixed data=sp; class g; model z = x g / s; repeated / subject=intercept type=sp(exp)(x y);"
                    " run;\n"
                    "proc glimmix data=sp; class g; model z = x g / s; "
                    "random _residual_ / subject=intercept type=sp(exp)(x y); run;")
    r = run_sas(src)
    assert not r.errors, r.errors
    assert _cov(r, "GLIMMIX") == pytest.approx(_cov(r), rel=1e-5)
    assert _x(r, proc="GLIMMIX")[:2] == pytest.approx(_x(r)[:2], rel=1e-5)


def test_spatial_needs_coordinates_and_unknown_kind_is_an_error():
    r = run_sas(SPDATA + "proc mixed data=sp; model z = x; repeated / subject=intercept type=sp(exp); run;")
    assert any("TYPE=SP(EXP) needs its coordinate variables" in e for e in r.errors)
    r = run_sas(SPDATA + "proc mixed data=sp; model z = x; repeated / subject=intercept type=sp(matern)(x y); run;")
    assert any("SP(MATERN)" in e for e in r.errors)


HESSIAN = """data HessianFly;
   input block entry lat lng n Y @@;
   datalines;
  1 14 1 1  8 2    1 16 1 2  9 1    1  7 1 3 13 9    1  6 1 4  9 9
  1 13 2 1  9 2    1 15 2 2 14 7    1  8 2 3  8 6    1  5 2 4 11 8
  1 11 3 1 12 7    1 12 3 2 11 8    1  2 3 3 10 8    1  3 3 4 12 5
  1 10 4 1  9 7    1  9 4 2 15 8    1  4 4 3 19 6    1  1 4 4  8 7
  2 15 5 1 15 6    2  3 5 2 11 9    2 10 5 3 12 5    2  2 5 4  9 9
  2 11 6 1 20 10   2  7 6 2 10 8    2 14 6 3 12 4    2  6 6 4 10 7
  2  5 7 1  8 8    2 13 7 2  6 0    2 12 7 3  9 2    2 16 7 4  9 0
  2  9 8 1 14 9    2  1 8 2 13 12   2  8 8 3 12 3    2  4 8 4 14 7
  3  7 1 5  7 7    3 13 1 6  7 0    3  8 1 7 13 3    3 14 1 8  9 0
  3  4 2 5 15 11   3 10 2 6  9 7    3  3 2 7 15 11   3  9 2 8 13 5
  3  6 3 5 16 9    3  1 3 6  8 8    3 15 3 7  7 0    3 12 3 8 12 8
  3 11 4 5  8 1    3 16 4 6 15 1    3  5 4 7 12 7    3  2 4 8 16 12
  4  9 5 5 15 8    4  4 5 6 10 6    4 12 5 7 13 5    4  1 5 8 15 9
  4 15 6 5 17 6    4  6 6 6  8 2    4 14 6 7 12 5    4  7 6 8 15 8
  4 13 7 5 13 2    4  8 7 6 13 9    4  3 7 7  9 9    4 10 7 8  6 6
  4  2 8 5 12 8    4 11 8 6  9 7    4  5 8 7 11 10   4 16 8 8 15 7
;
"""


def test_glimmix_hessian_fly_spatial_rspl_is_a_pseudo_likelihood_fixed_point():
    """The GLIMMIX documentation's spatial analysis of the Hessian fly data (binomial, logit, R-side SP(EXP)(lng
    lat) with SUBJECT=INTERCEPT, RSPL).  Check: at the reported estimates, the pseudo-data P = eta + (y/n - mu) /
    (mu (1 - mu)) with var[P] = sigma^2 D^-1/2 C(range) D^-1/2, D = diag(n mu (1 - mu)), refitted by a dense REML
    written here, give back the same range, sigma^2 and fixed effects."""
    r = run_sas(HESSIAN + "proc glimmix data=HessianFly; class entry; model y/n = entry / solution ddfm=contain;"
                          " random _residual_ / subject=intercept type=sp(exp)(lng lat); run;")
    assert not r.errors, r.errors
    cov = _t(r, "CovParms", "GLIMMIX").rows
    assert [(row["CovParm"], row["Subject"]) for row in cov] == [("SP(EXP)", "Intercept"), ("Residual", "")]
    rng_, s2 = cov[0]["Estimate"], cov[1]["Estimate"]
    sol = _t(r, "ParameterEstimates", "GLIMMIX").rows
    beta = np.array([row["Estimate"] for row in sol])
    df = r.ds("HessianFly").df
    entry = df["entry"].to_numpy().astype(int)
    X = np.column_stack([np.ones(64)] + [(entry == k).astype(float) for k in range(1, 17)])
    eta = X @ beta
    mu = 1 / (1 + np.exp(-eta))
    y, n = df["Y"].to_numpy(float), df["n"].to_numpy(float)
    P = eta + (y / n - mu) / (mu * (1 - mu))
    w = 1 / np.sqrt(n * mu * (1 - mu))
    c = df[["lng", "lat"]].to_numpy(float)
    dist = np.sqrt(((c[:, None, :] - c[None, :, :]) ** 2).sum(-1))
    Xr = X[:, :16]                                   # entry 16 is the redundant column (GLM coding)

    def reml(log_range):
        V = np.exp(-dist / np.exp(log_range)) * np.outer(w, w)
        Vi = np.linalg.inv(V)
        XVX = Xr.T @ Vi @ Xr
        b = np.linalg.solve(XVX, Xr.T @ Vi @ P)
        res = P - Xr @ b
        N, p = 64, 16
        sig = res @ Vi @ res / (N - p)
        val = np.linalg.slogdet(V)[1] + N * np.log(sig) + np.linalg.slogdet(XVX)[1] - p * np.log(sig)
        return val, sig, b
    opt = optimize.minimize_scalar(lambda t: reml(t)[0], bounds=(np.log(0.05), np.log(20)), method="bounded",
                                   options={"xatol": 1e-10})
    _, sig, b = reml(opt.x)
    assert np.exp(opt.x) == pytest.approx(rng_, rel=1e-4)
    assert sig == pytest.approx(s2, rel=1e-4)
    assert b == pytest.approx(beta[:16], abs=1e-4)


def test_mixed_random_subject_intercept_is_one_block():
    """RANDOM id / SUBJECT=INTERCEPT (one subject) fits as RANDOM id without SUBJECT= (it stopped with an
    internal error once REPEATED accepted SUBJECT=INTERCEPT); the Subject column reads Intercept."""
    src = ("data d; call streaminit(5); do id=1 to 10; u = rand('normal');"
           " do t=1 to 3; y = 1 + t + u + rand('normal'); output; end; end; run;\n"
           "proc mixed data=d; class id; model y = t; random id / subject=intercept; run;\n"
           "proc mixed data=d; class id; model y = t; random id; run;")
    r = run_sas(src)
    assert not r.errors, r.errors
    a, b = [t for t in r.session.tables if t.name == "CovParms"]
    assert [row["Estimate"] for row in a.rows] == pytest.approx([row["Estimate"] for row in b.rows], rel=1e-10)
    assert a.rows[0]["Subject"] == "Intercept"
