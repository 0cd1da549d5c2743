"""PROC GLIMMIX FREQ: SAS documents that each observation is treated as if it appeared f times and that the
analysis reflects the expanded number of observations (frequency copies stay in their subject; NLMIXED's
REPLICATE, which copies whole subjects, is a different thing).  So a FREQ fit must equal the fit of the
expanded data set, for the quadrature, pseudo-likelihood and GLM-mode fits alike; Number of Observations adds
SAS's Sum of Frequencies rows, and OUTPUT OUT= keeps one row per input observation."""
from __future__ import annotations

import pytest

from conftest import run_sas

DATA = """data a; call streaminit(3);
  do id = 1 to 30; b = rand('normal', 0, 1); trt = mod(id, 2);
    do t = 1 to 3; y = (rand('uniform') < logistic(-0.5 + trt + 0.3*t + b)); f = 1 + mod(id + t, 3);
      if id = 7 and t = 2 then f = 0; output; end; end;
run;
data e; set a; do i = 1 to f; output; end; run;
"""
MODEL = "class id; model y(event='1') = trt t / dist=binary s;"


def _pe(r, k):
    return [t for t in r.session.tables if t.name == "ParameterEstimates"][k].rows


@pytest.mark.parametrize("method, random", [("method=quad(qpoints=5)", "random intercept / subject=id;"),
                                            ("", "random intercept / subject=id;"), ("", "")])
def test_freq_fit_equals_expanded_data(method, random):
    r = run_sas(DATA + f"proc glimmix data=a {method}; {MODEL} {random} freq f; output out=o pred=p; run;\n"
                f"proc glimmix data=e {method}; {MODEL} {random} run;\n")
    assert not r.errors, r.log
    a, b = _pe(r, 0), _pe(r, 1)
    for ra, rb in zip(a, b):
        assert ra["Estimate"] == pytest.approx(rb["Estimate"], abs=1e-8)
        assert ra["StdErr"] == pytest.approx(rb["StdErr"], rel=1e-6)
        assert ra["DF"] == rb["DF"]
    nobs = {row["Label"]: row["N"] for row in [t for t in r.session.tables if t.name == "NObs"][0].rows}
    assert nobs == {"Number of Observations Read": 90, "Number of Observations Used": 89,
                    "Sum of Frequencies Read": r.ds("e").nobs, "Sum of Frequencies Used": r.ds("e").nobs}
    assert r.ds("o").nobs == 90
