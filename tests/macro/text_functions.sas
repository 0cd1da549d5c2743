/* %SCAN %SUBSTR %UPCASE %LENGTH %INDEX.
   expect-log: scan=weight substr=age upcase=HEIGHT length=17 index=5 */
%let vars = age weight height;
%put scan=%scan(&vars, 2) substr=%substr(&vars, 1, 3) upcase=%upcase(%scan(&vars, 3)) length=%length(&vars) index=%index(&vars, weight);
