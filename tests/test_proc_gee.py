"""PROC GEE: the GEE procedure's syntax over the GENMOD engine (REPEATED required, GEE tables only)."""
from __future__ import annotations

import pytest

from conftest import RESP_STEP, needs_resp, run_sas

# PSIAIMS/CAMIS SAS/gee.qmd, binary outcome (verbatim)
CAMIS_GEE = """
proc gee data=resp;
   class trtp(ref="P") avisitn(ref='1') usubjid;
   model outcome(event='1') = trtp avisitn trtp*avisitn/ dist=bin link=logit;
   lsmeans trtp*avisitn/cl exp ilink oddsratio diff;
   repeated subject=usubjid/corr=ind /*modelse*/;
run;
"""
# geepack 1.3.9 geeglm(outcome ~ trtp*avisitn, id = usubjid, binomial, corstr = "independence"), run by hand on
# resp_gee.csv (2026-11-24): estimate and robust SE
GEEPACK = {("Intercept", ""): (-0.03509131981, 0.2649472482), ("trtp", "A"): (0.81279588840, 0.3950286075),
           ("avisitn", "2"): (-0.42921428832, 0.2635673052), ("avisitn", "3"): (-0.14079934665, 0.2983440220),
           ("avisitn", "4"): (-0.21176875812, 0.2534369657), ("trtp*avisitn", "A 2"): (0.51650715722, 0.4104266404),
           ("trtp*avisitn", "A 3"): (0.31860622309, 0.4283901774),
           ("trtp*avisitn", "A 4"): (-0.11395068672, 0.3948459553)}

@needs_resp
def test_camis_proc_gee_program_runs_and_matches_geepack(resp_dir):
    r = run_sas(RESP_STEP + CAMIS_GEE)
    assert not r.errors and not r.warnings, (r.errors, r.warnings)
    gee = [t for t in r.session.tables if t.proc == "GEE"]
    names = [t.name for t in gee]
    # PROC GEE prints no initial GLM fit, no Type 3 and no convergence table
    assert "ParameterEstimates" not in names and "ModelFit" not in names and "GEEType3" not in names
    assert names[:4] == ["ModelInfo", "ClassLevels", "NObs", "ResponseProfile"]
    assert {"GEEModInfo", "GEEFitCriteria", "GEEEmpPEst", "LSMeans", "Diffs"} <= set(names)
    pe = next(t for t in gee if t.name == "GEEEmpPEst")
    assert pe.title == "Parameter Estimates for Response Model with Empirical Standard Error"
    got = {(row["Parm"], " ".join(str(row[c]) for c in ("Level1", "Level2") if row.get(c))): row for row in pe.rows}
    for key, (est, se) in GEEPACK.items():
        assert got[key]["Estimate"] == pytest.approx(est, abs=1e-8), key
        assert got[key]["StdErr"] == pytest.approx(se, abs=1e-7), key
    prof = next(t for t in gee if t.name == "ResponseProfile")
    assert prof.footnotes == ["PROC GEE is modeling the probability that outcome='1'."]


@needs_resp
def test_proc_gee_equals_genmod_repeated(resp_dir):
    genmod = CAMIS_GEE.replace("proc gee", "proc genmod")
    r = run_sas(RESP_STEP + CAMIS_GEE + genmod)
    assert not r.errors
    pes = [t for t in r.session.tables if t.name == "GEEEmpPEst"]
    assert [t.proc for t in pes] == ["GEE", "GENMOD"]
    for a, b in zip(pes[0].rows, pes[1].rows):
        assert a == b
    lsm = [t for t in r.session.tables if t.name == "LSMeans"]
    assert lsm[0].rows == lsm[1].rows


def test_proc_gee_syntax_checks():
    data = ("data d; do id = 1 to 20; do t = 1 to 3; x = t + id / 10; y = mod(id * t, 3) = 0; output; end; end;"
            " run;\n")
    r = run_sas(data + "proc gee data=d; class id; model y = x / dist=bin; run;\n")
    assert any("needs a REPEATED statement" in e for e in r.errors)
    r = run_sas(data + "proc gee data=d; class id; model y = x / dist=bin; repeated subject=id;"
                       " contrast 'x' x 1; run;\n")
    assert r.errors and "CONTRAST" in r.errors[0].upper()
    r = run_sas(data + "proc gee data=d; class id; model y = x / dist=bin type3; repeated subject=id; run;\n")
    assert any("TYPE3" in e for e in r.errors)
    r = run_sas(data + "proc gee data=d; class id; model y = x / dist=bin; repeated subject=id / printmle; run;\n")
    assert any("PRINTMLE" in e for e in r.errors)
    r = run_sas(data + "proc gee data=d; class id; model y = x / dist=bin; repeated subject=id; missmodel x; run;\n")
    assert any("MISSMODEL" in e for e in r.errors)
    r = run_sas(data + "proc gee data=d; class id; model y = x / dist=bin; repeated subject=id / type=exch corrw;"
                       " run;\n")
    assert not r.errors
    assert {"GEEWCorr", "GEEExchCorr"} & {t.name for t in r.session.tables}


def test_multinomial_skips_lsmeans_with_a_warning_and_rejects_fit_changing_options():
    data = ("data d; do id = 1 to 40; do t = 1 to 3; g = mod(id, 2); y = 1 + mod(id * t + g, 3); output; end; end;"
            " run;\n")
    r = run_sas(data + "proc genmod data=d; class id g; model y = g t / dist=multinomial;"
                       " repeated subject=id / type=ind; lsmeans g / diff; run;\n")
    assert not r.errors
    assert any("LSMEANS statement is not supported yet with DIST=MULTINOMIAL" in w for w in r.warnings)
    assert [t for t in r.session.tables if t.name == "GEEEmpPEst"]
    r = run_sas(data + "proc genmod data=d; class id g; model y = g t / dist=multinomial offset=t; run;\n")
    assert any("MODEL OFFSET" in e for e in r.errors)
    r = run_sas(data + "proc genmod data=d; class id g; model y = g t / dist=multinomial;"
                       " repeated subject=id / type=ind corrw; run;\n")
    assert any("REPEATED CORRW" in e for e in r.errors)
