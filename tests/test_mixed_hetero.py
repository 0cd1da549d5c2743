"""PROC MIXED REPEATED TYPE=CSH, ARH(1) and UN(1).  Reference: R nlme 3.1 gls(REML) with varIdent(~1|t)
weights and corCompSymm / corAR1 / no correlation, run by hand on the data generated below (nlme's
variances are sigma^2 times the squared varIdent ratios)."""
from __future__ import annotations

import pytest

from conftest import run_sas

DATA = """data a; do id = 1 to 15; trt = mod(id, 2); do t = 1 to 4;
  y = 5 + trt + 0.4 * t * (1 + t / 3) + mod(id * 13 + t * 7, 9) / 2 + mod(id * 5, 4); output; end; end; run;
"""
CASES = {
    "csh": (220.9589733, [3.1153734, 3.1231977, 2.3081633, 2.1723593, 0.15596774]),
    "arh(1)": (219.9873679, [3.0609582, 3.0430505, 2.3438695, 2.2298682, 0.25007601]),
    "un(1)": (222.6070325, [3.1131082, 3.1829835, 2.2759930, 2.0887271]),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_heterogeneous_structures_match_nlme(kind):
    r = run_sas(DATA + f"proc mixed data=a; class id t; model y = t trt / s; repeated t / subject=id type={kind}; run;")
    assert not r.errors and not r.warnings, r.log
    m2, est = CASES[kind]
    cp = [t for t in r.session.tables if t.name == "CovParms"][0].rows
    assert [row["Estimate"] for row in cp] == pytest.approx(est, abs=2e-4)
    assert [row["CovParm"] for row in cp][:4] == ["Var(1)", "Var(2)", "Var(3)", "Var(4)"]
    fit = [t for t in r.session.tables if t.name == "FitStatistics"][0].rows
    assert fit[0]["Value"] == pytest.approx(m2, abs=1e-5)
    sol = {row["Effect"]: row["Estimate"] for row in [t for t in r.session.tables if t.name == "SolutionF"][0].rows}
    if kind == "csh":
        assert sol["trt"] == pytest.approx(1.7963443, abs=1e-5)
