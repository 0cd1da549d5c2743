"""Renderers for ODS tables: plain listing (deterministic, for pipes and files), rich (terminal),
and the --json contract."""
from __future__ import annotations

import json
import math
from typing import TextIO

from .table import Table, format_cell


def _cells(table: Table) -> tuple[list, list[list[str]]]:
    cols = [c for c in table.columns if not c.hidden]
    body = []
    for r in table.rows:
        shown = r.get("_display") or {}      # printed text in place of a value (SAS's "Non-est")
        body.append([shown[c.name] if c.name in shown else format_cell(r.get(c.name), c.format) for c in cols])
        # printed lines stacked under the row (PROC CORR's p-values and counts under each coefficient)
        for extra in r.get("_stack") or ():
            body.append([extra.get(c.name, "") for c in cols])
    return cols, body


def _is_numeric_col(table: Table, col) -> bool:
    if col.align:
        return col.align == "r"
    for r in table.rows:
        v = r.get(col.name)
        if isinstance(v, str):
            return False
    return True


class ListingRenderer:
    """SAS-like listing output: titles centred, the procedure title, then each table."""

    def __init__(self, stream: TextIO, linesize: int = 100):
        self.stream = stream
        self.linesize = linesize
        self._last_header: tuple | None = None
        self._last_byline: str | None = None

    def _center(self, text: str) -> str:
        return text.center(self.linesize).rstrip()

    def page_header(self, titles: list[str], proc_title: str | None) -> None:
        key = (tuple(titles), proc_title)
        if key == self._last_header:
            return
        self._last_header = key
        self._last_byline = None
        w = self.stream.write
        w("\n")
        for t in titles:
            w(self._center(t) + "\n")
        if titles:
            w("\n")
        if proc_title:
            w(self._center(proc_title) + "\n\n")

    def reset(self) -> None:
        self._last_header = None
        self._last_byline = None

    def table(self, table: Table) -> None:
        w = self.stream.write
        cols, body = _cells(table)
        # the BY line heads a BY group's first table (SAS prints it once per page and group)
        if table.byline and table.byline != self._last_byline:
            w(self._center(table.byline) + "\n\n")
        self._last_byline = table.byline
        if table.kind == "text":
            # a report of text lines (PROC COMPARE): the block centred as a whole, each line as written
            block = [str(r.get("batch", "")) for r in table.rows if not r.get("_center")]
            pad = " " * max((self.linesize - max([len(s) for s in block] + [0])) // 2, 0)
            for r in table.rows:
                s = str(r.get("batch", ""))
                w((self._center(s) if r.get("_center") else (pad + s).rstrip()) + "\n")
            return
        if table.kind == "kv":
            body = [r + [""] * (2 - len(r)) for r in body]
            width_l = max([len(r[0]) for r in body] + [0])
            width_v = max([len(r[1]) for r in body] + [0])
            total = width_l + width_v + 4
            if table.title:
                w(" " * max((self.linesize - len(table.title)) // 2, 0) + table.title + "\n")
                for line in (table.subtitle.split("\n") if table.subtitle else []):
                    w(self._center(line) + "\n")
                w("\n")
            pad = " " * max((self.linesize - total) // 2, 0)
            for r in body:
                extra = "    ".join(r[2:]) if len(r) > 2 else ""
                w((pad + r[0].ljust(width_l) + "    " + r[1].ljust(width_v) + ("    " + extra if extra else "")).rstrip() + "\n")
            for f in table.footnotes:
                w(pad + f + "\n")
            w("\n")
            return
        headers = [c.label for c in cols]
        widths = []
        for j, c in enumerate(cols):
            widths.append(max([len(h) for h in headers[j].split("\n")] + [len(r[j]) for r in body] + [1]))
        numeric = [_is_numeric_col(table, c) for c in cols]
        # a text column too wide for the line is wrapped at blanks, as SAS's listing does
        total = sum(widths) + 4 * (len(widths) - 1)
        if total > self.linesize and cols:
            j = max(range(len(cols)), key=lambda k: widths[k] if not numeric[k] else -1)
            room = max(20, self.linesize - (total - widths[j]))
            if widths[j] > room:
                import textwrap
                new_body = []
                for r in body:
                    parts = textwrap.wrap(r[j], room) or [""]
                    for k, part in enumerate(parts):
                        row = list(r) if k == 0 else [""] * len(r)
                        row[j] = part
                        new_body.append(row)
                body = new_body
                widths[j] = max([len(h) for h in headers[j].split("\n")] + [len(r[j]) for r in body])
        total = sum(widths) + 4 * (len(widths) - 1)
        pad = " " * max((self.linesize - total) // 2, 0)
        if table.title:
            w(self._center(table.title) + "\n")
        for line in (table.subtitle.split("\n") if table.subtitle else []):
            w(self._center(line) + "\n")
        w("\n")
        hlines = [h.split("\n") for h in headers]
        depth = max(len(h) for h in hlines) if hlines else 1
        for k in range(depth):
            parts = []
            for j, h in enumerate(hlines):
                txt = h[k - (depth - len(h))] if k >= depth - len(h) else ""
                parts.append(txt.rjust(widths[j]) if numeric[j] else txt.ljust(widths[j]))
            w((pad + "    ".join(parts)).rstrip() + "\n")
        w("\n")
        for r in body:
            parts = [r[j].rjust(widths[j]) if numeric[j] else r[j].ljust(widths[j]) for j in range(len(cols))]
            w((pad + "    ".join(parts)).rstrip() + "\n")
        for f in table.footnotes:
            w("\n" + pad + f + "\n")
        w("\n")

    def text(self, text: str) -> None:
        self.stream.write(text + "\n")


class RichRenderer(ListingRenderer):
    """Terminal output with rich tables; same content as the listing."""

    def __init__(self, stream: TextIO, linesize: int = 100):
        super().__init__(stream, linesize)
        from rich.console import Console
        self.console = Console(file=stream, highlight=False)

    def page_header(self, titles, proc_title):
        key = (tuple(titles), proc_title)
        if key == self._last_header:
            return
        self._last_header = key
        from rich.text import Text
        self.console.print()
        for t in titles:
            self.console.print(Text(t, style="bold"), justify="center")
        if proc_title:
            self.console.print(Text(proc_title, style="italic"), justify="center")

    def table(self, table: Table) -> None:
        from rich import box
        from rich.table import Table as RTable
        cols, body = _cells(table)
        title = table.title + (("\n" + table.subtitle) if table.subtitle else "")
        if table.byline:
            self.console.print(table.byline, justify="center")
        if table.kind == "text":
            for r in table.rows:
                self.console.print(str(r.get("batch", "")), markup=False, highlight=False)
            return
        if table.kind == "kv":
            rt = RTable(title=title, box=None, show_header=False, padding=(0, 2))
            for _ in cols:
                rt.add_column()
        else:
            rt = RTable(title=title, box=box.SIMPLE_HEAD, padding=(0, 1))
            for c in cols:
                rt.add_column(c.label, justify="right" if _is_numeric_col(table, c) else "left")
        for r in body:
            rt.add_row(*r)
        self.console.print(rt, justify="center")
        for f in table.footnotes:
            self.console.print(f, justify="center")

    def text(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False)


def _json_value(v):
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if hasattr(v, "item"):
        v = v.item()
        if isinstance(v, float) and math.isnan(v):
            return None
    return v


def table_to_json(t: Table) -> dict:
    out = {"proc": t.proc, "name": t.name, "title": t.title}
    if t.subtitle:
        out["subtitle"] = t.subtitle
    out["titles"] = list(t.titles)
    out["columns"] = [c.name for c in t.columns]
    out["rows"] = [{c.name: _json_value(r.get(c.name)) for c in t.columns} for r in t.rows]
    if t.footnotes:
        out["footnotes"] = list(t.footnotes)
    if t.byline:
        out["byline"] = t.byline
    return out


def write_json(tables: list[Table], path: str) -> None:
    with open(path, "w") as f:
        json.dump({"tables": [table_to_json(t) for t in tables]}, f, indent=1)
