"""PROC IMPORT / EXPORT of CSV text: SAS's naming of awkward headers and its column types.

Reference: SAS's PROC IMPORT names a column whose header is empty VARn (n its position) and turns
characters that cannot appear in a V7 name into underscores (so R's `ph.ecog` becomes `ph_ecog`);
a column holding any non-numeric text (R's `NA`) is character. The first case is the layout R's
`write.csv` gives (an unnamed row-number column), as in the CAMIS negative binomial example.
"""
from __future__ import annotations

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
