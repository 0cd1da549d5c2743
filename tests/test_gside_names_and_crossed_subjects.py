"""RANDOM-statement structure parameter names (MIXED) and crossed SUBJECT= effects (SUBJECT=id*t) in MIXED,
GLIMMIX and GENMOD.

On the RANDOM statement SAS names the overall variance of CS, AR(1) and TOEP "Variance" (on REPEATED it is
the profiled "Residual"); we list it first.  A crossed subject id*t defines the same blocks as the nested
t(id), so the fits must agree; the printed subject text is "id*t"."""
from __future__ import annotations

import pytest

from conftest import run_sas

DATA = """
data d;
  call streaminit(7);
  do id = 1 to 30;
    b0 = rand('normal'); b1 = 0.5 * b0 + rand('normal');
    do t = 1 to 2; x = rand('normal');
      do rep = 1 to 3;
        y = 1 + 0.5 * x + b0 * (t = 1) + b1 * (t = 2) + rand('normal');
        yb = (y > 1.2);
        output;
      end;
    end;
  end;
run;
"""


def mixed_random(type_):
    return run_sas(DATA + f"""
proc mixed data=d;
  class id t;
  model y = x;
  random t / subject=id type={type_};
run;
""")


def table(r, name):
    return [t for t in r.session.tables if t.name == name]


@pytest.mark.parametrize("type_,names", [("ar(1)", ["Variance", "AR(1)", "Residual"]),
                                         ("cs", ["Variance", "CS", "Residual"]),
                                         ("toep", ["Variance", "TOEP(2)", "Residual"]),
                                         ("toep(1)", ["Variance", "Residual"])])
def test_mixed_random_structure_names(type_, names):
    r = mixed_random(type_)
    assert not r.errors, r.errors
    rows = table(r, "CovParms")[0].rows
    assert [row["CovParm"] for row in rows] == names
    assert [row["Subject"] for row in rows] == ["id"] * (len(names) - 1) + [""]


def test_mixed_random_structures_on_two_levels_agree():
    """With two levels, AR(1), CS and TOEP are all 'equal variances, one covariance'; TOEP(1) equals VC."""
    m2 = {}
    for ty in ("ar(1)", "cs", "toep", "toep(1)", "vc"):
        r = mixed_random(ty)
        assert not r.errors, r.errors
        m2[ty] = table(r, "FitStatistics")[0].rows[0]["Value"]
    assert m2["cs"] == pytest.approx(m2["ar(1)"], abs=1e-6)
    assert m2["toep"] == pytest.approx(m2["ar(1)"], abs=1e-6)
    assert m2["toep(1)"] == pytest.approx(m2["vc"], abs=1e-6)


def test_crossed_subject_equals_nested_subject():
    out = {}
    for subj in ("id*t", "t(id)"):
        r = run_sas(DATA + f"""
proc mixed data=d;
  class id t rep;
  model y = x;
  repeated rep / subject={subj} type=cs;
run;
proc glimmix data=d;
  class id t;
  model yb = x / dist=binary s;
  random int / subject={subj};
run;
proc genmod data=d descending;
  class id t;
  model yb = x / dist=bin;
  repeated subject={subj} / type=exch;
run;
""")
        assert not r.errors, r.errors
        out[subj] = r
    a, b = out["id*t"], out["t(id)"]
    for name in ("CovParms", "ParameterEstimates", "GEEEmpPEst"):
        for ta, tb in zip(table(a, name), table(b, name)):
            for ra, rb in zip(ta.rows, tb.rows):
                assert ra["Estimate"] == pytest.approx(rb["Estimate"], abs=1e-6), name
    assert table(a, "CovParms")[0].rows[0]["Subject"] == "id*t"
    geeinfo = {str(list(row.values())[0]): list(row.values())[1] for row in table(a, "GEEModInfo")[0].rows}
    assert geeinfo["Number of Clusters"] == 60
