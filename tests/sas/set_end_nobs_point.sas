/* SET with END= and NOBS= (known before the first read), and POINT= random access with STOP.
   expect: WORK.PT */
data src; do i = 1 to 5; v = i * 10; output; end; run;
data pt;
  do p = nobs to 1 by -2;
    set src point=p nobs=nobs;
    output;
  end;
  stop;
run;
