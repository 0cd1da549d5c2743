%macro fit(v, n=2);
  %do i = 1 %to &n;
    data d&i; x = &i * &v; run;
  %end;
  %if &v > 1 %then %put big; %else %put small;
%mend fit;
%fit(3)
%let list = a b c;
%put %scan(&list, 2) %eval(1 + 2) %sysfunc(sqrt(16));
