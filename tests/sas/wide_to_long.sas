/* Wide to long with explicit OUTPUTs and DROP, as in the course program's epilepsy step.
   expect: WORK.LONG */
data wide; input id y0 y1 y2; datalines;
1 5 6 7
2 8 9 10
;
data long;
  set wide;
  time = 0; y = y0; output;
  time = 1; y = y1; output;
  time = 2; y = y2; output;
  drop y0-y2;
run;
