"""One-behaviour-per-file SAS programs under tests/sas/.

Each program's header comment says what it checks and names the data set to compare
(`expect: WORK.NAME`); the expected data set is `<program>.csv` beside it (empty field = missing).
The expected values were worked out by hand from SAS's documented DATA step semantics (the PDV,
RETAIN, BY-group, MERGE and INPUT rules in the SAS 9.4 Language Reference), not by running sasglm.
Lines `expect-log: text` must appear in the log.
"""
from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import pytest

from conftest import run_sas

HERE = Path(__file__).resolve().parent / "sas"
PROGRAMS = sorted(HERE.glob("*.sas"))


def _expected(path: Path):
    with path.open() as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


@pytest.mark.parametrize("prog", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_program(prog: Path):
    text = prog.read_text()
    m = re.search(r"expect:\s*(\S+)", text)
    assert m, "program must name its expected data set"
    r = run_sas(text, cwd=HERE)
    assert not r.errors, r.log
    # the log echoes the source (and so these comments): compare against the messages only
    messages = "\n".join(l for l in r.log.splitlines() if not re.match(r"^\d+\s", l))
    for want in re.findall(r"expect-log:\s*(.+)", text):
        want = want.strip().removesuffix("*/").strip()
        assert want in messages, f"missing log text {want!r}\n{r.log}"
    ds = r.ds(m.group(1))
    header, rows = _expected(prog.with_suffix(".csv"))
    assert [c.lower() for c in ds.columns] == [h.lower() for h in header]
    assert ds.nobs == len(rows), ds.df
    for i, row in enumerate(rows):
        for col, want in zip(ds.columns, row):
            got = ds.df[col].iloc[i]
            if ds.var(col).is_char:
                assert got == want, (i, col, got, want)
            elif want == "":
                assert math.isnan(got), (i, col, got)
            else:
                assert got == pytest.approx(float(want), rel=1e-9, abs=1e-12), (i, col, got, want)
