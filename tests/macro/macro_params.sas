/* %MACRO with positional and keyword parameters and defaults; MPRINT shows the generated code.
   expect-log: MPRINT(SHOW):   data shown;
   expect-log: size=3 unit=cm */
options mprint;
%macro show(n, unit=cm);
  data shown; x = &n; run;
  %put size=&n unit=&unit;
%mend show;
%show(3)
