data a; length g $3; input id g $ x; datalines;
1 CTL 2
2 TRT 5
3 CTL .
;
data b; input id y; datalines;
1 10
2 20
;
proc sql noprint;
  create table s as select g, count(*) as n, sum(x) as s from a group by g having calculated n > 1 order by 2 desc;
  select a.id, b.y into :v separated by ' ' from a left join b on a.id = b.id where y is not null;
  create table c as select id, case g when 'CTL' then 1 else 0 end as f, calculated f * 2 as f2 from a(keep=id g) as q;
  select g, x, x/sum(x) as p format=5.2, upcase(g) || 'z' as u from a where x between 0 and 9 order by g desc, x;
  select distinct g into :g1- from a where g like 'C%' or x in (1, 2) or x is missing;
  drop table s;
quit;
