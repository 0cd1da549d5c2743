"""One-behaviour-per-file macro programs under tests/macro/: each names the log text SAS writes
(`expect-log:`) or the ERROR it gives (`expect-error:`)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import run_sas

HERE = Path(__file__).resolve().parent / "macro"
PROGRAMS = sorted(HERE.glob("*.sas"))


@pytest.mark.parametrize("prog", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_macro_program(prog):
    text = prog.read_text()
    r = run_sas(text, cwd=HERE)
    # the log echoes the source (and so these comments): compare against the messages only
    messages = "\n".join(l for l in r.log.splitlines() if not re.match(r"^\d+\s", l))
    clean = lambda w: w.strip().removesuffix("*/").strip()
    want_errors = [clean(w) for w in re.findall(r"expect-error:\s*(.+)", text)]
    for want in re.findall(r"expect-log:\s*(.+)", text):
        assert clean(want) in messages, f"missing {want!r}\n{r.log}"
    if want_errors:
        for want in want_errors:
            assert any(want in e for e in r.errors), (want, r.errors)
    else:
        assert not r.errors, r.errors
