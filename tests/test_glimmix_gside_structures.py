"""GLIMMIX G-side TYPE=AR(1), CS, TOEP, CSH (and the TOEP(n) band form) under METHOD=LAPLACE / QUAD.

Reference numbers: glmmTMB 1.1.5, run by hand (never in CI) on the data below, Laplace:
  ar1(t + 0 | id)                                      -> TYPE=AR(1)
  cs(t + 0 | id)                                       -> TYPE=CSH (glmmTMB's cs has one variance per level)
  cs(t + 0 | id), map=list(theta=factor(c(1,1,1,2)))   -> TYPE=CS (the three variances tied)
  toep(t + 0 | id), map=list(theta=factor(c(1,1,1,2,3))) -> TYPE=TOEP (variances tied)
glmmTMB reports correlations: CS = Var*rho is SAS's CS parameter, SAS's Variance = total - CS;
TOEP(k) = variance * correlation at lag k-1.
"""
from __future__ import annotations

import pytest

from conftest import run_sas
from glmm_checks import check_fit, rows

# 40 subjects x 3 times x 2 replicates; y ~ Poisson(exp(0.3 + 0.4 x + b_t)), b an AR(1)-like vector
# (numpy default_rng(20261124)); x is a fixed function of the row number.
Y = ("4 4 1 2 1 1 2 2 3 2 1 1 5 6 2 1 0 9 4 3 5 5 2 1 2 1 15 9 10 9 0 1 6 2 3 0 5 1 1 0 0 1 2 2 0 2 3 2 1 2 6 3 7 5 "
     "0 0 1 3 0 3 1 1 1 0 0 0 1 1 0 7 3 0 2 2 0 2 1 1 0 0 2 4 0 1 1 0 5 2 0 3 0 1 1 1 2 2 1 1 0 1 2 2 0 1 0 1 0 0 1 "
     "6 1 3 5 10 1 0 2 0 1 0 0 0 3 1 1 3 1 3 9 9 3 2 0 1 0 1 0 3 2 4 0 3 4 0 2 0 0 1 0 2 0 0 1 1 2 2 1 4 7 2 7 5 4 5 "
     "2 1 0 0 0 0 2 1 0 0 1 0 0 3 0 2 0 0 6 1 4 1 1 1 1 1 7 2 0 0 3 0 3 2 2 5 4 4 2 1 6 5 0 0 0 0 6 5 3 1 0 0 0 1 1 0 "
     "1 2 1 2 2 2 2 3 1 5 2 0 2 0 5 1 0 3 2 1")

DATA = f"""
data d;
  array yy[240] _temporary_ ({Y});
  k = 0;
  do id = 1 to 40; do t = 1 to 3; do rep = 1 to 2;
    x = (mod(k * 7, 11) - 5) / 5; k + 1; y = yy[k]; output;
  end; end; end;
  keep id t rep x y;
run;
"""


def fit(type_, method="laplace", extra=""):
    return run_sas(DATA + f"""
proc glimmix data=d method={method};
  class id t;
  model y = x / dist=poisson s;
  random t / subject=id type={type_} {extra};
run;
""")


def test_ar1_matches_glmmtmb():
    r = fit("ar(1)")
    check_fit(r, [0.37907066, 0.47040061], [0.104785347, 0.083508195],
              {"Variance": 0.54081616, "AR(1)": 0.35837376}, 858.6827004)
    assert [row["CovParm"] for row in rows(r, "CovParms")] == ["Variance", "AR(1)"]
    info = {row["Descr"]: row["Value"] for row in rows(r, "OptInfo")}
    assert (info["Lower Boundaries"], info["Upper Boundaries"]) == (2, 1)   # variance >= 0, |rho| < 1


def test_csh_matches_glmmtmb():
    r = fit("csh")
    check_fit(r, [0.38939753, 0.48175930], [0.105286902, 0.084361465],
              {"Var(1)": 0.57822800, "Var(2)": 0.58196229, "Var(3)": 0.45936482, "CSH": 0.29396727},
              859.3371224, tol=5e-5)


def test_cs_matches_glmmtmb_with_tied_variances():
    r = fit("cs")
    # glmmTMB: total variance 0.53941951, covariance 0.15567204
    check_fit(r, [0.38862700, 0.47655011], [0.104769257, 0.083670308],
              {"Variance": 0.53941951 - 0.15567204, "CS": 0.15567204}, 859.6679752)


