"""EFFECT name = SPLINE(...) in GLIMMIX, GENMOD, GEE and PLM.

References:
- The SAS documentation (Shared Concepts, "Spline Effects" and the CAS spline parameter reference): the
  default is a cubic B-spline basis with three equally spaced internal knots, seven columns; "any needed
  boundary knots continue to be equally spaced unless DATABOUNDARY"; a natural cubic basis on n knots has n
  functions.  The knot values below are that rule worked by hand for x = 1..100.
- Fitted values, LS-means and estimates do not depend on the choice of boundary knots (the columns span the
  same spline space on the data's range), so they are checked against R 4.x's splines::bs / splines::ns with
  lm() on the same data, run by hand on 2026-11-25 (numbers quoted below; R is not needed by the tests).
- The data are those of the GLIMMIX documentation's example "Comparing Multiple B-Splines" (x = 1..100).
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import assert_errors, run_sas
from sasglm.stats.splines import SplineSpec, fit_basis

_PAIRS = """ 1    -.020 1    0.199 2    -1.36 1    -.026
 2    -.397 1    0.065 2    -.861 1    0.251
 1    0.253 2    -.460 2    0.195 2    -.108
 1    0.379 1    0.971 1    0.712 2    0.811
 2    0.574 2    0.755 1    0.316 2    0.961
 2    1.088 2    0.607 2    0.959 1    0.653
 1    0.629 2    1.237 2    0.734 2    0.299
 2    1.002 2    1.201 1    1.520 1    1.105
 1    1.329 1    1.580 2    1.098 1    1.613
 2    1.052 2    1.108 2    1.257 2    2.005
 2    1.726 2    1.179 2    1.338 1    1.707
 2    2.105 2    1.828 2    1.368 1    2.252
 1    1.984 2    1.867 1    2.771 1    2.052
 2    1.522 2    2.200 1    2.562 1    2.517
 1    2.769 1    2.534 2    1.969 1    2.460
 1    2.873 1    2.678 1    3.135 2    1.705
 1    2.893 1    3.023 1    3.050 2    2.273
 2    2.549 1    2.836 2    2.375 2    1.841
 1    3.727 1    3.806 1    3.269 1    3.533
 1    2.948 2    1.954 2    2.326 2    2.017
 1    3.744 2    2.431 2    2.040 1    3.995
 2    1.996 2    2.028 2    2.321 2    2.479
 2    2.337 1    4.516 2    2.326 2    2.144
 2    2.474 2    2.221 1    4.867 2    2.453
 1    5.253 2    3.024 2    2.403 1    5.498
"""
DATA = "data spline; input group y @@; x = _n_; datalines;\n" + _PAIRS + ";\n"


def _table(r, name, k=0):
    return [t for t in r.session.tables if t.name == name][k]


def test_bspline_knots_and_columns_follow_the_documented_defaults():
    x = np.arange(1.0, 101.0)
    b = fit_basis(SplineSpec(), x)
    # three internal knots at 1 + 24.75 i; boundary knots continue the spacing: 3 left, 3 right, plus the extremes
    assert b.knots == pytest.approx([-73.25, -48.5, -23.75, 1, 25.75, 50.5, 75.25, 100, 124.75, 149.5, 174.25])
    B = b.evaluate(x)
    assert B.shape == (100, 7)
    assert np.allclose(B.sum(axis=1), 1.0) and (B >= -1e-15).all()
    clamped = fit_basis(SplineSpec(data_boundary=True), x)
    assert clamped.knots == pytest.approx([1, 1, 1, 1, 25.75, 50.5, 75.25, 100, 100, 100, 100])
    assert np.allclose(clamped.evaluate(x).sum(axis=1), 1.0)
    # both bases span the same functions on [1, 100]
    C = clamped.evaluate(x)
    coef = np.linalg.lstsq(B, C, rcond=None)[0]
    assert np.allclose(B @ coef, C, atol=1e-10)
    assert fit_basis(SplineSpec(degree=2, knot_count=5), x).evaluate(x).shape == (100, 8)
    assert fit_basis(SplineSpec(basis="tpf"), x).evaluate(x).shape == (100, 7)        # 1 x x2 x3 + 3 knots
    assert fit_basis(SplineSpec(basis="tpf", noint=True), x).evaluate(x).shape == (100, 6)
    nat = fit_basis(SplineSpec(natural=True, knot_method="list", knot_values=[10, 30, 50, 70, 90]), x)
    N = nat.evaluate(np.array([0.0, 2.5, 5.0, 95.0, 97.5, 100.0, 40.0, 42.5, 45.0]))
    assert N.shape == (9, 5)                                        # n knots -> n functions
    # linear beyond the extreme knots (equal steps left of 10 and right of 90), cubic between them
    assert np.allclose(N[1] - N[0], N[2] - N[1]) and np.allclose(N[4] - N[3], N[5] - N[4])
    assert not np.allclose(N[7] - N[6], N[8] - N[7])


def test_glimmix_spline_fit_estimates_and_lsmeans_match_r_bs():
    r = run_sas(DATA + """proc glimmix data=spline;
   class group;
   effect spl = spline(x / details);
   model y = group spl*group / s noint;
   estimate 'Group 1, x=20' group 1    group*spl [1,1 20];
   estimate 'Group 2, x=20' group 0  1 group*spl [1,2 20];
   estimate 'Diff at x=20 ' group 1 -1 group*spl [1,1 20] [-1,2 20];
   lsmeans group / diff;
   output out=gmxout pred=p;
   store work.sp;
