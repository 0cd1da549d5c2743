"""GLIMMIX LSMEANS SLICEDIFF= (simple-effect comparisons within each level of a slice variable) and
GLIMMIX's print style for the LS-means tables (no Effect column; the adjustment named in a subtitle).

References:
- SAS output of `lsmeans polymer*add / slicediff=(polymer add) cl adjust=tukey` (a course's notes on the
  ribbon-strength data, STAT 212 "More than two levels per treatment factor"): its first rows of "Simple
  Effect Comparisons of polymer*add Least Squares Means By add" read Estimate 6.6833 / 3.3500 / -3.3333,
  Standard Error 2.5593, DF 75, Adj P 0.0290 / 0.3947 / 0.3983, Adj Lower 0.5637 / -2.7696 / -9.4529,
  Adj Upper 12.8029 / 9.4696 / 2.7863. Those data are not public, so the test below builds a balanced
  3 x 5 data set whose cell means give the same differences, residual mean square and DF (the printed
  values are a function of those alone): Tukey's adjustment is then made over the 3 polymers of one
  additive (not all 15 cells), as SAS's numbers show.
- Closed form for a balanced two-way layout: a simple effect is a difference of cell means with
  standard error sqrt(2 MSE / n).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import run_sas

# SAS's "Simple Effect Comparisons ... By add" rows: (mylar - nylon, mylar - poly) per additive, with the
# printed Adj P of the three pairs (mylar-nylon, mylar-poly, nylon-poly)
SAS_ROWS = {"c1": ((6.6833, 3.3500), (0.0290, 0.3947, 0.3983)),
            "c2": ((6.6167, 1.9333), (0.0310, 0.7313, 0.1669)),
            "c3": ((7.6833, 5.8167), (0.0101, 0.0659, 0.7469)),
            "c4": ((12.4667, 11.1333), (0.0000, 0.0001, 0.8614)),
            "c5": ((3.1167, 9.7833), (0.4465, 0.0008, 0.0295))}
MEANS = {}
for j, (add, ((d1, d2), _)) in enumerate(SAS_ROWS.items()):
    MEANS[("mylar", add)] = 20.0 - 0.7 * j
    MEANS[("nylon", add)] = 20.0 - 0.7 * j - d1
    MEANS[("poly", add)] = 20.0 - 0.7 * j - d2
N = 6
# residual pattern with mean 0 and sum of squares S per cell; MSE = S / (N - 1) after pooling
DEV = np.array([1.0, -1.0, 2.0, -2.0, 0.5, -0.5])
SE_SAS = 2.5593
MSE = SE_SAS ** 2 * N / 2


def _data():
    scale = math.sqrt(MSE * (N - 1) / float(DEV @ DEV))
    lines = []
    for (pol, add), m in MEANS.items():
        for d in DEV:
            lines.append(f"{pol} {add} {m + scale * d:.10f}")
    return "data ribbon; input polymer $ add $ strength; datalines;\n" + "\n".join(lines) + "\n;\nrun;\n"


def test_slicediff_tukey_within_slice_matches_sas_ribbon_rows():
    r = run_sas(_data() + """proc glimmix data=ribbon;
  class polymer add;
  model strength = polymer add polymer*add;
  lsmeans polymer*add / slicediff=(polymer add) cl adjust=tukey;
run;
""")
    assert not r.errors and not r.warnings, r.log
    sd = [t for t in r.session.tables if t.name == "SliceDiffs"]
    assert [t.title for t in sd] == ["Simple Effect Comparisons of polymer*add Least Squares Means By polymer",
                                     "Simple Effect Comparisons of polymer*add Least Squares Means By add"]
    by_add = sd[1]
    assert by_add.subtitle == "Adjustment for Multiple Comparisons: Tukey"
    rows = by_add.rows
    assert len(rows) == 5 * 3
    first = rows[:3]
    assert [row["Slice"] for row in first] == ["add c1"] * 3
    assert [(row["polymer"], row["_polymer"]) for row in first] == [("mylar", "nylon"), ("mylar", "poly"),
                                                                    ("nylon", "poly")]
    assert [row["Estimate"] for row in first] == pytest.approx([6.6833, 3.35, -3.3333], abs=1e-6)
    assert [row["StdErr"] for row in first] == pytest.approx([SE_SAS] * 3, abs=1e-6)
    assert [row["DF"] for row in first] == [75] * 3
    # SAS's printed Adj P, Adj Lower and Adj Upper (4 decimals)
    assert [row["Adjp"] for row in first] == pytest.approx([0.0290, 0.3947, 0.3983], abs=6e-5)
    assert [row["AdjLower"] for row in first] == pytest.approx([0.5637, -2.7696, -9.4529], abs=6e-5)
    assert [row["AdjUpper"] for row in first] == pytest.approx([12.8029, 9.4696, 2.7863], abs=6e-5)
    # every additive's three comparisons, against the printed estimates (nylon - poly derived from the two
    # printed ones, so within their rounding) and Adj P
    for n, (add, ((d1, d2), adjp)) in enumerate(SAS_ROWS.items()):
        got = rows[3 * n:3 * n + 3]
        assert {row["Slice"] for row in got} == {f"add {add}"}
        assert [row["Estimate"] for row in got] == pytest.approx([d1, d2, d2 - d1], abs=1.1e-4)
        assert [row["Adjp"] for row in got[:2]] == pytest.approx(adjp[:2], abs=6e-5)
        assert got[2]["Adjp"] == pytest.approx(adjp[2], abs=2e-4)     # its estimate is derived, see above
    # the other slice: 5 additives within each polymer, 10 pairs, Tukey over 5 means
    by_pol = sd[0].rows
    assert len(by_pol) == 3 * 10 and by_pol[0]["Slice"] == "polymer mylar"
    assert (by_pol[0]["add"], by_pol[0]["_add"]) == ("c1", "c2")
    assert by_pol[0]["Estimate"] == pytest.approx(MEANS[("mylar", "c1")] - MEANS[("mylar", "c2")], abs=1e-8)
    from scipy import stats
    t = abs(by_pol[0]["tValue"])
    assert by_pol[0]["Adjp"] == pytest.approx(stats.studentized_range.sf(math.sqrt(2) * t, 5, 75), abs=1e-9)
    # printed: no Effect and no Adjustment column, the slice level first
    out = r.out
    assert "Simple\nEffect" in out.replace(" ", "") or "Simple" in out
    assert "add c1" in out and "Tukey-Kramer" not in out and "Adjustment for Multiple Comparisons: Tukey" in out


def test_lsmestimate_rows_and_adjustment_match_sas_ribbon():
    """The same listing's LSMESTIMATE 'Mylar vs Nylon,Poly in Add c1..c4' (coefficients 2 -1 -1 on the
    additive's cells, DIVISOR=2): Estimate 5.0167 / 4.2750 / 6.7500 / 11.8000, Standard Error 2.2164, DF 75,
    Pr > |t| 0.0265 / 0.0575 / 0.0032 / <.0001.  ADJUST=BON multiplies the p-values by the 4 rows."""
    rows = "\n".join(f"'Mylar vs Nylon,Poly in Add c{i + 1}' " +
                     " ".join("2" if c == i else "0" for c in range(5)) + " " +
                     " ".join("-1" if c == i else "0" for c in range(5)) + " " +
                     " ".join("-1" if c == i else "0" for c in range(5)) + ("," if i < 3 else "")
                     for i in range(4))
    r = run_sas(_data() + f"""proc glimmix data=ribbon;
  class polymer add;
  model strength = polymer|add;
  lsmestimate polymer*add {rows} / divisor=2;
  lsmestimate polymer*add {rows} / divisor=2 adjust=bon;
