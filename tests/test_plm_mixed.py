"""PROC PLM on item stores from PROC MIXED and PROC GLIMMIX.  The reference for every number is the
fitting procedure's own table for the same model in the same run (those tables are checked against SAS
elsewhere: tests/test_mixed_*.py, the mmrm and CAMIS conformance cases): PLM must give the same
estimates, standard errors and denominator DF, including the per-row Kenward-Roger and Satterthwaite DF
that the store has to carry without the data."""
from __future__ import annotations

import math

import pytest
from scipy import stats as st

from conftest import run_sas

# 24 subjects x 3 visits, two arms; one visit missing for two subjects (unbalanced, so KR and
# Satterthwaite DF are not whole numbers)
DATA = """data d; call streaminit(7);
  do id = 1 to 24; trt = mod(id, 2); b = rand('normal') * 0.8;
    do t = 1 to 3;
      y = 10 + trt + 0.5 * t + 0.4 * trt * t + b + rand('normal') * (0.6 + 0.3 * t);
      yb = (rand('uniform') < 1 / (1 + exp(-(-0.4 + 0.5 * trt + 0.3 * t + b))));
      if not ((id = 5 and t = 3) or (id = 8 and t = 2)) then output;
    end;
  end;
run;
"""


def _t(r, name, proc):
    out = [t for t in r.session.tables if t.name == name and t.proc == proc]
    assert out, (name, proc)
    return out


def _same_rows(a, b, keys, tol=1e-9):
    assert len(a) == len(b) > 0
    for ra, rb in zip(a, b):
        for k in keys:
            if ra.get(k) is None:
                assert rb.get(k) is None, k
            else:
                assert rb[k] == pytest.approx(ra[k], rel=tol, abs=tol), (k, ra, rb)


STAT = ("Estimate", "StdErr", "DF", "tValue", "Probt", "Lower", "Upper")


@pytest.mark.parametrize("ddfm", ["kr", "satterthwaite", "betwithin"])
def test_mixed_store_reproduces_mixed_inference(ddfm):
    est = "estimate 'trt at t=2' trt 1 -1 trt*t 0 1 0 0 -1 0 / cl;"
    r = run_sas(DATA + f"proc mixed data=d; class id trt t; model y = trt t trt*t / ddfm={ddfm};\n"
                f"  repeated t / subject=id type=un; lsmeans trt t / diff cl; {est}\n"
                f"  store out=work.mm / label='MMRM'; run;\n"
                f"proc plm restore=mm; lsmeans trt t / diff cl; {est} test; test trt*t; run;\n")
    assert not r.errors and not r.warnings, r.log
    for name in ("LSMeans", "Diffs"):
        m, p = _t(r, name, "MIXED"), _t(r, name, "PLM")
        assert len(m) == len(p) == 2
        for a, b in zip(m, p):
            _same_rows(a.rows, b.rows, STAT)
    _same_rows(_t(r, "Estimates", "MIXED")[0].rows, _t(r, "Estimates", "PLM")[0].rows, STAT)
    t3m, t3p = _t(r, "Tests3", "MIXED")[0].rows, _t(r, "Tests3", "PLM")
    _same_rows(t3m, t3p[0].rows, ("NumDF", "DenDF", "FValue", "ProbF"))
    assert [row["Effect"] for row in t3p[1].rows] == ["trt*t"]
    _same_rows(t3m[2:], t3p[1].rows, ("NumDF", "DenDF", "FValue", "ProbF"))
    if ddfm != "betwithin":
        # the per-row DF really are the approximation's (not whole numbers) ...
        assert any(abs(row["DF"] - round(row["DF"])) > 1e-3 for row in _t(r, "Diffs", "PLM")[1].rows)
    info = {row["Label"]: row["Value"] for row in _t(r, "StoreInfo", "PLM")[0].rows}
    assert info["Created By"] == "PROC MIXED" and info["Label"] == "MMRM"
    assert info["Degrees of Freedom Method"] == {"kr": "Kenward-Roger", "satterthwaite": "Satterthwaite",
                                                 "betwithin": "Between-Within"}[ddfm]
    assert info["Model Effects"] == "Intercept trt t trt*t"


