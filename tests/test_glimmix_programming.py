"""PROC GLIMMIX programming statements (assignments, IF/ELSE, DO/END) compute variables from the input data
before the fit, as SAS documents ("continuous variables on the left and right side of the MODEL statement
can be computed through PROC GLIMMIX programming statements").  Reference: the same variables computed in a
DATA step first, then the same model: the fits must be identical."""
from __future__ import annotations

import pytest

from conftest import run_sas

DATA = """data d;
  call streaminit(5);
  do id=1 to 40; trt = mod(id,3); u = rand('normal'); x = rand('uniform')*10;
    do time=1 to 4; y = 10 + trt + 0.5*time + u + rand('normal'); c = rand('poisson', exp(0.1*time)); output; end;
  end;
run;
"""


def _sol(r, k):
    return [(row["Effect"], row["Estimate"], row["StdErr"]) for row in
            [t for t in r.session.tables if t.name == "ParameterEstimates"][k].rows]


def test_programming_statements_equal_a_data_step():
    r = run_sas(DATA + """proc glimmix data=d;
      class id trt;
      model c = trt xx t2 / dist=poisson s;
      random intercept / subject=id;
      if trt=1 then xx = x*2; else xx = x;
      t2 = time**2;
      if time > 3 then do; t2 = t2 - 1; end;
    run;
    data d2; set d; if trt=1 then xx = x*2; else xx = x; t2 = time**2; if time > 3 then do; t2 = t2 - 1; end; run;
    proc glimmix data=d2;
      class id trt;
      model c = trt xx t2 / dist=poisson s;
      random intercept / subject=id;
    run;""")
    assert not r.errors and not r.warnings, (r.errors, r.warnings)
    a, b = _sol(r, 0), _sol(r, 1)
    assert [x[0] for x in a] == [x[0] for x in b]
    assert [x[1] for x in a] == pytest.approx([x[1] for x in b], rel=1e-12)
    # the programming statements' DATA step writes no notes of its own
    assert not any("_PGM" in line for line in r.log.splitlines())


def test_automatic_variables_are_an_error():
    r = run_sas(DATA + "proc glimmix data=d; class id trt; model y = trt x; random intercept / subject=id;\n"
                       "  _variance_ = _mu_**2; run;")
    assert any("_MU_, _VARIANCE_" in e and "not supported" in e for e in r.errors)
