/* %EVAL does integer arithmetic; %SYSEVALF floating point and BOOLEAN.
   expect-log: eval=3 sysevalf=3.5 bool=1 */
%put eval=%eval(7/2) sysevalf=%sysevalf(7/2) bool=%sysevalf(0.5 < 1, boolean);