run;
proc plm restore=work.sp;
   score data=spline out=sc pred=pp;
   show effects;
run;
""")
    assert not r.errors and not r.warnings, r.log
    knots = _table(r, "SplineKnotInfo")
    assert knots.title == "Knots for Spline Effect spl"
    assert [row["Boundary"] for row in knots.rows] == ["*"] * 4 + [""] * 3 + ["*"] * 4
    sol = _table(r, "ParameterEstimates")
    spl_rows = [row for row in sol.rows if row["Effect"] == "spl*group"]
    assert len(spl_rows) == 14 and [row["spl"] for row in spl_rows[:4]] == ["1", "1", "2", "2"]
    # the partition of unity makes each group's last column redundant with the group column
    assert [row["spl"] for row in spl_rows if row["DF"] is None] == ["7", "7"]
    t3 = {row["Effect"]: row for row in _table(r, "Tests3").rows}
    assert t3["spl*group"]["NumDF"] == 12 and t3["spl*group"]["DenDF"] == 86
    est = {row["Label"].strip(): row["Estimate"] for row in _table(r, "Estimates").rows}
    # R: lm(y ~ 0 + group + group:bs(x, knots=c(25.75, 50.5, 75.25), Boundary.knots=c(1, 100))), predict at x=20
    assert est["Group 1, x=20"] == pytest.approx(0.6915015864, abs=1e-8)
    assert est["Group 2, x=20"] == pytest.approx(0.7175263668, abs=1e-8)
    assert est["Diff at x=20"] == pytest.approx(0.6915015864 - 0.7175263668, abs=1e-8)
    # LS-means: the spline at the mean of x (50.5); R predict at x = mean(x)
    lsm = [row["Estimate"] for row in _table(r, "LSMeans").rows]
    assert lsm == pytest.approx([2.293743716, 1.795210900], abs=1e-8)
    pred = r.ds("gmxout").df["p"].to_numpy()
    assert np.allclose(pred, r.ds("sc").df["pp"].to_numpy(), atol=1e-10)
    assert len([t for t in r.session.tables if t.name == "SplineKnotInfo"]) == 2        # DETAILS, SHOW EFFECTS


def test_fitted_values_do_not_depend_on_boundary_knots_and_lsmeans_at():
    progs = [DATA + f"""proc genmod data=spline;
   class group;
   effect spl = spline(x / {opt});
   model y = group spl;
   lsmeans group / at x=50.5;
   output out=o{i} pred=p;
run;
""" for i, opt in enumerate(["degree=3", "databoundary", "knotmin=-20 knotmax=130"])]
    r = run_sas("".join(progs))
    assert not r.errors and not r.warnings, r.log
    fits = [r.ds(f"o{i}").df["p"].to_numpy() for i in range(3)]
    assert np.allclose(fits[0], fits[1], atol=1e-9) and np.allclose(fits[0], fits[2], atol=1e-9)
    dev = [row["Value"] for t in r.session.tables if t.name == "ModelFit" for row in t.rows
           if row["Criterion"] == "Deviance"]
    # R: deviance(lm(y ~ group + bs(x, knots=c(25.75, 50.5, 75.25), Boundary.knots=c(1, 100))))
    assert dev == pytest.approx([19.76295668] * 3, abs=1e-7)
    for k in range(3):
        lsm = [row["Estimate"] for row in _table(r, "LSMeans", k).rows]
        assert lsm == pytest.approx([2.429347662, 1.597510788], abs=1e-8)      # R predict at x = 50.5
    coefs = [[row["Estimate"] for row in t.rows if row["Parameter"] == "spl"]
             for t in r.session.tables if t.name == "ParameterEstimates"]
    assert not np.allclose(coefs[0], coefs[1])                     # the coefficients do depend on them


def test_natural_cubic_tpf_basis_matches_r_ns_and_gee_runs():
    r = run_sas(DATA + """proc genmod data=spline;
   class group;
   effect spl = spline(x / naturalcubic basis=tpf(noint) knotmethod=list(10 30 50 70 90));
   model y = group spl;
   estimate 'g1 x5' intercept 1 group 1 0;
   store work.ns;
