"""LSMEANS ADJUST=DUNNETT with DIFF=CONTROL('level') (GLIMMIX, MIXED), Hsu's factor-analytic method, and
ADJDFE= (the DF of multiplicity adjustments).

References:
- SAS output in a course's notes on randomized complete block designs (STAT 212, soybean seed emergence,
  5 chemicals x 5 blocks): `lsmeans chem / diff=control('Control') adjust=dunnett;` prints differences
  4.6000 / 5.0000 / 4.2000 / 2.6000 with Standard Error 1.4711, DF 16, Adj P 0.0218 / 0.0125 / 0.0375 /
  0.2680, under "Adjustment for Multiple Comparisons: Dunnett" with fixed blocks and "... Dunnett-Hsu" with
  random blocks (Covariance Parameter Estimates block 1.4100, Residual 5.4100). The data are not public;
  the test builds a 5 x 5 table with the same treatment means, block and residual mean squares (those
  determine every printed number).
- R mvtnorm 1.x pmvt/qmvt (GenzBretz, abseps 1e-9), run by hand 2026-11-25, for an unbalanced one-way
  layout (control n = 5, treatments n = 3, 6, 10; correlations sqrt(n_i n_j / ((n_i + n0)(n_j + n0)))),
  df 21: P(max |T| >= t) = 0.3249231414, 0.07882258698, 0.01438275528 for t = 1.5, 2.3, 3.1. Dunnett's
  table: two-sided 5% critical value 2.54 for 3 comparisons on 20 DF.
- SAS documentation (MIXED/GLIMMIX LSMEANS ADJDFE=): adjusted p-values and limits use the DF of the
  effect's Type 3 test unless ADJDFE=ROW.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from conftest import run_sas
from sasglm.stats import multcomp as MC

CHEM = {"Control": 89.2, "Arasan": 93.8, "Fermate": 94.2, "Semesan": 93.4, "Spergon": 91.8}
SAS_ADJP = [0.0218, 0.0125, 0.0375, 0.2680]


def _seeds():
    """5 x 5 RCBD: treatment means CHEM, residual mean square 5.41 on 16 DF, block mean square 5.41 + 5 x 1.41."""
    blk = np.array([1.0, -0.5, 0.3, -1.2, 0.4])
    blk = blk - blk.mean()
    blk *= math.sqrt((5.41 + 5 * 1.41) * 4 / 5 / float(blk @ blk))
    E = np.array([[1, -1, 0, 0, 0], [0, 1, -1, 0, 0], [0, 0, 1, -1, 0], [0, 0, 0, 1, -1], [-1, 0, 0, 0, 1]], float)
    E = E - E.mean(0) - E.mean(1)[:, None] + E.mean()
    E *= math.sqrt(5.41 * 16 / float((E ** 2).sum()))
    lines = [f"{b + 1} {c} {m + blk[b] + E[i, b]:.12f}" for i, (c, m) in enumerate(CHEM.items()) for b in range(5)]
    return "data seeds; input block chem $ emerge; datalines;\n" + "\n".join(lines) + "\n;\nrun;\n"


def _diffs(r, n=0):
    return [t for t in r.session.tables if t.name == "Diffs"][n]


def test_dunnett_glimmix_fixed_and_random_blocks_match_sas():
    r = run_sas(_seeds() + """proc glimmix data=seeds; class block chem; model emerge = block chem;
  lsmeans chem / diff=control('Control') adjust=dunnett cl; run;
proc glimmix data=seeds; class block chem; model emerge = chem; random block;
  lsmeans chem / diff=control('Control') adjust=dunnett; run;
""")
    assert not r.errors and not r.warnings, r.log
    fixed, rand = _diffs(r, 0), _diffs(r, 1)
    assert fixed.subtitle == "Adjustment for Multiple Comparisons: Dunnett"
    assert rand.subtitle == "Adjustment for Multiple Comparisons: Dunnett-Hsu"
    cp = [t for t in r.session.tables if t.name == "CovParms"][0].rows
    assert [row["Estimate"] for row in cp] == pytest.approx([1.41, 5.41], abs=1e-6)
    for t in (fixed, rand):
        assert [(row["chem"], row["_chem"]) for row in t.rows] == [(c, "Control") for c in
                                                                  ("Arasan", "Fermate", "Semesan", "Spergon")]
        assert [row["Estimate"] for row in t.rows] == pytest.approx([4.6, 5.0, 4.2, 2.6], abs=1e-8)
        assert [row["StdErr"] for row in t.rows] == pytest.approx([1.4711] * 4, abs=5e-5)
        assert [row["DF"] for row in t.rows] == pytest.approx([16] * 4)
        assert [row["Adjp"] for row in t.rows] == pytest.approx(SAS_ADJP, abs=5e-5)
    # simultaneous limits: estimate -/+ the Dunnett critical value (equicorrelated 0.5, 4 comparisons, 16 DF)
    q = MC.dunnett_q(0.05, np.full(4, math.sqrt(0.5)), 16)
    for row in fixed.rows:
        assert row["AdjLower"] == pytest.approx(row["Estimate"] - q * row["StdErr"], abs=1e-9)
    assert 2.7 < q < 2.8


def test_dunnett_mixed_default_control_is_first_level():
    r = run_sas(_seeds() + """proc mixed data=seeds; class block chem; model emerge = chem; random block;
  lsmeans chem / adjust=dunnett diff; run;
