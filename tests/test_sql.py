"""PROC SQL (the subset in sasglm/procs/sql.py).  The expected values are worked out by hand from the
small tables below and SAS's documented PROC SQL rules (SAS 9.4 SQL Procedure User's Guide): summary
functions per GROUP BY group, groups in sorted order with missing values first, remerging when a detail
column is selected with a summary, joins matching missing keys, INTO storing numbers with BEST8. (right
aligned) unless TRIMMED, SEPARATED BY and numbered ranges trimmed, SQLOBS, NOEXEC after an error."""
from __future__ import annotations

import math

import pytest

from conftest import run_sas

DATA = """data a; length g $3; input id g $ x; datalines;
1 CTL 2
2 TRT 5
3 CTL .
4 TRT 1
5 XX 7
;
data b; input id y; datalines;
1 10
2 20
2 21
6 60
;
"""


def _rows(r, name):
    df = r.ds(name).df
    return [tuple(None if (isinstance(v, float) and math.isnan(v)) else v for v in row)
            for row in df.itertuples(index=False, name=None)]


def test_group_by_summaries_and_printed_report():
    r = run_sas(DATA + """proc sql;
  create table s as select g, count(*) as n, count(x) as nx, sum(x) as s, mean(x) as m, nmiss(x) as nm,
         max(x) - min(x) as rng from a group by g;
  select g, count(*) as n from a group by g order by n desc, g;
  create table c as select min(g) as lo, max(g) as hi, count(distinct g) as k, std(x) as sd from a;
quit;""")
    assert not r.errors and not r.warnings, r.log
    assert _rows(r, "s") == [("CTL", 2.0, 1.0, 2.0, 2.0, 1.0, 0.0), ("TRT", 2.0, 2.0, 6.0, 3.0, 0.0, 4.0),
                             ("XX", 1.0, 1.0, 7.0, 7.0, 0.0, 0.0)]
    assert "NOTE: Table WORK.S created, with 3 rows and 7 columns." in r.log
    (lo, hi, k, sd), = _rows(r, "c")
    assert (lo, hi, k) == ("CTL", "XX", 3.0)
    assert sd == pytest.approx(((2 - 3.75) ** 2 + (5 - 3.75) ** 2 + (1 - 3.75) ** 2 + (7 - 3.75) ** 2) ** 0.5 / 3 ** 0.5)
    rep = [t for t in r.session.tables if t.proc == "SQL"][0]
    assert [(row["g"], row["n"]) for row in rep.rows] == [("CTL", 2.0), ("TRT", 2.0), ("XX", 1.0)]


def test_into_macro_variables_and_sqlobs():
    r = run_sas(DATA + """proc sql noprint;
  select count(*) into :nobs from a;
  select count(distinct g) into :ng trimmed from a;
  select id into :ids separated by ',' from a where x > 1 order by x desc;
  select g, x into :g1-:g9, :x1- from a;
  select distinct g into :ref trimmed from a where g ne "TRT" and g ne 'XX';
quit;
%put &=ref;
%put [&nobs] [&ng] [&ids] &g1 &g5 [&x3] &sqlobs;""")
    assert not r.errors and not r.warnings, r.log
    assert r.session.get_macro_var("nobs") == "       5"          # BEST8., right-aligned
    assert r.session.get_macro_var("ng") == "3"
    assert r.session.get_macro_var("ids") == "5,2,1"
    assert (r.session.get_macro_var("g1"), r.session.get_macro_var("g5")) == ("CTL", "XX")
    assert r.session.get_macro_var("x3") == "."
    assert r.session.get_macro_var("g6") is None
    assert r.session.get_macro_var("ref") == "CTL"
    assert r.session.get_macro_var("sqlobs") == "1"
    assert "REF=CTL" in r.log


def test_joins_match_keys_and_keep_unmatched_rows():
    r = run_sas(DATA + """proc sql;
  create table lj as select a.id, g, y from a left join b on a.id = b.id order by a.id, y;
  create table ij as select a.id, b.y from a inner join b on a.id = b.id order by 1, 2;
  create table cj as select a.id, x, y from a, b where a.id = b.id and y > 10;
  create table fj as select coalesce(a.id, b.id) as id, x, y from a full join b on a.id = b.id order by 1, y;
  create table rj as select b.id, x from a right join b on a.id = b.id order by b.id, x;
quit;""")
    assert not r.errors, r.log
    assert _rows(r, "lj") == [(1.0, "CTL", 10.0), (2.0, "TRT", 20.0), (2.0, "TRT", 21.0), (3.0, "CTL", None),
                              (4.0, "TRT", None), (5.0, "XX", None)]
    assert _rows(r, "ij") == [(1.0, 10.0), (2.0, 20.0), (2.0, 21.0)]
    assert sorted(_rows(r, "cj")) == [(2.0, 5.0, 20.0), (2.0, 5.0, 21.0)]
    assert _rows(r, "fj") == [(1.0, 2.0, 10.0), (2.0, 5.0, 20.0), (2.0, 5.0, 21.0), (3.0, None, None),
                              (4.0, 1.0, None), (5.0, 7.0, None), (6.0, None, 60.0)]
    assert _rows(r, "rj") == [(1.0, 2.0), (2.0, 5.0), (2.0, 5.0), (6.0, None)]


