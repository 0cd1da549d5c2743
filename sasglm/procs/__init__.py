"""PROC registry.  Each handler is ``handler(session, proc_step)``."""
from __future__ import annotations

import importlib

_MODULES = {
    "SORT": "sort", "PRINT": "printproc", "CONTENTS": "contents", "MEANS": "means", "SUMMARY": "means",
    "FREQ": "freq", "TRANSPOSE": "transpose", "DATASETS": "datasets", "IMPORT": "importexport",
    "EXPORT": "importexport", "FORMAT": "formatproc", "DELETE": "datasets", "GENMOD": "genmod", "PLM": "plm",
    "SGPLOT": "sgplot", "SGPANEL": "sgpanel", "GLIMMIX": "glimmix", "MIXED": "mixed", "GEE": "gee", "CORR": "corr",
    "COMPARE": "compare", "NLMIXED": "nlmixed",
}


def get_proc(name: str):
    mod = _MODULES.get(name.upper())
    if mod is None:
        return None
    m = importlib.import_module(f".{mod}", __name__)
    return getattr(m, "run_" + name.lower())
