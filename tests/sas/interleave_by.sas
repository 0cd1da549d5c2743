/* SET of two data sets with BY interleaves them; within a BY value, rows of the first data set
   come first.  END= flags the last row.
   expect: WORK.IL */
data a; input k s $; datalines;
1 a1
3 a3
;
data b; input k s $; datalines;
1 b1
2 b2
3 b3
;
data il; set a b end=last; by k; e = last; run;
