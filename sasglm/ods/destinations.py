"""ODS HTML and ODS RTF destinations: they collect titles, tables and images while open and write a
standalone document when closed (or when the program ends)."""
from __future__ import annotations

import base64
import html
import os
import tempfile
from pathlib import Path

from .render import _cells, _is_numeric_col
from .table import Table

STYLES = {
    "default": """
body { font-family: Arial, Helvetica, sans-serif; font-size: 10pt; color: #000; background: #fafbfe; margin: 1.5em; }
.systitle { text-align: center; font-weight: bold; font-size: 13pt; margin: 0.2em; color: #112277; }
.proctitle { text-align: center; font-style: italic; font-size: 11pt; margin: 1em 0 0.5em 0; color: #112277; }
table.sas { border-collapse: collapse; margin: 0.8em auto; background: #fff; border: 1px solid #c1c1c1; }
table.sas caption { font-weight: bold; padding: 0.3em; color: #112277; }
table.sas th { background: #edf2f9; color: #112277; border: 1px solid #b0b7bb; padding: 3px 8px; font-weight: bold; white-space: pre-line; }
table.sas td { border: 1px solid #c1c1c1; padding: 3px 8px; }
table.sas td.num { text-align: right; font-family: "Courier New", monospace; }
table.kv th { text-align: left; }
.footnote { text-align: center; font-size: 9pt; }
.byline { text-align: center; font-weight: bold; }
img.graph { display: block; margin: 1em auto; border: 1px solid #c1c1c1; }
""",
    "journal": """
body { font-family: "Times New Roman", Times, serif; font-size: 11pt; color: #000; background: #fff; margin: 1.5em; }
.systitle { text-align: center; font-weight: bold; font-size: 13pt; margin: 0.2em; }
.proctitle { text-align: center; font-style: italic; font-size: 11pt; margin: 1em 0 0.5em 0; }
table.sas { border-collapse: collapse; margin: 0.8em auto; border-top: 2px solid #000; border-bottom: 2px solid #000; }
table.sas caption { font-weight: bold; padding: 0.3em; }
table.sas th { border-bottom: 1px solid #000; padding: 3px 10px; font-weight: bold; white-space: pre-line; }
table.sas td { padding: 2px 10px; }
table.sas td.num { text-align: right; }
table.kv th { text-align: left; }
.footnote { text-align: center; font-size: 10pt; }
.byline { text-align: center; font-weight: bold; }
img.graph { display: block; margin: 1em auto; }
""",
}


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", dir=str(path.parent))
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


class Destination:
    kind = ""

    def __init__(self, path: Path, style: str | None = None):
        self.path = path
        self.style = (style or "default").lower()
        self.items: list = []
        self._last_header = None

    def header(self, titles, proc_title):
        key = (tuple(titles), proc_title)
        if key == self._last_header:
            return
        self._last_header = key
        self.items.append(("header", list(titles), proc_title))

    def table(self, t: Table):
        self.items.append(("table", t))

    def image(self, path: str):
        self.items.append(("image", path))


