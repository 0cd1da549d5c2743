"""GLIMMIX EMPIRICAL in GLM mode and EMPIRICAL=MBN.
References: GENMOD's GEE robust (sandwich) standard errors with TYPE=IND and every observation its own
cluster equal the classical GLM-mode sandwich; the MBN estimator as SAS documents it (Design-Adjusted MBN
Estimator) is c * classical + delta_m * phi * model-based, checked on an intercept-only model where all
matrices are scalars and every piece is read off the printed standard errors."""
from __future__ import annotations


import pytest

from conftest import run_sas

DATA = """data d;
  call streaminit(5);
  do i=1 to 80; x = rand('normal'); g = mod(i,3);
    y = rand('bernoulli', 1/(1+exp(-(0.3 + 0.8*x)))); c = rand('poisson', exp(0.4+0.3*x)); output; end;
run;
"""


def _se(r, name, proc, k=0):
    t = [t for t in r.session.tables if t.name == name and t.proc == proc][k]
    return [row["StdErr"] for row in t.rows if row["StdErr"]
            and "Scale" not in (row.get("Parm"), row.get("Effect"))]


def test_glm_mode_empirical_equals_genmod_independence_gee():
    r = run_sas(DATA + """proc glimmix data=d empirical; class g; model y(event='1') = x g / dist=binary s; run;
      proc genmod data=d descending; class i g; model y = x g / dist=bin; repeated subject=i / type=ind; run;""")
    assert not r.errors, r.errors
    assert _se(r, "ParameterEstimates", "GLIMMIX") == pytest.approx(_se(r, "GEEEmpPEst", "GENMOD"), rel=1e-6)
    info = {row["Label"]: row["Value"] for row in
            [t for t in r.session.tables if t.name == "ModelInfo" and t.proc == "GLIMMIX"][0].rows}
    assert info["Fixed Effects SE Adjustment"] == "Sandwich - Classical"


@pytest.mark.parametrize("opt,r_,d_,nodf", [("empirical=mbn", 1.0, 2.0, False),
                                            ("empirical=mbn(r=0.5 d=3 nodf)", 0.5, 3.0, True)])
def test_mbn_is_the_documented_adjustment_of_the_classical_sandwich(opt, r_, d_, nodf):
    r = run_sas(DATA + f"""proc glimmix data=d {opt}; model c = / dist=poisson s; run;
      proc glimmix data=d empirical; model c = / dist=poisson s; run;
      proc glimmix data=d; model c = / dist=poisson s; run;""")
    assert not r.errors, r.errors
    mbn, emp, mod = (_se(r, "ParameterEstimates", "GLIMMIX", k)[0] ** 2 for k in range(3))
    m = f = 80
    k = 1
    c = 1.0 if nodf else (f - 1) / (f - k) * m / (m - 1)
    phi = max(r_, emp / mod)                       # trace(Omega M) / k with scalars
    delta = k / (m - k) if m > (d_ + 1) * k else 1 / d_
    assert mbn == pytest.approx(c * emp + delta * phi * mod, rel=1e-8)


def test_mbn_with_quadrature_is_an_error():
    r = run_sas(DATA + """proc glimmix data=d method=laplace empirical=mbn; class g; model c = x / dist=poisson;
      random intercept / subject=g; run;""")
    assert any("MBN" in e for e in r.errors)


HC = """data d;
  call streaminit(5);
  do i=1 to 80; x = rand('normal'); g = mod(i,3);
    y = rand('bernoulli', 1/(1+exp(-(0.3 + 0.8*x)))); z = 1 + x + rand('normal')*(1+abs(x)); output; end;
run;
"""


@pytest.mark.parametrize("kind,want", [
    # R sandwich 3.0 vcovHC(glm(y ~ x + g, binomial), type = "HC3" / "HC2") by hand
    ("firores", [0.437065, 0.243181, 0.642191, 0.616715]),
    ("root", [0.425646, 0.236088, 0.626003, 0.600514]),
])
def test_glm_mode_firores_and_root_are_hc3_and_hc2(kind, want):
    r = run_sas(HC + f"proc glimmix data=d empirical={kind}; class g; model y(event='1') = x g / dist=binary s; run;")
    assert not r.errors, r.errors
    # (R's glm stops at its default epsilon 1e-8: agreement to 1e-5)
    assert _se(r, "ParameterEstimates", "GLIMMIX") == pytest.approx(want, abs=1e-5)


def test_linear_model_firoeeq_follows_the_documented_formula():
    """FIROEEQ (r = 0.75): U_i = A_i x_i e_i / s2 with A_i = diag((1 - min(r, [Q_i]_jj))^-1/2),
    Q_i = x_i x_i' Omega / s2, Omega = s2 (X'X)^-1 (computed here with numpy)."""
    import numpy as np
    r = run_sas(HC + "proc glimmix data=d empirical=firoeeq; model z = x / s; run;")
    d = r.ds("d").df
    X = np.column_stack([np.ones(len(d)), d["x"].to_numpy(float)])
    z = d["z"].to_numpy(float)
    b = np.linalg.lstsq(X, z, rcond=None)[0]
    e = z - X @ b
    s2 = e @ e / (len(z) - 2)
    Om = s2 * np.linalg.inv(X.T @ X)
    U = []
    for xi, ei in zip(X, e):
        Q = np.outer(xi, xi) @ Om / s2
        A = (1 - np.minimum(0.75, np.diag(Q))) ** -0.5
        U.append(A * xi * ei / s2)
    U = np.array(U)
    cov = Om @ U.T @ U @ Om
    assert _se(r, "ParameterEstimates", "GLIMMIX") == pytest.approx(np.sqrt(np.diag(cov)), rel=1e-8)
