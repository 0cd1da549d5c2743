/* Unbounded recursion stops with an ERROR instead of hanging.
   expect-error: Maximum macro nesting depth (50) exceeded while calling R */
%macro r; %r %mend r;
%r
