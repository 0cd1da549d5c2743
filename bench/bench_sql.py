"""PROC SQL: a GROUP BY summary over 200,000 rows in 10,000 groups, a remerge and an INTO count, against
PROC MEANS computing the same per-group summary (the baseline) in the same run."""
from __future__ import annotations

from _common import quiet_session, timed

DATA = """data big; call streaminit(1);
  do i = 1 to 200000; g = mod(i, 10000); x = rand('normal'); if mod(i, 97) = 0 then x = .; output; end;
run;
"""
SQL = """proc sql noprint;
  create table s as select g, count(x) as n, mean(x) as m, std(x) as sd, nmiss(x) as nm
    from big group by g order by g;
  create table r as select i, x - mean(x) as dev from big;
  select count(*) into :n from big where x > 1;
quit;
"""
MEANS = "proc means data=big noprint nway; class g; var x; output out=s n=n mean=m std=sd nmiss=nm; run;\n"


def main():
    s = quiet_session()
    s.submit(DATA)
    base = timed(s, MEANS, repeat=3)
    sql = timed(s, SQL, repeat=3)
    print(f"PROC SQL group-by summary + remerge + INTO, 200,000 rows / 10,000 groups: {sql:.2f}s; "
          f"PROC MEANS of the same summary {base:.2f}s, ratio {sql / base:.2f}")


if __name__ == "__main__":
    main()
