"""PROC DATASETS (LIB=, DELETE, KILL) and PROC DELETE."""
from __future__ import annotations

from .. import ast as A
from ..errors import SasError
from .common import Options, dsref_from_value, statements


def run_datasets(session, proc):
    opts = Options(proc.options, {"lib", "library", "nolist", "kill", "memtype", "nowarn", "details"},
                   "PROC DATASETS")
    libref = str(opts.get("lib", opts.get("library", "work")))
    lib = session.library(libref, (proc.line, proc.col))
    if opts.has("kill"):
        for n in lib.names():
            lib.delete(n)
            session.log.note(f"Deleting {lib.name}.{n} (memtype=DATA).")
    for kw, st in statements(proc, {"delete", "save", "change", "contents", "modify"}):
        if kw == "delete":
            for it in st.items:
                if isinstance(it, A.Word) and it.kind == "name":
                    name = str(it.value)
                    if lib.delete(name):
                        session.log.note(f"Deleting {lib.name}.{name.upper()} (memtype=DATA).")
                    else:
                        session.log.warning(f"The file {lib.name}.{name.upper()} (memtype=DATA) was not found, "
                                            "but appears on a DELETE statement.")
        elif kw == "save":
            keep = {str(i.value).upper() for i in st.items if isinstance(i, A.Word)}
            for n in lib.names():
                if n not in keep:
                    lib.delete(n)
                    session.log.note(f"Deleting {lib.name}.{n} (memtype=DATA).")
        else:
            raise SasError(f"The {kw.upper()} statement of PROC DATASETS is not supported yet.", st.line, st.col)


def run_delete(session, proc):
    opts = Options(proc.options, {"data", "lib", "library", "memtype"}, "PROC DELETE", allow_rest=True)
    targets = []
    v = opts.nodes.get("data")
    if v is not None:
        targets.append(dsref_from_value(v))
    for it in opts.rest:
        if isinstance(it, A.Word) and it.kind in ("name", "dotted"):
            targets.append(dsref_from_value(it))
    for ref in targets:
        lib = session.library(ref.libref or opts.get("lib"), (proc.line, proc.col))
        if lib.delete(ref.name):
            session.log.note(f"Deleting {lib.name}.{ref.name.upper()} (memtype=DATA).")
        else:
            session.log.warning(f"File {lib.name}.{ref.name.upper()}.DATA does not exist.")
