"""PROC COMPARE.  The data and the expected report lines are those of the SAS documentation's COMPARE
examples (Base SAS Procedures Guide, "Comparing Variables in Different Data Sets", "Comparing a Variable
Multiple Times", "Comparing Variables That Are in the Same Data Set"): PROCLIB.ONE and PROCLIB.TWO with
the values the listings show.  The equality rules (EXACT/ABSOLUTE/RELATIVE/PERCENT against CRITERION=)
and the SYSINFO bits are the documented ones; those tests use values chosen to sit on either side of
each rule."""
import re

import pytest

from conftest import RESP_CSV, RESP_STEP, needs_shared, run_sas

DATA = """
data one(label='First Data Set');
   input student year $ state $ gr1 gr2;
   label year='Year of Birth';
   format gr1 4.1;
   datalines;
1000 1970 NC 85 87
1042 1971 MD 92 92
1095 1969 PA 78 72
1187 1970 MA 87 94
;
data two(label='Second Data Set');
   input student $ year $ state $ gr1 gr2 major $;
   label state='Home State';
   format gr1 5.2;
   datalines;
1000 1970 NC 84 87 math
1042 1971 MA 92 92 history
1095 1969 PA 79 73 physics
1187 1970 MD 87 74 dance
1204 1971 NC 82 96 french
;
"""


def squash(text: str) -> str:
    return re.sub(r"[ \t]+", " ", text)


def sysinfo(r) -> int:
    return int(r.session.get_macro_var("sysinfo"))


def test_variables_in_different_data_sets_as_the_sas_listing():
    r = run_sas(DATA + "proc compare base=one compare=two nosummary; var gr1; with gr2; run;")
    assert r.errors == [], r.log
    out = squash(r.out)
    assert "Comparison of WORK.ONE with WORK.TWO" in out and "(Method=EXACT)" in out
    assert "NOTE: Data set WORK.TWO contains 1 observations not in WORK.ONE." in out
    assert "NOTE: Values of the following 1 variables compare unequal: gr1^=gr2" in out
    # the SAS listing's rows: Obs || Base Compare Diff. % Diff
    for row in ("1 || 85.0 87.0000 2.0000 2.3529", "3 || 78.0 73.0000 -5.0000 -6.4103",
                "4 || 87.0 74.0000 -13.0000 -14.9425"):
        assert row in out, row
    assert " 2 || " not in out            # obs 2 is equal (92 and 92)
    code = sysinfo(r)
    assert code & 128 and code & 4096      # COMPOBS and VALUE
    assert not code & 64                   # no base observation without a match


def test_one_variable_compared_twice_and_within_one_data_set():
    r = run_sas(DATA + "proc compare base=one compare=two nosummary; var gr1 gr1; with gr1 gr2; run;"
                "proc compare base=one nosummary; var gr1; with gr2; run;")
    assert r.errors == [], r.log
    out = squash(r.out)
    assert "compare unequal: gr1^=gr1 gr1^=gr2" in out
    for row in ("1 || 85.0 84.00 -1.0000 -1.1765", "3 || 78.0 79.00 1.0000 1.2821"):
        assert row in out, row
    assert "Comparisons of variables in WORK.ONE" in out
    for row in ("1 || 85.0 87.0000 2.0000 2.3529", "3 || 78.0 72.0000 -6.0000 -7.6923",
                "4 || 87.0 94.0000 7.0000 8.0460"):
        assert row in out, row


def test_full_default_report_summaries_and_sysinfo():
    r = run_sas(DATA + "proc compare base=one compare=two; run;")
    assert r.errors == [], r.log
    out = squash(r.out)
    for line in ("Number of Variables in Common: 5.", "Number of Variables in WORK.TWO but not in WORK.ONE: 1.",
                 "Number of Variables with Conflicting Types: 1.",        # student: Num in ONE, Char in TWO
                 "Number of Variables with Differing Attributes: 3.",     # year label, state label, gr1 format
                 "Number of Observations in Common: 4.",
                 "Number of Observations in WORK.TWO but not in WORK.ONE: 1.",
                 "Total Number of Observations Read from WORK.TWO: 5.",
                 "Number of Observations with Some Compared Variables Unequal: 4.",
                 "Number of Variables Compared with Some Observations Unequal: 3.",
                 "Total Number of Values which Compare Unequal: 6.", "Maximum Difference: 20."):
        assert line in out, line
    assert re.search(r"Last Match 4 4", out) and re.search(r"Last Obs \. 5", out)
    # DSLABEL + FORMAT + LABEL + COMPOBS + COMPVAR + VALUE + TYPE
    assert sysinfo(r) == 1 + 8 + 32 + 128 + 2048 + 4096 + 8192


@pytest.mark.parametrize("opts, unequal", [
    ("", {"a", "b", "c"}),                                     # EXACT: every differing value
    ("method=absolute criterion=0.01", {"b", "c"}),            # |y-x| = 0.001 within, 0.02 and 2 not
    ("method=absolute criterion=0.05", {"c"}),
    ("method=percent criterion=1", {"c"}),                     # 100|y-x|/|x|: 0.1%, 0.2%, 2%
    ("method=relative criterion=0.0015", {"b", "c"}),          # |y-x|/((|x|+|y|)/2): ~0.001, 0.002, 0.0198
    ("method=relative(100) criterion=0.01", set()),            # c: 2/(101+100) < 0.01 with delta 100
    ("criterion=0.01", {"c"}),                                  # CRITERION= alone: RELATIVE
])
def test_equality_methods(opts, unequal):
    src = """
data b; a=1; b=10; c=100; output; run;
data c; a=1.001; b=10.02; c=102; output; run;
proc compare base=b compare=c note %s; run;
""" % opts
    r = run_sas(src)
    assert r.errors == [], r.log
    m = re.search(r"compare unequal: ([a-z ]+)", r.log)
    got = set(m.group(1).split()) if m else set()
    assert got == unequal
    assert bool(sysinfo(r) & 4096) == bool(unequal)
    if not unequal and opts:
        assert "within the equality criterion used.  However, 3 of the values compared are not exactly equal" in r.log


