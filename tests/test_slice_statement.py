"""The SLICE statement (GLIMMIX, MIXED, GENMOD, PLM): LSMEANS options applied to the partitions of an
interaction's LS-means that SLICEBY= names (Shared Concepts, "SLICE Statement").

References:
- SAS output of `lsmeans polymer*add / slicediff=(polymer add) cl adjust=tukey` (STAT 212 notes, the
  ribbon-strength data; see test_glimmix_slicediff.py, whose data builder reproduces its cell means, MSE
  and DF).  The SLICE statement's differences within a level of `add` are the same simple differences,
  so `slice polymer*add / sliceby=add diff adjust=tukey` must print the same Estimate and Adj P.
- The documentation's construction of a slice test: the F test of the rows of the LS-means' L matrix that
  belong to the level, i.e. the test that those LS-means are equal.  Checked here against CONTRAST
  statements written out by hand (a separate code path) and against LSMEANS SLICE= (MIXED, KR DF).
- Table names Slices, SliceTests and SliceDiffs are the documented ODS names; the titles ("F Test for A*B
  Least Squares Means Slice", "Simple Differences of A*B Least Squares Means") and one set of tables per
  partition follow SAS listings as we remember them (no listing found to quote).
"""
from __future__ import annotations

import math

import pytest

from conftest import assert_errors, run_sas
from test_glimmix_slicediff import SAS_ROWS, SE_SAS, _data as ribbon_data

TWO_WAY = """data d;
  do a = 1 to 3; do b = 1 to 2; do r = 1 to 4;
    y = a + 0.5 * b + 0.2 * a * b + mod(7 * a + 3 * b + 5 * r, 11) / 4;
    subj = 10 * a + r;
    output;
  end; end; end;
run;
"""


def _tables(r, name):
    return [t for t in r.session.tables if t.name == name]


def test_slice_differences_match_sas_ribbon_slicediff_rows():
    r = run_sas(ribbon_data() + """proc glimmix data=ribbon;
  class polymer add;
  model strength = polymer add polymer*add;
  slice polymer*add / sliceby=add diff adjust=tukey cl;
run;
""")
    assert not r.errors and not r.warnings, r.log
    diffs = _tables(r, "SliceDiffs")
    tests = _tables(r, "SliceTests")
    assert len(diffs) == len(tests) == 5             # one set of tables per level of add
    assert diffs[0].title == "Simple Differences of polymer*add Least Squares Means"
    assert tests[0].title == "F Test for polymer*add Least Squares Means Slice"
    for n, (add, ((d1, d2), adjp)) in enumerate(SAS_ROWS.items()):
        rows = diffs[n].rows
        assert [row["Slice"] for row in rows] == [f"add {add}"] * 3
        assert [row["Estimate"] for row in rows] == pytest.approx([d1, d2, d2 - d1], abs=1.1e-4)
        assert [row["StdErr"] for row in rows] == pytest.approx([SE_SAS] * 3, abs=1e-6)
        assert [row["DF"] for row in rows] == [75] * 3
        assert [row["Adjp"] for row in rows[:2]] == pytest.approx(adjp[:2], abs=6e-5)
        t = tests[n].rows[0]
        assert (t["Slice"], t["NumDF"], t["DenDF"]) == (f"add {add}", 2, 75)
    # the first additive's Tukey limits as SAS printed them
    assert [row["AdjLower"] for row in diffs[0].rows] == pytest.approx([0.5637, -2.7696, -9.4529], abs=6e-5)
    assert "F Test for polymer*add Least Squares Means Slice" in r.out


def test_slice_f_equals_hand_written_contrasts_and_default_partitions():
    r = run_sas(TWO_WAY + """proc glimmix data=d;
  class a b;
  model y = a b a*b;
  slice a*b;
  contrast 'a at b=1' a 1 -1 0 a*b 1 0 -1 0 0 0, a 1 0 -1 a*b 1 0 0 0 -1 0;
  contrast 'a at b=2' a 1 -1 0 a*b 0 1 0 -1 0 0, a 1 0 -1 a*b 0 1 0 0 0 -1;
  contrast 'b at a=3' b 1 -1 a*b 0 0 0 0 1 -1;
  lsmeans a*b;
run;
""")
    assert not r.errors and not r.warnings, r.log
    tests = [t.rows[0] for t in _tables(r, "SliceTests")]
    # by default every variable of the effect partitions it, in the effect's order: a 1..3, then b 1..2
    assert [t["Slice"] for t in tests] == ["a 1", "a 2", "a 3", "b 1", "b 2"]
    assert [t["NumDF"] for t in tests] == [1, 1, 1, 2, 2]
    con = {row["Label"]: row for row in _tables(r, "Contrasts")[0].rows}
    for label, got in (("a at b=1", tests[3]), ("a at b=2", tests[4]), ("b at a=3", tests[2])):
        assert got["FValue"] == pytest.approx(con[label]["FValue"], rel=1e-10)
        assert got["DenDF"] == con[label]["DenDF"] == 18
        assert got["ProbF"] == pytest.approx(con[label]["ProbF"], rel=1e-9)
    # the default NOMEANS: no LS-means table from SLICE, only the one LSMEANS printed
    assert not _tables(r, "Slices") and len(_tables(r, "LSMeans")) == 1


