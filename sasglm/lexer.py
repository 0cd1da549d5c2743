"""Split SAS source into statements.

SAS has no reserved words and a statement is everything up to the next semicolon that is not
inside a quoted string or a comment.  This first stage removes ``/* */`` comments and ``* ...;``
statement comments (blanking them so columns stay true), cuts the source into statements with
their line and column, and reads DATALINES/CARDS blocks raw.  Each statement is later parsed on
its own by the Lark grammar, which is what lets the session report an error and go on.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_DATALINES = re.compile(r"^\s*(datalines|cards|lines)(4?)\s*$", re.I)


@dataclass
class Statement:
    text: str            # statement text without the terminating ';' (comments blanked)
    line: int            # 1-based line of the first non-blank character
    col: int             # 1-based column of the first non-blank character
    end_line: int        # line of the terminating ';'
    datalines: list[str] | None = None
    offset: int = 0          # index of the first character in the source that was split
    end_offset: int = 0      # index just after the statement (after DATALINES when present)
    first_word: str = field(default="", init=False)

    def __post_init__(self):
        m = re.match(r"\s*(%?[A-Za-z_][A-Za-z0-9_]*)", self.text)
        self.first_word = m.group(1).lower() if m else ""


class LexError(Exception):
    def __init__(self, message: str, line: int, col: int):
        super().__init__(message)
        self.line, self.col = line, col


def split_statements(source: str, first_line: int = 1) -> tuple[list[Statement], list[LexError]]:
    """Cut ``source`` into statements.  Returns (statements, errors)."""
    src = source.replace("\r\n", "\n").replace("\r", "\n")
    n = len(src)
    stmts: list[Statement] = []
    errors: list[LexError] = []
    # line starts, to turn offsets into (line, col)
    line_starts = [0] + [m.end() for m in re.finditer("\n", src)]

    def pos(off: int) -> tuple[int, int]:
        lo, hi = 0, len(line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if line_starts[mid] <= off:
                lo = mid
            else:
                hi = mid - 1
        return lo + first_line, off - line_starts[lo] + 1

    buf: list[str] = []
    start = None          # offset of first non-blank char of the current statement
    i = 0
    at_stmt_start = True
    while i < n:
        c = src[i]
        if c == "/" and i + 1 < n and src[i + 1] == "*":
            j = src.find("*/", i + 2)
            if j < 0:
                line, col = pos(i)
                errors.append(LexError("Unterminated comment.", line, col))
                j = n - 2
            chunk = src[i:j + 2]
            buf.append(re.sub(r"[^\n]", " ", chunk))
            i = j + 2
            continue
        if at_stmt_start and c == "*" or (at_stmt_start and c == "%" and src.startswith("%*", i)):
            # statement comment: up to the next ';' (quotes inside are not honoured by SAS either)
            j = src.find(";", i)
            if j < 0:
                j = n - 1
            buf.append(re.sub(r"[^\n]", " ", src[i:j + 1]))
            i = j + 1
            continue
        if c in "'\"":
            j = i + 1
            while True:
                k = src.find(c, j)
                if k < 0:
                    line, col = pos(i)
                    errors.append(LexError("Quoted string not terminated.", line, col))
                    k = n - 1
                    break
                if k + 1 < n and src[k + 1] == c:
                    j = k + 2
                    continue
                break
            if start is None:
                start = i
            at_stmt_start = False
            buf.append(src[i:k + 1])
            i = k + 1
            continue
        if c == ";":
            text = "".join(buf)
            if start is not None:
                line, col = pos(start)
                end_line, _ = pos(i)
                stmt_text = text.lstrip()
                st = Statement(stmt_text, line, col, end_line, offset=start, end_offset=i + 1)
                stmts.append(st)
                m = _DATALINES.match(stmt_text)
                if m:
                    four = m.group(2) == "4"
                    # data start on the next line
                    nl = src.find("\n", i)
                    data_start = n if nl < 0 else nl + 1
                    lines = []
                    p = data_start
                    found_end = False
                    while p < n:
                        e = src.find("\n", p)
                        e = n if e < 0 else e
                        raw = src[p:e]
                        if four:
                            if raw.strip().startswith(";;;;"):
                                p = e + 1
                                found_end = True
                                break
                        elif ";" in raw:
                            p = e + 1
                            found_end = True
                            break
                        lines.append(raw)
                        p = e + 1
                    st.datalines = lines
                    st.end_offset = p
                    st.datalines_complete = found_end  # type: ignore[attr-defined]
                    buf = []
                    start = None
                    at_stmt_start = True
                    i = p
                    continue
            buf = []
            start = None
            at_stmt_start = True
            i += 1
            continue
        if start is None and not c.isspace():
            start = i
            at_stmt_start = False
        buf.append(c)
        i += 1
    tail = "".join(buf)
    if tail.strip():
        line, col = pos(start if start is not None else n - 1)
        stmts.append(Statement(tail.lstrip(), line, col, pos(n - 1)[0], offset=start if start is not None else n,
                               end_offset=n))
        stmts[-1].unterminated = True  # type: ignore[attr-defined]
    return stmts, errors
