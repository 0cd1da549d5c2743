data a; call streaminit(1);
  do id = 1 to 30; trt = mod(id, 2); b = rand('normal');
    do t = 1 to 4; y = rand('bernoulli', 1 / (1 + exp(-(-0.5 + 0.3 * t + 0.5 * trt + b)))); c = rand('poisson', 2); output; end;
  end;
run;
proc genmod data=a descending;
  class id trt (ref='0') t / param=ref;
  model y = t trt t*trt / dist=binomial link=logit type3 wald;
  repeated subject=id / withinsubject=t type=exch corrw modelse;

  estimate 'trt' trt 1 / exp;
  store s1;
run;
proc genmod data=a; class trt; model c = trt t / dist=poisson offset=t type3; output out=o pred=p resraw=r; run;
proc plm source=s1; score data=a out=sc / ilink; run;
