"""PROC GENMOD: the course program's ALR step against ../shared/reference/README.md, GLMs against
closed forms, GEE independence against the GLM fit and a hand-written sandwich, and the generalized
score test against a direct computation."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from conftest import COUNT_ROWS, SHARED, SHARED_DATA, assert_errors, needs_shared, run_sas
from sasglm.stats import gee as G
from sasglm.stats.families import Binomial, Logit


def _table(r, name, subtitle=None):
    for t in r.session.tables:
        if t.name == name and (subtitle is None or t.subtitle == subtitle):
            return t
    raise AssertionError(f"no table {name}")


@needs_shared
def test_course_alr_step_matches_reference():
    src = (SHARED / "seed" / "course_program.sas").read_text().split("title1 'Generalized")[0]
    r = run_sas(src, libname_overrides={"s857": str(SHARED_DATA)})
    est = _table(r, "GEEEmpPEst")
    rows = {(row["Parm"], row.get("Level1", "")): row for row in est.rows}
    # reference/README.md step 1: SAS estimates (course output), independent empirical SEs, 4 decimals
    ref = {("Intercept", ""): (-2.2461, 0.1765), ("TIME", ""): (0.7030, 0.1581), ("time2", ""): (-0.0323, 0.0318),
           ("TRT*TIME", "1"): (0.3380, 0.1097), ("TRT*time2", "1"): (-0.0683, 0.0284)}
    for key, (b, se) in ref.items():
        assert rows[key]["Estimate"] == pytest.approx(b, abs=5e-5)
        assert rows[key]["StdErr"] == pytest.approx(se, abs=5e-5)
    # log odds ratios to 3 decimals; their SEs within about 3% (reference: independent, "about")
    alphas = [1.8475, 1.4851, 1.7605, 2.1610, 2.0665, 2.2783]
    for i, a in enumerate(alphas, 1):
        assert rows[(f"Alpha{i}", "")]["Estimate"] == pytest.approx(a, abs=5e-4)
    for i, se in enumerate([0.18, 0.21, 0.25, 0.19, 0.21, 0.18], 1):
        assert rows[(f"Alpha{i}", "")]["StdErr"] == pytest.approx(se, rel=0.1)
    t3 = {row["Source"]: row["ChiSq"] for row in _table(r, "GEEType3").rows}
    assert [round(t3[k], 2) for k in ("TIME", "time2", "TRT*TIME", "TRT*time2")] == [19.77, 1.04, 9.50, 5.78]
    nobs = {row["Label"]: row["N"] for row in _table(r, "NObs").rows}
    assert nobs["Number of Observations Read"] == 4604 and nobs["Number of Observations Used"] == 3616
    info = {row["Label"]: row["Value"] for row in _table(r, "GEEModInfo").rows}
    assert info["Number of Clusters"] == 1151
    pred = r.ds("pred")
    assert pred.nobs == 4604 and pred.df["Predicted"].between(0, 1).all()


def test_normal_identity_is_least_squares():
    r = run_sas("data a; input x y; datalines;\n1 2.1\n2 3.9\n3 6.2\n4 7.8\n5 10.1\n;\n"
                "proc genmod data=a; model y = x; run;\n")
    X = np.column_stack([np.ones(5), np.arange(1, 6)])
    y = np.array([2.1, 3.9, 6.2, 7.8, 10.1])
    b = np.linalg.lstsq(X, y, rcond=None)[0]
    sigma2_ml = np.sum((y - X @ b) ** 2) / 5
    se = np.sqrt(np.diag(sigma2_ml * np.linalg.inv(X.T @ X)))
    rows = _table(r, "ParameterEstimates").rows
    assert [rows[0]["Estimate"], rows[1]["Estimate"]] == pytest.approx(b)
    assert [rows[0]["StdErr"], rows[1]["StdErr"]] == pytest.approx(se)
    assert rows[2]["Parameter"] == "Scale" and rows[2]["Estimate"] == pytest.approx(math.sqrt(sigma2_ml))


def test_poisson_one_way_class_gives_group_means_and_glm_coding():
    r = run_sas("data a; input g $ y @@; datalines;\na 1 a 3 b 4 b 6 b 8 c 10\n;\n"
                "proc genmod data=a; class g; model y = g / dist=poisson type3; run;\n")
    rows = _table(r, "ParameterEstimates").rows
    est = {(row["Parameter"], row["Level1"]): row for row in rows}
    # GLM coding: the last level (c) is the reference, printed with DF 0 and estimate 0
    assert est[("Intercept", "")]["Estimate"] == pytest.approx(math.log(10))
    assert est[("g", "a")]["Estimate"] == pytest.approx(math.log(2 / 10))
    assert est[("g", "b")]["Estimate"] == pytest.approx(math.log(6 / 10))
    assert est[("g", "c")]["DF"] == 0 and est[("g", "c")]["Estimate"] == 0
    # LR type 3 = deviance of the intercept-only model minus the full deviance (full model saturated by group)
    y = np.array([1, 3, 4, 6, 8, 10.0])
    mu0 = y.mean()
    mus = np.array([2, 2, 6, 6, 6, 10.0])
    lr = 2 * np.sum(y * np.log(mus / mu0))
    assert _table(r, "Type3").rows[0]["ChiSq"] == pytest.approx(lr)


def test_binary_response_models_first_ordered_level_unless_descending():
    src = "data a; input y x @@; datalines;\n0 1 0 2 1 3 0 4 1 5 1 6 1 7 0 8\n;\n"
    up = run_sas(src + "proc genmod data=a; model y = x / dist=binomial; run;\n")
    down = run_sas(src + "proc genmod data=a descending; model y = x / dist=binomial; run;\n")
    bu = _table(up, "ParameterEstimates").rows[1]["Estimate"]
    bd = _table(down, "ParameterEstimates").rows[1]["Estimate"]
    assert bu == pytest.approx(-bd)
    assert "PROC GENMOD is modeling the probability that y='0'." in _table(up, "ResponseProfile").footnotes[0]


def test_gee_independence_equals_glm_with_sandwich():
    rng = np.random.default_rng(3)
    lines = []
    for i in range(40):
        b = rng.normal()
        for t in range(3):
            x = rng.normal()
            p = 1 / (1 + math.exp(-(0.3 + 0.8 * x + b)))
            lines.append(f"{i} {t} {x:.4f} {int(rng.random() < p)}")
    src = "data a; input id t x y; datalines;\n" + "\n".join(lines) + "\n;\n"
    r = run_sas(src + "proc genmod data=a descending; class id t; model y = x / dist=bin;\n"
                "repeated subject=id / withinsubject=t type=ind modelse; run;\n")
    glm = _table(r, "ParameterEstimates").rows
    emp = _table(r, "GEEEmpPEst").rows
    mod = _table(r, "GEEModPEst").rows
    for g, e, m in zip(glm[:2], emp, mod):
        assert e["Estimate"] == pytest.approx(g["Estimate"], abs=1e-6)
        assert m["StdErr"] == pytest.approx(g["StdErr"], rel=1e-5)
    # hand-written sandwich for the logistic model
    data = np.array([[float(v) for v in l.split()] for l in lines])
    X = np.column_stack([np.ones(len(data)), data[:, 2]])
    y = data[:, 3]
    b = np.array([emp[0]["Estimate"], emp[1]["Estimate"]])
    mu = 1 / (1 + np.exp(-X @ b))
    bread = X.T @ (X * (mu * (1 - mu))[:, None])
    meat = np.zeros((2, 2))
    for i in range(40):
        m = data[:, 0] == i
        u = X[m].T @ (y[m] - mu[m])
        meat += np.outer(u, u)
    cov = np.linalg.inv(bread) @ meat @ np.linalg.inv(bread)
    assert [emp[0]["StdErr"], emp[1]["StdErr"]] == pytest.approx(np.sqrt(np.diag(cov)), rel=1e-6)


def test_generalized_score_statistic_by_hand():
    """Independence GEE, H0: slope = 0.  Under H0 the fit is the intercept-only model, so by hand:
    S = sum_i X_i'(y_i - ybar), I = sum X'VX, M = sum_i u_i u_i'; T = S' I^-1 C'(C I^-1 M I^-1 C')^-1 C I^-1 S."""
    rng = np.random.default_rng(7)
    K, T = 30, 3
    x = rng.normal(size=(K, T))
    y = (rng.random((K, T)) < 0.4 + 0.1 * (x > 0)).astype(float)
    layout = G.Layout.make(np.repeat(np.arange(K), T), np.tile(np.arange(T), K), T)
    X = np.column_stack([np.ones(K * T), x.ravel()])
    data = G.GEEData(X, y.ravel(), np.ones(K * T), np.zeros(K * T), Binomial(), Logit(), layout)
    C = np.array([[0.0, 1.0]])
    stat, df = G.score_test(data, G.Independent(T), np.array([0.0, 0.0]), C)
    p0 = y.mean()
    resid = y.ravel() - p0
    S = X.T @ resid
    I = X.T @ X * p0 * (1 - p0)
    u = np.array([X[k * T:(k + 1) * T].T @ resid[k * T:(k + 1) * T] for k in range(K)])
    M = u.T @ u
    Ii = np.linalg.inv(I)
    A = C @ Ii
    want = float(S @ Ii @ C.T @ np.linalg.inv(A @ M @ A.T) @ C @ Ii @ S)
    assert df == 1 and stat == pytest.approx(want, rel=1e-8)


RESP = SHARED / "conformance" / "genmod_ex6_alr_fullclust" / "resp.txt"


@pytest.mark.skipif(not RESP.exists(), reason="conformance data not present")
def test_logor_zrep_and_zdata_reproduce_fullclust_and_exch():
    data = (f"data resp; infile '{RESP}'; input center id treatment $ sex $ age baseline visit1-visit4;\n"
            "array vis{4} visit1-visit4; do visit = 1 to 4; outcome = vis{visit}; output; end; run;\n"
            "data z; input y1 y2 z1; datalines;\n1 2 1\n1 3 1\n1 4 1\n2 3 1\n2 4 1\n3 4 1\n;\n")
    head = ("proc genmod data=resp descend; class id treatment center sex baseline visit;\n"
            "model outcome = treatment center sex age baseline / dist=bin;\n"
            "repeated subject=id(center) / withinsubject=visit ")
    ident = ", ".join(f"({a} {b}) " + " ".join("1" if i == k else "0" for i in range(6))
                      for k, (a, b) in enumerate([(1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4)]))
    r = run_sas(data + head + "logor=fullclust; run;\n" + head + f"logor=zrep({ident}); run;\n"
                + head + "logor=exch; run;\n" + head + "logor=zrep zdata=z ypair=(y1 y2) zrow=(z1); run;\n")
    assert not r.errors, r.errors
    tabs = [t for t in r.session.tables if t.name == "GEEEmpPEst"]
    est = [[row["Estimate"] for row in t.rows] for t in tabs]
    se = [[row["StdErr"] for row in t.rows] for t in tabs]
    assert est[0] == pytest.approx(est[1], abs=1e-6) and se[0] == pytest.approx(se[1], abs=1e-6)
    assert est[2] == pytest.approx(est[3], abs=1e-6) and se[2] == pytest.approx(se[3], abs=1e-6)


@pytest.mark.skipif(not RESP.exists(), reason="conformance data not present")
def test_logor_nested_subclusters_match_the_equivalent_z_matrices():
    """LOGOR=NEST1/NESTK build Z from SUBCLUST= per cluster (alpha1: pairs in different subclusters, then
    pairs in the same subcluster, or one per subcluster level). Checked against the same models written
    as ZREP (subclusters fixed by position) and as ZFULL (subclusters varying by cluster)."""
    pairs = [(1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4)]
    data = (f"data resp; infile '{RESP}'; input center id treatment $ sex $ age baseline visit1-visit4;\n"
            "array vis{4} visit1-visit4; do visit = 1 to 4; outcome = vis{visit}; half = (visit > 2);\n"
            "mixsc = mod(id + visit * (mod(id, 3) = 0), 2); output; end; run;\n")
    head = ("proc genmod data=resp descend; class id treatment center sex baseline visit;\n"
            "model outcome = treatment center sex age baseline / dist=bin;\n"
            "repeated subject=id(center) / withinsubject=visit ")
    zrep = ", ".join(f"({a} {b}) {int((a > 2) != (b > 2))} {int((a > 2) == (b > 2))}" for a, b in pairs)
    r = run_sas(data + head + "logor=nest1 subclust=half; run;\n" + head + f"logor=zrep({zrep}); run;\n")
    assert not r.errors, r.errors
    d = r.ds("resp").df
    lines = []
    for (center, id_), g in d.groupby(["center", "id"], sort=False):
        sc = dict(zip(g["visit"], g["mixsc"]))
        for a, b in pairs:
            same = sc[a] == sc[b]
            lines.append(f"{center:g} {id_:g} {a} {b} {int(not same)} {int(same and sc[a] == 0)} "
                         f"{int(same and sc[a] == 1)} {int(same)}")
    r.session.submit("data z; input center id y1 y2 z0 zk1 zk2 z1; datalines;\n" + "\n".join(lines) + "\n;\n"
                     + head + "logor=nest1 subclust=mixsc; run;\n"
                     + head + "logor=zfull zdata=z ypair=(y1 y2) zrow=(z0 z1); run;\n"
                     + head + "logor=nestk subclust=mixsc; run;\n"
                     + head + "logor=zfull zdata=z ypair=(y1 y2) zrow=(z0 zk1 zk2); run;\n")
    assert r.session.log.exit_status < 2
    tabs = [t for t in r.session.tables if t.name == "GEEEmpPEst"]
    assert len(tabs) == 6
    est = [[row["Estimate"] for row in t.rows] for t in tabs]
    se = [[row["StdErr"] for row in t.rows] for t in tabs]
    for a, b in ((0, 1), (2, 3), (4, 5)):
        assert est[a] == pytest.approx(est[b], abs=1e-6) and se[a] == pytest.approx(se[b], abs=1e-6)
    assert len(est[4]) == len(est[2]) + 1          # NESTK: one more alpha than NEST1 with two levels
    assert est[2] != pytest.approx(est[0], abs=1e-3)
    info = [t for t in r.session.tables if t.name == "LORInfo"]
    assert [row["Group"] for row in info[0].rows] == ["Different Subclusters", "Same Subcluster"]
    assert [row["Group"] for row in info[-1].rows] == ["Different Subclusters", "Subcluster 0", "Subcluster 1"]


def test_negative_binomial_matches_direct_maximum_likelihood():
    from scipy import optimize, special as sp
    r = run_sas("data a; call streaminit(7); do id = 1 to 60; trt = mod(id, 2); u = rand('gamma', 2, 0.5);\n"
                "do t = 1 to 4; lt = log(t + 1); mu = exp(0.5 + 0.4 * trt + 0.1 * t) * u; y = rand('poisson', mu);\n"
                "output; end; end; run;\nproc genmod data=a; class trt; model y = trt t / dist=negbin offset=lt; run;\n")
    d = r.ds("a").df
    X = np.column_stack([np.ones(len(d)), (d["trt"] == 0).astype(float), d["t"]])
    y, off = d["y"].to_numpy(), d["lt"].to_numpy()

    def nll(z):
        b, k = z[:3], z[3]
        mu = np.exp(X @ b + off)
        rr = 1 / k
        return -np.sum(sp.gammaln(y + rr) - sp.gammaln(rr) - sp.gammaln(y + 1) + y * np.log(k * mu)
                       - (y + rr) * np.log(1 + k * mu))
    z = optimize.minimize(nll, np.array([0, 0, 0, 1.0]), method="Nelder-Mead",
                          options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000}).x
    rows = {(row["Parameter"], row["Level1"]): row for row in _table(r, "ParameterEstimates").rows}
    assert rows[("Intercept", "")]["Estimate"] == pytest.approx(z[0], abs=1e-4)
    assert rows[("trt", "0")]["Estimate"] == pytest.approx(z[1], abs=1e-4)
    assert rows[("Dispersion", "")]["Estimate"] == pytest.approx(z[3], abs=1e-4)


ORD = """data a; call streaminit(21); do id = 1 to 80; trt = mod(id, 2); b = rand('normal', 0, 0.8);
do v = 1 to 3; lat = 0.8 * trt + 0.3 * v + b + rand('logistic'); y = 1 + (lat > 0.5) + (lat > 1.8); output;
end; end; run;
"""


def test_cumulative_logit_matches_direct_ml_and_gee_independence():
    from scipy import optimize, special as sp
    r = run_sas(ORD + "proc genmod data=a; class trt; model y = trt v / dist=multinomial link=cumlogit; run;\n"
                "proc genmod data=a; class id trt; model y = trt v / dist=multinomial;\n"
                "repeated subject=id / type=ind modelse; run;\n")
    assert not r.errors, r.errors
    d = r.ds("a").df
    X = np.column_stack([(d["trt"] == 0).astype(float), d["v"]])
    y = d["y"].astype(int).to_numpy() - 1

    def nll(th):
        a = np.sort(th[:2])
        eta = X @ th[2:]
        cum = np.column_stack([sp.expit(a[0] + eta), sp.expit(a[1] + eta), np.ones(len(y))])
        P = np.diff(np.column_stack([np.zeros(len(y)), cum]), axis=1)[np.arange(len(y)), y]
        return -np.sum(np.log(P))
    ref = optimize.minimize(nll, [-0.5, 0.5, 0, 0], method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 40000}).x
    ml = [row for row in _table(r, "ParameterEstimates").rows if row["DF"] == 1]
    assert [row["Estimate"] for row in ml] == pytest.approx(ref, abs=1e-4)
    gee = [row for row in _table(r, "GEEEmpPEst").rows if row["StdErr"]]
    assert [row["Estimate"] for row in gee] == pytest.approx(ref, abs=1e-4)
    # GEE independence: the model-based SEs are the inverse expected information (close to the ML SEs)
    mod = [row for row in _table(r, "GEEModPEst").rows if row["StdErr"]]
    assert [row["StdErr"] for row in mod] == pytest.approx([row["StdErr"] for row in ml], rel=0.05)


def _rows(t, key="Parameter"):
    return [(r[key], r.get("Level1", ""), r["Estimate"], r["StdErr"]) for r in t.rows]


FREQ_DATA = """data agg; input id g x y n; datalines;
1 1 0.5 3 2
1 1 1.5 5 2
2 2 0.2 1 1
2 2 2.5 9 1
3 3 1.0 2 3
3 3 3.0 7 3
4 1 0.7 0 0.5
;
data long; set agg; do copy = 1 to floor(n); cid = id * 100 + copy; output; end; run;
"""


def test_freq_counts_each_observation_f_times_glm_and_gee():
    # SAS FREQ statement: an observation counts as if it appeared f times (f truncated; f < 1 drops it);
    # under GEE the frequency applies to the whole cluster.  Identity: the same fit on the data written
    # out f times (distinct cluster ids per copy).
    r = run_sas(FREQ_DATA + """
