"""LSMESTIMATE in MIXED, GLIMMIX and GENMOD.  No SAS listing of these data exists, so each LS-means
estimate is checked against the same linear combination written out by hand (an ESTIMATE statement with
the coefficients the LS-means imply, or the LSMEANS DIFF row for a difference of two LS-means): the
estimate, standard error and (Kenward-Roger) DF must agree to 1e-8."""
import pytest

from conftest import assert_errors, run_sas

DATA = """
data d;
  do id = 1 to 24;
    trt = mod(id, 3) + 1;
    b = mod(id*7, 5) - 2;
    do t = 1 to 4;
      y = 10 + trt*0.8 + t*0.5 + b + mod(id*13 + t*7, 9)/3;
      if not (id = 5 and t = 4) then output;
    end;
  end;
run;
"""


def tables(r, name):
    return [t for t in r.session.tables if t.name == name]


def rows_by_label(t):
    return {row["Label"]: row for row in t.rows}


def test_mixed_kr_lsmestimate_equals_diffs_and_hand_estimates():
    r = run_sas(DATA + """
proc mixed data=d;
  class id trt t;
  model y = trt t trt*t / ddfm=kr;
  repeated t / subject=id type=un;
  lsmeans trt / diff;
  lsmestimate trt 'A-B' 1 -1, 'A-C' 1 0 -1, 'avg' 1 1 1 divisor=3 / cl;
  lsmestimate trt 'half' 1 -1, 'third' 1 1 1 / divisor=2,3;
  estimate 'A-B' trt 4 -4 0 trt*t 1 1 1 1 -1 -1 -1 -1 / divisor=4;
  estimate 'avg' intercept 12 trt 4 4 4 t 3 3 3 3 trt*t 1 1 1 1 1 1 1 1 1 1 1 1 / divisor=12;
run;""")
    assert r.errors == [], r.log
    lsme, half = tables(r, "LSMEstimates")
    est = {k: v for t in tables(r, "Estimates") for k, v in rows_by_label(t).items()}
    diffs = {(row["trt"], row["_trt"]): row for row in tables(r, "Diffs")[0].rows}
    got = rows_by_label(lsme)
    for label, ref in (("A-B", diffs[(1.0, 2.0)]), ("A-C", diffs[(1.0, 3.0)]), ("A-B", est["A-B"]),
                       ("avg", est["avg"])):
        for k in ("Estimate", "StdErr", "DF"):
            assert got[label][k] == pytest.approx(ref[k], rel=1e-8, abs=1e-10), (label, k)
    assert got["A-B"]["Lower"] < got["A-B"]["Estimate"] < got["A-B"]["Upper"]
    h = rows_by_label(half)
    # DIVISOR=2,3: row 1 divided by 2, row 2 by 3
    assert h["half"]["Estimate"] == pytest.approx(got["A-B"]["Estimate"] / 2, rel=1e-10)
    assert h["third"]["Estimate"] == pytest.approx(got["avg"]["Estimate"], rel=1e-10)
    assert h["half"]["Probt"] == pytest.approx(got["A-B"]["Probt"], rel=1e-8)


def test_glimmix_interaction_lsmestimate_and_genmod_z_test():
    r = run_sas(DATA + """
proc glimmix data=d;
  class id trt t;
  model y = trt t trt*t;
  random intercept / subject=id;
  lsmestimate trt*t 'trt1: t1 vs t4' 1 0 0 -1 / cl;
  estimate 'hand' t 1 0 0 -1 trt*t 1 0 0 -1;
run;
proc genmod data=d;
  class id trt t;
  model y = trt t;
  repeated subject=id / type=cs;
  lsmeans trt / diff;
  lsmestimate trt 'A-B' 1 -1;
run;""")
    assert r.errors == [], r.log
    g, gm = tables(r, "LSMEstimates")
    hand = tables(r, "Estimates")[0].rows[0]
    row = g.rows[0]
    assert row["Effect"] == "trt*t" and row["Label"] == "trt1: t1 vs t4"
    for k in ("Estimate", "StdErr", "DF", "tValue"):
        assert row[k] == pytest.approx(hand[k], rel=1e-8), k
    diff = next(d for d in tables(r, "Diffs")[-1].rows if d["trt"] == 1 and d["_trt"] == 2)
    z = gm.rows[0]
    assert [c.name for c in gm.columns] == ["Effect", "Label", "Estimate", "StdErr", "zValue", "Probz"]
    for k in ("Estimate", "StdErr", "zValue", "Probz"):
        assert z[k] == pytest.approx(diff[k], rel=1e-8), k


def test_lsmestimate_errors():
    r = run_sas(DATA + """
proc mixed data=d; class id trt t; model y = trt t; lsmestimate trt [1, 1] [-1, 4]; run;
proc mixed data=d; class id trt t; model y = trt t; lsmestimate trt 'x' 1 -1 0 0; run;
proc mixed data=d; class id trt t; model y = trt t; lsmestimate trt 'x' 1 -1 / joint; run;
proc mixed data=d; class id trt t; model y = trt t; lsmestimate b 'x' 1 -1; run;
""")
    assert_errors(r, ["within the levels", "Too many coefficients", "JOINT", "not in the model"])


def test_proc_gee_rejects_lsmestimate():
    """PROC GEE has no LSMESTIMATE statement (its syntax lists BY CLASS ESTIMATE FREQ LSMEANS MISSMODEL MODEL
    OUTPUT REPEATED WEIGHT); it is an ERROR, not a table silently dropped."""
    r = run_sas(DATA + "proc gee data=d; class id trt; model y = trt; repeated subject=id; "
                       "lsmestimate trt 'x' 1 -1; run;")
    assert_errors(r, ["LSMESTIMATE"])
