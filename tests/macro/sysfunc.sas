/* %SYSFUNC calls DATA step functions, with an optional format.
   expect-log: words=3 date=02JAN2020 */
%put words=%sysfunc(countw(a b c)) date=%sysfunc(mdy(1, 2, 2020), date9.);
