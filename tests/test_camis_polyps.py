"""CAMIS count-data page (PSIAIMS/CAMIS SAS/count_data_regression.qmd): PROC GENMOD Poisson and negative
binomial regression on the polyps data (HSAUR; Giardiello et al. 1993) with LSMEANS / CL OM.  The page prints
the back-transformed SAS results (SAS 9.04.01M7); they are checked here to the digits it prints."""
from __future__ import annotations

import math

import pytest

from conftest import run_sas

POLYPS = """data polyps;
  input number treat $ age;
  datalines;
63 placebo 20
2 drug 16
28 placebo 18
17 drug 22
61 placebo 13
1 drug 23
7 placebo 34
15 placebo 50
44 placebo 19
25 drug 17
3 drug 23
28 placebo 22
10 placebo 30
40 placebo 27
33 drug 23
46 placebo 22
50 placebo 34
3 drug 23
1 drug 22
4 drug 42
;
"""

STEP = """
ods output ParameterEstimates=ors lsmeans=lsm;
proc genmod data=polyps;
  class treat (ref="placebo");
  model number = treat age / dist={dist};
  lsmeans treat / cl OM;
run;
ods output close;
"""

# (drug LS-mean, lower, upper), (placebo ...), (rate ratio drug/placebo, lower, upper), as CAMIS prints them
SAS = {"poisson": ((9.02, 7.30, 11.13), (35.10, 31.72, 38.84), (0.2569, 0.2040, 0.3235)),
       "negbin link=log": ((8.97, 5.18, 15.53), (35.24, 22.12, 56.13), (0.2546, 0.1232, 0.5259))}


@pytest.mark.parametrize("dist", list(SAS))
def test_polyps_lsmeans_om_and_rate_ratio_match_camis_sas(dist):
    r = run_sas(POLYPS + STEP.format(dist=dist))
    assert not r.errors, r.errors
    lsm_t = [t for t in r.session.tables if t.name == "LSMeans"][0]
    rows = {row["treat"]: row for row in lsm_t.rows}
    pe = {row["Parameter"] + str(row.get("Level1") or ""): row for row in
          [t for t in r.session.tables if t.name == "ParameterEstimates"][0].rows}
    (d, dl, du), (p, pl, pu), (rr, rl, ru) = SAS[dist]
    for row, (m, lo, hi) in ((rows["drug"], (d, dl, du)), (rows["placebo"], (p, pl, pu))):
        assert math.exp(row["Estimate"]) == pytest.approx(m, abs=0.005)
        assert math.exp(row["Lower"]) == pytest.approx(lo, abs=0.005)
        assert math.exp(row["Upper"]) == pytest.approx(hi, abs=0.005)
    drug = pe["treatdrug"]
    assert math.exp(drug["Estimate"]) == pytest.approx(rr, abs=5e-5)
    assert math.exp(drug["LowerWaldCL"]) == pytest.approx(rl, abs=5e-5)
    assert math.exp(drug["UpperWaldCL"]) == pytest.approx(ru, abs=5e-5)
