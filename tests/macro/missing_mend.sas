/* A %MACRO without %MEND is an ERROR naming the macro and the line.
   expect-error: Missing %MEND for macro BROKEN (defined at line 3) */
%macro broken;
  data a; run;