""")
    assert not r.errors, r.log
    rows = _diffs(r).rows
    # no DIFF=CONTROL(...): the first LS-mean (Arasan) is the control
    assert [(row["chem"], row["_chem"]) for row in rows] == [(c, "Arasan") for c in
                                                             ("Control", "Fermate", "Semesan", "Spergon")]
    assert {row["Adjustment"] for row in rows} == {"Dunnett-Hsu"}
    # Control - Arasan = -4.6: the same |t| as SAS's first row, so the same adjusted p-value
    assert rows[0]["Adjp"] == pytest.approx(SAS_ADJP[0], abs=5e-5)


def test_factor_analytic_probabilities_match_mvtnorm_and_dunnett_table():
    n0, n = 5.0, np.array([3.0, 6.0, 10.0])
    lam_true = np.sqrt(n / (n + n0))
    R = np.outer(lam_true, lam_true)
    np.fill_diagonal(R, 1.0)
    lam = MC.one_factor(R)
    assert lam == pytest.approx(lam_true, abs=1e-10)
    for t, ref in ((1.5, 0.3249231414), (2.3, 0.07882258698), (3.1, 0.01438275528)):
        assert MC.dunnett_p(t, lam, 21) == pytest.approx(ref, abs=1e-6)
    q = MC.dunnett_q(0.05, lam, 21)
    assert 1 - MC.max_abs_cdf(q, lam, 21) == pytest.approx(0.05, abs=1e-10)
    assert round(MC.dunnett_q(0.05, np.full(3, math.sqrt(0.5)), 20), 2) == 2.54
    # one comparison: the plain t test
    assert MC.dunnett_p(2.1, np.zeros(1), 12) == pytest.approx(2 * stats.t.sf(2.1, 12), abs=1e-9)


MMRM = """data mm;
  call streaminit(21);
  do id = 1 to 36;
    trt = mod(id, 3);
    u = rand('normal');
    do visit = 1 to 3;
      if rand('uniform') < 0.85 or visit = 1 then do;
        y = 5 + 0.5 * trt + 0.3 * visit + u + rand('normal') * (0.6 + 0.3 * visit);
        output;
      end;
    end;
  end;
run;
"""


def test_adjdfe_source_uses_type3_df_and_row_uses_row_df():
    r = run_sas(MMRM + """proc mixed data=mm; class trt visit id;
  model y = trt visit trt*visit / ddfm=kr;
  repeated visit / subject=id type=un;
  lsmeans trt / diff adjust=tukey;
  lsmeans trt / diff adjust=tukey adjdfe=row;
run;
""")
    assert not r.errors, r.log
    t3 = {row["Effect"]: row for row in next(t for t in r.session.tables if t.name == "Tests3").rows}
    src = _diffs(r, 0).rows
    row_ = _diffs(r, 1).rows
    dd = t3["trt"]["DenDF"]
    assert len({round(row["DF"], 6) for row in src}) > 1 or abs(src[0]["DF"] - dd) > 1e-3   # KR DF differ
    for a, b in zip(src, row_):
        t = abs(a["tValue"])
        assert a["Adjp"] == pytest.approx(stats.studentized_range.sf(math.sqrt(2) * t, 3, dd), abs=1e-9)
        assert b["Adjp"] == pytest.approx(stats.studentized_range.sf(math.sqrt(2) * t, 3, b["DF"]), abs=1e-9)


def test_diff_options_errors():
    base = _seeds() + "proc mixed data=seeds; class block chem; model emerge = chem block; "
    r = run_sas(base + "lsmeans chem / diff=controll('Control'); run;")
    assert any("DIFF=CONTROLL" in e for e in r.errors), r.log
    r = run_sas(base + "lsmeans chem / diff=control('Nothing'); run;")
    assert any("control level" in e for e in r.errors), r.log
    r = run_sas(base + "lsmeans chem / diff adjust=tukey adjdfe=other; run;")
    assert any("ADJDFE=OTHER" in e for e in r.errors), r.log


def test_smm_and_adjust_implies_diff():
    """ADJUST=SMM (GT2): the studentized maximum modulus of the m differences, here P(max |T| >= t) for 10
    independent t statistics on the effect's DF (R mvtnorm with an identity correlation, by hand: 3
    statistics on 20 DF give 0.06089158733 at t = 2.5). No DIFF option: ADJUST= implies the differences."""
    assert MC.dunnett_p(2.5, np.zeros(3), 20) == pytest.approx(0.06089158733, abs=1e-6)
    r = run_sas(_seeds() + """proc mixed data=seeds; class block chem; model emerge = block chem;
  lsmeans chem / adjust=smm; run;
""")
    assert not r.errors, r.log
    rows = _diffs(r).rows
    assert len(rows) == 10 and {row["Adjustment"] for row in rows} == {"SMM"}
    for row in rows:
        t = abs(row["tValue"])
        ref = 1 - (stats.chi.expect(lambda s: (2 * stats.norm.cdf(t * s / 4.0) - 1) ** 10, args=(16,),
                                    epsabs=1e-12, epsrel=1e-10))
        assert row["Adjp"] == pytest.approx(ref, abs=1e-7)
