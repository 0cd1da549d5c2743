"""BY-group processing in the modelling procedures (GENMOD, GEE, GLIMMIX, MIXED), as the CAMIS MMRM
program uses it (`proc mixed; by paramcd param; ...`).

Reference: SAS runs the analysis once per BY group, prints each group under its BY line, collects all
groups in OUT= data sets and puts the BY variables first in ODS OUTPUT data sets.  Each group's numbers
must equal a run on that group alone (WHERE), which is what these tests check.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import assert_errors, run_sas

DATA = """data a;
  call streaminit(7);
  do param = 'ALB', 'HGB';
    do id = 1 to 30;
      trt = mod(id, 2);
      b = rand('normal', 0, 1);
      do time = 1 to 3;
        y = 10 + trt + 0.5*time + b + rand('normal', 0, 1) + (param = 'HGB') * 3;
        c = (y > 12 + (param = 'HGB') * 3);
        output;
      end;
    end;
  end;
run;
"""


def test_mixed_and_genmod_by_groups_equal_the_groups_run_alone():
    src = DATA + """
ods output LSMeans=lsm SolutionF=sf;
proc mixed data=a;
  by param;
  class id trt time;
  model y = trt time trt*time / s ddfm=kr;
  repeated time / subject=id type=un;
  lsmeans trt / diff cl;
run;
ods output LSMeans=one;
proc mixed data=a;
  where param = 'HGB';
  class id trt time;
  model y = trt time trt*time / s ddfm=kr;
  repeated time / subject=id type=un;
  lsmeans trt / diff cl;
run;
ods output GEEEmpPEst=gee;
proc genmod data=a descending;
  by param;
  class id trt;
  model c = trt time / dist=bin;
  repeated subject=id / type=exch;
  output out=pred p=phat;
run;
ods output GEEEmpPEst=gee1;
proc genmod data=a descending;
  where param = 'ALB';
  class id trt;
  model c = trt time / dist=bin;
  repeated subject=id / type=exch;
run;
"""
    r = run_sas(src)
    assert not r.errors and not r.warnings, r.log
    lsm, one = r.ds("lsm").df, r.ds("one").df
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


def test_glimmix_by_groups_and_unsorted_data():
    src = DATA + """
ods output ParameterEstimates=pe;
proc glimmix data=a;
  by param;
  class id trt;
  model c(event='1') = trt time / dist=bin s;
  random intercept / subject=id;
run;
ods output ParameterEstimates=pe1;
proc glimmix data=a;
  where param = 'ALB';
  class id trt;
  model c(event='1') = trt time / dist=bin s;
  random intercept / subject=id;
run;
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
