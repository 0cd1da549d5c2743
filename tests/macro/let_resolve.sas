/* %LET and &name resolution in code; the '.' delimiter; double quotes resolve, single quotes do not.
   expect-log: value=abc-1 text=abc &v
   expect-log: SYMBOLGEN:  Macro variable V resolves to abc */
options symbolgen;
%let v = abc;
%let n = 1;
data _null_; put "value=&v.-&n text=&v " '&v'; run;
