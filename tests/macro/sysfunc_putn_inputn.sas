/* %SYSFUNC's PUTN/PUTC format a value with a format given as text; INPUTN/INPUTC read one with an
   informat; an unreadable value gives a missing value and a NOTE.
   expect-log: putn=30JUN2017 inputn=21915 putc=[ab]
   expect-log: bad=.
   expect-log: NOTE: Invalid argument to function INPUTN at line 7. */
%put putn=%sysfunc(putn(21000, date9.)) inputn=%sysfunc(inputn(01jan2020, date9.)) putc=[%sysfunc(putc(ab, $5.))];
%put bad=%sysfunc(inputn(abc, 8.));
