"""The INPUT statement: list, column, formatted and modified list input over DATALINES or an
INFILE, with @, @@, @n, +n, /, DSD, DLM=, FIRSTOBS=, OBS=, MISSOVER, TRUNCOVER, FLOWOVER."""
from __future__ import annotations

import math

from .. import ast as A
from . import formats as F
from .runtime import Notes, StopStep


def read_quoted(text: str, i: int) -> tuple[str, int]:
    """A double-quoted DSD field starting at text[i] == '"': its value ("" inside stands for one quote)
    and the index just after the closing quote."""
    j, buf, n = i + 1, [], len(text)
    while j < n:
        if text[j] == '"':
            if j + 1 < n and text[j + 1] == '"':
                buf.append('"')
                j += 2
                continue
            return "".join(buf), j + 1
        buf.append(text[j])
        j += 1
    return "".join(buf), j


class Reader:
    def __init__(self, records: list[str], specs: list[A.Input], pdv_types: dict[str, str],
                 options: dict | None, log, source_name: str):
        opts = options or {}
        self.records = records
        first = int(opts.get("firstobs", 1) or 1)
        last = opts.get("obs")
        self.pos_rec = first - 1
        self.end_rec = min(len(records), int(last)) if last is not None else len(records)
        self.specs = specs
        self.types = pdv_types
        self.log = log
        self.source_name = source_name
        self.dsd = bool(opts.get("dsd"))
        dlm = opts.get("dlm", opts.get("delimiter"))
        if isinstance(dlm, str) and dlm.lower() in ("'09'x", "09x"):
            dlm = "\t"
        self.dlm = dlm if isinstance(dlm, str) else ("," if self.dsd else " ")
        self.missover = bool(opts.get("missover"))
        self.truncover = bool(opts.get("truncover"))
        self.stopover = bool(opts.get("stopover"))
        self.line: str | None = None       # current record
        self.line_no = 0
        self.line_base = 0                 # program line before the first in-stream record
        self.col = 0                       # 0-based pointer in the line
        self.hold = None                   # None | '@' | '@@'
        self.records_read = 0
        self.went_new_line = False
        self.lost_card = False
        self.notes = Notes()               # the step's run-time Notes (the runner passes its own)
        self.tok_start: int | None = None  # 0-based column where the last list-input token began
        self.err_lines: dict[int, str] = {}  # records with invalid data in this iteration

    # --------------------------------------------------------------- records
    def _next_record(self, at_start: bool):
        if self.pos_rec >= self.end_rec:
            if at_start:
                raise StopStep
            self.lost_card = True
            raise StopStep
        self.line = self.records[self.pos_rec]
        self.line_no = self.pos_rec + 1 + self.line_base
        self.pos_rec += 1
        self.records_read += 1
        self.col = 0

    def _skip_delims(self):
        line = self.line or ""
        if self.dlm == " ":
            while self.col < len(line) and line[self.col] in " \t":
                self.col += 1
        else:
            while not self.dsd and self.col < len(line) and line[self.col] in self.dlm:
                self.col += 1

    def _at_eol(self) -> bool:
        line = self.line or ""
        if self.dlm == " ":
            return line[self.col:].strip() == ""
        return self.col >= len(line) and not (self.dsd and self._pending_empty)

    def _list_token(self) -> str | None:
        """Next list-input token; None when the line is exhausted."""
        line = self.line or ""
        if self.dsd:
            if self.col > len(line) or (self.col == len(line) and not self._pending_empty):
                return None
            self._pending_empty = False
            self.tok_start = self.col
            if self.col < len(line) and line[self.col] == '"':
                tok, j = read_quoted(line, self.col)
                self.col = j
            else:
                j = self.col
                while j < len(line) and line[j] not in self.dlm:
                    j += 1
                tok = line[self.col:j]
            if self.col < len(line) and self.col <= len(line):
                pass
            if j < len(line) and line[j] in self.dlm:
                self.col = j + 1
                self._pending_empty = self.col == len(line)
            else:
                self.col = len(line) + 1
            return tok
        self._skip_delims()
        if self.col >= len(line):
            return None
        self.tok_start = self.col
        j = self.col
        seps = " \t" if self.dlm == " " else self.dlm
        while j < len(line) and line[j] not in seps:
            j += 1
        tok = line[self.col:j]
        self.col = j
        return tok

    # --------------------------------------------------------------- reading
    def read(self, spec_index: int) -> tuple:
        st = self.specs[spec_index]
        if self.hold is None or self.line is None:
            self._next_record(True)
            self._pending_empty = False
        elif self.hold == "@@" and self._at_eol():
            self._next_record(True)
            self._pending_empty = False
        self.hold = None
        values: list = []
        for item in st.items:
            kind = item[0]
            if kind == "var":
                values.append(self._read_value(item[1], item[2], item[3]))
            elif kind == "varrange":
                from .compiler import numbered_range
                for n in numbered_range(item[1], item[2]):
                    values.append(self._read_value(n, item[3], item[4]))
            elif kind == "group":
                spec = F.parse_format(item[2])
                for n in item[1]:
                    values.append(self._read_value(n, bool(spec and spec.is_char), ("formatted", item[2])))
            elif kind == "column":
                _, name, is_char, a, b = item
                line = self.line or ""
                text = line[a - 1:b] if a - 1 < len(line) else ""
                self.col = b
                self.tok_start = None
                values.append(self._convert(name, text, is_char or self.types.get(name.lower()) == "C", None))
            elif kind == "at":
                self.col = item[1] - 1
            elif kind == "plus":
                self.col += item[1]
            elif kind == "slash":
                self._next_record(False)
            elif kind == "hold1":
                self.hold = "@"
            elif kind == "hold2":
                self.hold = "@@"
        return tuple(values)

    def _read_value(self, name, is_char, fmt):
        is_char = is_char or self.types.get(name.lower()) == "C"
        if fmt is not None and fmt[0] == "formatted":
            spec = F.parse_format(fmt[1])
            width = spec.width if spec and spec.width else (8 if is_char else 12)
            line = self.line or ""
            if self.col >= len(line) and not (self.truncover or self.missover):
                self.went_new_line = True
                self._next_record(False)
                line = self.line or ""
            text = line[self.col:self.col + width]
            self.col += width
            return self._convert(name, text, is_char or bool(spec and spec.is_char), spec)
        spec = F.parse_format(fmt[1]) if fmt is not None else None
        tok = self._list_token()
        while tok is None:
            if self.missover or self.truncover:
                return "" if is_char else math.nan
            if self.stopover:
                raise StopStep
            self.went_new_line = True
            self._next_record(False)
            self._pending_empty = False
            tok = self._list_token()
        if is_char:
            width = spec.width if spec and spec.width else None
            return tok[:width] if width else tok
        return self._convert(name, tok, False, spec)

    def _convert(self, name, text, is_char, spec):
        if is_char:
            return text.strip() if not (spec and spec.name == "CHAR") else text.rstrip()
        t = text.strip()
        start, self.tok_start = self.tok_start, None
        if self.dsd and t == "":
            return math.nan
        try:
            return F.read_numeric(t, spec)
        except F.InvalidData:
            a = (start if start is not None else (self.line or "").find(t)) + 1
            self.notes.data_error(f"Invalid data for {name} in line {self.line_no} {a}-{a + len(t) - 1}.")
            self.err_lines[self.line_no] = self.line or ""
            return math.nan
