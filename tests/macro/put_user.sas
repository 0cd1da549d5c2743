/* %PUT _USER_ lists the user's global macro variables.
   expect-log: GLOBAL FIRST one
   expect-log: GLOBAL SECOND two */
%let first = one;
%let second = two;
%put _user_;
