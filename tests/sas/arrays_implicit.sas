/* _NUMERIC_ / _CHARACTER_ arrays with {*}, a character array inferred from its variables, and an
   implicitly subscripted array with DO OVER (the index _I_ is not written out).
   expect: WORK.B */
data a; input x1 x2 c $ x3; datalines;
1 2 z 3
;
data b; set a;
  array nums{*} _numeric_;
  array ch{*} _character_;
  do i = 1 to dim(nums); nums{i} = nums{i} * 10; end;
  array o x1-x3;
  do over o; o = o + 1; end;
  ch{1} = 'q';
run;
