/* %STR keeps a comma as text; %NRSTR also stops & resolution.
   expect-log: list=a,b
   expect-log: raw=&notavar */
%let list = %str(a,b);
%put list=&list;
%put raw=%nrstr(&notavar);
