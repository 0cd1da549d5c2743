"""PROC IMPORT (DBMS=CSV/TAB/DLM, GETNAMES, GUESSINGROWS, DATAROW) and PROC EXPORT (DBMS=CSV/TAB/DLM)."""
from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.dataset import Dataset, VarMeta, normalise_frame
from ..datastep.reader import read_quoted
from ..errors import SasError
from .common import Options, dsref_from_value, input_data, statements, warn_ignored


def _sas_name(s: str, used: set) -> str:
    import re
    n = re.sub(r"[^A-Za-z0-9_]", "_", s.strip()) or "VAR"
    if n[0].isdigit():
        n = "_" + n
    n = n[:32]
    base, k = n, 1
    while n.lower() in used:
        k += 1
        n = f"{base[:30]}{k}"
    used.add(n.lower())
    return n


_NUM = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def _split_record(text: str, sep: str) -> list[tuple[str, int, int]]:
    """Fields of one delimited record with their 1-based first and last columns (quotes removed)."""
    out, i, n = [], 0, len(text)
    while True:
        if sep == " ":                     # a blank delimiter: runs of blanks are one delimiter
            while i < n and text[i] == " ":
                i += 1
        start = i
        if i < n and text[i] == '"':
            val, j = read_quoted(text, i)
            k = text.find(sep, j) if sep != " " else j
            end = n if k < 0 else k
        else:
            k = text.find(sep, i)
            end = n if k < 0 else k
            val = text[i:end]
        out.append((val.strip(), start + 1, max(end, start + 1)))
        if end >= n:
            return out
        i = end + 1


def _guessing_rows(st, nrows: int) -> int:
    """GUESSINGROWS=n | MAX; SAS's default is 20."""
    if st is None:
        return 20
    v = st.items[-1] if st.items else None
    text = str(getattr(v, "value", "")).lower()
    if text == "max":
        return nrows
    try:
        n = int(float(text))
    except ValueError:
        n = 0
    if n < 1:
        raise SasError("GUESSINGROWS= must be a positive number or MAX.", st.line, st.col)
    return n


def _typed_columns(session, names, rows, records, guess):
    """Each column's type and length from the first GUESSINGROWS records, as SAS's PROC IMPORT
    decides them: numeric if every non-blank value there is a number (or every one an ISO date,
    read as a SAS date with format YYMMDD10.), else character as long as the longest value there.
    Later records are then read with that type: text in a numeric column is invalid data (missing,
    with SAS's NOTE), longer text in a character column is truncated."""
    import datetime as _dt
    cols, meta = {}, {}
    epoch = _dt.date(1960, 1, 1)
    bad_rows: dict[int, list[tuple[str, int, int]]] = {}
    for j, name in enumerate(names):
        vals = [r[j] if j < len(r) else ("", 0, 0) for r in rows]
        sample = [v[0] for v in vals[:guess] if v[0] != ""]
        if all(_NUM.match(t) or t == "." for t in sample):      # (an all-blank column is numeric)
            kind = "num"
        elif all(_ISO_DATE.match(t) for t in sample):
            kind = "date"
        else:
            kind = "char"
        if kind == "char":
            width = max((len(t) for t in sample), default=1) or 1
            cols[name] = np.array([v[0][:width] for v in vals], dtype=object)
            meta[name.upper()] = VarMeta(name, "C", width)
            continue
        out = np.full(len(vals), np.nan)
        for i, (t, a, b) in enumerate(vals):
            if t in ("", "."):
                continue
            if kind == "num" and _NUM.match(t):
                out[i] = float(t)
                continue
            m = _ISO_DATE.match(t) if kind == "date" else None
            if m:
                try:
                    out[i] = float((_dt.date(int(m[1]), int(m[2]), int(m[3])) - epoch).days)
                    continue
                except ValueError:
                    pass
            bad_rows.setdefault(i, []).append((name, a, b))
        cols[name] = out
        meta[name.upper()] = VarMeta(name, "N", 8, format="YYMMDD10." if kind == "date" else None,
                                     informat="YYMMDD10." if kind == "date" else None)
    _report_invalid(session, names, cols, meta, records, bad_rows)
    return pd.DataFrame(cols, columns=names), meta


def _report_invalid(session, names, cols, meta, records, bad_rows):
    """SAS's DATA-step report of invalid data, for the records read after the guessing rows."""
    from ..datastep import formats as F
    from ..datastep.execute import ERRORS_LIMIT_WARNING, dump_pdv, errors_limit, rule_and_record
    limit = errors_limit(session)
    log = session.log
    dmeta = [(n, F.parse_format(meta[n.upper()].format) if meta[n.upper()].format else None) for n in names]
    for k, i in enumerate(sorted(bad_rows)):
        if k == limit:
            log.warning(ERRORS_LIMIT_WARNING)
            return
        line_no, text = records[i]
        for name, a, b in bad_rows[i]:
            log.note(f"Invalid data for {name} in line {line_no} {a}-{b}.")
        rule_and_record(log, line_no, text)
        dump_pdv(log, dmeta, [cols[n][i] for n in names], i + 1, session.renderer.linesize or 100)