run;
data new; input group x; datalines;
1 5
2 40
1 95
;
proc plm restore=work.ns; score data=new out=s pred=p; run;
data spline; set spline; id = ceil(_n_ / 4); run;
proc gee data=spline;
   class group id;
   effect spl = spline(x / naturalcubic basis=tpf(noint) knotmethod=percentiles(3) details);
   model y = group spl;
   repeated subject=id / type=exch;
   lsmeans group;
run;
""")
    assert not r.errors and not r.warnings, r.log
    pe = _table(r, "ParameterEstimates")
    assert len([row for row in pe.rows if row["Parameter"] == "spl"]) == 4        # x and 3 truncated terms
    # R: predict(lm(y ~ group + ns(x, knots=c(30, 50, 70), Boundary.knots=c(10, 90))), x = 5, 40, 95)
    assert r.ds("s").df["p"].to_numpy() == pytest.approx([0.2151156213, 1.2733669356, 3.8564012669], abs=1e-8)
    knots = [t for t in r.session.tables if t.name == "SplineKnotInfo"][0]
    assert knots.proc == "GEE"
    assert [row["x"] for row in knots.rows] == pytest.approx([25.5, 50.5, 75.5])   # 25th/50th/75th pctl, x=1..100
    assert any(t.name == "GEEEmpPEst" for t in r.session.tables)


def test_glimmix_random_spline_and_effect_statement_errors():
    r = run_sas(DATA + """data spline; set spline; id = ceil(_n_ / 10); run;
proc glimmix data=spline;
   class group id;
   effect spl = spline(x / knotmethod=equal(1) degree=1);
   model y = group spl / s;
   random intercept / subject=id;
   lsmeans group / at x=30;
run;
""")
    assert not r.errors, r.log
    assert _table(r, "LSMeans").rows[0]["x"] == 30
    bad = [
        ("effect p = poly(x / degree=2);", "EFFECT type POLY is not supported"),
        ("effect spl = spline(x / split);", "SPLIT is not supported"),
        ("effect spl = spline(x / knotmethod=multiscale);", "KNOTMETHOD=MULTISCALE is not supported"),
        ("effect spl = spline(group);", "is a CLASS variable"),
        ("effect x = spline(y);", "is a variable of the data set"),
        ("effect spl = spline(x / naturalcubic degree=2);", "NATURALCUBIC needs DEGREE=3"),
        ("effect spl = spline(x / bogus);", "Unknown or unsupported SPLINE option BOGUS"),
    ]
    for stmt, msg in bad:
        r = run_sas(DATA + f"proc glimmix data=spline; class group; {stmt} model y = group; run;\n")
        assert_errors(r, [msg])
    r = run_sas(DATA + "proc genmod data=spline; class group; model y = group; effect s = spline(x); run;\n")
    assert_errors(r, ["EFFECT statements must precede the MODEL statement"])
    r = run_sas(DATA + "proc mixed data=spline; class group; effect s = spline(x); model y = group s; run;\n")
    assert r.errors                                   # PROC MIXED has no EFFECT statement


def test_merge_without_by_prints_no_repeated_by_values_note():
    r = run_sas("""data a; input x; datalines;
1
1
;
data b; input y; datalines;
2
2
;
data c; merge a b; run;
""")
    assert not r.errors and "repeats of BY values" not in r.log


def test_knot_lists_take_signed_values_and_a_constant_variable_is_an_error():
    r = run_sas("""data d; do i = 1 to 40; x = (i - 20) / 4; y = sin(x) + mod(i, 3) / 10; c = 1; output; end; run;
proc glimmix data=d; effect s = spline(x / knotmethod=list(-2, 0 2) details); model y = s; run;
proc glimmix data=d; effect s = spline(c / basis=tpf); model y = s; run;
""")
    assert len(r.errors) == 1 and "constant" in r.errors[0], r.log
    knots = [row["x"] for row in _table(r, "SplineKnotInfo").rows if not row["Boundary"]]
    assert knots == pytest.approx([-2.0, 0.0, 2.0])
