/* Explicit arrays over numbered variables, DIM, a _TEMPORARY_ array with initial values (not
   written out), character arrays, and the DO index left at stop+1 after the loop.
   expect: WORK.ARR */
data arr;
  array s{3} s1-s3;
  array w{3} _temporary_ (10 20 30);
  array c{2} $ 3 c1 c2;
  do i = 1 to dim(s);
    s{i} = w{i} * i;
  end;
  c{1} = 'abcd';
  c{2} = 'x';
run;
