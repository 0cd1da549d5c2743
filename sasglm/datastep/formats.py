"""SAS formats and informats: w.d, BESTw., $w., Ew., DATE9., MMDDYY10., YYMMDD10., PERCENTw.d,
COMMAw.d, and user formats from PROC FORMAT VALUE.

Dates are SAS date values (days since 1960-01-01); datetimes are seconds since 1960-01-01.
"""
from __future__ import annotations

import datetime as _dt
import math
import re

SAS_EPOCH = _dt.date(1960, 1, 1)
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]

_FMT_RE = re.compile(r"^(\$?)([A-Za-z_]*?[A-Za-z_])?(\d*)\.(\d*)$")


class FormatSpec:
    __slots__ = ("name", "is_char", "width", "decimals", "text")

    def __init__(self, name: str, is_char: bool, width: int | None, decimals: int | None, text: str):
        self.name, self.is_char, self.width, self.decimals, self.text = name, is_char, width, decimals, text

    def __repr__(self):
        return f"FormatSpec({self.text})"


def parse_format(text: str) -> FormatSpec | None:
    t = text.strip()
    m = _FMT_RE.match(t)
    if not m:
        return None
    dollar, name, w, d = m.groups()
    return FormatSpec((name or "").upper(), bool(dollar), int(w) if w else None,
                      int(d) if d else None, t.upper())


def date_to_sas(d: _dt.date) -> float:
    return float((d - SAS_EPOCH).days)


def sas_to_date(v: float) -> _dt.date | None:
    if v is None or v != v:
        return None
    try:
        return SAS_EPOCH + _dt.timedelta(days=int(math.floor(v)))
    except OverflowError:
        return None


def parse_date_literal(body: str, suffix: str) -> float | None:
    body = body.strip()
    try:
        if suffix == "d":
            m = re.fullmatch(r"(\d{1,2})([A-Za-z]{3})(\d{2}|\d{4})", body)
            if not m:
                return None
            day, mon, yr = int(m.group(1)), _MONTHS.index(m.group(2).upper()) + 1, int(m.group(3))
            if yr < 100:
                yr += 1900 if yr >= 26 else 2000
            return date_to_sas(_dt.date(yr, mon, day))
        if suffix == "t":
            parts = [float(p) for p in body.split(":")]
            while len(parts) < 3:
                parts.append(0.0)
            return parts[0] * 3600 + parts[1] * 60 + parts[2]
        if suffix == "dt":
            m = re.fullmatch(r"(\d{1,2}[A-Za-z]{3}\d{2,4})[: ](.*)", body)
            if not m:
                return None
            d = parse_date_literal(m.group(1), "d")
            t = parse_date_literal(m.group(2), "t")
            return None if d is None or t is None else d * 86400 + t
    except (ValueError, IndexError):
        return None
    return None


# --------------------------------------------------------------------------- numeric output
def best(value: float, width: int = 12) -> str:
    """SAS BESTw. format, right-aligned in ``width`` columns."""
    if value is None or value != value:
        return ".".rjust(width)
    if value == 0:
        return "0".rjust(width)
    if float(value).is_integer() and abs(value) < 10 ** width:
        s = str(int(value))
        if len(s) <= width:
            return s.rjust(width)
    # choose the most significant digits that fit
    for dec in range(width, -1, -1):
        s = f"{value:.{dec}f}"
        if "." in s:
            s = s.rstrip("0").rstrip(".")
        if len(s) <= width and (float(s) != 0 or value == 0):
            if s.startswith("0.") and width < len(s) + 0:
                continue
            return s.rjust(width)
    # fall back to E notation
    for prec in range(max(width - 4, 0), -1, -1):
        s = f"{value:.{prec}E}"
        mant, exp = s.split("E")
        if "." in mant:
            mant = mant.rstrip("0").rstrip(".")
        s = f"{mant}E{int(exp)}"
        if len(s) <= width:
            return s.rjust(width)
    return "*" * width


def fmt_w_d(value: float, width: int, dec: int) -> str:
    if value is None or value != value:
        return ".".rjust(width)
    s = f"{value:.{dec}f}"
    if s.startswith("-") and float(s) == 0:
        s = s[1:]
    if len(s) > width:
        if dec > 0 and s.startswith("0."):
            s = s[1:]
        if len(s) > width:
            return best(value, width)
    return s.rjust(width)


class UserFormat:
    """A PROC FORMAT VALUE format: list of (lo, hi, label) ranges or discrete values, OTHER."""

    def __init__(self, name: str, is_char: bool):
        self.name, self.is_char = name, is_char
        self.ranges: list[tuple] = []      # (lo, hi, label, lo_excl, hi_excl)
        self.discrete: dict = {}
        self.other: str | None = None

    def apply(self, value, width: int | None = None) -> str:
        if self.is_char:
            key = (value or "").rstrip()
            if key in self.discrete:
                return self.discrete[key]
        else:
            if value is None or value != value:
                if "." in self.discrete:
                    return self.discrete["."]
            elif value in self.discrete:
                return self.discrete[value]
            else:
                for lo, hi, label, lo_x, hi_x in self.ranges:
                    ok_lo = lo is None or (value > lo if lo_x else value >= lo)
                    ok_hi = hi is None or (value < hi if hi_x else value <= hi)
                    if ok_lo and ok_hi:
                        return label
        if self.other is not None:
            return self.other
        if self.is_char:
            return (value or "")
        return best(value, width or 12).strip()


