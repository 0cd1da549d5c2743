/* KEEP= and DROP= data set options take variable lists: a numbered range (y2-y3), a name range in
   data set order (b--c) and a prefix (z:), on input and on output, as in BIOS 667's
   `data A (keep = id y one age ms msxage count y7-y10);`.
   expect: WORK.OUT */
data src; input id y1 y2 y3 a b c za zb; datalines;
1 10 20 30 1 2 3 7 8
2 11 21 31 4 5 6 9 0
;
data out (keep = id y2-y3 b--c t); set src (drop = z: y1); t = y2 + b; run;
