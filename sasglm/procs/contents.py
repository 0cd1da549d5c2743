"""PROC CONTENTS: Attributes and Variables tables (ODS names Attributes, Variables)."""
from __future__ import annotations

from ..ods.table import Column, Table
from .common import Options, input_data, statements


def run_contents(session, proc):
    opts = Options(proc.options, {"data", "varnum", "short", "position", "details", "nodetails", "out",
                                  "noprint", "order", "directory", "nods"}, "PROC CONTENTS")
    ds, ref = input_data(session, opts, proc)
    from .common import warn_ignored
    warn_ignored(session, opts, ['short', 'details', 'nodetails', 'out', 'order', 'directory', 'nods'], 'PROC CONTENTS')
    list(statements(proc, set()))
    if opts.has("noprint"):
        return
    attrs = [("Data Set Name", ref.display), ("Observations", str(ds.nobs)),
             ("Member Type", "DATA"), ("Variables", str(len(ds.columns))), ("Engine", "V9"),
             ("Label", ds.label or "")]
    session.emit_table(Table("CONTENTS", "Attributes", "", [Column("Label1", ""), Column("cValue1", "")],
                             [{"Label1": a, "cValue1": b} for a, b in attrs], kind="kv"))
    metas = ds.ordered_meta()
    rows = []
    pos = 0
    for i, m in enumerate(metas, 1):
        rows.append({"Num": i, "Variable": m.name, "Type": "Num" if m.type == "N" else "Char", "Len": m.length,
                     "Pos": pos, "Format": m.format or "", "Informat": m.informat or "", "Label": m.label or ""})
        pos += m.length
    if not opts.has("varnum") and not opts.has("position"):
        rows.sort(key=lambda r: r["Variable"].lower())
        title = "Alphabetic List of Variables and Attributes"
    else:
        title = "Variables in Creation Order"
    cols = [Column("Num", "#", "INT"), Column("Variable"), Column("Type"), Column("Len", None, "INT"),
            Column("Pos", hidden=True), Column("Format"), Column("Informat", hidden=True), Column("Label")]
    if not any(r["Format"] for r in rows):
        cols[5].hidden = True
    if not any(r["Label"] for r in rows):
        cols[7].hidden = True
    session.emit_table(Table("CONTENTS", "Variables", title, cols, rows))
