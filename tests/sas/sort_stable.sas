/* PROC SORT BY DESCENDING keeps the input order within groups (EQUALS), missing sorts lowest;
   NODUPKEY keeps the first row of each key.
   expect: WORK.S2 */
data s; input g v; datalines;
1 1
. 2
2 3
1 4
2 5
. 6
;
proc sort data=s out=s1; by descending g; run;
proc sort data=s1 out=s2 nodupkey; by descending g; run;
