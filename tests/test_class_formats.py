"""CLASS levels are formed from formatted values, as SAS forms them: raw values that format alike are
one level (a format that groups ages into bands makes one level per band), CLASS / TRUNCATE uses the
first n characters of the formatted value, and a FORMAT statement inside a PROC step applies to that
step.  The references are the same models fitted on the data recoded by hand in a DATA step."""
from __future__ import annotations

import pytest

from conftest import run_sas

DATA = """proc format; value band 1-3='low' 4-6='high'; run;
data d; do i = 1 to 60; a = mod(i, 6) + 1; y = (mod(i * 7, 5) > 1); x = mod(i * 3, 7);
  if a <= 3 then b = 'low '; else b = 'high'; output; end; run;
"""


def _tables(r, name, proc=None):
    return [t for t in r.session.tables if t.name == name and (proc is None or t.proc == proc)]


def _estimates(r, proc="GENMOD", name="ParameterEstimates"):
    return [row["Estimate"] for row in _tables(r, name, proc)[0].rows]


def test_genmod_class_levels_come_from_formatted_values():
    grouped = run_sas(DATA + "proc genmod data=d; class a; format a band.; model y = a x / dist=binomial; run;")
    recoded = run_sas(DATA + "proc genmod data=d; class b; model y = b x / dist=binomial; run;")
    assert not grouped.errors, grouped.log
    cl = _tables(grouped, "ClassLevels")[0].rows[0]
    # ORDER=FORMATTED (the GENMOD default): 'high' sorts before 'low'
    assert (cl["Levels"], cl["Values"]) == (2, "high low")
    assert _estimates(grouped) == pytest.approx(_estimates(recoded), abs=1e-10)
    labels = [row["Level1"] for row in _tables(grouped, "ParameterEstimates")[0].rows[1:3]]
    assert labels == ["high", "low"]


def test_mixed_and_glimmix_group_by_format_in_the_data_set():
    src = DATA + "data d2; set d; format a band.; z = y + x / 3; run;\n"
    mixed = run_sas(src + "proc mixed data=d2; class a; model z = a / s; run;")
    mixed_ref = run_sas(src + "proc mixed data=d2; class b; model z = b / s; run;")
    assert not mixed.errors, mixed.log
    assert _estimates(mixed, "MIXED", "SolutionF") == pytest.approx(_estimates(mixed_ref, "MIXED", "SolutionF"),
                                                                    abs=1e-10)
    glx = run_sas(src + "proc glimmix data=d2; class a; model y(event='1') = a x / dist=binary s; run;")
    glx_ref = run_sas(src + "proc glimmix data=d2; class b; model y(event='1') = b x / dist=binary s; run;")
    assert not glx.errors, glx.log
    assert _estimates(glx, "GLIMMIX") == pytest.approx(_estimates(glx_ref, "GLIMMIX"), abs=1e-8)


def test_grouped_binary_response_and_truncate():
    # a response format that groups 0-2 and 3-4 into two levels; the model must equal the 0/1 recode
    src = """proc format; value grp 0-2='A: two or less' 3-4='B: three plus'; run;
data d; do i = 1 to 80; k = mod(i * 7, 5); x = mod(i, 9) / 3; yy = (k >= 3); g = 'treatment-group-' || put(mod(i, 2), 1.);
  output; end; run;
"""
    grp = run_sas(src + "proc genmod data=d; format k grp.; model k = x / dist=binomial; run;")
    ref = run_sas(src + "proc genmod data=d descending; model yy = x / dist=binomial; run;")
    assert not grp.errors, grp.log
    prof = _tables(grp, "ResponseProfile")[0].rows
    assert [(p["k"], p["Count"]) for p in prof] == [("A: two or less", 48), ("B: three plus", 32)]
    # the first ordered level ('A', k <= 2) is modelled: its log odds are minus those of yy = 1
    assert _estimates(grp)[:2] == pytest.approx([-e for e in _estimates(ref)[:2]], abs=1e-10)
    # g has two 17-character values that agree in their first 16: TRUNCATE makes them one level
    full = run_sas(src + "proc genmod data=d; class g; model yy = g / dist=binomial; run;")
    trunc = run_sas(src + "proc genmod data=d; class g / truncate; model yy = g / dist=binomial; run;")
    assert not trunc.errors and not trunc.warnings, trunc.log
    assert _tables(full, "ClassLevels")[0].rows[0]["Levels"] == 2
    assert _tables(trunc, "ClassLevels")[0].rows[0]["Values"] == "treatment-group-"
    assert _tables(trunc, "ClassLevels")[0].rows[0]["Levels"] == 1


def test_freq_counts_formatted_levels():
    r = run_sas(DATA + "proc freq data=d; tables a a*y; format a band.; run;")
    assert not r.errors, r.log
    one = _tables(r, "OneWayFreqs")[0].rows
    # FREQ's default ORDER=INTERNAL: the band holding the smallest raw value first
    assert [(row["a"], row["Frequency"]) for row in one] == [("low", 30), ("high", 30)]
    two = _tables(r, "CrossTabFreqs")[0].rows
    low = [row for row in two if row["a"] == "low" and row["y"] != "Total"]
    b = run_sas(DATA + "proc freq data=d; tables b*y; run;")
    ref = [row for row in _tables(b, "CrossTabFreqs")[0].rows if row["b"] == "low" and row["y"] != "Total"]
    assert [row["Frequency"] for row in low] == [row["Frequency"] for row in ref]


def test_means_class_groups_by_formatted_value():
    r = run_sas(DATA + "proc means data=d n mean; class a; var x; format a band.; run;\n"
                "proc means data=d n mean; class b; var x; run;")
    assert not r.errors, r.log
    t_fmt, t_raw = [t for t in r.session.tables if t.proc == "MEANS"][:2]
    got = [(row["a"], row["NObs"]) for row in t_fmt.rows]
    assert got == [("low", 30), ("high", 30)]
    by_b = {row["b"]: row for row in t_raw.rows}
    assert t_fmt.rows[0]["Mean"] == pytest.approx(by_b["low"]["Mean"], abs=1e-12)