def run_import(session, proc):
    opts = Options(proc.options, {"datafile", "file", "out", "dbms", "replace"}, "PROC IMPORT")
    path = opts.get("datafile", opts.get("file"))
    if path is None:
        raise SasError("PROC IMPORT requires DATAFILE=.", proc.line, proc.col)
    dbms = str(opts.get("dbms", "csv")).lower()
    getnames, datarow, delim, guess_st = True, None, None, None
    for kw, st in statements(proc, {"getnames", "guessingrows", "datarow", "delimiter", "sheet", "range"}):
        val = st.items[-1] if st.items else None
        if kw == "guessingrows":
            guess_st = st
        elif kw == "getnames":
            getnames = str(getattr(val, "value", "yes")).lower() in ("yes", "y")
        elif kw == "datarow":
            datarow = int(val.value)
        elif kw == "delimiter":
            delim = str(val.value)
        elif kw in ("sheet", "range"):
            raise SasError(f"DBMS={dbms.upper()} files are not supported; only CSV/TAB/DLM text files.",
                           st.line, st.col)
    if dbms not in ("csv", "tab", "dlm"):
        raise SasError(f"DBMS={dbms.upper()} is not supported by PROC IMPORT here (CSV, TAB, DLM are).",
                       proc.line, proc.col)
    sep = {"csv": ",", "tab": "\t"}.get(dbms, delim or " ")
    p = Path(session.file_path(opts.nodes.get("datafile", opts.nodes.get("file"))))
    if not p.exists():
        raise SasError(f"Physical file does not exist, {p}.", proc.line, proc.col)
    out_ref = dsref_from_value(opts.nodes["out"])
    lib = session.library(out_ref.libref)
    if lib.exists(out_ref.name) and not opts.has("replace"):
        session.log.error(f"Import unsuccessful.  The data set {out_ref.display} already exists; use REPLACE.")
        return
    with open(p, newline="", encoding="utf-8", errors="replace") as fh:
        raw_lines = fh.read().splitlines()
    first_data = (datarow or (2 if getnames else 1)) - 1
    header = [f[0] for f in _split_record(raw_lines[0], sep)] if getnames and raw_lines else []
    records = [(i + 1, raw_lines[i]) for i in range(first_data, len(raw_lines)) if raw_lines[i].strip()]
    rows = [_split_record(text, sep) for _, text in records]
    ncol = max([len(header)] + [len(r) for r in rows]) if (rows or header) else 0
    used: set = set()
    header += [""] * (ncol - len(header))
    # SAS names a column with an empty header VARn (n = its position)
    names = [_sas_name(h, used) if (getnames and h.strip()) else _sas_name(f"VAR{i + 1}", used)
             for i, h in enumerate(header)]
    guess = _guessing_rows(guess_st, len(rows))
    df, meta = _typed_columns(session, names, rows, records, guess)
    ds = Dataset(normalise_frame(df), meta)
    session.put_dataset(out_ref, ds)
    session.log.note(f"{out_ref.display} data set was successfully created.")


def run_export(session, proc):
    opts = Options(proc.options, {"data", "outfile", "file", "dbms", "replace", "label"}, "PROC EXPORT")
    warn_ignored(session, opts, ["label"], "PROC EXPORT")
    ds, ref = input_data(session, opts, proc)
    path = opts.get("outfile", opts.get("file"))
    if path is None:
        raise SasError("PROC EXPORT requires OUTFILE=.", proc.line, proc.col)
    dbms = str(opts.get("dbms", "csv")).lower()
    delim = None
    for kw, st in statements(proc, {"putnames", "delimiter"}):
        if kw == "delimiter":
            delim = str(st.items[-1].value)
    if dbms not in ("csv", "tab", "dlm"):
        raise SasError(f"DBMS={dbms.upper()} is not supported by PROC EXPORT here (CSV, TAB, DLM are).",
                       proc.line, proc.col)
    sep = {"csv": ",", "tab": "\t"}.get(dbms, delim or " ")
    p = Path(session.file_path(opts.nodes.get("outfile", opts.nodes.get("file"))))
    if p.exists() and not opts.has("replace"):
        session.log.error(f"Export unsuccessful.  The file {p} already exists; use REPLACE.")
        return
    with open(p, "w", newline="") as f:
        w = csv.writer(f, delimiter=sep)
        w.writerow(ds.columns)
        for rec in ds.df.itertuples(index=False, name=None):
            w.writerow(["" if (isinstance(v, float) and math.isnan(v)) else
                        (int(v) if isinstance(v, float) and v.is_integer() else v) for v in rec])
    session.log.note(f"{ds.nobs} records were written to the file '{p}'.")
