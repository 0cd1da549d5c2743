/* OPTIONS MPRINT MLOGIC SYMBOLGEN write the generated code, macro logic and resolutions to the log.
   expect-log: MLOGIC(SHOW):  Beginning execution.
   expect-log: MLOGIC(SHOW):  Parameter N has value 3
   expect-log: SYMBOLGEN:  Macro variable N resolves to 3
   expect-log: MPRINT(SHOW):   data d;
   expect-log: MLOGIC(SHOW):  Ending execution. */
options mprint mlogic symbolgen;
%macro show(n);
  data d; x = &n; run;
%mend show;
%show(3)
