/* SET inside IF-THEN: `if _n_ = 1 then set stats;` reads the one summary observation once and its values
   stay in the PDV (SET variables are retained) for every row of the main SET, the usual way to bring
   means and standard deviations into a standardising DATA step.  A conditional SET that runs past its
   last observation stops the step: WORK.C reads S only on the second row (x > 15), and the third row's
   SET S hits end of file, so C keeps the first two rows (the first with M and SD missing).
   expect: WORK.B
   expect-log: The data set WORK.C has 2 observations and 4 variables. */
data a; do i = 1 to 4; x = i * 10; output; end; run;
data s; m = 25; sd = 10; run;
data b;
  if _n_ = 1 then set s;
  set a;
  z = (x - m) / sd;
run;
data c; set a; if x > 15 then set s; run;
