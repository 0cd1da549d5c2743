/* Automatic macro variables: &SYSLAST names the newest data set, &SYSERR is 0 after a clean step,
   &SYSCC is 0 while nothing has failed, &SYSDATE9 is a date like 24NOV2026.
   expect-log: last=WORK.AUTO err=0 cc=0
   expect-log: date9 ok */
data auto; x = 1; run;
%put last=&syslast err=&syserr cc=&syscc;
%macro checkdate;
  %if %length(&sysdate9) = 9 and %sysfunc(inputn(&sysdate9, date9.)) > 0 %then %put date9 ok;
  %else %put date9 bad: &sysdate9;
%mend checkdate;
%checkdate
