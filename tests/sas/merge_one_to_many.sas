/* MERGE with BY, one-to-many: the single row's values are retained over the group; IN= flags;
   a BY value in one data set only gives missing values for the other's variables.
   expect: WORK.M */
data a; input id x; datalines;
1 10
2 20
4 40
;
data b; input id y; datalines;
1 100
1 101
1 102
3 300
4 400
;
data m; merge a(in=ina) b(in=inb); by id; fa = ina; fb = inb; run;
