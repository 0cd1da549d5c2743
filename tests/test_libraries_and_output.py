"""Libraries (sas7bdat/csv/parquet/xpt read, parquet write, case-insensitive names), the --json
contract, titles, and the utility PROCs' tables."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, SHARED_DATA, needs_shared, run_sas


def test_parquet_write_and_read_back_keeps_metadata(tmp_path):
    r = run_sas(f"libname out '{tmp_path}';\n"
                "data out.Keep; length name $ 5; name = 'abc'; x = 1.5; label x = 'The x'; format x 8.2; run;\n"
                "data back; set out.keep; run;\n")
    assert not r.errors, r.log
    files = list(tmp_path.iterdir())
    assert [f.name for f in files] == ["keep.parquet"]          # no temporary file left behind
    ds = r.ds("back")
    assert ds.var("x").label == "The x" and ds.var("x").format == "8.2" and ds.var("name").length == 5


def test_csv_and_xpt_read(tmp_path):
    pd.DataFrame({"A": [1, 2], "B": ["x", None]}).to_csv(tmp_path / "Mixed.CSV", index=False)
    r = run_sas(f"libname d '{tmp_path}';\ndata m; set d.mixed; run;\n")
    assert not r.errors, r.log
    ds = r.ds("m")
    assert ds.df["A"].tolist() == [1.0, 2.0] and ds.df["B"].tolist() == ["x", ""]


@needs_shared
def test_sas7bdat_labels():
    r = run_sas(f"libname s '{SHARED_DATA}';\ndata e; set s.epilepsy; run;\nproc contents data=e; run;\n")
    ds = r.ds("e")
    assert ds.nobs == 59 and ds.var("ID").label == "id"
    assert "Alphabetic List of Variables and Attributes" in r.out


def test_json_contract(tmp_path):
    prog = tmp_path / "p.sas"
    prog.write_text("title1 'First';\ntitle2 'Second';\ndata a; input g $ x; datalines;\na 1\nb .\n;\n"
                    "proc means data=a n mean; var x; run;\ntitle2;\nproc freq data=a; tables g; run;\n")
    out = tmp_path / "t.json"
    res = subprocess.run([sys.executable, "-m", "sasglm", "run", str(prog), "--json", str(out)],
                         capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(ROOT),
                                                                              "PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stderr
    tables = json.loads(out.read_text())["tables"]
    means, freq = tables
    assert means["proc"] == "MEANS" and means["name"] == "Summary"
    assert means["titles"] == ["First", "Second"]
    assert means["rows"][0]["N"] == 1 and means["rows"][0]["Mean"] == 1
    assert freq["name"] == "OneWayFreqs" and freq["titles"] == ["First"]
    assert [r["g"] for r in freq["rows"]] == ["a", "b"] and freq["rows"][1]["CumPercent"] == 100


def test_freq_chisq_matches_scipy():
    from scipy.stats import chi2_contingency
    r = run_sas("data t; do a = 1 to 2; do b = 1 to 3; do k = 1 to a * b + b; output; end; end; end; run;\n"
                "proc freq data=t; tables a*b / chisq; run;\n")
    tab = np.array([[1 * 1 + 1, 1 * 2 + 2, 1 * 3 + 3], [2 + 1, 4 + 2, 6 + 3]])
    x2, p, dof, _ = chi2_contingency(tab, correction=False)
    chi = [t for t in r.session.tables if t.name == "ChiSq"][0]
    row = chi.rows[0]
    assert row["DF"] == dof and row["Value"] == pytest.approx(x2) and row["Prob"] == pytest.approx(p)


def test_means_statistics_against_numpy():
    r = run_sas("data a; do i = 1 to 11; x = i ** 1.5; output; end; run;\n"
                "proc means data=a n mean std min max median q1 q3 stderr; var x; run;\n")
    x = np.arange(1, 12) ** 1.5
    row = r.session.tables[0].rows[0]
    assert row["Mean"] == pytest.approx(x.mean()) and row["StdDev"] == pytest.approx(x.std(ddof=1))
    assert row["Median"] == pytest.approx(x[5])
    # SAS PCTLDEF=5: n*p = 2.75 -> the 3rd ordered value; n*0.75 = 8.25 -> the 9th
    assert row["Q1"] == pytest.approx(x[2]) and row["Q3"] == pytest.approx(x[8])


def test_means_output_autoname_and_empty_names():
    # SAS: `mean= std=` with no names names both statistics after the variable, so the second is
    # dropped with a WARNING; AUTONAME (after the slash) gives y_Mean, y_StdDev.  It used to be ignored,
    # leaving a variable called "std" that held the means.
    r = run_sas("data a; do i = 1 to 10; g = mod(i, 2); y = i * i; output; end; run;\n"
                "proc means data=a noprint nway; class g; var y; output out=m mean= std=; run;\n"
                "proc means data=a noprint nway; class g; var y; output out=m2 mean= std= / autoname; run;\n")
    assert r.warnings == ["WARNING: Variable y already exists on file WORK.M."]
    ys = np.arange(1, 11) ** 2.0
    odd, even = ys[0::2], ys[1::2]
    assert list(r.ds("m").columns) == ["g", "_TYPE_", "_FREQ_", "y"]
    assert r.ds("m").df["y"].tolist() == pytest.approx([even.mean(), odd.mean()])
    m2 = r.ds("m2").df
    assert list(m2.columns) == ["g", "_TYPE_", "_FREQ_", "y_Mean", "y_StdDev"]
    assert m2["y_StdDev"].tolist() == pytest.approx([even.std(ddof=1), odd.std(ddof=1)])


def test_print_by_groups_and_titles():
    r = run_sas("title 'My Title';\ndata a; input g x; datalines;\n1 5\n1 6\n2 7\n;\n"
                "proc print data=a; by g; var x; sum x; run;\n")
    assert "My Title" in r.out and "g=1" in r.out and "g=2" in r.out
    prints = [t for t in r.session.tables if t.name == "Print"]
    assert len(prints) == 2 and prints[0].rows[-1]["x"] == "11"


def test_transpose_with_by_and_id():
    r = run_sas("data l; input id t $ v; datalines;\n1 a 1\n1 b 2\n2 a 3\n2 b 4\n;\n"
                "proc transpose data=l out=w; by id; id t; var v; run;\n")
    w = r.ds("w")
    assert list(w.columns) == ["id", "_NAME_", "a", "b"]
    assert w.df["b"].tolist() == [2.0, 4.0]


def test_ods_output_and_select():
    r = run_sas("data a; x = 1; run;\nods output Summary=msum;\nods listing close;\n"
                "proc means data=a; var x; run;\nods listing;\nproc print data=msum; run;\n")
    assert "Analysis Variable" not in r.out.split("Obs")[0] if "Obs" in r.out else True
    assert r.ds("msum").df["N"].tolist() == [1.0]
