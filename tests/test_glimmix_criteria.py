"""PROC GLIMMIX convergence options (issue #3: "ABSPCONV/GCONV-style convergence options").

SAS/STAT GLIMMIX documentation, PROC GLIMMIX statement: PCONV=r stops the doubly iterative
(pseudo-likelihood) process when the largest 2|new - old| / (|new| + |old|) over the fixed effects and
covariance parameters is below r (default 1E8 times the machine epsilon, printed 1.11022E-8); ABSPCONV=r
when the largest |new - old| is below r; MAXOPT=n limits the number of optimizations (default 50).
NLOPTIONS MAXITER= limits the optimiser's iterations.  The checks: each criterion stops the iterations
exactly where the printed Change column first meets it, and the limits end with SAS's not-converged
WARNING."""
from __future__ import annotations

import pytest

from conftest import run_sas

DATA = """data d;
  call streaminit(7);
  do id = 1 to 60;
    trt = mod(id, 2) + 1; u = rand('normal');
    do t = 0 to 3;
      ybin = rand('bernoulli', logistic(-0.5 + 0.6*trt + 0.2*t + 1.5*u));
      output;
    end;
  end;
run;
"""
MODEL = """  class id trt;
  model ybin(event='1') = trt t / dist=binary solution;
  random intercept / subject=id;
"""


def _step(r, k, name):
    return [t for t in r.session.tables if t.name == name and t.proc == "GLIMMIX"][k]


def test_pconv_abspconv_and_maxopt():
    r = run_sas(DATA + "".join(f"proc glimmix data=d {o};\n{MODEL}run;\n"
                               for o in ("", "pconv=1e-4", "abspconv=1e-3", "maxopt=2")))
    assert not r.errors, r.log
    # the default and PCONV=1E-4: converged where the relative change first fell below the criterion
    for k, crit, text in ((0, 1.11022e-8, "PCONV=1.11022E-8"), (1, 1e-4, "PCONV=0.0001")):
        it = _step(r, k, "IterHistory").rows
        changes = [row["Change"] for row in it[1:]]
        assert changes[-1] < crit and all(c >= crit for c in changes[:-1])
        conv = [t for t in r.session.tables if t.name == "ConvergenceStatus"]
        assert f"Convergence criterion ({text}) satisfied." in conv[k].rows[0]["Reason"]
    assert len(_step(r, 1, "IterHistory").rows) < len(_step(r, 0, "IterHistory").rows)
    b0 = _step(r, 0, "ParameterEstimates").rows[0]["Estimate"]
    b1 = _step(r, 1, "ParameterEstimates").rows[0]["Estimate"]
    assert b1 != b0 and b1 == pytest.approx(b0, abs=1e-3)
    # ABSPCONV=1E-3 stops no later than PCONV=1E-4 here, and says which criterion held
    n_abs = len(_step(r, 2, "IterHistory").rows)
    assert n_abs <= len(_step(r, 1, "IterHistory").rows)
    conv = [t for t in r.session.tables if t.name == "ConvergenceStatus"]
    assert len(conv) == 3 and "ABSPCONV=0.001" in conv[2].rows[0]["Reason"]
    # MAXOPT=2: two optimizations, then the WARNING (no Convergence Status)
    assert len(_step(r, 3, "IterHistory").rows) == 2
    assert r.warnings == ["WARNING: The GLIMMIX procedure did not converge (pseudo-likelihood iterations)."]


def test_nloptions_maxiter_is_honoured_and_other_options_are_named():
    r = run_sas(DATA + f"proc glimmix data=d method=laplace;\n{MODEL}  nloptions maxiter=2 tech=nrridg gconv=1e-10;\n"
                       f"run;\nproc glimmix data=d pconv=0;\n{MODEL}run;\n")
    assert r.warnings[0].startswith("WARNING: NLOPTIONS TECH=, GCONV= not supported and ignored")
    assert "did not converge" in r.warnings[1]
    assert len(_step(r, 0, "IterHistory").rows) == 3          # iterations 0, 1, 2
    assert len(r.errors) == 1 and "PCONV= needs a positive number" in r.errors[0]
