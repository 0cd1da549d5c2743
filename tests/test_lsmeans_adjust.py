"""LSMEANS / DIFF ADJUST= (shared by MIXED, GENMOD, GLIMMIX and PLM).  Reference: R 4.x TukeyHSD and
pairwise.t.test(p.adjust.method="bonferroni", pool.sd=TRUE) on the same one-way data, run by hand
(R's differences are level j minus level i, the negative of SAS's i minus j).  Tolerances allow for the
REML variance found by the optimiser (relative error ~1e-8)."""
from __future__ import annotations

import pytest

from conftest import run_sas

SRC = """data a; do g = 1 to 4; do i = 1 to 5 + g; y = g * 0.7 + mod(i * 37 + g * 11, 7) / 3; output; end; end; run;
proc mixed data=a; class g; model y = g; lsmeans g / diff adjust=tukey cl; lsmeans g / diff adjust=bon;
  lsmeans g / diff adjust=sidak; run;
"""

TUKEY_P = [0.27642496, 0.01257518, 0.00001657, 0.44705173, 0.00160252, 0.05267406]
TUKEY_LWR = [-0.3685281177, 0.2393790458, 1.2388244682, -0.4706906505, 0.5299288460, -0.0086219972]
BON_P = [0.4597146010, 0.0150491105, 1.7481363e-05, 0.8609228248, 0.0017932945, 0.0690098423]


def test_tukey_kramer_and_bonferroni_match_r():
    r = run_sas(SRC)
    assert not r.errors and not r.warnings, r.log
    diffs = [t for t in r.session.tables if t.name == "Diffs"]
    tk, bon, sid = diffs[0].rows, diffs[1].rows, diffs[2].rows
    assert [row["Adjustment"] for row in tk] == ["Tukey-Kramer"] * 6
    assert [row["Adjp"] for row in tk] == pytest.approx(TUKEY_P, abs=2e-7)
    # SAS's AdjUpper of (i - j) is minus R's lower limit of (j - i)
    assert [-row["AdjUpper"] for row in tk] == pytest.approx(TUKEY_LWR, abs=1e-6)
    assert [row["Adjp"] for row in bon] == pytest.approx([min(1.0, p) for p in BON_P], abs=1e-7)
    # Sidak: 1 - (1 - p)^6 of the unadjusted p-value
    assert [row["Adjp"] for row in sid] == pytest.approx([1 - (1 - row["Probt"]) ** 6 for row in sid], abs=1e-12)


def test_unsupported_adjustment_is_an_error():
    r = run_sas(SRC.replace("adjust=sidak", "adjust=simulate"))
    assert any("SIMULATE" in e for e in r.errors), r.log
