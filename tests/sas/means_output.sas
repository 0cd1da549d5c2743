/* PROC MEANS with CLASS and OUTPUT OUT= named statistics: _TYPE_ 0 overall row, then one row
   per class level.
   expect: WORK.MO */
data h; input g $ x; datalines;
a 1
a 3
b 5
;
proc means data=h noprint; class g; var x; output out=mo mean=mx n=nx; run;
