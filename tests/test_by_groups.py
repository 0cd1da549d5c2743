"""BY-group processing in the modelling procedures (GENMOD, GEE, GLIMMIX, MIXED), as the CAMIS MMRM
program uses it (`proc mixed; by paramcd param; ...`).

Reference: SAS runs the analysis once per BY group, prints each group under its BY line, collects all
groups in OUT= data sets and puts the BY variables first in ODS OUTPUT data sets.  Each group's numbers
must equal a run on that group alone (WHERE), which is what these tests check.
"""
from __future__ import annotations

import numpy as np

from conftest import assert_errors, run_sas, sim_trial

DATA = sim_trial(n=30, visits=3, seed=7, params=("ALB", "HGB"))


def by_and_where(body: str, group: str) -> str:
    """The same step twice: with BY param, and on one group alone with WHERE (its output data sets
    carry the suffix 1)."""
    by = body.replace("<BY>", "by param;").replace("<S>", "")
    one = body.replace("<BY>", f"where param = {group!r};").replace("<S>", "1")
    return by + one


MIXED = """ods output LSMeans=lsm<S>;
proc mixed data=a;
  <BY>
  class id trt time;
  model y = trt time trt*time / s ddfm=kr;
  repeated time / subject=id type=un;
  lsmeans trt / diff cl;
run;
"""
GENMOD = """ods output GEEEmpPEst=gee<S>;
proc genmod data=a descending;
  <BY>
  class id trt;
  model c = trt time / dist=bin;
  repeated subject=id / type=exch;
  output out=pred<S> p=phat;
run;
"""


def test_mixed_and_genmod_by_groups_equal_the_groups_run_alone():
    src = DATA + by_and_where(MIXED, "HGB") + by_and_where(GENMOD, "ALB")
    r = run_sas(src)
    assert not r.errors and not r.warnings, r.log
    lsm, one = r.ds("lsm").df, r.ds("lsm1").df
    assert list(lsm.columns)[0] == "param" and lsm["param"].tolist() == ["ALB", "ALB", "HGB", "HGB"]
    hgb = lsm[lsm["param"] == "HGB"].reset_index(drop=True)
    for c in ("Estimate", "StdErr", "DF", "Lower", "Upper"):
        np.testing.assert_allclose(hgb[c].to_numpy(float), one[c].to_numpy(float), rtol=1e-8)
    gee, gee1 = r.ds("gee").df, r.ds("gee1").df
    alb = gee[gee["param"] == "ALB"].reset_index(drop=True)
    np.testing.assert_allclose(alb["Estimate"].to_numpy(float), gee1["Estimate"].to_numpy(float), rtol=1e-8)
    np.testing.assert_allclose(alb["StdErr"].to_numpy(float), gee1["StdErr"].to_numpy(float), rtol=1e-8)
    pred = r.ds("pred").df
    assert len(pred) == 180 and pred["phat"].notna().all()      # OUT= holds every group
    assert r.out.count("param=HGB") > 0 and r.out.index("param=ALB") < r.out.index("param=HGB")


GLIMMIX = """ods output ParameterEstimates=pe<S>;
proc glimmix data=a;
  <BY>
  class id trt;
  model c(event='1') = trt time / dist=bin s;
  random intercept / subject=id;
run;
"""


def test_glimmix_by_groups_and_unsorted_data():
    src = DATA + by_and_where(GLIMMIX, "ALB") + """
proc sort data=a out=b; by descending param; run;
proc mixed data=b; by param; class id; model y = time; random intercept / subject=id; run;
"""
    r = run_sas(src)
    assert_errors(r, ["is not sorted in ascending sequence"])
    pe, pe1 = r.ds("pe").df, r.ds("pe1").df
    alb = pe[pe["param"] == "ALB"].reset_index(drop=True)
    np.testing.assert_allclose(alb["Estimate"].to_numpy(float), pe1["Estimate"].to_numpy(float),
                               rtol=1e-6, atol=1e-8)
    assert set(pe["param"]) == {"ALB", "HGB"}


def test_character_do_list_index():
    # DO c = 'ALB', 'HGB' makes a character index (it was numeric, so every value was invalid)
    r = run_sas("data a; do p = 'ALB', 'HG'; output; end; run;\n")
    assert not r.errors and r.ds("a").var("p").is_char and r.ds("a").df["p"].tolist() == ["ALB", "HG"]


def test_an_ignored_option_is_reported_once_not_per_group():
    r = run_sas(DATA + "proc glimmix data=a plots=none; by param; class id trt;\n"
                "model c(event='1') = trt time / dist=bin; random intercept / subject=id; run;\n")
    assert r.warnings == ["WARNING: The PROC GLIMMIX option PLOTS is not supported yet and was ignored."]
    assert r.out.count("Type III Tests of Fixed Effects") == 2
