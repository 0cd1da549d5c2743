"""One table model (ODS name, title, columns with SAS formats, rows, footnotes), rendered many ways:
plain listing text, rich terminal tables, HTML, JSON and ODS OUTPUT data sets."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..datastep.formats import best, fmt_w_d, format_value, parse_format


@dataclass
class Column:
    name: str                    # ODS OUTPUT column name (e.g. 'StdErr')
    header: str | None = None    # printed header ('Standard Error'); None -> name
    format: str | None = None    # 'D' (default BEST), '8.4', 'PVALUE6.4', '$'
    align: str | None = None     # 'l' | 'r'; default: numbers right, text left
    hidden: bool = False         # in ODS data / JSON but not printed

    @property
    def label(self) -> str:
        return self.header if self.header is not None else self.name


@dataclass
class Table:
    proc: str
    name: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    subtitle: str | None = None
    footnotes: list[str] = field(default_factory=list)
    kind: str = "table"          # 'table' | 'kv' (label/value list, printed without header)
    titles: list[str] = field(default_factory=list)   # TITLE1..10 in force, filled by the session
    byline: str | None = None
    path: str = ""
    by_values: dict | None = None    # the BY group's values (they lead ODS OUTPUT data sets)

    def column(self, name: str) -> Column | None:
        for c in self.columns:
            if c.name.lower() == name.lower():
                return c
        return None


def is_missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def format_cell(value, fmt: str | None) -> str:
    """Format a table cell as SAS prints it."""
    if isinstance(value, str):
        return value
    if fmt == "LEVEL":                # a numeric CLASS level: blank where the effect lacks the variable
        return "" if is_missing(value) else best(float(value), 12).strip()
    if is_missing(value):
        return "."
    if isinstance(value, bool):
        value = int(value)
    if fmt is None or fmt == "D":
        s = best(float(value), 12).strip()
        return s
    f = fmt.upper()
    if f == "DFMT":
        if isinstance(value, float) and math.isinf(value):
            return "Infty"
        return str(int(round(value))) if abs(value - round(value)) < 1e-9 else f"{value:.2f}"
    if f.startswith("PVALUE"):
        spec = f[6:] or "6.4"
        w, _, d = spec.partition(".")
        d = int(d or 4)
        if value < 10 ** (-d):
            return "<." + "0" * (d - 1) + "1"
        s = f"{value:.{d}f}"
        # as the w.d format: the leading zero goes only when the value does not fit the width otherwise
        # (PVALUE6.4 prints 0.0428, as SAS listings do)
        return s[1:] if s.startswith("0.") and len(s) > int(w or 6) else s
    if f.startswith("BEST"):
        w = int(f[4:].rstrip(".") or 12)
        return best(float(value), w).strip()
    if f == "INT":
        return str(int(round(value)))
    if f.startswith("D") and f[1:2].isdigit():
        # Dw.s as PROC CORR's statistics use it: s decimals (fewer when the number is wide), 0 as "0"
        w, _, d = f[1:].partition(".")
        w, d = int(w), int(d or 0)
        if value == 0:
            return "0"
        while d > 0 and len(f"{value:.{d}f}") > w:
            d -= 1
        return f"{value:.{d}f}"
    spec = parse_format(f)
    if spec is not None and spec.name in ("", "F") and spec.width:
        s = fmt_w_d(float(value), spec.width, spec.decimals or 0).strip()
        if s.startswith("0.") and (spec.decimals or 0) > 0 and len(s) > spec.width:
            s = s[1:]
        return s
    if spec is not None:
        return format_value(float(value), spec).strip()
    return str(value)