def format_value(value, spec: FormatSpec | str | None, user_formats: dict | None = None,
                 is_char: bool | None = None, strip: bool = False) -> str:
    """Apply a format; the result has the format's width unless ``strip``."""
    if isinstance(spec, str):
        spec = parse_format(spec)
    if is_char is None:
        is_char = isinstance(value, str)
    if spec is None:
        if is_char:
            return value or ""
        out = best(value, 12)
        return out.strip() if strip else out
    if user_formats:
        uf = user_formats.get(("$" if spec.is_char else "") + spec.name)
        if uf is not None:
            out = uf.apply(value, spec.width)
            if spec.width:
                out = out[:spec.width].ljust(spec.width) if not strip else out[:spec.width]
            return out
    name, w, d = spec.name, spec.width, spec.decimals
    if is_char or spec.is_char:
        s = "" if value is None else (value if isinstance(value, str) else best(value).strip())
        if w:
            s = s[:w]
            if not strip:
                s = s.ljust(w)
        return s
    out: str
    if value is None or value != value:
        out = ".".rjust(w or 1)
    elif name in ("", "F"):
        out = fmt_w_d(value, w or 12, d or 0)
    elif name == "BEST":
        out = best(value, w or 12)
    elif name in ("COMMA", "DOLLAR"):
        s = f"{value:,.{d or 0}f}"
        if name == "DOLLAR":
            s = ("-$" + s[1:]) if s.startswith("-") else "$" + s
        out = s.rjust(w or 6)
    elif name == "PERCENT":
        s = f"{value * 100:.{d or 0}f}%"
        out = s.rjust(w or 6)
    elif name == "E":
        ww = w or 12
        prec = max(ww - 7, 1)
        s = f"{value:.{prec}E}"
        mant, exp = s.split("E")
        out = f"{mant}E{int(exp):+03d}".rjust(ww)
    elif name == "Z":
        out = f"{value:0{w or 1}.{d or 0}f}"
    elif name in ("DATE", "DATE9", "DATE7"):
        dd = sas_to_date(value)
        ww = w or (9 if name != "DATE7" else 7)
        if name == "DATE9":
            ww = 9
        if dd is None:
            out = "."
        elif ww >= 9:
            out = f"{dd.day:02d}{_MONTHS[dd.month - 1]}{dd.year:04d}"
        else:
            out = f"{dd.day:02d}{_MONTHS[dd.month - 1]}{dd.year % 100:02d}"
        out = out.rjust(ww)
    elif name in ("MMDDYY", "DDMMYY", "YYMMDD"):
        dd = sas_to_date(value)
        ww = w or (8 if name != "YYMMDD" else 8)
        if dd is None:
            out = "."
        else:
            sep = "/" if ww >= 8 and name != "YYMMDD" else ("-" if name == "YYMMDD" else "")
            yr = f"{dd.year:04d}" if ww >= 10 else f"{dd.year % 100:02d}"
            if name == "MMDDYY":
                out = f"{dd.month:02d}{sep}{dd.day:02d}{sep}{yr}"
            elif name == "DDMMYY":
                out = f"{dd.day:02d}{sep}{dd.month:02d}{sep}{yr}"
            else:
                out = f"{yr}{sep}{dd.month:02d}{sep}{dd.day:02d}"
        out = out.rjust(ww)
    elif name == "YEAR":
        dd = sas_to_date(value)
        out = str(dd.year) if dd else "."
    elif name == "TIME":
        t = int(round(value))
        out = f"{t // 3600}:{(t % 3600) // 60:02d}:{t % 60:02d}".rjust(w or 8)
    else:
        out = best(value, w or 12)
    return out.strip() if strip else out


# --------------------------------------------------------------------------- informats
class InvalidData(ValueError):
    pass


_NUM_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def read_numeric(text: str, spec: FormatSpec | None = None):
    """Read a numeric field; raises InvalidData.  Blank or '.' is missing."""
    s = text.strip()
    if s == "" or s == ".":
        return math.nan
    if len(s) == 2 and s[0] == "." and s[1].isalpha():
        return math.nan
    if spec is not None and spec.name in ("DATE", "DATE9", "DATE7"):
        v = parse_date_literal(s, "d")
        if v is None:
            raise InvalidData(s)
        return v
    if spec is not None and spec.name in ("MMDDYY", "DDMMYY", "YYMMDD"):
        digits = re.split(r"[-/. ]", s) if re.search(r"[-/. ]", s) else None
        try:
            if digits is None:
                if spec.name == "YYMMDD":
                    digits = [s[:-4], s[-4:-2], s[-2:]]
                else:
                    digits = [s[:2], s[2:4], s[4:]]
            a, b, c = (int(x) for x in digits)
            if spec.name == "MMDDYY":
                m_, d_, y_ = a, b, c
            elif spec.name == "DDMMYY":
                d_, m_, y_ = a, b, c
            else:
                y_, m_, d_ = a, b, c
            if y_ < 100:
                y_ += 1900 if y_ >= 26 else 2000
            return date_to_sas(_dt.date(y_, m_, d_))
        except (ValueError, TypeError):
            raise InvalidData(s) from None
    if spec is not None and spec.name in ("COMMA", "DOLLAR"):
        s = s.replace(",", "").replace("$", "")
    if spec is not None and spec.name == "PERCENT":
        if s.endswith("%"):
            try:
                return float(s[:-1]) / 100
            except ValueError:
                raise InvalidData(text) from None
    if not _NUM_RE.match(s):
        raise InvalidData(text)
    v = float(s)
    if spec is not None and spec.decimals and "." not in s and "e" not in s.lower():
        v = v / 10 ** spec.decimals
    return v
