/* %IF/%THEN/%ELSE with %DO blocks; MLOGIC reports the condition.
   expect-log: MLOGIC(CHECK):  %IF condition &x > 10 is FALSE
   expect-log: small 5 */
options mlogic;
%macro check(x);
  %if &x > 10 %then %do; %put big &x; %end;
  %else %do; %put small &x; %end;
%mend;
%check(5)