def test_slice_partitions_means_nof_and_pairs():
    r = run_sas(TWO_WAY + """proc glimmix data=d;
  class a b;
  model y = a b a*b;
  slice a*b / sliceby(b='2' a='1') diff;
  slice a*b / sliceby=b means nof;
  lsmeans a*b;
run;
""")
    assert not r.errors and not r.warnings, r.log
    lsm = {(row["a"], row["b"]): row["Estimate"] for row in _tables(r, "LSMeans")[0].rows}
    tests = _tables(r, "SliceTests")
    assert [t.rows[0]["Slice"] for t in tests] == ["b 2", "a 1"]        # NOF: the second statement adds none
    diffs = _tables(r, "SliceDiffs")
    assert [row["Slice"] for row in diffs[0].rows] == ["b 2"] * 3
    assert [(row["a"], row["_a"]) for row in diffs[0].rows] == [(1, 2), (1, 3), (2, 3)]
    assert diffs[0].rows[1]["Estimate"] == pytest.approx(lsm[(1, 2)] - lsm[(3, 2)], abs=1e-10)
    assert [(row["b"], row["_b"]) for row in diffs[1].rows] == [(1, 2)]
    # NOF shows the differences (the documented trigger of SliceDiffs) and MEANS the LS-means of each level
    assert len(diffs) == 4 and [d.rows[0]["Slice"] for d in diffs[2:]] == ["b 1", "b 2"]
    means = _tables(r, "Slices")
    assert [[(row["Slice"], row["a"]) for row in m.rows] for m in means] == \
        [[("b 1", 1), ("b 1", 2), ("b 1", 3)], [("b 2", 1), ("b 2", 2), ("b 2", 3)]]
    assert means[1].rows[2]["Estimate"] == pytest.approx(lsm[(3, 2)], abs=1e-12)


def test_mixed_slice_kr_equals_lsmeans_slice_option():
    r = run_sas(TWO_WAY + """proc mixed data=d;
  class a b subj;
  model y = a b a*b / ddfm=kr;
  random intercept / subject=subj;
  slice a*b / sliceby=b;
  lsmeans a*b / slice=b;
run;
""")
    assert not r.errors, r.log
    got = [t.rows[0] for t in _tables(r, "SliceTests")]
    ref = _tables(r, "Slices")[0].rows           # LSMEANS SLICE=: "Tests of Effect Slices"
    assert [g["Slice"] for g in got] == ["b 1", "b 2"]
    for g, s in zip(got, ref):
        assert (g["NumDF"], g["DenDF"], g["FValue"]) == pytest.approx((s["NumDF"], s["DenDF"], s["FValue"]),
                                                                       rel=1e-10)
    assert not math.isclose(got[0]["DenDF"], 18)       # the KR DF, not the residual DF


def test_genmod_slice_is_wald_chi_square_and_plm_replays_it():
    r = run_sas(TWO_WAY + """proc genmod data=d;
  class a b;
  model y = a b a*b;
  slice a*b / sliceby=b diff;
  contrast 'a at b=2' a 1 -1 0 a*b 0 1 0 -1 0 0, a 1 0 -1 a*b 0 1 0 0 0 -1 / wald;
  store work.gm;
run;
proc plm restore=work.gm;
  slice a*b / sliceby=b diff;
run;
""")
    assert not r.errors and not r.warnings, r.log
    tests = _tables(r, "SliceTests")
    assert tests[0].title == "Chi-Square Test for a*b Least Squares Means Slice"
    con = _tables(r, "Contrasts")[0].rows[0]
    assert tests[1].rows[0]["ChiSq"] == pytest.approx(con["ChiSq"], rel=1e-8)
    assert tests[1].rows[0]["NumDF"] == 2
    # PLM on the stored fit gives the same tables
    assert len(tests) == 4
    assert tests[2].rows[0]["ChiSq"] == pytest.approx(tests[0].rows[0]["ChiSq"], rel=1e-12)
    d = _tables(r, "SliceDiffs")
    assert d[0].rows[0]["zValue"] == pytest.approx(d[2].rows[0]["zValue"], rel=1e-12)


def test_slice_statement_errors():
    base = TWO_WAY + "proc glimmix data=d; class a b; model y = a b a*b;\n"
    assert_errors(run_sas(base + "slice a / diff;\nrun;\n"), ["The SLICE effect must be an interaction"])
    assert_errors(run_sas(base + "slice a*b / sliceby=z;\nrun;\n"), ["SLICEBY= variable z is not in"])
    assert_errors(run_sas(base + "slice a*b / sliceby(b='7');\nrun;\n"), ["7 is not a level of b"])
    assert_errors(run_sas(base + "slice a*b / sliceby=a*b;\nrun;\n"), ["leaves no variable of a*b"])
    assert_errors(run_sas(base + "slice a*b / slicediff=a;\nrun;\n"), ["does not apply to the SLICE statement"])
    assert_errors(run_sas(base + "slice a*b / diff=control('1' '1');\nrun;\n"), ["not supported in the SLICE"])


def test_proc_gee_prints_slice_tables_with_empirical_covariance():
    """PROC GEE keeps only its own ODS tables; the SLICE ones are among them.  The slice chi-square of a
    one-DF slice is the square of its one difference's z (the same empirical covariance)."""
    r = run_sas("""data g;
  do s = 1 to 30; do a = 1 to 2; do t = 1 to 3;
    y = (mod(s * 7 + a * 3 + t * 5, 10) < 3 + a + t);
    output;
  end; end; end;
run;
proc gee data=g;
  class s a t;
  model y(event='1') = a t a*t / dist=bin;
  repeated subject=s / type=exch;
  slice a*t / sliceby=t diff;
run;
""")
    assert not r.errors, r.log
    tests, diffs = _tables(r, "SliceTests"), _tables(r, "SliceDiffs")
    assert [t.rows[0]["Slice"] for t in tests] == ["t 1", "t 2", "t 3"]
    for t, d in zip(tests, diffs):
        assert t.rows[0]["ChiSq"] == pytest.approx(d.rows[0]["zValue"] ** 2, rel=1e-10)
    assert "Chi-Square Test for a*t Least Squares Means Slice" in r.out
