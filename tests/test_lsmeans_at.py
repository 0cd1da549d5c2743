"""LSMEANS (and LSMESTIMATE) AT, and SAS's covariate rule for LS-means.

SAS/STAT "Shared Concepts: Setting Covariate Values" (LSMEANS statement) defines the rule: by default every
covariate is at its mean and an effect with two or more covariates (x1*x2, t*t) at the mean of the
product; AT MEANS and AT x=value use the product of the individual values.  No SAS listing for these data
exists, so each LS-mean is checked against the same linear combination written out as an ESTIMATE
statement with the coefficients the rule implies (estimate, standard error and DF to 1e-8)."""
import numpy as np
import pytest

from conftest import assert_errors, run_sas

DATA = """
data d;
  do id = 1 to 30;
    trt = mod(id, 2) + 1;
    age = 30 + mod(id*7, 23);
    do t = 0 to 3;
      y = 10 + trt*0.8 + t*0.5 + 0.05*t*t*trt + 0.02*age + mod(id*13 + t*7, 9)/3;
      ybin = (mod(id*5 + t*3, 7) < 3 + trt);
      output;
    end;
  end;
run;
"""


def tables(r, name):
    return [t for t in r.session.tables if t.name == name]


def est_by_label(r):
    return {row["Label"]: row for t in tables(r, "Estimates") for row in t.rows}


def means_of(r):
    """Mean of t, of t*t and of age over the data step's observations (all used)."""
    ts = np.repeat([[0, 1, 2, 3]], 30, axis=0).ravel()
    ages = np.repeat([30 + (i * 7) % 23 for i in range(1, 31)], 4)
    return float(ts.mean()), float((ts * ts).mean()), float(ages.mean())


def test_mixed_lsmeans_default_mean_of_product_and_at_values():
    tb, tt = 1.5, 3.5
    r = run_sas(DATA + """
proc mixed data=d;
  class id trt;
  model y = trt t t*t trt*t*t age / ddfm=kr;
  random intercept / subject=id;
  lsmeans trt;
  lsmeans trt / at t=2;
  lsmeans trt / at (t age)=(1 40) diff;
  lsmeans trt / at means;
  estimate 'dflt1' intercept 1 trt 1 0 t 1.5 t*t 3.5 trt*t*t 3.5 0 age &abar;
  estimate 'at2'   intercept 1 trt 0 1 t 2 t*t 4 trt*t*t 0 4 age &abar;
  estimate 'at1'   intercept 1 trt 1 0 t 1 t*t 1 trt*t*t 1 0 age 40;
  estimate 'atm'   intercept 1 trt 1 0 t 1.5 t*t 2.25 trt*t*t 2.25 0 age &abar;
run;""".replace("&abar", f"{means_of(None)[2]!r}"))
    assert r.errors == [], r.log
    assert r.warnings == [], r.log
    assert (tb, tt) == means_of(r)[:2]
    ls = tables(r, "LSMeans")
    assert len(ls) == 4
    e = est_by_label(r)
    checks = [(ls[0], 1.0, "dflt1"), (ls[1], 2.0, "at2"), (ls[2], 1.0, "at1"), (ls[3], 1.0, "atm")]
    for t, lev, lab in checks:
        row = next(x for x in t.rows if x["trt"] == lev)
        for k in ("Estimate", "StdErr", "DF"):
            assert row[k] == pytest.approx(e[lab][k], rel=1e-8), (lab, k)
    # the AT covariates are columns of the LS-means (and differences) tables, at their values
    assert [c.name for c in ls[1].columns][:3] == ["Effect", "trt", "t"]
    assert all(x["t"] == 2.0 for x in ls[1].rows)
    assert all(x["t"] == 1.0 and x["age"] == 40.0 for x in ls[2].rows)
    diff = tables(r, "Diffs")[0]
    assert diff.rows[0]["t"] == 1.0 and diff.rows[0]["age"] == 40.0
    # the default and AT MEANS differ only through t*t: mean of the product vs product of the means
    d0 = next(x for x in ls[0].rows if x["trt"] == 1.0)["Estimate"]
    d3 = next(x for x in ls[3].rows if x["trt"] == 1.0)["Estimate"]
    assert abs(d0 - d3) > 1e-3


def test_glimmix_and_genmod_at_with_class_by_covariate_interaction():
    src = DATA + """
proc glimmix data=d;
  class id trt;
  model ybin(event='1') = trt t trt*t / dist=binary solution;
  random intercept / subject=id;
  lsmeans trt / at t=3 ilink diff;
  estimate 'g1' intercept 1 trt 1 0 t 3 trt*t 3 0 / ilink;
run;
proc genmod data=d descending;
  class trt;
  model ybin = trt t trt*t / dist=bin;
  lsmeans trt / at t=0.5 cl;
  estimate 'm2' intercept 1 trt 0 1 t 0.5 trt*t 0 0.5;
run;"""
    r = run_sas(src)
    assert r.errors == [], r.log
    g, m = tables(r, "LSMeans")
    eg, em = est_by_label(r)["g1"], est_by_label(r)["m2"]
    row = next(x for x in g.rows if x["trt"] == 1.0)
    for k in ("Estimate", "StdErr", "DF", "Mean"):
        assert row[k] == pytest.approx(eg[k], rel=1e-8), k
    row = next(x for x in m.rows if x["trt"] == 2.0)
    assert row["Estimate"] == pytest.approx(em["LBetaEstimate"], rel=1e-8)
    assert row["StdErr"] == pytest.approx(em["StdErr"], rel=1e-8)
    assert row["t"] == 0.5


def test_lsmestimate_at():
    r = run_sas(DATA + """
proc mixed data=d;
  class id trt;
  model y = trt t trt*t;
  random intercept / subject=id;
  lsmeans trt / at t=2 diff;
  lsmestimate trt 'd' 1 -1 / at t=2;
run;""")
    assert r.errors == [], r.log
    d = tables(r, "Diffs")[0].rows[0]
    le = tables(r, "LSMEstimates")[0].rows[0]
    for k in ("Estimate", "StdErr", "DF"):
        assert le[k] == pytest.approx(d[k], rel=1e-8), k


def test_at_errors_name_the_problem():
    r = run_sas(DATA + """
proc mixed data=d;
  class id trt;
  model y = trt t;
  random intercept / subject=id;
  lsmeans trt / at t = 0 1 2 diff;
run;
proc mixed data=d;
  class id trt;
  model y = trt t;
  lsmeans trt / at trt=1;
run;
proc mixed data=d;
  class id trt;
  model y = trt t;
  lsmeans trt / at age=40;
run;
proc mixed data=d;
  class id trt;
  model y = trt t age;
  lsmeans trt / at (t age)=(1);
run;""")
    assert_errors(r, ["takes one value per variable", "AT variable trt is a CLASS variable",
                      "AT variable age is not a covariate of the model", "2 variables but 1 values"])
