"""Options are honoured or named in the log, never silently dropped (DEVELOPERS.md "never silently
wrong").  The numbers here are identities of the statement's definition in the SAS/STAT docs
(DIVISOR= divides every coefficient; DF= replaces the degrees of freedom), not references."""
from __future__ import annotations

import pytest
from scipy import stats as st

from conftest import run_sas

DATA = ("data d; do id = 1 to 30; trt = mod(id, 2); u = rannor(3); do t = 1 to 3;\n"
        "  y = 10 + trt + 0.5 * t + u + rannor(4); c = (y > 11); output; end; end; run;\n")


def _tab(r, proc, name):
    return [t for t in r.session.tables if t.proc == proc and t.name == name]


@pytest.mark.parametrize("proc", [
    "proc genmod data=d; class trt; model y = trt t; estimate 'e' trt 2 -2 / divisor=2; estimate 'e' trt 1 -1; run;",
    "proc glimmix data=d; class id trt; model y = trt t; random intercept / subject=id;\n"
    "  estimate 'e' trt 2 -2 / divisor=2; estimate 'e' trt 1 -1; run;",
    "proc mixed data=d; class id trt; model y = trt t; random intercept / subject=id;\n"
    "  estimate 'e' trt 2 -2 / divisor=2; estimate 'e' trt 1 -1; run;",
])
def test_divisor_divides_the_coefficients(proc):
    r = run_sas(DATA + proc)
    assert not r.errors and not r.warnings, (r.errors, r.warnings)
    name = proc.split()[1].upper()
    tabs = _tab(r, name, "Estimates")
    # MIXED and GLIMMIX print all (unadjusted) ESTIMATE statements in one table, GENMOD one per statement
    a, b = tabs[0].rows if name in ("MIXED", "GLIMMIX") else [t.rows[0] for t in tabs]
    ka = "LBetaEstimate" if name == "GENMOD" else "Estimate"
    assert a[ka] == pytest.approx(b[ka], rel=1e-12)
    assert a["StdErr"] == pytest.approx(b["StdErr"], rel=1e-12)


def test_mixed_estimate_honours_cl_alpha_and_df():
    r = run_sas(DATA + "proc mixed data=d; class id trt; model y = trt t; random intercept / subject=id;\n"
                       "  estimate 'e' trt 1 -1 / cl alpha=0.1 df=7; run;")
    assert not r.errors, r.errors
    row = _tab(r, "MIXED", "Estimates")[0].rows[0]
    assert row["DF"] == 7 and row["Alpha"] == 0.1
    q = st.t.ppf(0.95, 7)
    assert row["Lower"] == pytest.approx(row["Estimate"] - q * row["StdErr"], rel=1e-12)
    assert row["Probt"] == pytest.approx(2 * st.t.sf(abs(row["Estimate"] / row["StdErr"]), 7), rel=1e-10)


def test_options_not_honoured_are_named():
    r = run_sas(DATA +
                "proc genmod data=d; class trt; model y = trt t; estimate 'e' trt 1 -1 / e; run;\n"
                "proc glimmix data=d; class id trt; model y = trt t; random intercept / subject=id;\n"
                "  lsmeans trt / cov; estimate 'e' trt 1 -1 / adjust=simulate; run;\n"
                "proc sgplot data=d; scatter x=t y=y; xaxis min=0 offsetmin=0.1; run;\n"
                "proc format cntlin=d; run;\n")
    warnings = "\n".join(r.warnings)
    errors = "\n".join(r.errors)
    assert "The ESTIMATE option E is not supported yet and was ignored." in warnings
    assert "The LSMEANS option COV is not supported yet and was ignored." in warnings
    assert "The XAXIS option OFFSETMIN is not supported yet and was ignored." in warnings
    assert "ESTIMATE ADJUST=SIMULATE is not supported yet" in errors
    assert "The PROC FORMAT option CNTLIN= is not supported yet." in errors


