/* INPUT: list input with $, column input, formatted input (comma and date informats),
   +n pointer control, and @@ to read several observations from one line.
   expect: WORK.INP */
data inp;
  input name $ 1-6 age 8-9 @11 amt comma6. +1 d date9.;
  format d date9.;
  datalines;
alice  23 1,234 01JAN2020
bob    31 10,000 15MAR2021
;