proc genmod data=agg; class g; model y = g x / dist=poisson; freq n; run;
proc genmod data=long; class g; model y = g x / dist=poisson; run;
proc genmod data=agg; class id g; model y = g x / dist=poisson; freq n; repeated subject=id / type=exch; run;
proc genmod data=long; class cid g; model y = g x / dist=poisson; repeated subject=cid / type=exch; run;
""")
    assert not r.errors, r.errors
    pe = [t for t in r.session.tables if t.name == "ParameterEstimates"]
    for a, b in zip(_rows(pe[0]), _rows(pe[1])):
        assert a[2] == pytest.approx(b[2], abs=1e-9) and (a[3] or 0) == pytest.approx(b[3] or 0, abs=1e-9)
    crit = [t for t in r.session.tables if t.name == "ModelFit"]
    for a, b in zip(crit[0].rows, crit[1].rows):
        assert a["DF"] == b["DF"] and a["Value"] == pytest.approx(b["Value"], abs=1e-9)
    gee = [t for t in r.session.tables if t.name == "GEEEmpPEst"]
    for a, b in zip(gee[0].rows, gee[1].rows):
        assert a["Estimate"] == pytest.approx(b["Estimate"], abs=1e-8)
        assert (a["StdErr"] or 0) == pytest.approx(b["StdErr"] or 0, abs=1e-8)
    nobs = [t for t in r.session.tables if t.name == "NObs"][0]
    got = {row["Label"]: row["N"] for row in nobs.rows}
    assert got["Number of Observations Read"] == 7 and got["Number of Observations Used"] == 6
    assert got["Sum of Frequencies Used"] == 12


def test_freq_must_be_constant_within_a_gee_cluster():
    r = run_sas(FREQ_DATA + "data bad; set agg; if _n_ = 2 then n = 5; run;\n"
                "proc genmod data=bad; class id g; model y = g x / dist=poisson; freq n; "
                "repeated subject=id; run;\n")
    assert any("same value for all observations of a subject" in e for e in r.errors)


def test_weight_is_weighted_least_squares_for_normal_identity():
    # WEIGHT w: Var(y_i) = phi / w_i.  Normal/identity: beta = (X'WX)^-1 X'Wy, MLE scale^2 = sum w r^2 / n,
    # covariance phi (X'WX)^-1 (closed form).  Nonpositive or missing weights drop the observation.
    x = np.array([0.0, 1, 2, 3, 4, 5, 6])
    y = np.array([1.2, 1.9, 3.2, 3.8, 5.3, 5.9, 100.0])
    w = np.array([1.0, 2, 0.5, 3, 1, 2, 0])
    lines = "\n".join(f"{a} {b} {c}" for a, b, c in zip(x, y, w))
    r = run_sas(f"data d; input x y w; datalines;\n{lines}\n. 1 1\n;\n"
                "proc genmod data=d; model y = x / dist=normal; weight w; run;\n")
    assert not r.errors, r.errors
    keep = w > 0
    X = np.column_stack([np.ones(keep.sum()), x[keep]])
    W = w[keep]
    XtWX = X.T @ (X * W[:, None])
    beta = np.linalg.solve(XtWX, X.T @ (W * y[keep]))
    resid = y[keep] - X @ beta
    phi = float(np.sum(W * resid ** 2) / keep.sum())
    se = np.sqrt(np.diag(phi * np.linalg.inv(XtWX)))
    rows = {row["Parameter"]: row for row in _table(r, "ParameterEstimates").rows}
    assert rows["Intercept"]["Estimate"] == pytest.approx(beta[0], rel=1e-8)
    assert rows["x"]["Estimate"] == pytest.approx(beta[1], rel=1e-8)
    assert rows["x"]["StdErr"] == pytest.approx(se[1], rel=1e-6)
    assert rows["Scale"]["Estimate"] == pytest.approx(math.sqrt(phi), rel=1e-6)
    info = {row["Label"]: row["Value"] for row in _table(r, "ModelInfo").rows}
    assert info["Scale Weight Variable"] == "w"
    nobs = {row["Label"]: row["N"] for row in _table(r, "NObs").rows}
    assert nobs["Number of Observations Used"] == 6


def test_integer_weight_and_freq_give_the_same_poisson_estimates_but_different_df():
    r = run_sas(FREQ_DATA + """
