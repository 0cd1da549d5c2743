"""The REPL (driven in a pseudo-terminal) and the ODS destinations: HTML, RTF, OUTPUT."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, SHARED, SHARED_DATA, needs_shared, run_sas


def test_repl_session_in_a_pty(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    hist = tmp_path / "history"
    env = dict(os.environ, PYTHONPATH=str(ROOT), SASGLM_HISTORY=str(hist), TERM="xterm")
    child = pexpect.spawn(sys.executable, ["-m", "sasglm"], env=env, encoding="utf-8", timeout=60,
                          dimensions=(50, 150), cwd=str(tmp_path))
    child.expect("sasglm>")
    child.send("data a;\r")                       # incomplete: the REPL keeps reading
    child.send("  x = 41; y = x + 1;\r")
    child.send("run;\r")
    child.expect("WORK.A has 1 observations")
    child.expect("sasglm>")
    child.send("proc print data=a; run;\r")
    child.expect("42")
    child.expect("sasglm>")
    child.send("data b; set nosuch; run;\r")     # an error ...
    child.expect("ERROR")
    child.expect("sasglm>")
    child.send("data c; set a; z = y * 2; run;\r")   # ... and the session goes on with WORK intact
    child.expect("WORK.C has 1 observations")
    child.expect("sasglm>")
    child.send(".datasets\r")
    child.expect("WORK.C: 1 observations")
    child.send("\x04")
    child.expect(pexpect.EOF)
    text = hist.read_text()
    assert "proc print data=a" in text and "set nosuch" in text     # history kept for the next session


def test_repl_plain_mode_when_piped(tmp_path):
    src = "data a; x = 1; run;\n.datasets\nproc print; run;\n"
    res = subprocess.run([sys.executable, "-m", "sasglm", "repl"], input=src, capture_output=True, text=True,
                         cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                            "SASGLM_HISTORY": str(tmp_path / "h")})
    assert "WORK.A: 1 observations" in res.stdout and "Obs" in res.stdout


def test_html_and_rtf_destinations(tmp_path):
    r = run_sas(f"ods html file='{tmp_path / 'r.html'}' style=journal;\nods rtf file='{tmp_path / 'r.rtf'}';\n"
                "title 'T1';\ndata a; do x = 1 to 5; y = x * x; output; end; run;\nproc means data=a; run;\n"
                "proc sgplot data=a; series x=x y=y; run;\nods html close;\nods rtf close;\nods rtf close;\n",
                outdir=str(tmp_path))
    html = (tmp_path / "r.html").read_text()
    assert "<table class=\"sas\"" in html and "T1" in html and "Std Dev" in html and "data:image/png;base64," in html
    assert "border-top: 2px solid #000" in html           # STYLE=JOURNAL: black and white rules
    rtf = (tmp_path / "r.rtf").read_text()
    assert rtf.startswith("{\\rtf1") and rtf.count("{") == rtf.count("}") and "\\row" in rtf
    assert "WARNING: No RTF destinations active." in r.log   # the second close


def test_ods_output_from_genmod_and_glimmix():
    src = ("data a; do id = 1 to 30; b = mod(id, 5) / 5 - 0.4; do t = 1 to 4;\n"
           "y = (mod(id * 7 + t * 3, 10) / 10 < 0.4 + b); output; end; end; run;\n"
           "ods output ParameterEstimates=pe;\n"
           "proc genmod data=a descending; model y = t / dist=bin; run;\n"
           "ods output ParameterEstimates=sol CovParms=cp;\n"
           "proc glimmix data=a method=laplace; class id; model y(event='1') = t / dist=binary s;\n"
           "random intercept / subject=id; run;\n")
    r = run_sas(src)
    pe, sol, cp = r.ds("pe"), r.ds("sol"), r.ds("cp")
    assert {"Parameter", "DF", "Estimate", "StdErr", "LowerWaldCL", "UpperWaldCL", "WaldChiSq",
            "ProbChiSq"} <= set(pe.columns)
    assert {"Effect", "Estimate", "StdErr", "DF", "tValue", "Probt"} <= set(sol.columns)
    assert list(cp.columns)[:4] == ["CovParm", "Subject", "Estimate", "StdErr"]


@needs_shared
def test_course_program_html_report_renders(tmp_path):
    out = tmp_path / "report.html"
    subprocess.run([sys.executable, "-m", "sasglm", "run", str(SHARED / "seed" / "course_program.sas"),
                          "--libname", f"s857={SHARED_DATA}", "--html", str(out)], cwd=tmp_path,
                         capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    html = out.read_text()
    for title in ("Analysis Of GEE Parameter Estimates", "Solutions for Fixed Effects",
                  "Covariance Parameter Estimates", "Type III Tests of Fixed Effects", "Log Odds Ratio Parameter"):
        assert title in html
    assert html.count("data:image/png;base64,") == 1
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed: the page was checked as text only")
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,3000",
                    f"--screenshot={shot}", out.as_uri()], capture_output=True, timeout=120)
    from PIL import Image
    im = Image.open(shot).convert("L")
    hist = im.histogram()
    dark = sum(hist[:128]) / sum(hist)
    assert 0.005 < dark < 0.5          # text and rules drawn, not a blank or black page
