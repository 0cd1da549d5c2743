/* SELECT with an operand, several values in one WHEN, OTHERWISE; a character variable's length
   comes from its first assignment ('low' -> length 3, so 'high' is truncated).
   expect: WORK.SEL */
data sel;
  do x = 1 to 4;
    select (x);
      when (1, 2) grp = 'low';
      when (3) grp = 'high';
      otherwise grp = 'other';
    end;
    output;
  end;
run;