run;
""")
    assert not r.errors and not r.warnings, r.log
    plain, bon = [t.rows for t in r.session.tables if t.name == "LSMEstimates"]
    assert [row["Estimate"] for row in plain] == pytest.approx([5.0167, 4.2750, 6.7500, 11.8000], abs=1e-4)
    assert [row["StdErr"] for row in plain] == pytest.approx([2.2164] * 4, abs=1e-4)
    assert [row["Probt"] for row in plain[:3]] == pytest.approx([0.0265, 0.0575, 0.0032], abs=6e-5)
    assert plain[3]["Probt"] < 1e-4
    assert [row["Adjp"] for row in bon] == pytest.approx([min(1.0, 4 * row["Probt"]) for row in plain], rel=1e-9)
    assert {row["Adjustment"] for row in bon} == {"Bonferroni"}


def test_slicediff_glmm_is_difference_of_lsmeans():
    src = """data d;
  call streaminit(11);
  do id = 1 to 30;
    trt = mod(id, 3);
    u = rand('normal') * 0.7;
    do visit = 1 to 3;
      y = rand('bernoulli', logistic(-0.3 + 0.4 * trt - 0.3 * visit + u));
      output;
    end;
  end;
run;
proc glimmix data=d method=laplace;
  class trt visit id;
  model y(event='1') = trt visit trt*visit / dist=binary;
  random intercept / subject=id;
  lsmeans trt*visit / diff slicediff=visit ilink;
run;
"""
    r = run_sas(src)
    assert not r.errors, r.log
    diffs = next(t for t in r.session.tables if t.name == "Diffs").rows
    sd = next(t for t in r.session.tables if t.name == "SliceDiffs")
    assert sd.subtitle is None
    key = {(d["trt"], d["visit"], d["_trt"], d["_visit"]): d for d in diffs}
    assert len(sd.rows) == 3 * 3
    for row in sd.rows:
        v = row["Slice"].split()[1]
        d = key[(row["trt"], float(v), row["_trt"], float(v))]
        for c in ("Estimate", "StdErr", "DF", "tValue", "Probt"):
            assert row[c] == pytest.approx(d[c], rel=1e-12)
        assert "Mean" not in row          # ILINK does not apply to differences
    # GLIMMIX prints no Effect column in its LS-means tables (it stays in the ODS data)
    lsm = next(t for t in r.session.tables if t.name == "LSMeans")
    assert [c.name for c in lsm.columns if c.hidden] == ["Effect"] and lsm.rows[0]["Effect"] == "trt*visit"


def test_slicediff_errors():
    base = """data d; do a = 1 to 2; do b = 1 to 3; do r = 1 to 3; y = a + b + r / 7; output; end; end; end; run;
"""
    r = run_sas(base + "proc glimmix data=d; class a b; model y = a b a*b; lsmeans a*b / slicediff=c; run;")
    assert any("SLICEDIFF= variable c" in e for e in r.errors), r.log
    r = run_sas(base + "proc glimmix data=d; class a b; model y = a b a*b; lsmeans a / slicediff=a; run;")
    assert any("interaction" in e for e in r.errors), r.log
    r = run_sas(base + "proc glimmix data=d; class a b; model y = a b a*b; "
                       "lsmeans a*b / slicediff=a slicedifftype=control; run;")
    assert any("SLICEDIFFTYPE=CONTROL" in e for e in r.errors), r.log
    # PROC MIXED's LSMEANS has no SLICEDIFF=
    r = run_sas(base + "proc mixed data=d; class a b; model y = a b a*b; lsmeans a*b / slicediff=a; run;")
    assert any("SLICEDIFF" in e for e in r.errors), r.log
