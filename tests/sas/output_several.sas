/* Explicit OUTPUT to several data sets with their own KEEP= options; subsetting IF and DELETE
   stop the iteration without output.
   expect: WORK.EVEN */
data even(keep=i) odd(keep=i sq);
  do i = 1 to 6;
    sq = i * i;
    if mod(i, 2) = 0 then output even;
    else output odd;
  end;
run;
