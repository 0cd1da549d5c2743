"""Lexer and parser: SAS lexical rules and the typed AST with positions."""
from __future__ import annotations


import pytest

from sasglm import ast as A
from sasglm.lexer import split_statements
from sasglm.parser import SasSyntaxError, parse_data_statement, parse_statement_text, split_program


def test_comments_and_positions():
    src = "/* block\n comment */ data a; * statement comment;\n  x = 1; /* x */ y='a;b';\n"
    stmts, errs = split_statements(src)
    assert not errs
    texts = [s.text.strip() for s in stmts]
    assert texts[0] == "data a"
    assert "x = 1" in texts and "y='a;b'" in texts
    data = stmts[0]
    assert (data.line, data.col) == (2, 13)


def test_datalines_block_is_raw():
    src = "data a; input x $; datalines;\nfoo;bar\n;\nrun;"
    stmts, _ = split_statements(src)
    dl = [s for s in stmts if s.first_word == "datalines"][0]
    assert dl.datalines == []          # a line containing ';' ends DATALINES
    src4 = "data a; input x $; datalines4;\nfoo;bar\n;;;;\nrun;"
    dl4 = [s for s in split_statements(src4)[0] if s.first_word == "datalines4"][0]
    assert dl4.datalines == ["foo;bar"]


def test_unterminated_string_is_reported():
    _, errs = split_statements("data a; x = 'abc;\nrun;")
    assert errs and "not terminated" in str(errs[0])


def parse_expr(text):
    return parse_statement_text(text, "expr")


def test_precedence_power_right_assoc_and_unary():
    e = parse_expr("-2 ** 3 ** 2")
    assert isinstance(e, A.Unary) and e.op == "-"
    p = e.operand
    assert p.op == "**" and isinstance(p.right, A.BinOp) and p.right.op == "**"


def test_comparison_mnemonics_and_in():
    e = parse_expr("a eq 1 and not b in (1, 2) or c ne 'x'")
    assert e.op == "or" and e.left.op == "and"
    # NOT binds tighter than IN (SAS operator groups I and V): (not b) in (1, 2)
    assert isinstance(e.left.right, A.InOp) and isinstance(e.left.right.operand, A.Unary)


def test_numeric_literals_missing_and_dates():
    assert parse_expr("1e-3").value == pytest.approx(0.001)
    assert isinstance(parse_expr("."), A.Missing)
    assert parse_expr(".B").kind == ".B"
    assert parse_expr("'01jan1960'd").value == 0
    assert parse_expr("'02JAN1960'D").value == 1
    assert isinstance(parse_expr("'my var'n"), A.Var)


def test_no_reserved_words():
    st = split_statements("if = 3;")[0][0]
    node = parse_data_statement(st)
    assert isinstance(node, A.Assign) and node.target == "if"


def test_syntax_error_has_expected_words():
    with pytest.raises(SasSyntaxError) as ei:
        parse_statement_text("x = ;", "assign_stmt", 4, 3)
    assert ei.value.line == 4 and "a numeric constant" in ei.value.expected


def test_step_grouping_run_quit_and_boundaries():
    steps, _ = split_program("data a; x=1;\nproc print; run;\ntitle 'x';\nproc sort data=a; by x; quit;")
    kinds = [s.kind for s in steps]
    assert kinds == ["data", "proc", "global", "proc"]
    assert not steps[0].ended and steps[1].ended


def test_proc_statement_items():
    node = parse_statement_text("class id trt(ref='0') t / param=ref", "gen_stmt")
    assert node.keyword == "class"
    grp = node.items[1]
    assert isinstance(grp, A.Group) and grp.name == "trt"
    assert node.options[0].key == "param"


def test_model_events_trials():
    node = parse_statement_text("model cases/py = smoking bp / d=poisson offset=lpy", "model_stmt")
    assert node.response == ("events", "cases", "py")
    assert [o.key for o in node.options] == ["d", "offset"]