proc genmod data=agg(where=(n >= 1)); class g; model y = g x / dist=poisson; weight n; run;
proc genmod data=agg(where=(n >= 1)); class g; model y = g x / dist=poisson; freq n; run;
""")
    assert not r.errors, r.errors
    pe = [t for t in r.session.tables if t.name == "ParameterEstimates"]
    for a, b in zip(_rows(pe[0]), _rows(pe[1])):
        assert a[2] == pytest.approx(b[2], abs=1e-8) and (a[3] or 0) == pytest.approx(b[3] or 0, abs=1e-8)
    crit = [t for t in r.session.tables if t.name == "ModelFit"]
    dev = [next(row for row in c.rows if row["Criterion"] == "Deviance") for c in crit]
    # with integer weights the weighted deviance is the frequency-expanded deviance; the DF are
    # 6 - 4 (WEIGHT: observations) against 12 - 4 (FREQ: sum of frequencies)
    assert dev[0]["Value"] == pytest.approx(dev[1]["Value"], rel=1e-10)
    assert (dev[0]["DF"], dev[1]["DF"]) == (2, 8)


LR_DATA = "data d; input g x y; datalines;\n" + COUNT_ROWS + ";\n"


def test_lrci_type1_covb_against_direct_profile_likelihood():
    # MODEL LRCI: the profile-likelihood limit b satisfies 2 (l_max - max_{other beta} l(b)) = chi2(0.95, 1)
    # (checked here by an independent constrained maximisation with scipy); R 4.x confint.glm (MASS profile,
    # which interpolates) gives x in (0.24140, 1.14155).  TYPE1 deviances: R anova(glm, test="LRT")
    # gives 11.543, 11.464, 1.596 and chi-squares 0.0787, 9.8682.
    from scipy import optimize
    r = run_sas(LR_DATA + "proc genmod data=d; class g; model y = g x / dist=poisson type1 lrci covb corrb; run;\n")
    assert not r.errors, r.errors
    pe = {(row["Parameter"], row["Level1"]): row for row in _table(r, "ParameterEstimates").rows}
    lo, hi = pe[("x", "")]["LowerLRCL"], pe[("x", "")]["UpperLRCL"]
    assert (lo, hi) == (pytest.approx(0.24140, abs=3e-4), pytest.approx(1.14155, abs=3e-4))
    g = np.array([1, 1, 2, 2, 3, 3, 1, 2])
    x = np.array([0.5, 1.5, 0.2, 2.5, 1.0, 3.0, 2.0, 1.1])
    y = np.array([3, 5, 1, 9, 2, 7, 4, 3.0])
    X = np.column_stack([np.ones(8), g == 1, g == 2]).astype(float)

    def ll(b, xb):
        eta = X @ b + xb * x
        return float(np.sum(y * eta - np.exp(eta)))
    full = optimize.minimize(lambda v: -ll(v[:3], v[3]), np.zeros(4), method="BFGS", options={"gtol": 1e-10})
    for bound in (lo, hi):
        con = optimize.minimize(lambda v: -ll(v, bound), full.x[:3], method="BFGS", options={"gtol": 1e-10})
        assert 2 * (con.fun - full.fun) == pytest.approx(3.841459, abs=1e-5)
    t1 = _table(r, "Type1").rows
    assert [row["Source"] for row in t1] == ["Intercept", "g", "x"]
    assert [round(row["Deviance"], 3) for row in t1] == [11.543, 11.464, 1.596]
    assert t1[1]["ChiSq"] == pytest.approx(0.0787, abs=1e-4) and t1[2]["ChiSq"] == pytest.approx(9.8682, abs=1e-4)
    assert t1[2]["DF"] == 1 and t1[1]["DF"] == 2
    covb = _table(r, "CovB")
    assert [row["RowName"] for row in covb.rows] == ["Prm1", "Prm2", "Prm3", "Prm5"]   # Prm4 (g 3) is aliased
    se_x = pe[("x", "")]["StdErr"]
    assert covb.rows[3]["Prm5"] == pytest.approx(se_x ** 2, rel=1e-12)
    corr = _table(r, "CorrB")
    assert corr.rows[0]["Prm1"] == pytest.approx(1.0)
    info = _table(r, "ParmInfo").rows
    assert info[3] == {"Parameter": "Prm4", "Effect": "g", "g": 3.0}


def test_gee_covariance_matrices_are_the_sandwich_and_model_based_covariances():
    r = run_sas(FREQ_DATA + "proc genmod data=agg(where=(n >= 1)); class id g; model y = g x / dist=poisson;\n"
                "repeated subject=id / type=exch covb corrb modelse; run;\n")
    assert not r.errors, r.errors
    emp = {row["Parm"] + str(row.get("Level1", "")): row for row in _table(r, "GEEEmpPEst").rows}
    rc = _table(r, "GEERCov").rows
    nc = _table(r, "GEENCov").rows
    assert rc[-1]["Prm5"] == pytest.approx(emp["x"]["StdErr"] ** 2, rel=1e-10)
    mod = {row["Parm"] + str(row.get("Level1", "")): row for row in _table(r, "GEEModPEst").rows}
    assert nc[-1]["Prm5"] == pytest.approx(mod["x"]["StdErr"] ** 2, rel=1e-10)
    assert _table(r, "GEERCorr").rows[0]["Prm1"] == pytest.approx(1.0)
    assert _table(r, "GEENCorr").rows[1]["Prm2"] == pytest.approx(1.0)


def test_obstats_table_matches_r_glm_influence_measures():
    """MODEL OBSTATS CL: the Observation Statistics table. Reference: R 4.x glm(y ~ g + x, poisson) on
    COUNT_ROWS with g's reference level 3, run by hand (R converges to ~1e-7, hence 1e-6): predict(se.fit=TRUE)$se.fit, rstandard(type=
    "pearson"), rstandard(type="deviance") and rstudent() (the likelihood residual)."""
    r = run_sas("data a; input g x y; datalines;\n" + COUNT_ROWS + ";\n"
                "proc genmod data=a; class g; model y = g x / dist=poisson obstats cl;\n"
                "output out=o pred=p lower=l reschi=rc; run;\n")
    assert not r.errors and not r.warnings, r.log
    t = [t for t in r.session.tables if t.name == "ObStats"][0]
    assert [c.name for c in t.columns] == ["Observation", "y", "Pred", "Xbeta", "Std", "Hesswgt", "Lower", "Upper",
                                           "Resraw", "Reschi", "Resdev", "StReschi", "StResdev", "Reslik"]
    col = lambda k: [row[k] for row in t.rows]
    assert col("Std") == pytest.approx([0.3760680644, 0.2890248182, 0.4653532276, 0.3143660077, 0.4896177013,
                                        0.3466054404, 0.3052413030, 0.3250648183], abs=1e-6)
    assert col("StReschi") == pytest.approx([0.7191786953, 0.5316932467, -0.7200018589, 0.7298610025,
                                             0.1133965032, -0.1133964888, -1.0716408222, -0.1258460610], abs=1e-6)
    assert col("StResdev") == pytest.approx([0.6766616772, 0.5144013626, -0.7836895209, 0.7164210862,
                                             0.1122691913, -0.1137047311, -1.1343664701, -0.1270811660], abs=1e-6)
    assert col("Reslik") == pytest.approx([0.6897051832, 0.5204257912, -0.7601730696, 0.7271551160,
                                           0.1127799286, -0.1134412993, -1.1012010121, -0.1266671089], abs=1e-6)
    o = r.ds("o").df
    assert col("Pred") == pytest.approx(list(o["p"]), abs=1e-12)
    assert col("Lower") == pytest.approx(list(o["l"]), abs=1e-12)
    assert col("Reschi") == pytest.approx(list((o["y"] - o["p"]) / np.sqrt(o["p"])), abs=1e-12)


def test_dscale_pscale_add_f_statistics_to_type1_type3_and_contrasts():
    """Under DSCALE/PSCALE SAS adds F = (D1 - D0) / (r phi) with r and n - p DF (GENMOD "F Statistics").
    For a normal response with DSCALE that is the classical sequential/partial ANOVA F, computed here by
    least squares."""
    rows = COUNT_ROWS + "3 2.2 12\n1 0.1 0\n"
    r = run_sas("data a; input g x y; datalines;\n" + rows + ";\n"
                "proc genmod data=a; class g; model y = g x / dist=normal dscale type1 type3;\n"
                "contrast 'g1-g2' g 1 -1; run;\n"
                "proc genmod data=a; class g; model y = g x / dist=poisson pscale type3; run;\n")
    assert not r.errors, r.errors
    d = r.ds("a").df
    y = d["y"].to_numpy()
    G = np.column_stack([(d["g"] == k).astype(float) for k in (1, 2)])
    one = np.ones((len(y), 1))
    rss = lambda X: float(np.sum((y - X @ np.linalg.lstsq(X, y, rcond=None)[0]) ** 2))
    full = np.column_stack([one, G, d["x"]])
    mse = rss(full) / (len(y) - 4)
    f_g_seq = (rss(one) - rss(np.column_stack([one, G]))) / 2 / mse
    f_x = (rss(np.column_stack([one, G])) - rss(full)) / mse
    f_g_part = (rss(np.column_stack([one, d["x"]])) - rss(full)) / 2 / mse
    t1 = [t for t in r.session.tables if t.name == "Type1"][0].rows
    t3 = [t for t in r.session.tables if t.name == "Type3"]
    assert [t1[1]["FValue"], t1[2]["FValue"]] == pytest.approx([f_g_seq, f_x], rel=1e-8)
    assert t1[1]["NumDF"] == 2 and t1[1]["DenDF"] == len(y) - 4
    assert t1[2]["ProbF"] == pytest.approx(st.f.sf(f_x, 1, len(y) - 4), rel=1e-8)
    assert [t3[0].rows[0]["FValue"], t3[0].rows[1]["FValue"]] == pytest.approx([f_g_part, f_x], rel=1e-8)
    assert t3[0].rows[0]["ChiSq"] == pytest.approx(2 * f_g_part, rel=1e-8)
    c = [t for t in r.session.tables if t.name == "Contrasts"][0].rows[0]
    red = np.column_stack([one, G[:, 0] + G[:, 1], d["x"]])      # g1 = g2
    assert c["FValue"] == pytest.approx((rss(red) - rss(full)) / mse, rel=1e-8) and c["Type"] == "LR"
    # Poisson PSCALE: phi = Pearson X2 / DF, F = chi-square / DF
    p3 = t3[1].rows
    for row in p3:
        assert row["FValue"] == pytest.approx(row["ChiSq"] / row["NumDF"], rel=1e-12)


def test_link_power_matches_r_sqrt_link_and_observed_information():
    """LINK=POWER(0.5) for a Poisson response. References computed by hand in R: glm(y ~ x,
    poisson(link = "sqrt")) gives the estimates; solve(optimHess()) of the Poisson log likelihood gives
    the observed-information SEs that GENMOD prints (R's glm reports expected-information SEs)."""
    rows = "0.5 3\n1.5 5\n0.2 1\n2.5 9\n1.0 2\n3.0 7\n2.0 4\n1.1 3\n2.2 12\n0.1 0\n"
    r = run_sas("data a; input x y; datalines;\n" + rows + ";\n"
                "proc genmod data=a; model y = x / dist=poisson link=power(0.5); run;\n"
                "data b; set a; if y > 0; run;\n"
                "proc genmod data=b; model y = x / dist=gamma link=power(-1); run;\n"
                "proc genmod data=b; model y = x / dist=gamma; run;\n"
                "proc genmod data=a; model y = x / dist=gamma; run;\n")
    pe = [t for t in r.session.tables if t.name == "ParameterEstimates"]
    est = [row["Estimate"] for row in pe[0].rows[:2]]
    se = [row["StdErr"] for row in pe[0].rows[:2]]
    assert est == pytest.approx([0.87062380, 0.80444481], abs=2e-6)
    assert se == pytest.approx([0.298555, 0.175092], abs=2e-6)
    info = [t for t in r.session.tables if t.name == "ModelInfo"][0]
    assert {"Label": "Link Function", "Value": "Power(0.5)"} in [dict(Label=x["Label"], Value=x["Value"])
                                                                  for x in info.rows]
    # POWER(-1) is the gamma's default reciprocal link
    assert [x["Estimate"] for x in pe[1].rows] == pytest.approx([x["Estimate"] for x in pe[2].rows], abs=1e-10)
    # a zero response is invalid for the gamma: an ERROR naming it, not a numerical failure
    assert r.errors == ["ERROR: Line 17, column 21: The response y must be positive for DIST=GAMMA; "
                        "1 observation(s) are not."]


def test_class_missing_makes_missing_values_a_level():
    """CLASS / MISSING: a missing value is a level of its own and sorts first, so the fit equals the one
    with the missing values recoded to a value below the others (0 here); without MISSING the rows drop."""
    rows = COUNT_ROWS.replace("2 0.2 1", ". 0.2 1") + ". 2.2 12\n1 0.1 0\n"
    r = run_sas("data a; input g x y; datalines;\n" + rows + ";\n"
                "data b; set a; if g = . then g = 0; run;\n"
                "proc genmod data=a; class g / missing; model y = g x / dist=poisson; lsmeans g;\n"
                "  output out=o pred=p; run;\n"
                "proc genmod data=b; class g; model y = g x / dist=poisson; lsmeans g; run;\n"
                "proc genmod data=a; class g; model y = g x / dist=poisson; run;\n")
    assert not r.errors and not r.warnings, r.log
    pe = [t for t in r.session.tables if t.name == "ParameterEstimates"]
    assert [x["Estimate"] for x in pe[0].rows] == pytest.approx([x["Estimate"] for x in pe[1].rows], abs=1e-10)
    ls = [t for t in r.session.tables if t.name == "LSMeans"]
    assert [x["Estimate"] for x in ls[0].rows] == pytest.approx([x["Estimate"] for x in ls[1].rows], abs=1e-10)
    nobs = [t for t in r.session.tables if t.name == "NObs"]
    assert [nobs[0].rows[1]["N"], nobs[2].rows[1]["N"]] == [10, 8]
    assert not r.ds("o").df["p"].isna().any()


def test_character_binary_response_not_in_class():
    # a character response needs no CLASS statement (SAS orders its levels and models the first, or
    # EVENT=); this crashed before.  Reference: the same model on the 0/1 coding, which must agree.
    src = ("data a; do i = 1 to 60; x = mod(i * 7, 11) / 3; g = (mod(i * 13, 17) < 7 + x);\n"
           "  length r $11; r = ifc(g = 1, 'weight_gain', 'weight_loss'); output; end; run;\n"
           "ods output ParameterEstimates=pc;\n"
           "proc genmod data=a; model r(event='weight_gain') = x / dist=bin link=logit; run;\n"
           "ods output ParameterEstimates=pn;\n"
           "proc genmod data=a descending; model g = x / dist=bin link=logit; run;\n"
           "proc genmod data=a; model i = r / dist=poisson; run;\n")
    r = run_sas(src)
    assert_errors(r, ["Variable r should be either numeric or specified in the CLASS statement."])
    pc, pn = r.ds("pc").df, r.ds("pn").df
    np.testing.assert_allclose(pc["Estimate"], pn["Estimate"], rtol=1e-10)
    np.testing.assert_allclose(pc["StdErr"], pn["StdErr"], rtol=1e-8)
    assert "PROC GENMOD is modeling the probability that r='weight_gain'." in r.out
