/* Arithmetic with a missing operand gives missing with SAS's NOTE; SUM() and MEAN() skip missing;
   missing compares lower than any number; division by zero gives missing.
   expect: WORK.MV
   expect-log: NOTE: Missing values were generated as a result of performing an operation on missing values.
   expect-log: 1 at 9:9
   expect-log: NOTE: Division by zero detected */
data mv;
  x = .; y = 2;
  a = x + y;
  b = sum(x, y, 3);
  c = mean(x, y, 4);
  lt = (x < -1e10);
  eqm = (x = .);
  z = y / 0;
  n = n(x, y);
  nm = nmiss(x, y);
run;
