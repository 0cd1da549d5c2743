"""PROC TRANSPOSE: DATA= OUT= PREFIX= NAME= LABEL=; VAR, BY, ID, COPY."""
from __future__ import annotations

import pandas as pd

from .. import ast as A
from ..data.dataset import Dataset, normalise_frame
from ..datastep.formats import format_value
from ..errors import SasError
from .common import Options, by_groups, by_items, dsref_from_value, input_data, statements, var_names, \
    where_statements


def run_transpose(session, proc):
    opts = Options(proc.options, {"data", "out", "prefix", "name", "label", "suffix", "let", "delimiter"},
                   "PROC TRANSPOSE")
    ds, ref = input_data(session, opts, proc, where_statements(proc))
    from .common import warn_ignored
    warn_ignored(session, opts, ['label', 'suffix', 'delimiter'], 'PROC TRANSPOSE')
    var = None
    by = []
    idv = None
    for kw, st in statements(proc, {"var", "by", "id", "where", "idlabel", "copy"}):
        if kw == "var":
            var = var_names(st.items, ds)
        elif kw == "by":
            by = by_items(st.items, ds)
        elif kw == "id":
            idv = var_names(st.items, ds, "ID")[0]
        elif kw in ("idlabel", "copy"):
            raise SasError(f"The {kw.upper()} statement of PROC TRANSPOSE is not supported yet.", st.line, st.col)
    bycols = [b for b, _ in by]
    if var is None:
        var = [m.name for m in ds.ordered_meta() if m.type == "N" and m.name not in bycols and m.name != idv]
    name_col = str(opts.get("name", "_NAME_"))
    prefix = str(opts.get("prefix", "COL" if idv is None else ""))
    char_out = any(ds.var(v).is_char for v in var)
    has_label = any(ds.var(v).label for v in var)
    frames = []
    for byline, sub in by_groups(ds, by, session, "TRANSPOSE"):
        if idv is not None:
            m = ds.var(idv)
            ids = [v if m.is_char else format_value(v, m.format, session.user_formats, strip=True)
                   for v in sub.df[idv]]
            names = [prefix + str(i).replace(" ", "_") for i in ids]
            if len(set(n.lower() for n in names)) != len(names) and not opts.has("let"):
                raise SasError("The ID value occurs twice in the same BY group.", proc.line, proc.col)
        else:
            names = [f"{prefix}{i + 1}" for i in range(sub.nobs)]
        rows = []
        for v in var:
            row = {b: sub.df[b].iloc[0] for b in bycols}
            row[name_col] = v
            if has_label:
                row["_LABEL_"] = ds.var(v).label or v
            vals = sub.df[v].tolist()
            for n, x in zip(names, vals):
                if char_out and not isinstance(x, str):
                    x = format_value(x, None, None, strip=True)
                row[n] = x
            rows.append(row)
        frames.append(pd.DataFrame(rows))
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    out_ref = dsref_from_value(opts.nodes["out"]) if "out" in opts.nodes else A.DsRef(None, session._next_dataN())
    session.log.note(f"There were {ds.nobs} observations read from the data set {ref.display}.")
    session.put_dataset(out_ref, Dataset(normalise_frame(df)))
