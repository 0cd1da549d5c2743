/* && indirection: &&x&i resolves to the value of x1, x2, ...
   expect-log: second=beta */
%let x1 = alpha;
%let x2 = beta;
%let i = 2;
%put second=&&x&i;
