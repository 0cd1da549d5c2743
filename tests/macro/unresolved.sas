/* An unresolved reference is SAS's WARNING and the text is kept.
   expect-log: WARNING: Apparent symbolic reference NOPE not resolved.
   expect-log: value=&nope */
%put value=&nope;
