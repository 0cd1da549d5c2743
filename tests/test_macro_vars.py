"""Macro variables (the part of the macro facility implemented so far): %LET, &name, &name., &&,
%PUT, automatic variables, CALL SYMPUT -> &name in a later step, and what stays unsupported."""
from __future__ import annotations

from conftest import run_sas


def test_let_and_resolution_in_code_and_double_quotes_not_single():
    r = run_sas("%let n = 3;\n%let lab = Hello;\ndata a; s = \"&lab\"; t = '&lab'; do i = 1 to &n; output; end; run;\n")
    a = r.ds("a")
    assert a.nobs == 3 and a.df["s"].iloc[0] == "Hello" and a.df["t"].iloc[0] == "&lab"


def test_dot_delimiter_and_indirect_reference():
    r = run_sas("%let p = x;\n%let x1 = ok;\ndata a; length v $ 5; v = \"&&&p.1\"; w = \"&p.y\"; run;\n")
    assert r.ds("a").df["v"].iloc[0] == "ok" and r.ds("a").df["w"].iloc[0] == "xy"


def test_put_and_syslast_see_the_state_after_earlier_steps():
    r = run_sas("data one; x = 1; run;\n%put last=&syslast;\n")
    assert "last=WORK.ONE" in r.log


def test_call_symput_then_reference():
    r = run_sas("data _null_; call symputx('cnt', 42); run;\ndata b; y = &cnt; run;\n")
    assert r.ds("b").df["y"].tolist() == [42.0]


def test_unresolved_reference_warning():
    r = run_sas("%put &nosuch;\n")
    assert "WARNING: Apparent symbolic reference NOSUCH not resolved." in r.log


def test_datalines_are_not_resolved():
    r = run_sas("%let v = 9;\ndata a; input s $; datalines;\n&v\n;\n")
    assert r.ds("a").df["s"].tolist() == ["&v"]