def test_freq_nofreq_drops_the_frequency_column():
    r = run_sas(DATA + "proc freq data=d; tables trt*c / nofreq; run;")
    assert not r.errors and not r.warnings
    cols = [c.name for c in _tab(r, "FREQ", "CrossTabFreqs")[0].columns]
    assert "Frequency" not in cols and "Percent" in cols


def test_system_options_honoured_switched_off_or_named():
    r = run_sas("options mprint nodate obs=5;\n%macro m; data a; x = 1; run; %mend;\n%m\n"
                "options nomprint;\n%m\n")
    # MPRINT lines for the first call only (3 generated statements), none after NOMPRINT
    assert sum(l.startswith("MPRINT(M):") for l in r.log.splitlines()) == 3
    # OBS= would limit every read in SAS: not honoured, so it is named; NODATE is page layout only
    assert r.warnings == ["WARNING: SAS option OBS is not supported and was ignored."]


def test_data_set_options_not_acted_on_are_named():
    r = run_sas("data a; x = 1; y = 2; run;\n"
                "data b; set a(keep=x compress=yes); run;\n"
                "data c(label='kept' index=(x)); set a; run;\n"
                "proc print data=a(obs=1 bufsize=4); run;\n")
    assert r.warnings == [
        "WARNING: The data set option COMPRESS= on WORK.A is not supported and was ignored.",
        "WARNING: The data set option INDEX= on WORK.C is not supported and was ignored.",
        "WARNING: The data set option BUFSIZE= on WORK.A is not supported and was ignored."]
    assert list(r.ds("b").df.columns) == ["x"] and r.ds("c").label == "kept"


def test_update_is_refused_not_run_as_merge():
    # SAS's UPDATE keeps x=1 (a missing transaction value does not replace the master's); MERGE would
    # give missing, so sasglm refuses the step and leaves no WORK.U behind
    r = run_sas("data m; id = 1; x = 1; run;\ndata t; id = 1; x = .; run;\ndata u; update m t; by id; run;\n")
    assert any("The UPDATE statement is not supported yet" in e and "Line 3" in e for e in r.errors), r.errors
    assert "u" not in r.session.libraries["work"].names()


def test_glimmix_nloptions_is_named():
    r = run_sas(DATA + "proc glimmix data=d method=quad; class id; model c = t / dist=binary;\n"
                       "  random intercept / subject=id; nloptions tech=nrridg maxiter=50; run;\n")
    assert not r.errors, r.errors
    # MAXITER= takes effect; TECHNIQUE= does not, and the WARNING names it
    assert r.warnings == ["WARNING: NLOPTIONS TECH= not supported and ignored: sasglm's quasi-Newton optimiser "
                          "runs to the optimum."]


def test_sgplot_format_and_plm_show_program_are_named(tmp_path):
    r = run_sas(DATA + "proc sgplot data=d; format y 5.1; series x=t y=y; run;\n"
                       "proc genmod data=d; model y = t; store work.m; run;\n"
                       "proc plm source=work.m; show parameters program; run;\n"
                       "proc plm source=work.m; show xpx; run;\n", outdir=str(tmp_path))
    # the SGPLOT FORMAT statement is honoured now (tests/test_sgplot.py checks its effect)
    assert r.warnings == ["WARNING: SHOW PROGRAM: sasglm item stores do not keep the source program; nothing shown."]
    assert r.errors == ["ERROR: Line 6, column 25: The SHOW option XPX is not supported."]


def test_proc_output_data_set_options_are_applied():
    # KEEP=/RENAME=/WHERE=/LABEL= on a PROC's OUT= (and ODS OUTPUT) data set, as on a DATA step's
    r = run_sas("data a; do x = 1 to 4; y = 10 * x; z = -x; output; end; run;\n"
                "proc sort data=a out=b(keep=x y rename=(y=w) where=(w > 15) label='sorted'); by descending x; run;\n"
                "ods output OneWayFreqs=f(keep=x Frequency);\n"
                "proc freq data=a; tables x; run;\n")
    assert not r.errors and not r.warnings, (r.errors, r.warnings)
    b = r.ds("b")
    assert list(b.df.columns) == ["x", "w"] and b.df["w"].tolist() == [40.0, 30.0, 20.0]
    assert b.label == "sorted"
    assert [c.lower() for c in r.ds("f").df.columns] == ["x", "frequency"]