def test_mixed_store_ddfmethod_override():
    r = run_sas(DATA + "proc mixed data=d; class id trt; model y = trt t / s ddfm=kr; random intercept / subject=id;\n"
                "  store m; run;\n"
                "proc plm restore=m ddfmethod=residual; lsmeans trt; run;\n"
                "proc plm restore=m ddfmethod=none; lsmeans trt; test; run;\n"
                "proc plm restore=m ddfmethod=satterth; lsmeans trt; run;\n")
    # 70 observations, rank(X) = 3
    res, none = _t(r, "LSMeans", "PLM")[:2]
    assert [row["DF"] for row in res.rows] == [67, 67]
    assert all(row["DF"] == math.inf for row in none.rows)
    row = none.rows[0]
    assert row["Probt"] == pytest.approx(2 * st.norm.sf(abs(row["tValue"])), rel=1e-12)
    t3 = _t(r, "Tests3", "PLM")[0].rows
    assert all(row["DenDF"] == math.inf for row in t3)
    assert t3[0]["ProbF"] == pytest.approx(st.chi2.sf(t3[0]["FValue"] * t3[0]["NumDF"], t3[0]["NumDF"]), rel=1e-10)
    assert any("DDFMETHOD=SATTERTH needs an item store created with that DDFM=" in e for e in r.errors)


def test_glimmix_stores_reproduce_glimmix_inference():
    hyp = "lsmeans trt / diff cl ilink; estimate 'd' trt 1 -1 / cl;"
    r = run_sas(DATA + f"proc glimmix data=d method=quad; class id trt; model yb = trt t / dist=binary;\n"
                f"  random intercept / subject=id; {hyp} store gq; run;\n"
                f"proc plm restore=gq; {hyp} test; run;\n"
                f"proc glimmix data=d; class id trt; model yb = trt t / dist=binary ddfm=kr;\n"
                f"  random intercept / subject=id; {hyp} store gk; run;\n"
                f"proc plm restore=gk; {hyp} test; run;\n")
    assert not r.errors, r.log
    g_ls, p_ls = _t(r, "LSMeans", "GLIMMIX"), _t(r, "LSMeans", "PLM")
    g_d, p_d = _t(r, "Diffs", "GLIMMIX"), _t(r, "Diffs", "PLM")
    g_e, p_e = _t(r, "Estimates", "GLIMMIX"), _t(r, "Estimates", "PLM")
    g_3, p_3 = _t(r, "Tests3", "GLIMMIX"), _t(r, "Tests3", "PLM")
    for i in range(2):
        _same_rows(g_ls[i].rows, p_ls[i].rows, STAT + ("Mean", "StdErrMean", "LowerMean", "UpperMean"))
        _same_rows(g_d[i].rows, p_d[i].rows, STAT)
        _same_rows(g_e[i].rows, p_e[i].rows, STAT)
        _same_rows(g_3[i].rows, p_3[i].rows, ("NumDF", "DenDF", "FValue", "ProbF"))
    assert p_ls[0].rows[0]["DF"] == g_ls[0].rows[0]["DF"] and float(p_ls[0].rows[0]["DF"]).is_integer()
    info = {row["Label"]: row["Value"] for row in _t(r, "StoreInfo", "PLM")[0].rows}
    assert (info["Distribution"], info["Link Function"], info["Degrees of Freedom Method"]) == \
        ("Binary", "Logit", "Containment")


def test_glimmix_ddfm_none_prints_t_with_infinite_df():
    """SAS's GLIMMIX keeps t Value / Pr > |t| with DF Infty under DDFM=NONE (ESTIMATE used to print
    missing statistics and LSMEANS z columns)."""
    r = run_sas(DATA + "proc glimmix data=d method=laplace; class id trt;\n"
                "  model yb = trt t / dist=binary ddfm=none; random intercept / subject=id;\n"
                "  estimate 'd' trt 1 -1; lsmeans trt / diff; run;\n")
    assert not r.errors, r.log
    e = _t(r, "Estimates", "GLIMMIX")[0].rows[0]
    assert e["DF"] == math.inf
    assert e["Probt"] == pytest.approx(2 * st.norm.sf(abs(e["Estimate"] / e["StdErr"])), rel=1e-12)
    d = _t(r, "Diffs", "GLIMMIX")[0].rows[0]
    assert d["tValue"] == pytest.approx(e["Estimate"] / e["StdErr"], rel=1e-12) and d["DF"] == math.inf


def test_store_statement_forms_and_refusals():
    r = run_sas(DATA + "proc genmod data=d; class trt; model y = trt t; store out=work.g1 / label='first'; run;\n"
                "proc plm restore=g1; run;\n"
                "proc genmod data=d; class trt; model y = trt t; store work g2; run;\n"
                "proc glimmix data=d method=quad; class id; model t = yb / dist=multinomial;\n"
                "  random intercept / subject=id; store gm; run;\n"
                "proc plm restore=g1 ddfmethod=kr; run;\n")
    info = {row["Label"]: row["Value"] for row in _t(r, "StoreInfo", "PLM")[0].rows}
    assert info["Label"] == "first" and info["Created By"] == "PROC GENMOD"
    assert "Degrees of Freedom Method" not in info
    errs = "\n".join(r.errors)
    assert "STORE expects one item-store name" in errs
    assert "STORE is not supported yet with DIST=MULTINOMIAL" in errs
    assert "needs an item store from PROC MIXED or PROC GLIMMIX" in errs
