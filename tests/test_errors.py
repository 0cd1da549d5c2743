"""Error paths: SAS-style messages with line numbers, exit status 2, no traceback, the session goes
on with the next step, and a failed step never replaces an existing data set."""
from __future__ import annotations

import subprocess
import sys

from conftest import ROOT, run_sas


def test_syntax_error_reports_line_column_and_expected_tokens():
    r = run_sas("data a;\n  x = 1;\n  y = (2 + ;\nrun;\ndata b; z = 3; run;\n")
    err = [l for l in r.errors if "22-322" in l]
    assert err and "Line 3, column 12" in err[0] and "expecting one of the following" in err[0]
    assert "NOTE: The SAS System stopped processing this step because of errors." in r.log
    # the session went on: the next step ran
    assert r.ds("b").df["z"].tolist() == [3.0]
    assert r.exit_status == 2


def test_failed_step_does_not_replace_existing_data_set():
    r = run_sas("data a; x = 1; run;\ndata a; x = 2 +; run;\n")
    assert r.ds("a").df["x"].tolist() == [1.0]
    assert "WARNING: Data set WORK.A was not replaced because this step was stopped." in r.log


def test_type_clash_between_input_data_sets():
    r = run_sas("data n; x = 1; run;\ndata c; x = 'a'; run;\ndata both; set n c; run;\n")
    assert any("Variable x has been defined as both character and numeric." in l for l in r.errors)
    assert any("Line 3" in l for l in r.errors)


def test_length_after_numeric_use_is_an_error():
    r = run_sas("data t; set_me = 1; run;\ndata u; set t; length set_me $ 4; run;\n")
    assert any("Variable set_me has already been defined as numeric." in l for l in r.errors)


def test_missing_libref_folder_note_then_error_on_use(tmp_path):
    missing = tmp_path / "nope"
    r = run_sas(f"libname zz '{missing}';\ndata a; set zz.thing; run;\n")
    assert "NOTE: Library ZZ does not exist." in r.log
    assert any("File ZZ.THING.DATA does not exist." in l and "Line 2" in l for l in r.errors)


def test_unassigned_libref():
    r = run_sas("data a; set nolib.thing; run;\n")
    assert any("Libref NOLIB is not assigned." in l for l in r.errors)


def test_unknown_procedure_and_session_goes_on():
    r = run_sas("proc nosuchproc data=a; run;\ndata ok; y = 1; run;\n")
    assert "ERROR: Procedure NOSUCHPROC not found." in r.log
    assert r.ds("ok").nobs == 1


def test_unknown_function():
    r = run_sas("data a; x = nosuchfn(1); run;\n")
    assert any("The function NOSUCHFN is unknown" in l for l in r.errors)


def test_array_subscript_out_of_range_stops_step():
    r = run_sas("data a; array v{2} v1-v2; i = 3; v{i} = 1; run;\n")
    assert any("Array subscript out of range at line 1" in l for l in r.errors)


def test_unsupported_proc_option_is_an_error_not_ignored():
    r = run_sas("data a; x=1; run;\nproc sort data=a frobnicate; by x; run;\n")
    assert any("The option FROBNICATE is not supported" in l for l in r.errors)


def test_shell_escapes_refused_without_allow_shell():
    r = run_sas("x 'echo hi';\nfilename p pipe 'ls';\ndata a; call system('ls'); run;\n")
    assert sum("refused" in l for l in r.errors) == 3


def test_else_without_if():
    r = run_sas("data a; x = 1; else y = 2; run;\n")
    assert any("No matching IF-THEN clause" in l for l in r.errors)


def test_unclosed_do_block():
    r = run_sas("data a; do i = 1 to 3; x = i; run;\n")
    assert any("unclosed DO" in l for l in r.errors)


def test_cli_exit_status_and_no_traceback(tmp_path):
    prog = tmp_path / "p.sas"
    prog.write_text("data a; x = 1; run;\ndata b; set a; y = x / ; run;\nproc print data=a; run;\n")
    res = subprocess.run([sys.executable, "-m", "sasglm", "run", str(prog)], capture_output=True, text=True,
                         cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert res.returncode == 2
    assert "Traceback" not in res.stderr + res.stdout
    assert "ERROR 22-322: Line 2" in res.stderr
    assert "Obs" in res.stdout          # the PROC PRINT after the error still ran


def test_cli_exit_status_warning_and_clean(tmp_path):
    prog = tmp_path / "w.sas"
    prog.write_text("ods rtf close;\ndata a; x = 1; run;\n")
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    res = subprocess.run([sys.executable, "-m", "sasglm", "run", str(prog)], capture_output=True, text=True,
                         cwd=tmp_path, env=env)
    assert res.returncode == 1 and "WARNING: No RTF destinations active." in res.stderr
    prog.write_text("data a; x = 1; run;\n")
    res = subprocess.run([sys.executable, "-m", "sasglm", "run", str(prog)], capture_output=True, text=True,
                         cwd=tmp_path, env=env)
    assert res.returncode == 0


def test_model_procs_with_no_complete_rows_report_the_model_line():
    # every row has a missing response: SAS prints "No valid observations are found." and the
    # session goes on; the ERROR points at the MODEL statement of each PROC
    prog = ("data d; do id = 1 to 6; g = mod(id, 2); y = .; output; end; run;\n"
            "proc genmod data=d; class g; model y = g; run;\n"
            "proc glimmix data=d method=quad; class id; model y = / dist=binary;\n"
            "  random intercept / subject=id; run;\n"
            "proc mixed data=d; class id; model y = ; random intercept / subject=id; run;\n"
            "data after; ok = 1; run;\n")
    r = run_sas(prog)
    empty = [l for l in r.errors if "No valid observations are found." in l]
    assert len(empty) == 3, r.errors
    # columns: where the MODEL keyword starts on each of those lines
    assert [l.split(":")[1].strip() for l in empty] == ["Line 2, column 30", "Line 3, column 44",
                                                        "Line 5, column 30"], empty
    assert r.ds("after").df["ok"].tolist() == [1.0]
    assert r.exit_status == 2


def test_stray_values_among_statement_options_are_an_error_not_dropped():
    # "lsmeans g / cl 0.1" or "model y = x / s 3": SAS stops with a syntax error; the stray value used to be
    # dropped silently.  Value lists after an option (R=1,3  V=20,30) stay legal.
    r = run_sas("data a; input g y; datalines;\n1 1\n1 2\n2 3\n2 5\n;\n"
                "proc genmod data=a; class g; model y = g / dist=normal 3; run;\n"
                "proc genmod data=a; class g; model y = g; lsmeans g / cl 'x'; run;\n")
    assert any("22-322" in e and "Syntax error at '3'" in e and "Line 7" in e for e in r.errors), r.errors
    assert any("Syntax error at 'x'" in e and "Line 8" in e for e in r.errors), r.errors
