"""Crossed and nested CLASS effects are renamed into CLASS statement order, and their parameters run with the
rightmost CLASS variable fastest.

Reference: SAS/STAT Shared Concepts, "Interaction Effects" and "General Effects" ("B*A becomes A*B if A
precedes B in the CLASS statement"; "B*A(E D) might be renamed A*B(D E)"; "within a crossed or nested list,
variables to the right index faster").  The identities tested: a model written B*A prints exactly what the
model written A*B prints, and the order of the CLASS statement decides the parameter order."""
from __future__ import annotations

import pytest

from conftest import run_sas

DATA = """data d;
  do id = 1 to 30; a = mod(id, 3) + 1; b = mod(int(id / 3), 2) + 1;
    y = a + 0.5 * b + 0.3 * a * b + sin(id); output;
  end;
run;
"""


def _rows(r, name, proc):
    return [t for t in r.session.tables if t.name == name and t.proc == proc]


@pytest.mark.parametrize("proc, table", [("mixed", "SolutionF"), ("glimmix", "ParameterEstimates"),
                                         ("genmod", "ParameterEstimates")])
def test_b_by_a_is_renamed_a_by_b(proc, table):
    opt = " / s" if proc != "genmod" else ""
    r = run_sas(DATA + f"proc {proc} data=d; class a b; model y = a b b*a{opt}; run;\n"
                       f"proc {proc} data=d; class a b; model y = a b a*b{opt}; run;\n")
    assert not r.errors, r.errors
    t1, t2 = _rows(r, table, proc.upper())
    assert t1.rows == t2.rows
    inter = [row for row in t1.rows if row.get("Effect", row.get("Parameter")) in ("a*b", "b*a")]
    assert {row.get("Effect", row.get("Parameter")) for row in inter} == {"a*b"}
    levels = [(row["a"], row["b"]) if "a" in row else (row["Level1"], row["Level2"]) for row in inter]
    assert [(float(u), float(v)) for u, v in levels] == [(1, 1), (1, 2), (2, 1), (2, 2), (3, 1), (3, 2)]


def test_class_statement_order_decides():
    r = run_sas(DATA + "proc mixed data=d; class b a; model y = a b a*b / s;\n"
                       "  estimate 'B at A2' b 1 -1 a*b 0 1 0 0 -1 0; run;\n"
                       "proc mixed data=d; class a b; model y = a b a*b / s;\n"
                       "  estimate 'B at A2' b 1 -1 a*b 0 0 1 -1 0 0; run;\n")
    assert not r.errors, r.errors
    t1, t2 = _rows(r, "SolutionF", "MIXED")
    inter = [row for row in t1.rows if row["Effect"] in ("a*b", "b*a")]
    assert {row["Effect"] for row in inter} == {"b*a"}
    assert [(float(row["b"]), float(row["a"])) for row in inter][:4] == [(1, 1), (1, 2), (1, 3), (2, 1)]
    # the same slice in both parameter orders (the documentation's positional example)
    e1, e2 = (t.rows[0] for t in _rows(r, "Estimates", "MIXED"))
    assert e1["Estimate"] == pytest.approx(e2["Estimate"], abs=1e-10)
    assert e1["StdErr"] == pytest.approx(e2["StdErr"], rel=1e-10)
