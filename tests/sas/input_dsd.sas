/* INFILE DATALINES DSD: comma-delimited, quoted values keep embedded commas, two commas in a
   row are a missing value; TRUNCOVER keeps a short line short.
   expect: WORK.DSD */
data dsd;
  infile datalines dsd truncover;
  input a b $ c;
  datalines;
1,"x,y",3
4,,6
7,z
;
