/* DO UNTIL runs at least once and tests at the bottom; DO WHILE tests at the top;
   iterative DO with BY and a list form; LEAVE and CONTINUE.
   expect: WORK.LOOPS */
data loops;
  u = 10; do until (u > 5); u = u + 1; end;
  w = 10; do while (w < 5); w = w + 1; end;
  s = 0; do k = 10 to 1 by -3; s = s + k; end;
  t = 0; do j = 2, 5, 7; t = t + j; end;
  m = 0; do q = 1 to 100; if q > 4 then leave; if q = 2 then continue; m = m + q; end;
run;
