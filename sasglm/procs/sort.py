"""PROC SORT: BY (DESCENDING), OUT=, NODUPKEY, NODUP/NODUPRECS, DUPOUT=; stable (EQUALS) like SAS."""
from __future__ import annotations

import numpy as np

from ..data.dataset import Dataset
from ..datastep.execute import sort_keys
from ..errors import SasError
from .common import Options, by_items, dsref_from_value, input_data, statements, where_statements


def run_sort(session, proc):
    opts = Options(proc.options, {"data", "out", "nodupkey", "nodup", "noduprecs", "dupout", "equals",
                                  "noequals", "force", "sortseq", "presorted", "tagsort", "reverse",
                                  "threads", "nothreads", "sortsize"}, "PROC SORT", proc.line, proc.col)
    ds, ref = input_data(session, opts, proc, where_statements(proc))
    from .common import warn_ignored
    warn_ignored(session, opts, ['sortseq', 'reverse', 'tagsort', 'threads', 'nothreads', 'sortsize', 'presorted'], 'PROC SORT')
    by = None
    for kw, st in statements(proc, {"by", "where"}):
        if kw == "by":
            by = by_items(st.items, ds)
    if not by:
        raise SasError("No BY statement was specified for PROC SORT.", proc.line, proc.col, code="")
    keys = sort_keys(ds.df, by)
    order = np.lexsort(tuple(reversed(keys))) if keys else np.arange(ds.nobs)   # lexsort is stable
    df = ds.df.iloc[order].reset_index(drop=True)
    session.log.note(f"There were {ds.nobs} observations read from the data set {ref.display}." +
                     (f"\n      WHERE {ds.where_text};" if getattr(ds, "where_text", None) else ""))
    dup_df = None
    if opts.has("nodupkey"):
        cols = [b for b, _ in by]
        dup = df.duplicated(subset=cols, keep="first").to_numpy()
        dup_df = df[dup]
        df = df[~dup].reset_index(drop=True)
        session.log.note(f"{int(dup.sum())} observations with duplicate key values were deleted.")
    elif opts.has("nodup") or opts.has("noduprecs"):
        prev = df.shift(1)
        same = ((df == prev) | (df.isna() & prev.isna())).all(axis=1).to_numpy()
        if len(same):
            same[0] = False
        dup_df = df[same]
        df = df[~same].reset_index(drop=True)
        session.log.note(f"{int(same.sum())} duplicate observations were deleted.")
    out = Dataset(df, {k: v for k, v in ds.meta.items()}, ds.label, by)
    out_ref = dsref_from_value(opts.nodes["out"]) if "out" in opts.nodes else ref
    if "dupout" in opts.nodes and dup_df is not None:
        session.put_dataset(dsref_from_value(opts.nodes["dupout"]), Dataset(dup_df.reset_index(drop=True),
                                                                             dict(ds.meta)))
    session.put_dataset(out_ref, out)
