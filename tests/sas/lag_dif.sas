/* LAG and DIF keep their own queue per call site; a LAG executed conditionally skips rows.
   expect: WORK.LG */
data lg;
  input x @@;
  l1 = lag(x);
  l2 = lag2(x);
  d = dif(x);
  if x > 2 then lc = lag(x);
  datalines;
1 4 2 8
;
