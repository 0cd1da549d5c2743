"""PROC PRINT: VAR, ID, BY, SUM, FORMAT, LABEL, NOOBS, OBS=, (OBS=/FIRSTOBS= data set options)."""
from __future__ import annotations

import math

from ..datastep.formats import format_value
from ..ods.table import Column, Table
from .common import Options, by_groups, by_items, input_data, statements, var_names, where_statements


def run_print(session, proc):
    opts = Options(proc.options, {"data", "noobs", "label", "obs", "split", "n", "double", "uniform",
                                  "width", "heading", "round", "style", "contents", "blankline", "sumlabel",
                                  "grandtotal_label", "rows"}, "PROC PRINT")
    ds, ref = input_data(session, opts, proc, where_statements(proc))
    from .common import warn_ignored
    warn_ignored(session, opts, ['n', 'double', 'uniform', 'width', 'heading', 'round', 'style', 'contents', 'blankline', 'sumlabel', 'grandtotal_label', 'rows'], 'PROC PRINT')
    var = None
    ids: list[str] = []
    by = []
    sums: list[str] = []
    formats: dict[str, str] = {}
    labels: dict[str, str] = {}
    for kw, st in statements(proc, {"var", "id", "by", "sum", "format", "label", "where", "pageby", "sumby",
                                    "title", "footnote"}):
        if kw == "var":
            var = var_names(st.items, ds)
        elif kw == "id":
            ids = var_names(st.items, ds, "ID")
        elif kw == "by":
            by = by_items(st.items, ds)
        elif kw == "sum":
            sums = var_names(st.items, ds, "SUM")
        elif kw == "format":
            from .common import format_assignments
            formats.update({k.lower(): v for k, v in format_assignments(st).items() if v is not None})
        elif kw == "label":
            from .. import ast as A
            for it in st.items:
                if isinstance(it, A.Opt):
                    labels[it.key.lower()] = str(it.value.value)
    use_label = opts.has("label") or "split" in opts.values
    byvars = [b for b, _ in by]
    if var is None:
        var = [c for c in ds.columns if c not in byvars and c not in ids]
    shown = ids + [v for v in var if v not in ids]
    for by_line, sub in by_groups(ds, by, session, "PRINT"):
        cols = []
        if not opts.has("noobs") and not ids:
            cols.append(Column("Obs", opts.get("obs") if isinstance(opts.get("obs"), str) else "Obs", None, "r"))
        for v in shown:
            m = ds.var(v)
            header = labels.get(v.lower()) or (m.label if use_label and m.label else v)
            cols.append(Column(v, header, None, "l" if m.is_char else "r"))
        rows = []
        for i, rec in enumerate(sub.df.itertuples(index=False, name=None)):
            row = {}
            if not opts.has("noobs") and not ids:
                row["Obs"] = str(i + 1 if not by else i + 1)
            values = dict(zip(sub.columns, rec))
            for v in shown:
                m = ds.var(v)
                val = values[v]
                fmt = formats.get(v.lower(), m.format)
                if m.is_char:
                    row[v] = format_value(val, fmt, session.user_formats, is_char=True, strip=True) if fmt else val
                else:
                    row[v] = format_value(val, fmt, session.user_formats, is_char=False, strip=True) \
                        if fmt else _best(val)
            rows.append(row)
        if sums:
            tot = {}
            for v in shown:
                if v in sums:
                    s = sub.df[v].sum(skipna=True)
                    fmt = formats.get(v.lower(), ds.var(v).format)
                    tot[v] = format_value(s, fmt, session.user_formats, strip=True) if fmt else _best(s)
                else:
                    tot[v] = ""
            if "Obs" in [c.name for c in cols]:
                tot["Obs"] = ""
            # SAS underlines each summed column with '=' across the column's width
            # (a printed line under the last row, so that the data rows and the total stay the table's rows)
            rule = {c.name: ("=" * max([len(c.label)] + [len(str(r.get(c.name, ""))) for r in rows + [tot]])
                             if c.name in sums else "") for c in cols}
            if rows:
                rows[-1]["_stack"] = [rule]
            rows.append(tot)
        t = Table("PRINT", "Print", "", cols, rows, byline=by_line)
        t.show_proc_title = False  # type: ignore[attr-defined]
        session.emit_table(t)
    if ds.nobs == 0:
        session.log.note(f"No observations in data set {ref.display}.")
    session.log.note(f"There were {ds.nobs} observations read from the data set {ref.display}." +
                     (f"\n      WHERE {ds.where_text};" if getattr(ds, "where_text", None) else ""))


def _best(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "."
    from ..datastep.formats import best
    return best(float(v), 12).strip()
