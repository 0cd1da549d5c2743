/* An unclosed %DO is an ERROR naming the macro.
   expect-error: There were unclosed %DO statements in macro M */
%macro m;
  %do i = 1 %to 2;
    %put &i;
%mend m;
%m
