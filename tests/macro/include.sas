/* %INCLUDE runs another file's code in the session.
   expect-log: included=yes */
%include 'include_target.sas.inc';
%put included=&inc;
