"""DATA-step data errors as SAS reports them: the NOTE, the input record under a RULE, the PDV with
_ERROR_=1 at the end of the iteration, at most ERRORS= (default 20) times, then one WARNING.

Reference: SAS Language Reference, "_ERROR_" automatic variable and the ERRORS= system option; the
log layout is SAS's (NOTE: Invalid data for x in line n a-b. / RULE: / record / name=value ...
_ERROR_=1 _N_=n).  In-stream records are numbered by their program line.
"""
from __future__ import annotations

from conftest import run_sas


def test_invalid_input_dump_and_error_variable():
    r = run_sas("data a; input x y; e = _error_;\n"
                "datalines;\n1 2\nab 3\n4 5\n;\nrun;\n")
    lines = r.log.splitlines()
    i = lines.index("NOTE: Invalid data for x in line 4 1-2.")
    assert lines[i + 1].startswith("RULE:      ----+----1")
    assert lines[i + 2] == "4          ab 3"
    assert lines[i + 3] == "x=. y=3 e=1 _ERROR_=1 _N_=2"
    assert sum("_ERROR_" in l for l in lines) == 1
    d = r.ds("a").df
    assert list(d.columns) == ["x", "y", "e"] and d["e"].tolist() == [0, 1, 0]
    assert r.exit_status == 0


def test_error_reset_suppresses_the_dump_but_not_the_note():
    r = run_sas("data a; input x; if _error_ then do; bad = 1; _error_ = 0; end;\n"
                "datalines;\nq\n;\nrun;\n")
    assert "NOTE: Invalid data for x in line 3 1-1." in r.log
    assert "_ERROR_=1" not in r.log
    assert r.ds("a").df["bad"].tolist() == [1]
    assert list(r.ds("a").df.columns) == ["x", "bad"]          # _ERROR_ is never written out


def test_errors_limit_warning():
    rows = "\n".join("z" for _ in range(25))
    r = run_sas(f"data a; input x; datalines;\n{rows}\n;\nrun;\n")
    assert r.log.count("_ERROR_=1") == 20
    assert r.warnings == ["WARNING: Limit set by ERRORS= option reached.  Further errors of this type "
                          "will not be printed."]
    assert r.exit_status == 1
    r = run_sas(f"options errors=3;\ndata a; input x; datalines;\n{rows}\n;\nrun;\n")
    assert r.log.count("_ERROR_=1") == 3 and r.log.count("NOTE: Invalid data") == 3


def test_division_by_zero_is_a_data_error():
    r = run_sas("data a; input x; y = 1 / x; datalines;\n0\n2\n;\nrun;\n")
    lines = r.log.splitlines()
    i = lines.index("NOTE: Division by zero detected at line 1 column 24.")
    assert lines[i + 1] == "x=0 y=. _ERROR_=1 _N_=1"
    assert "      1 at 1:24" in lines