def test_by_groups_form_on_formatted_values():
    """SAS procedures form BY groups from the formatted values of a BY variable with a format."""
    r = run_sas("""proc format; value agef low-40='young' 40<-high='old'; run;
      data a; input age y @@; datalines;
25 1 30 2 41 3 50 4 60 5
;
      proc means data=a noprint; by age; format age agef.; var y; output out=m mean=my n=ny; run;
      proc means data=a; by age; format age agef.; var y; run;""")
    assert not r.errors, r.errors
    m = r.ds("m").df
    assert list(m["ny"]) == [2, 3] and list(m["my"]) == [1.5, 4.0]


def test_non_estimable_estimate_rows_are_missing_with_a_note():
    r = run_sas("""data d; call streaminit(3); do id=1 to 20; trt=mod(id,2); do t=1 to 3;
        y=trt+t+rand('normal'); c = rand('poisson', 2); output; end; end; run;
      proc mixed data=d; class id trt; model y = trt t; random int / subject=id; estimate 'bad' trt 1; run;
      proc glimmix data=d; class id trt; model c = trt t / dist=poisson; random int / subject=id;
        estimate 'bad' trt 1; run;""")
    assert not r.errors, r.errors
    for proc in ("MIXED", "GLIMMIX"):
        row = _tab(r, proc, "Estimates")[0].rows[0]
        assert row["Label"] == "bad" and row["Estimate"] is None
    assert r.log.count("The ESTIMATE row 'bad' is not estimable.") == 2


def test_glimmix_ddfm_kr_and_satterthwaite_equal_mixed_for_normal_data_and_need_pl():
    """DDFM=KR / SATTERTHWAITE under RSPL use the final pseudo linear mixed model: for normal data that is
    PROC MIXED's REML fit, so estimates, SEs and DFs must agree (LS-means too); with quadrature they are an ERROR
    (they used to be computed silently as containment DF)."""
    src = """data d; call streaminit(7);
      do id=1 to 30; trt = mod(id,2); u = rand('normal');
        do t=1 to 4; y = 1 + 0.5*trt + 0.3*t + u + rand('normal'); c = rand('poisson', 2); output; end; end; run;
    proc glimmix data=d; class id trt; model y = trt t / s ddfm={m}; random int / subject=id; lsmeans trt / diff; run;
    proc mixed data=d; class id trt; model y = trt t / s ddfm={m}; random int / subject=id; lsmeans trt / diff; run;"""
    for m in ("kr", "satterth"):
        r = run_sas(src.replace("{m}", m))
        assert not r.errors, r.errors
        g = _tab(r, "GLIMMIX", "ParameterEstimates")[0].rows
        x = _tab(r, "MIXED", "SolutionF")[0].rows
        for a, b in zip(g, x):
            if b["StdErr"] is None:
                continue
            assert a["StdErr"] == pytest.approx(b["StdErr"], rel=1e-5)
            assert a["DF"] == pytest.approx(b["DF"], rel=1e-4)
        ga = _tab(r, "GLIMMIX", "LSMeans")[0].rows
        xa = _tab(r, "MIXED", "LSMeans")[0].rows
        assert [q["DF"] for q in ga] == pytest.approx([q["DF"] for q in xa], rel=1e-4)
    r = run_sas(src.split("proc glimmix")[0] + """proc glimmix data=d method=laplace; class id trt;
      model c = trt t / dist=poisson ddfm=kr; random int / subject=id; run;""")
    assert any("DDFM=KR needs a pseudo-likelihood method" in e for e in r.errors)
