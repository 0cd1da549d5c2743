/* RETAIN with an initial value, the sum statement (implicitly retained, missing treated as 0),
   and a non-retained variable reset to missing at the top of each iteration.
   expect: WORK.R */
data r;
  input x @@;
  retain prev 5;
  total + x;
  if _n_ = 1 then flag = 1;
  out = prev;
  prev = x;
  datalines;
1 . 3 4
;
