/* BY-group processing: FIRST./LAST. for two BY variables (FIRST.b is set when a changes too).
   expect: WORK.FL */
data d; input a b v; datalines;
1 1 5
1 1 6
1 2 7
2 2 8
2 2 9
;
data fl; set d; by a b; fa = first.a; la = last.a; fb = first.b; lb = last.b; run;
