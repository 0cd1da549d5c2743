/* CALL SYMPUTX in a DATA step sets a macro variable for the code after the step; SYSLAST names the
   last data set created.
   expect-log: count=4 last=WORK.FOUR */
data four; do i = 1 to 4; output; end; run;
data _null_; set four end=eof; if eof then call symputx('count', _n_); run;
data four; set four; run;
%put count=&count last=&syslast;