def test_id_matching_out_data_set_and_log_notes():
    src = """
data b; input id x $ y; datalines;
1 a 1
2 b 2
3 c 3
5 e 5
;
data c; input id x $ y; datalines;
1 a 1
2 B 2.5
4 d 4
5 e 5
;
proc compare base=b compare=c out=d outnoequal outbase outcomp outdif warning;
  id id;
run;
"""
    r = run_sas(src)
    assert r.errors == [], r.log
    out = squash(r.out)
    assert "Number of Observations in Common: 3." in out
    assert "Number of Observations in WORK.B but not in WORK.C: 1." in out
    assert "Number of Observations in WORK.C but not in WORK.B: 1." in out
    assert re.search(r"x CHAR 8 1\n y NUM 8 1 0.5000", out)        # Variables with Unequal Values
    assert " 2 || b B" in out and " 2 || 2.0000 2.5000 0.5000 25.0000" in out
    assert any("compare unequal: x y" in w for w in r.warnings)  # WARNING writes the differences to the log
    d = r.ds("d").df
    assert list(d["_TYPE_"]) == ["BASE", "COMPARE", "DIF"]       # only id=2 differs (OUTNOEQUAL)
    assert list(d["id"]) == [2, 2, 2]
    assert d["y"].tolist() == [2.0, 2.5, 0.5]
    assert d["x"].tolist()[2] == "X"                             # character DIF: X where the characters differ
    assert sysinfo(r) & (64 | 128 | 4096) == 64 | 128 | 4096


def test_equal_data_sets_briefsummary_and_noprint():
    r = run_sas(DATA + "proc compare base=one compare=one briefsummary note; run;"
                       "%put rc=&sysinfo;"
                       "proc compare base=one compare=one noprint out=o; run;")
    assert r.errors == [], r.log
    assert "NOTE: No unequal values were found. All values compared are exactly equal." in r.out
    assert "NOTE: No unequal values were found. All values compared are exactly equal." in r.log
    assert "rc=0" in r.log
    assert r.ds("o").nobs == 4 and set(r.ds("o").df["_TYPE_"]) == {"DIF"}


def test_compare_errors_name_the_problem():
    r = run_sas(DATA + "proc compare base=one; run;"
                       "proc compare base=one compare=two method=median; run;"
                       "proc compare base=one compare=two outstats=s; run;"
                       "proc compare base=one compare=two; by state; run;")
    assert len(r.errors) == 4, r.log
    assert "WITH and VAR" in r.errors[0]
    assert "METHOD=MEDIAN" in r.errors[1]
    assert "OUTSTATS" in r.errors[2]
    assert "BY statement" in r.errors[3]


@needs_shared
def test_camis_laplace_versus_quad1_program_runs(tmp_path):
    """The CAMIS GLMM page's appendix (PSIAIMS/CAMIS SAS/glmm.qmd): two GLIMMIX fits saved by ODS OUTPUT and
    compared with PROC COMPARE CRITERION=1E-8.  Both fits are the same Laplace approximation here, and the
    comparison lists the three CL columns only in the second data set."""
    import shutil
    shutil.copy(RESP_CSV, tmp_path / "resp_gee.csv")
    src = RESP_STEP + """
proc glimmix data=resp method=laplace empirical;
class trtp(ref="P") avisitn(ref='1') usubjid;
model outcome=trtp avisitn trtp*avisitn/ dist=bin link=logit solution ddfm=BW;
random intercept /subject=usubjid;
ods output ParameterEstimates=ParameterLaplace;
run;
proc glimmix data=resp method=quad(qpoints=1) empirical;
class trtp(ref="P") avisitn(ref='1') usubjid;
model outcome=trtp avisitn trtp*avisitn  / dist=bin link=logit solution cl ddfm=BW;
random intercept /subject=usubjid;
ods output ParameterEstimates=ParameterGHQ_1p;
run;
proc compare base=ParameterLaplace compare=ParameterGHQ_1p criterion=0.00000001;
run;
"""
    r = run_sas(src, cwd=tmp_path)
    assert r.errors == [], r.log
    out = squash(r.out)
    assert "Comparison of WORK.PARAMETERLAPLACE with WORK.PARAMETERGHQ_1P" in out
    assert "Number of Variables in WORK.PARAMETERGHQ_1P but not in WORK.PARAMETERLAPLACE: 3." in out
    assert "Number of Observations in Common: 15." in out


def test_maxprint_limits_listed_differences():
    """MAXPRINT=n lists at most n differences per variable; MAXPRINT=(n, total) also caps the total."""
    src = """
data b; do i = 1 to 10; x = i; y = i; output; end; run;
data c; do i = 1 to 10; x = i + 1; y = i + 2; output; end; run;
proc compare base=b compare=c maxprint=3; run;
proc compare base=b compare=c maxprint=(3, 4); run;
proc compare base=b compare=c maxprint=0; run;
"""
    r = run_sas(src)
    assert len(r.errors) == 1 and "MAXPRINT=" in r.errors[0], r.log
    first, second = r.out.split("Comparison of WORK.B with WORK.C")[1:3]
    rows = lambda text: len(re.findall(r"^ +\d+  \|\|", text, re.M))
    assert rows(first) == 6          # 3 for x, 3 for y
    assert rows(second) == 4         # 3 for x, then 1 left for y
