"""PROC GEE: generalized estimating equations with the GEE procedure's syntax and tables, fitted by the
GENMOD engine (the REPEATED statement is required; no initial GLM fit or Type 3 tables are printed)."""
from __future__ import annotations

from .genmod import run_genmod


def run_gee(session, proc):
    run_genmod(session, proc, variant="GEE")
