"""PROC IMPORT (DBMS=CSV/TAB/DLM, GETNAMES, GUESSINGROWS, DATAROW) and PROC EXPORT (DBMS=CSV/TAB/DLM)."""
from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd

from .. import ast as A
from ..data.dataset import Dataset, normalise_frame
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


def run_import(session, proc):
    opts = Options(proc.options, {"datafile", "file", "out", "dbms", "replace"}, "PROC IMPORT")
    path = opts.get("datafile", opts.get("file"))
    if path is None:
        raise SasError("PROC IMPORT requires DATAFILE=.", proc.line, proc.col)
    dbms = str(opts.get("dbms", "csv")).lower()
    getnames, datarow, delim = True, None, None
    for kw, st in statements(proc, {"getnames", "guessingrows", "datarow", "delimiter", "sheet", "range"}):
        val = st.items[-1] if st.items else None
        if kw == "getnames":
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
    p = Path(session.resolve_path(str(path)))
    if not p.exists():
        raise SasError(f"Physical file does not exist, {p}.", proc.line, proc.col)
    out_ref = dsref_from_value(opts.nodes["out"])
    lib = session.library(out_ref.libref)
    if lib.exists(out_ref.name) and not opts.has("replace"):
        session.log.error(f"Import unsuccessful.  The data set {out_ref.display} already exists; use REPLACE.")
        return
    header = 0 if getnames else None
    skip = None
    if datarow and datarow > (2 if getnames else 1):
        skip = list(range(1 if getnames else 0, datarow - 1))
    df = pd.read_csv(p, sep=sep, header=header, skiprows=skip, keep_default_na=False, na_values=["", "."],
                     skipinitialspace=True)
    used: set = set()
    if getnames:
        # SAS names a column with an empty header VARn (n = its position); pandas says "Unnamed: n".
        with open(p, newline="") as fh:
            first = next(csv.reader(fh, delimiter=sep), [])
        first += [""] * (df.shape[1] - len(first))
        df.columns = [_sas_name(h, used) if h.strip() else _sas_name(f"VAR{i + 1}", used)
                      for i, h in enumerate(first[:df.shape[1]])]
    else:
        df.columns = [f"VAR{i + 1}" for i in range(df.shape[1])]
    ds = Dataset(normalise_frame(df))
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
    p = Path(session.resolve_path(str(path)))
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