def test_remerge_case_between_like_in_and_distinct():
    r = run_sas(DATA + """proc sql;
  create table dev as select id, x, x - mean(x) as dev from a;
  create table c as select id, case when x is missing then 'none' when x < 3 then 'low' else 'high' end as lvl
    from a where g in ('CTL', 'XX') or x between 4 and 6 order by id;
  create table l as select id from a where g like 'T%' or g like '_X';
  create table d as select distinct g from a where x is not missing;
  create table o as select id, x from a order by x;
quit;""")
    assert not r.errors, r.log
    assert "NOTE: The query requires remerging summary statistics back with the original data." in r.log
    assert _rows(r, "dev") == [(1.0, 2.0, -1.75), (2.0, 5.0, 1.25), (3.0, None, None), (4.0, 1.0, -2.75),
                               (5.0, 7.0, 3.25)]
    assert _rows(r, "c") == [(1.0, "low"), (2.0, "high"), (3.0, "none"), (5.0, "high")]
    assert _rows(r, "l") == [(2.0,), (4.0,), (5.0,)]
    assert _rows(r, "d") == [("CTL",), ("TRT",), ("XX",)]
    assert [row[0] for row in _rows(r, "o")] == [3.0, 4.0, 1.0, 2.0, 5.0]     # missing x sorts first


def test_dataset_options_labels_formats_and_drop():
    r = run_sas(DATA + """proc sql;
  create table t as select id, x * 2 as x2 label='Twice x' format=6.1 from a(where=(x > 1));
  drop table b;
quit;""")
    assert not r.errors, r.log
    assert _rows(r, "t") == [(1.0, 4.0), (2.0, 10.0), (5.0, 14.0)]
    assert r.ds("t").var("x2").label == "Twice x" and r.ds("t").var("x2").format == "6.1"
    assert "NOTE: Table WORK.B has been dropped." in r.log
    assert not r.session.library("work").exists("b")


def test_errors_name_the_problem_and_stop_execution():
    r = run_sas(DATA + """proc sql;
  create table a as select nosuch from a;
  create table z as select id from a;
quit;
proc sql;
  select id from a, b;
  update a set x = 1;
  create table z2 as select id from a;
quit;
proc sql;
  select id from a where sum(x) > 1;
quit;""")
    assert len(r.errors) == 4, r.log
    assert "columns were not found in the contributing tables: nosuch" in r.errors[0]
    assert "Ambiguous reference, column id is in more than one table" in r.errors[1]
    assert "The PROC SQL statement UPDATE is not supported" in r.errors[2]
    assert "Summary functions are restricted to the SELECT and HAVING clauses only" in r.errors[3]
    assert "NOTE: PROC SQL set option NOEXEC and will continue to check the syntax of statements." in r.log
    lib = r.session.library("work")
    assert not lib.exists("z") and not lib.exists("z2")      # not run after the error
    assert r.ds("a").nobs == 5                               # the failed CREATE did not replace A


def test_group_by_without_summary_becomes_order_by():
    r = run_sas(DATA + """proc sql;
  create table g as select id, g from a group by g;
quit;""")
    assert len(r.warnings) == 1 and "transformed into an ORDER BY clause" in r.warnings[0]
    assert [row[1] for row in _rows(r, "g")] == ["CTL", "CTL", "TRT", "TRT", "XX"]


def test_group_by_position_or_expression_gives_one_row_per_group():
    # GROUP BY 1 and GROUP BY upcase(g) name the selected item: no remerge, one row per group
    r = run_sas(DATA + """proc sql;
  create table p as select g, count(*) as n from a group by 1;
  create table u as select upcase(g) as ug, count(*) as n from a group by upcase(g);
  create table v as select g as grp, sum(x) as s from a group by grp;
quit;""")
    assert not r.errors and "remerging" not in r.log, r.log
    assert _rows(r, "p") == [("CTL", 2.0), ("TRT", 2.0), ("XX", 1.0)]
    assert _rows(r, "u") == [("CTL", 2.0), ("TRT", 2.0), ("XX", 1.0)]
    assert _rows(r, "v") == [("CTL", 2.0), ("TRT", 6.0), ("XX", 7.0)]


def test_proc_sql_options_noexec_noerrorstop_outobs():
    r = run_sas(DATA + """proc sql noexec;
  create table n1 as select id from a;
quit;
proc sql noerrorstop;
  create table bad as select nosuch from a;
  create table after as select id from a;
quit;
proc sql outobs=2 stimer;
  create table top as select id from a order by id desc;
quit;""")
    assert len(r.errors) == 1 and "nosuch" in r.errors[0], r.log
    lib = r.session.library("work")
    assert not lib.exists("n1")                                  # NOEXEC: parsed only
    assert lib.exists("after")                                   # NOERRORSTOP: went on after the error
    assert "set option NOEXEC" not in r.log
    assert _rows(r, "top") == [(5.0,), (4.0,)]
    assert r.warnings == ["WARNING: The PROC SQL option STIMER is not supported yet and was ignored.",
                          "WARNING: Statement terminated early due to OUTOBS=2 option."]
