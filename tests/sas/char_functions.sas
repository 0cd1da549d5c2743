/* Character functions: SUBSTR, UPCASE, SCAN, CATX, CATS, TRANWRD, COMPRESS, INDEX, LENGTH, STRIP,
   PUT with a format, INPUT with an informat, and || concatenation of a padded variable.
   expect: WORK.CF */
data cf;
  length s $ 12;
  s = 'Hello World';
  a = substr(s, 7, 3);
  b = upcase(scan(s, 2));
  c = catx('-', 'x', ' y ', 'z');
  d = tranwrd(s, 'World', 'SAS');
  e = compress('a b  c');
  f = index(s, 'World');
  g = length(s);
  h = put(3.14159, 8.2);
  i = input('1,234', comma5.);
  j = cats('p', 12);
  k = s || '!';
run;
