"""GENMOD DIST=ZIP / DIST=ZINB with ZEROMODEL.  Reference numbers: R glmmTMB 1.1 (poisson and nbinom2
families, ziformula), run by hand on the data below (the CSV written from these lines, g as a factor with
level 1 as the reference, matching GLM coding's last level).  glmmTMB reports the negative binomial size
theta = 1/k and the SE of log theta (equal to the SE of log k); k's delta-method SE is k times it."""
from __future__ import annotations


import pytest

from conftest import assert_errors, run_sas

DATA = """data z; input x g z y yn @@; datalines;
0.03 0 0.60 0 0 1.36 1 -0.83 1 0 1.22 0 -0.27 0 0 -0.51 1 -0.35 1 0 -0.30 1 0.19 0 0
-0.53 0 1.09 0 0 0.57 1 0.02 1 0 -0.06 0 0.92 0 2 0.75 1 -0.42 2 0 -1.85 0 0.33 0 1
1.57 1 -2.14 2 2 -0.10 1 -1.45 0 1 0.68 1 0.80 0 0 -0.14 0 -0.59 0 2 -0.38 0 0.58 1 0
0.46 0 0.54 0 0 0.82 1 1.32 0 3 -0.20 0 0.81 0 4 -0.15 1 1.02 0 0 0.69 0 -0.11 2 13
-0.87 0 -0.70 0 0 -1.51 1 -0.73 0 0 0.39 0 -0.49 0 1 -0.67 1 -1.13 1 2 -1.92 0 -0.55 0 0
-0.81 1 -0.09 1 0 -0.47 0 0.25 0 9 -1.19 1 -0.34 4 2 -1.49 1 -1.92 0 0 0.04 1 -0.07 0 0
0.90 1 0.23 1 2 -0.23 1 1.08 0 0 -0.74 1 0.58 0 0 0.38 1 -0.64 0 1 0.72 0 -0.72 1 3
-0.30 0 2.01 0 0 0.54 1 0.76 0 0 1.04 1 1.83 0 4 -0.21 0 2.13 0 0 -0.81 0 -0.82 1 1
0.35 1 0.39 1 0 0.25 0 0.46 0 3 1.10 0 0.56 0 10 -1.28 1 0.54 0 0 -0.66 1 0.20 0 1
-0.84 1 0.17 0 0 -1.73 0 -1.50 1 0 0.13 1 -0.17 0 0 0.53 1 -0.75 2 0 -0.74 0 0.13 0 0
1.39 0 -0.47 3 8 0.82 0 0.62 0 0 0.63 1 0.82 0 0 0.40 0 0.31 2 0 0.96 1 0.32 0 4
-1.33 1 0.09 1 1 0.61 0 -0.45 1 1 0.60 0 -0.16 4 0 -1.77 1 -0.50 1 1 0.35 0 0.39 0 0
-0.25 1 0.01 1 0 0.78 0 0.58 3 0 -0.44 1 -1.33 1 1 -0.02 0 0.89 0 0 0.34 1 -0.76 1 2
-0.88 1 -0.73 0 0 0.60 0 -0.20 0 3 -0.10 1 -0.56 3 1 0.49 0 0.29 3 0 -0.52 0 -0.57 0 1
1.09 0 -1.07 8 4 0.61 0 -0.85 1 0 -0.18 1 1.31 0 1 0.63 0 0.04 1 1 1.26 0 -1.17 6 1
1.79 1 0.01 2 2 -1.57 0 -1.56 0 0 0.88 0 1.79 2 3 0.47 0 -1.52 2 2 -0.09 0 0.48 0 0
;
"""


def _tables(r, name):
    return [t for t in r.session.tables if t.name == name]


def _est(r, name):
    return {(row["Parameter"], row.get("Level1", "")): (row["Estimate"], row["StdErr"])
            for row in _tables(r, name)[0].rows}


