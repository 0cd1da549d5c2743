/* sasglm demo: a longitudinal trial in long form (datasets/trial.csv, made by
   datasets/make_datasets.py).  Run with:  sasglm run programs/demo.sas --libname demo=datasets  */
libname demo 'datasets';

title1 'sasglm demo';
title2 'Simulated longitudinal trial, 200 subjects x 4 visits';

data trial;
  set demo.trial;
  length arm $ 9;
  if trt = 1 then arm = 'Active';
  else arm = 'Placebo';
  visit2 = visit**2;
  logcount = log(count + 1);
  label resp = 'Responder (1=yes)' count = 'Event count';
run;

proc sort data=trial;
  by descending trt id visit;
run;

/* one row per subject: last observed visit and number of responses */
data subjects;
  set trial;
  by descending trt id;
  retain nresp nobs;
  if first.id then do; nresp = 0; nobs = 0; end;
  if not missing(resp) then do;
    nobs + 1;
    nresp + resp;
  end;
  if last.id then output;
  keep id arm age nresp nobs;
run;

proc means data=trial n mean std maxdec=3;
  class arm visit;
  var resp count;
run;

proc freq data=trial;
  tables arm*resp / chisq;
run;

proc print data=subjects(obs=8) noobs;
run;

proc contents data=subjects varnum;
run;
