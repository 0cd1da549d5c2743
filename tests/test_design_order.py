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


EMPTY = """data d;
  do id = 1 to 36; a = mod(id, 3) + 1; b = mod(int(id / 3), 2) + 1;
    y = a + 0.5 * b + 0.3 * a * b + sin(id);
    if not (a = 3 and b = 2) then output;
  end;
run;
data new; do a = 1 to 3; do b = 1 to 2; output; end; end; run;
"""


def test_empty_cells_get_no_fixed_effect_column():
    """The GLM parameterization "generates columns for all combinations of levels that occur in the data"
    (Shared Concepts, Interaction Effects): the a*b cell (3, 2) without data has no parameter, so positional
    coefficients of a*b run over the five cells that occur, and its LS-mean is not estimable."""
    r = run_sas(EMPTY + """
      proc mixed data=d; class a b; model y = a b a*b / s; lsmeans a*b;
        estimate 'a2: b1 - b2' b 1 -1 a*b 0 0 1 -1 0; store ms; run;
      proc genmod data=d; class a b; model y = a b a*b; run;
      proc glimmix data=d; class a b; model y = a b a*b / s; output out=go pred=p; run;
      proc plm restore=ms; score data=new out=sc predicted=p; run;""")
    assert not r.errors, r.errors
    for proc, table in (("MIXED", "SolutionF"), ("GLIMMIX", "ParameterEstimates"), ("GENMOD", "ParameterEstimates")):
        rows = _rows(r, table, proc)[0].rows
        inter = [row for row in rows if row.get("Effect", row.get("Parameter")) == "a*b"]
        assert len(inter) == 5, proc
    lsm = {(float(row["a"]), float(row["b"])): row for row in _rows(r, "LSMeans", "MIXED")[0].rows}
    assert lsm[(3, 2)]["Estimate"] is None
    # the positional estimate is the difference of the two a = 2 cell means
    est = _rows(r, "Estimates", "MIXED")[0].rows[0]["Estimate"]
    assert est == pytest.approx(lsm[(2, 1)]["Estimate"] - lsm[(2, 2)]["Estimate"], abs=1e-8)
    # scoring new data uses the fit's columns: the cells that occur get the cell means
    sc = r.ds("sc").df
    for _, row in sc.iterrows():
        if (row["a"], row["b"]) != (3, 2):
            assert row["p"] == pytest.approx(lsm[(row["a"], row["b"])]["Estimate"], abs=1e-8)
