/* Date functions: MDY, YEAR/MONTH/DAY, INTCK, INTNX, date literals.
   expect: WORK.DF */
data df;
  d = mdy(3, 15, 2021);
  y = year(d); m = month(d); dd = day(d);
  n = intck('month', '01jan2021'd, d);
  nx = intnx('month', d, 1);
  lit = '01jan1960'd;
run;