def test_zip_matches_glmmtmb():
    r = run_sas(DATA + "proc genmod data=z; class g; model y = x g / dist=zip; zeromodel z; run;")
    assert not r.errors and not r.warnings, r.log
    pe, ze = _est(r, "ParameterEstimates"), _est(r, "ZeroParameterEstimates")
    ref = {("Intercept", ""): (-0.05230422612, 0.2208585875), ("x", ""): (0.59332659175, 0.1605212274),
           ("g", "0"): (0.39677122786, 0.2637642330)}
    for k, (b, se) in ref.items():
        assert pe[k][0] == pytest.approx(b, abs=2e-6) and pe[k][1] == pytest.approx(se, abs=2e-6)
    assert pe[("g", "1")] == (0.0, 0.0)
    assert ze[("Intercept", "")][0] == pytest.approx(-0.8290500169, abs=2e-6)
    assert ze[("z", "")][0] == pytest.approx(2.2689359060, abs=2e-6)
    assert ze[("z", "")][1] == pytest.approx(0.8131483040, abs=2e-6)
    fit = {row["Criterion"]: row["Value"] for row in _tables(r, "ModelFit")[0].rows}
    assert fit["Full Log Likelihood"] == pytest.approx(-90.28532894, abs=1e-6)
    assert fit["AIC (smaller is better)"] == pytest.approx(2 * 90.28532894 + 2 * 5, abs=1e-5)
    info = {row["Label"]: row["Value"] for row in _tables(r, "ModelInfo")[0].rows}
    assert info["Distribution"] == "Zero Inflated Poisson" and info["Zero Inflation Link Function"] == "Logit"


def test_zinb_and_intercept_only_zero_model():
    r = run_sas(DATA + "proc genmod data=z; class g; model yn = x g / dist=zinb; zeromodel z / link=logit; run;\n"
                "proc genmod data=z; class g; model y = x g / dist=zip; run;")
    assert not r.errors and not r.warnings, r.log
    pe = _est(r, "ParameterEstimates")
    assert pe[("x", "")][0] == pytest.approx(0.60156359242, abs=2e-6)
    assert pe[("x", "")][1] == pytest.approx(0.1879347174, abs=2e-6)
    assert pe[("g", "0")][0] == pytest.approx(0.80822481474, abs=2e-6)
    k = 0.6107061209          # 1/sigma(m): glmmTMB's sigma for nbinom2 is theta = 1/k
    assert pe[("Dispersion", "")][0] == pytest.approx(k, rel=1e-5)
    assert pe[("Dispersion", "")][1] == pytest.approx(k * 0.6056036054, rel=1e-4)
    ze = _est(r, "ZeroParameterEstimates")
    assert ze[("z", "")] == pytest.approx((0.7812134424, 0.4579777051), abs=2e-6)
    fits = [{row["Criterion"]: row["Value"] for row in t.rows} for t in _tables(r, "ModelFit")]
    assert fits[0]["Full Log Likelihood"] == pytest.approx(-114.0493315, abs=1e-6)
    # no ZEROMODEL statement: an intercept-only zero-inflation model
    zero_only = [row for row in _tables(r, "ZeroParameterEstimates")[1].rows]
    assert [row["Parameter"] for row in zero_only] == ["Intercept"]
    assert zero_only[0]["Estimate"] == pytest.approx(-0.6453847239, abs=2e-6)
    assert fits[1]["Full Log Likelihood"] == pytest.approx(-99.05902665, abs=1e-6)


def test_zip_rejects_what_it_does_not_support():
    r = run_sas(DATA + "proc genmod data=z; class g; model y = x g / dist=zip type3; zeromodel z; run;\n"
                "proc genmod data=z; model y = x / dist=poisson; zeromodel z; run;\n"
                "proc genmod data=z; model y = x / dist=zip; zeromodel z / link=log; run;")
    assert_errors(r, ["TYPE3", "ZEROMODEL", "LINK=LOG"])
