/* Data set options on input: WHERE=, RENAME=, KEEP=; on output: DROP=.
   expect: WORK.OPT */
data src; input a b c; datalines;
1 2 3
4 5 6
7 8 9
;
data opt(drop=c); set src(keep=a c rename=(a=aa) where=(c > 3)); d = aa + c; run;
