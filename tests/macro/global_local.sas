/* %LOCAL keeps a macro's variable from touching the global one of the same name; %GLOBAL inside a
   macro creates a global variable that lives on after the macro ends.
   expect-log: inside: x=local made=yes
   expect-log: after: x=outer made=yes */
%let x = outer;
%macro scopes;
  %local x;
  %global made;
  %let x = local;
  %let made = yes;
  %put inside: x=&x made=&made;
%mend scopes;
%scopes
%put after: x=&x made=&made;
