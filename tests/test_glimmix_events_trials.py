"""Events/trials responses in PROC GLIMMIX: the getting-started example of the SAS/STAT GLIMMIX
documentation ("Logistic Regressions with Random Intercepts", multicenter side-effect data).

Reference: that example's printed output -- Model Information lists "Response Variable (Events)
sideeffect" and "Response Variable (Trials) n", Number of Observations adds "Number of Events 155" and
"Number of Trials 503" (the sums of the data below), and the center variance is 0.6176 with standard
error 0.3181 (RSPL)."""
from __future__ import annotations

import pytest

from conftest import run_sas

DATA = """data multicenter; input center group $ n sideeffect @@; datalines;
1 A 32 14 1 B 33 18 2 A 30 4 2 B 28 8 3 A 23 14 3 B 24 9 4 A 22 7 4 B 22 10
5 A 20 6 5 B 21 12 6 A 19 1 6 B 20 3 7 A 17 2 7 B 17 6 8 A 16 7 8 B 15 9
9 A 13 1 9 B 14 5 10 A 13 3 10 B 13 1 11 A 11 1 11 B 12 2 12 A 10 1 12 B 9 0
13 A 9 2 13 B 9 6 14 A 8 1 14 B 8 1 15 A 7 1 15 B 8 0
;
"""


def _kv(r, name):
    t = [t for t in r.session.tables if t.name == name][0]
    return {row[t.columns[0].name]: row[t.columns[1].name] for row in t.rows}


@pytest.mark.parametrize("random", ["random intercept / subject=center;", ""])
def test_events_trials_information_tables(random):
    r = run_sas(DATA + "proc glimmix data=multicenter; class center group;\n"
                f"  model sideeffect/n = group / solution; {random} run;\n")
    assert not r.errors and not r.warnings, r.log
    mi = _kv(r, "ModelInfo")
    assert mi["Response Variable (Events)"] == "sideeffect" and mi["Response Variable (Trials)"] == "n"
    assert "Response Variable" not in mi
    nobs = _kv(r, "NObs")
    assert (nobs["Number of Observations Used"], nobs["Number of Events"], nobs["Number of Trials"]) == (30, 155, 503)
    if random:
        cp = [t for t in r.session.tables if t.name == "CovParms"][0].rows[0]
        assert (round(cp["Estimate"], 4), round(cp["StdErr"], 4)) == (0.6176, 0.3181)