def test_toep_matches_glmmtmb_with_tied_variances():
    r = fit("toep")
    check_fit(r, [0.37682264, 0.46916442], [0.10489253, 0.08372170],
              {"Variance": 0.54109410, "TOEP(2)": 0.19632920, "TOEP(3)": 0.04412748}, 858.645381, tol=2e-5)


def test_toep_bands_and_quadrature():
    """TOEP(2) sets the lag-2 covariance to zero; TOEP(1) is a scaled identity (one Variance).  On two
    levels AR(1), CS and TOEP are the same family, so their maximised likelihoods agree."""
    r = fit("toep(2)", "quad(qpoints=3)")
    assert not r.errors, r.errors
    assert [row["CovParm"] for row in rows(r, "CovParms")] == ["Variance", "TOEP(2)"]
    r1 = fit("toep(1)")
    assert [row["CovParm"] for row in rows(r1, "CovParms")] == ["Variance"]
    vc = run_sas(DATA + """
proc glimmix data=d method=laplace;
  class id t;
  model y = x / dist=poisson s;
  random t / subject=id;
run;
""")
    m2 = lambda rr: {row["Descr"]: row["Value"] for row in rows(rr, "FitStatistics")}["-2 Log Likelihood"]
    assert m2(r1) == pytest.approx(m2(vc), abs=1e-5)
    two = DATA.replace("do t = 1 to 3", "do t = 1 to 2")          # the first 160 counts, two levels of t
    fits = []
    for ty in ("ar(1)", "cs", "toep"):
        rr = run_sas(two + f"""
proc glimmix data=d method=quad(qpoints=4);
  class id t;
  model y = x / dist=poisson s;
  random t / subject=id type={ty};
run;
""")
        assert not rr.errors, rr.errors
        fits.append(m2(rr))
    assert fits[1] == pytest.approx(fits[0], abs=1e-5) and fits[2] == pytest.approx(fits[0], abs=1e-5)


# Nested random intercepts (center, id within center) under LAPLACE: one joint Laplace approximation over all
# random effects of a center.  Reference: glmmTMB 1.1.5, y ~ x + (1|center) + (1|center:id), binomial, run by
# hand: -2 log L 283.4256075; (Intercept) -0.05633614 (0.25725830), x 0.65606531 (0.25970835);
# SDs 0.61095899 (center), 0.76433267 (center:id).  12 centers with 3..6 subjects, 4 visits each.
NESTED_Y = ("1111100011000111110111111010010110100000111000100011110111111111110111101111001100010011011100100000010001"
            "10100001000000001011111001000001011111000011100001100110001001101100000101100000010000010110110101000111101001")


def test_nested_random_intercepts_under_laplace_match_glmmtmb():
    r = run_sas(f"""
data d;
  length ys $216;
  ys = "{NESTED_Y}";
  k = 0;
  do center = 1 to 12; do id = 1 to 3 + mod(center - 1, 4); do t = 1 to 4;
    x = (mod(k * 7, 11) - 5) / 5; k + 1; y = input(substr(ys, k, 1), 1.); output;
  end; end; end;
  drop ys;
run;
proc glimmix data=d method=laplace;
  class center id;
  model y(event='1') = x / dist=binary s;
  random int / subject=center;
  random int / subject=id(center);
run;
""")
    cp = rows(r, "CovParms")
    assert [(row["CovParm"], row["Subject"]) for row in cp] == [("Intercept", "center"), ("Intercept", "id(center)")]
    check_fit(r, [-0.05633614, 0.65606531], [0.25725830, 0.25970835], {}, 283.4256075, tol=2e-5)
    assert [row["Estimate"] for row in cp] == pytest.approx([0.61095899 ** 2, 0.76433267 ** 2], abs=2e-5)
    q = run_sas("""
data d; do center = 1 to 5; do id = 1 to 3; y = mod(center + id, 2); x = id; output; end; end; run;
proc glimmix data=d method=quad;
  class center id;
  model y = x / dist=binary;
  random int / subject=center;
  random int / subject=id(center);
run;
""")
    assert len(q.errors) == 1 and "METHOD=QUAD" in q.errors[0]
