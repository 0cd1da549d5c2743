"""PROC IMPORT / EXPORT of CSV text: SAS's naming of awkward headers and its column types.

Reference: SAS's PROC IMPORT names a column whose header is empty VARn (n its position) and turns
characters that cannot appear in a V7 name into underscores (so R's `ph.ecog` becomes `ph_ecog`);
a column holding any non-numeric text (R's `NA`) is character. The first case is the layout R's
`write.csv` gives (an unnamed row-number column), as in the CAMIS negative binomial example.
"""
from __future__ import annotations

import numpy as np

from conftest import run_sas


def test_empty_header_dotted_names_and_types(tmp_path):
    (tmp_path / "d.csv").write_text('"","grp","ph.ecog","wt.loss","y"\n'
                                    '"1",0,1,NA,25\n"2",1,0,15,0\n"3",1,2,11,3\n')
    r = run_sas("proc import datafile='d.csv' out=d dbms=csv replace; getnames=yes; run;\n"
                "proc means data=d noprint; var y; output out=m sum=s; run;\n", cwd=tmp_path)
    assert not r.errors, r.log
    df = r.ds("d").df
    assert list(df.columns) == ["VAR1", "grp", "ph_ecog", "wt_loss", "y"]
    assert df["VAR1"].tolist() == [1, 2, 3]
    assert r.ds("d").var("wt_loss").is_char and df["wt_loss"].tolist()[0] == "NA"
    assert not r.ds("d").var("ph_ecog").is_char
    assert r.ds("m").df["s"].iloc[0] == 28


def test_export_then_import_round_trip(tmp_path):
    r = run_sas("data a; length g $3; input g $ x; datalines;\nabc 1.5\nde 2\n;\n"
                "proc export data=a outfile='a.csv' dbms=csv replace; run;\n"
                "proc import datafile='a.csv' out=b dbms=csv replace; run;\n", cwd=tmp_path)
    assert not r.errors, r.log
    b = r.ds("b").df
    assert b["g"].tolist() == ["abc", "de"] and b["x"].tolist() == [1.5, 2.0]


def test_guessingrows_decides_types_and_lengths(tmp_path):
    # SAS's PROC IMPORT types each column and sets character lengths from the first GUESSINGROWS
    # (default 20) records: text after them in a numeric column is invalid data (missing, with the
    # DATA-step NOTE and PDV), longer text in a character column is cut to the guessed length.
    lines = ["id,arm,score,day"] + [f"{i},Active,{i * 2},2020-01-{i:02d}" for i in range(1, 22)]
    lines += ["22,Placebo,NA,2020-02-01"]
    (tmp_path / "g.csv").write_text("\n".join(lines) + "\n")
    r = run_sas("proc import datafile='g.csv' out=g dbms=csv replace; run;\n"
                "proc import datafile='g.csv' out=h dbms=csv replace; guessingrows=max; run;\n",
                cwd=tmp_path)
    assert not r.errors, r.log
    g, h = r.ds("g"), r.ds("h")
    assert g.var("arm").length == 6 and g.df["arm"].tolist()[-1] == "Placeb"
    assert not g.var("score").is_char and np.isnan(g.df["score"].iloc[-1])
    assert "NOTE: Invalid data for score in line 23 12-13." in r.log
    assert "id=22 arm=Placeb score=. day=2020-02-01 _ERROR_=1 _N_=22" in r.log
    # ISO dates are read as SAS dates (days since 1 Jan 1960) with format YYMMDD10.
    assert g.var("day").format == "YYMMDD10." and g.df["day"].iloc[0] == 21915
    assert h.var("arm").length == 7 and h.df["arm"].tolist()[-1] == "Placebo"
    assert h.var("score").is_char and h.df["score"].tolist()[-1] == "NA"


def test_datafile_and_outfile_take_a_fileref(tmp_path):
    # DATAFILE=/OUTFILE= name a fileref when unquoted (the CAMIS GLIMMIX-to-R programs use
    # `filename scenario temp; proc http ... out=scenario; proc import datafile=scenario ...`);
    # FILENAME fileref TEMP gives a scratch file.  An unassigned fileref is an ERROR naming it.
    (tmp_path / "in.csv").write_text("id,x\n1,2.5\n2,4\n")
    r = run_sas("filename src 'in.csv';\n"
                "proc import datafile=src out=a dbms=csv replace; run;\n"
                "filename scratch temp;\n"
                "proc export data=a outfile=scratch dbms=csv replace; run;\n"
                "proc import datafile=scratch out=b dbms=csv replace; run;\n"
                "proc import datafile=nosuch out=c dbms=csv replace; run;\n", cwd=tmp_path)
    assert len(r.errors) == 1 and "No logical assign for filename NOSUCH" in r.errors[0], r.log
    assert r.ds("a").df["x"].tolist() == [2.5, 4.0]
    assert r.ds("b").df["x"].tolist() == [2.5, 4.0] and r.ds("b").df["id"].tolist() == [1, 2]
