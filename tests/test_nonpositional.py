"""The nonpositional coefficient syntax [coefficient, level indices] of ESTIMATE, CONTRAST (GLIMMIX, PLM) and
LSMESTIMATE.

Reference: SAS/STAT Shared Concepts, "Positional and Nonpositional Syntax for Coefficients in Linear
Functions": with `class a b; model y = a b a*b;` the statements
`estimate 'B at A2' b 1 -1 a*b 0 0 1 -1;` and `estimate 'B at A2' b 1 -1 a*b [1 2 1] [-1 2 2];` are
equivalent, and with `class b a;` the same slice is `a*b 0 1 0 0 -1` or `a*b [1 1 2] [-1 2 2]` (the comma
after the coefficient is optional).  The tests check these identities and the errors for bad entries."""
from __future__ import annotations

import pytest

from conftest import run_sas

DATA = """data d;
  do id = 1 to 24; a = mod(id, 3) + 1; b = mod(int(id / 3), 2) + 1;
    y = a + 0.5 * b + 0.3 * a * b + sin(id); x = cos(id); output;
  end;
run;
"""


def _t(r, name, proc, k=0):
    return [t for t in r.session.tables if t.name == name and t.proc == proc][k]


def test_documentation_example_in_both_class_orders():
    r = run_sas(DATA + """
      proc glimmix data=d; class a b; model y = a b a*b;
        estimate 'pos' b 1 -1 a*b 0 0 1 -1, 'nonpos' b 1 -1 a*b [1 2 1] [-1 2 2];
        contrast 'c' b 1 -1 a*b [1, 2 1] [-1, 2 2];
        lsmestimate a*b 'np' [1, 2 1] [-1, 2 2], 'pos' 0 0 1 -1;
        store s1;
      run;
      proc glimmix data=d; class b a; model y = a b a*b;
        estimate 'pos' b 1 -1 a*b 0 1 0 0 -1, 'nonpos' b 1 -1 a*b [1, 1 2] [-1, 2 2];
      run;
      proc plm restore=s1; estimate 'plm' b 1 -1 a*b [1, 2 1] [-1, 2 2]; run;""")
    assert not r.errors and not r.warnings, r.log
    want = _t(r, "Estimates", "GLIMMIX").rows[0]
    rows = (_t(r, "Estimates", "GLIMMIX").rows + _t(r, "Estimates", "GLIMMIX", 1).rows
            + _t(r, "LSMEstimates", "GLIMMIX").rows + _t(r, "Estimates", "PLM").rows)
    assert len(rows) == 7
    for row in rows:
        assert row["Estimate"] == pytest.approx(want["Estimate"], abs=1e-10)
        assert row["StdErr"] == pytest.approx(want["StdErr"], rel=1e-10)
    c = _t(r, "Contrasts", "GLIMMIX").rows[0]
    assert c["FValue"] == pytest.approx(want["tValue"] ** 2, rel=1e-8)


def test_continuous_variables_take_values():
    """For a continuous variable of the effect the entry is its value: a*x [1, 2 0.5] is 0.5 times the a = 2
    slope column."""
    r = run_sas(DATA + """
      proc glimmix data=d; class a; model y = a a*x;
        estimate 'pos' a*x 0 0.5 0, 'nonpos' a*x [1, 2 0.5];
      run;""")
    assert not r.errors, r.log
    a, b = _t(r, "Estimates", "GLIMMIX").rows
    assert a["Estimate"] == pytest.approx(b["Estimate"], abs=1e-12)


@pytest.mark.parametrize("stmt, msg", [
    ("estimate 'e' a*b [1, 4 1];", "Level 4 of a does not exist"),
    ("estimate 'e' a*b [1, 2];", "need 2 level value(s)"),
    ("estimate 'e' a*b 1 [1, 2 1];", "without positional values"),
    ("lsmestimate a*b [1, 2 1] 1;", "cannot mix positional and nonpositional"),
])
def test_bad_entries_are_errors(stmt, msg):
    r = run_sas(DATA + f"proc glimmix data=d; class a b; model y = a b a*b; {stmt} run;")
    assert any(msg in e for e in r.errors), r.log


def test_mixed_rejects_the_syntax():
    r = run_sas(DATA + "proc mixed data=d; class a b; model y = a b a*b; estimate 'x' a*b [1, 2 1]; run;")
    assert any("nonpositional" in e for e in r.errors), r.log
