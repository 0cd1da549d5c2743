/* Iterative %DO, %DO %WHILE and %DO %UNTIL.
   expect-log: i=1 i=2 i=3
   expect-log: while=3 until=4 */
%macro loops;
  %let out =;
  %do i = 1 %to 3; %let out = &out i=&i; %end;
  %put &out;
  %let w = 0; %do %while(&w < 3); %let w = %eval(&w + 1); %end;
  %let u = 0; %do %until(&u >= 4); %let u = %eval(&u + 2); %end;
  %put while=&w until=&u;
%mend;
%loops
