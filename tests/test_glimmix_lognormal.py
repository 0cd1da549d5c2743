"""DIST=LOGNORMAL: SAS fits log(Y) as normal; its log likelihood is the normal one of log(Y) without the
Jacobian of the transformation (SAS/STAT GLIMMIX documentation, "Maximum Likelihood": "Note that the
preceding density is not the density of Y").  So every number equals DIST=NORMAL on log(Y) computed in a DATA
step; only the distribution's name differs."""
from __future__ import annotations

import pytest

from conftest import run_sas

DATA = """
data d;
  call streaminit(3);
  do id = 1 to 30;
    b = rand('normal') * 0.5;
    do j = 1 to 4;
      x = rand('normal'); y = exp(1 + 0.3 * x + b + rand('normal') * 0.4); ly = log(y); output;
    end;
  end;
run;
"""


@pytest.mark.parametrize("random", ["random int / subject=id;", ""])
def test_lognormal_is_normal_on_log_y(random):
    r = run_sas(DATA + f"""
proc glimmix data=d;
  class id;
  model y = x / dist=lognormal s;
  {random}
run;
proc glimmix data=d;
  class id;
  model ly = x / s;
  {random}
run;
""")
    assert not r.errors, r.errors
    info = [t for t in r.session.tables if t.name == "ModelInfo"]
    lab = [{list(row.values())[0]: list(row.values())[1] for row in t.rows}["Response Distribution"] for t in info]
    assert lab == ["Lognormal", "Gaussian"]
    pe = [t for t in r.session.tables if t.name == "ParameterEstimates"]
    fs = [t for t in r.session.tables if t.name == "FitStatistics"]
    for a, b in zip(pe[0].rows, pe[1].rows):
        assert a["Estimate"] == pytest.approx(b["Estimate"], abs=1e-10)
        assert a["StdErr"] == pytest.approx(b["StdErr"], abs=1e-10)
    assert fs[0].rows[0]["Value"] == pytest.approx(fs[1].rows[0]["Value"], abs=1e-8)


def test_lognormal_needs_positive_response():
    r = run_sas(DATA + """
data e; set d; if _n_ = 3 then y = 0; run;
proc glimmix data=e;
  model y = x / dist=lognormal;
run;
""")
    assert len(r.errors) == 1 and "DIST=LOGNORMAL needs a positive response" in r.errors[0]
