"""GLIMMIX R-side random effects (RANDOM _RESIDUAL_ / RESIDUAL option) under pseudo-likelihood.
References: for normal data RSPL is REML, so the fit must equal PROC MIXED's REPEATED fit (and SAS's
documented default DDFM=BETWITHIN for R-side-only models); for a Poisson GLM with RANDOM _RESIDUAL_ the
pseudo-likelihood fixed point is the quasi-likelihood fit: the GLM estimates, scale = Pearson X2/(n - p),
standard errors multiplied by sqrt(scale) (computed here with numpy)."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import run_sas

DATA = """data d;
  call streaminit(7);
  do id=1 to 30; trt = mod(id,2);
    e = 0;
    do t=1 to 4;
      e = 0.6*e + rand('normal');
      y = 1 + 0.5*trt + 0.3*t + e;
      c = rand('poisson', exp(0.5 + 0.2*t));
      output;
    end;
  end;
run;
"""


def _t(r, proc, name):
    return [t for t in r.session.tables if t.name == name and t.proc == proc][0].rows


@pytest.mark.parametrize("rtype", ["ar(1)", "cs", "un"])
def test_normal_rside_equals_mixed_repeated(rtype):
    r = run_sas(DATA + f"""proc glimmix data=d; class id trt t; model y = trt t / s;
        random t / subject=id type={rtype} residual; run;
      proc mixed data=d convh=1e-12; class id trt t; model y = trt t / s;
        repeated t / subject=id type={rtype}; run;""")
    assert not r.errors, r.errors
    g = _t(r, "GLIMMIX", "ParameterEstimates")
    m = _t(r, "MIXED", "SolutionF")
    for a, b in zip(g, m):
        if b["StdErr"] is None:
            continue
        assert a["Estimate"] == pytest.approx(b["Estimate"], abs=1e-6)
        assert a["StdErr"] == pytest.approx(b["StdErr"], rel=1e-5)
        assert a["DF"] == b["DF"]          # between-within in both procedures
    gc = [row["Estimate"] for row in _t(r, "GLIMMIX", "CovParms")]
    mc = [row["Estimate"] for row in _t(r, "MIXED", "CovParms")]
    assert gc == pytest.approx(mc, rel=1e-5)
    if rtype == "un":       # SAS: only an R-side UN -> every fixed effect gets the between-subject DF
        assert {row["DF"] for row in g if row["StdErr"] is not None} == {28}


def test_residual_scale_in_a_poisson_glm_is_the_quasi_likelihood_fit():
    r = run_sas(DATA + """proc glimmix data=d; class trt; model c = trt t / dist=poisson s;
        random _residual_; run;""")
    assert not r.errors, r.errors
    d = r.ds("d").df
    X = np.column_stack([np.ones(len(d)), (d["trt"] == 0).to_numpy(float), d["t"].to_numpy(float)])
    y = d["c"].to_numpy(float)
    b = np.zeros(3)
    for _ in range(50):
        mu = np.exp(X @ b)
        b = b + np.linalg.solve(X.T @ (X * mu[:, None]), X.T @ (y - mu))
    mu = np.exp(X @ b)
    phi = np.sum((y - mu) ** 2 / mu) / (len(y) - 3)
    se = np.sqrt(np.diag(np.linalg.inv(X.T @ (X * mu[:, None]))) * phi)
    sol = [row for row in _t(r, "GLIMMIX", "ParameterEstimates") if row["StdErr"] is not None]
    assert [row["Estimate"] for row in sol] == pytest.approx(b, abs=1e-6)
    assert [row["StdErr"] for row in sol] == pytest.approx(se, rel=1e-5)
    cp = _t(r, "GLIMMIX", "CovParms")
    assert cp[0]["CovParm"] == "Residual" and cp[0]["Estimate"] == pytest.approx(phi, rel=1e-6)


def test_rside_with_quadrature_is_an_error():
    r = run_sas(DATA + """proc glimmix data=d method=laplace; class id; model c = t / dist=poisson;
        random _residual_ / subject=id type=cs; run;""")
    assert any("R-side" in e for e in r.errors)
