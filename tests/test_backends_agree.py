"""The vectorised DATA step backend must give exactly what the row backend gives: the same data sets
and the same log (including the missing-value notes counted per place).  Every tests/sas program is
run both ways, plus programs written to hit the vector backend's mask logic."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from conftest import run_sas

HERE = Path(__file__).resolve().parent / "sas"

EXTRA = {
    "masks_and_delete": """
data src; input id g $ x y; datalines;
1 a 1 .
2 b -1 4
3 a . 9
4 c 5 2
5 b 0 0
;
data out;
  set src;
  if x > 0 then do;
     r = y / x;
     if y = . then delete;
     lg = log(x);
  end;
  else if x = . then r = y + 1;
  else do; r = x * y; lg = log(x); end;
  s = sum(x, y, 1);
  if g in ('a', 'b');
  h = upcase(g) || '!';
  k = round(r, 0.5) + mean(x, y);
  sq = sqrt(x); ex = exp(y * 300); l10 = log10(y); l2 = log2(x);
  inn = (x in (1, 3:5, .)); notin = (y not in (0, 9)); cin = (g in ('c'));
run;
""",
    "outputs_and_by": """
data src; input id t v; datalines;
1 1 10
1 2 .
2 1 30
2 2 40
2 3 50
;
data a b;
  set src;
  by id;
  f = first.id; l = last.id;
  w = v * 2;
  if w > 50 then output a;
  output b;
  if l then output a;
run;
""",
    "conversion_notes": """
data src; input c $ n; datalines;
12 1
7 2
;
data out; set src; x = c + n; y = n || 'z'; z = (c = '12'); run;
""",
}


def test_data_error_runs_row_by_row(monkeypatch):
    # invalid numeric data in a vectorisable step: SAS reports it per row (NOTE, then the PDV with
    # _ERROR_=1), so the step reruns on the row backend and both backends print the same log
    src = ("data src; input c $ n; datalines;\n12 1\nab 2\n;\n"
           "data out; set src; x = c + n; e = _error_; run;\n")
    _compare(src, monkeypatch)
    r = run_sas(src)
    lines = r.log.splitlines()
    i = lines.index("NOTE: Invalid numeric data, 'ab' , at line 5 column 24.")
    assert lines[i + 1] == "c=ab n=2 x=. e=1 _ERROR_=1 _N_=2"
    assert r.ds("out").df["x"].tolist()[0] == 13 and not r.warnings


def _datasets(r):
    lib = r.session.libraries["work"]
    return {n: lib.get(n).df for n in lib.names()}


def _compare(src, monkeypatch, cwd=None):
    monkeypatch.setenv("SASGLM_ROW_BACKEND", "1")
    row = run_sas(src, cwd=cwd)
    monkeypatch.delenv("SASGLM_ROW_BACKEND")
    vec = run_sas(src, cwd=cwd)
    assert row.log == vec.log
    a, b = _datasets(row), _datasets(vec)
    assert a.keys() == b.keys()
    for k in a:
        pd.testing.assert_frame_equal(a[k], b[k], check_dtype=False)


@pytest.mark.parametrize("prog", sorted(HERE.glob("*.sas")), ids=lambda p: p.stem)
def test_program_backends_agree(prog, monkeypatch):
    _compare(prog.read_text(), monkeypatch, cwd=HERE)


@pytest.mark.parametrize("name", sorted(EXTRA))
def test_extra_backends_agree(name, monkeypatch):
    # these programs are written for the vector backend: check it really ran (no silent fallback
    # to rows, which would make the comparison compare the row backend with itself)
    from sasglm.datastep import execute as X
    done = []
    run_vector = X.DataStepRunner._run_vector

    def spy(self, comp, stmts):
        out = run_vector(self, comp, stmts)
        done.append(True)
        return out
    monkeypatch.setattr(X.DataStepRunner, "_run_vector", spy)
    _compare(EXTRA[name], monkeypatch)
    assert done, f"{name}: no step ran on the vector backend"


def test_vector_backend_is_used(monkeypatch, capsys):
    monkeypatch.setenv("SASGLM_SHOW_CODE", "1")
    run_sas("data a; x = 1; output; x = 2; output; run; data b; set a; y = x * 2; run;")
    assert "def _vstep" in capsys.readouterr().err