class HtmlDestination(Destination):
    kind = "html"

    def close(self) -> None:
        css = STYLES.get(self.style, STYLES["default"])
        out = ["<!DOCTYPE html>", "<html><head><meta charset=\"utf-8\"><title>SAS Output</title>",
               f"<style>{css}</style></head><body>"]
        for item in self.items:
            if item[0] == "header":
                for t in item[1]:
                    out.append(f"<p class=\"systitle\">{html.escape(t)}</p>")
                if item[2]:
                    out.append(f"<p class=\"proctitle\">{html.escape(item[2])}</p>")
            elif item[0] == "table":
                out.append(self._table(item[1]))
            elif item[0] == "image":
                try:
                    data = base64.b64encode(Path(item[1]).read_bytes()).decode()
                    out.append(f"<img class=\"graph\" alt=\"{html.escape(Path(item[1]).name)}\" "
                               f"src=\"data:image/png;base64,{data}\">")
                except OSError:
                    out.append(f"<p class=\"footnote\">(image {html.escape(item[1])} could not be read)</p>")
        out.append("</body></html>")
        _atomic_write(self.path, "\n".join(out).encode("utf-8"))

    @staticmethod
    def _table(t: Table) -> str:
        cols, body = _cells(t)
        parts = []
        if t.byline:
            parts.append(f"<p class=\"byline\">{html.escape(t.byline)}</p>")
        if t.kind == "text":          # a report of text lines (PROC COMPARE)
            lines = "\n".join(html.escape(str(r.get("batch", ""))) for r in t.rows)
            parts.append(f"<pre class=\"sas\" data-ods-name=\"{html.escape(t.name)}\">{lines}</pre>")
            return "\n".join(parts)
        cls = "sas kv" if t.kind == "kv" else "sas"
        cap = html.escape(t.title) + (("<br>" + html.escape(t.subtitle)) if t.subtitle else "")
        parts.append(f"<table class=\"{cls}\" data-ods-name=\"{html.escape(t.name)}\">")
        if cap:
            parts.append(f"<caption>{cap}</caption>")
        if t.kind == "kv":
            for r in body:
                cells = "".join((f"<td class=\"{'num' if _numlike(v) else 'txt'}\">{html.escape(v)}</td>") if k
                                else f"<th>{html.escape(v)}</th>" for k, v in enumerate(r))
                parts.append(f"<tr>{cells}</tr>")
        else:
            numeric = [_is_numeric_col(t, c) for c in cols]
            parts.append("<thead><tr>" + "".join(f"<th>{html.escape(c.label)}</th>" for c in cols) + "</tr></thead>")
            parts.append("<tbody>")
            for r in body:
                parts.append("<tr>" + "".join(
                    f"<td class=\"{'num' if numeric[j] else 'txt'}\">{html.escape(v)}</td>" for j, v in enumerate(r))
                    + "</tr>")
            parts.append("</tbody>")
        parts.append("</table>")
        for f in t.footnotes:
            parts.append(f"<p class=\"footnote\">{html.escape(f)}</p>")
        return "\n".join(parts)


def _numlike(v: str) -> bool:
    try:
        float(v.replace(",", ""))
        return True
    except ValueError:
        return v.strip() in (".", "<.0001")


def _rtf_text(s: str) -> str:
    out = []
    for ch in s:
        if ch in "\\{}":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\line ")
        elif ord(ch) > 127:
            out.append(f"\\u{ord(ch)}?")
        else:
            out.append(ch)
    return "".join(out)


class RtfDestination(Destination):
    kind = "rtf"

    def close(self) -> None:
        out = [r"{\rtf1\ansi\deff0{\fonttbl{\f0 Times New Roman;}{\f1 Courier New;}}\fs20"]
        for item in self.items:
            if item[0] == "header":
                for t in item[1]:
                    out.append(r"\pard\qc\b " + _rtf_text(t) + r"\b0\par")
                if item[2]:
                    out.append(r"\pard\qc\i " + _rtf_text(item[2]) + r"\i0\par")
            elif item[0] == "table":
                out.append(self._table(item[1]))
            elif item[0] == "image":
                out.append(r"\pard\qc (graph: " + _rtf_text(Path(item[1]).name) + r")\par")
        out.append("}")
        _atomic_write(self.path, "\n".join(out).encode("latin-1", errors="replace"))

    @staticmethod
    def _table(t: Table) -> str:
        cols, body = _cells(t)
        if t.kind == "text":          # a report of text lines (PROC COMPARE)
            return "\n".join(r"\pard\f1 " + _rtf_text(str(r.get("batch", ""))) + r"\par" for r in t.rows)
        rows = [] if t.kind == "kv" else [[c.label.replace("\n", " ") for c in cols]]
        rows += body
        ncol = max((len(r) for r in rows), default=1)
        width = 9000 // max(ncol, 1)
        parts = [r"\pard\qc\b " + _rtf_text(t.title) + r"\b0\par"] if t.title else []
        for r in rows:
            cells = "".join(rf"\cellx{width * (k + 1)}" for k in range(ncol))
            parts.append(r"\trowd\trqc" + cells + "".join(r"\pard\intbl " + _rtf_text(v) + r"\cell" for v in r)
                         + r"\row")
        parts.append(r"\pard\par")
        return "\n".join(parts)
