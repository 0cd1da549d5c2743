"""Robustness: thousands of generated and mutated programs (from the course program and tests/sas)
go through parse and run.  No Python exception may escape and no step may end in an internal
error: every failure must be an ordinary SAS-style ERROR line."""
from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT, SHARED
from sasglm.log import Log
from sasglm.session import Session

SOURCES = [p.read_text() for p in sorted((ROOT / "tests" / "sas").glob("*.sas"))]
SOURCES += [p.read_text() for p in sorted((ROOT / "tests" / "fuzz_seeds").glob("*.sas"))]
course = SHARED / "seed" / "course_program.sas"
if course.exists():
    SOURCES.append(course.read_text())
SOURCES.append((ROOT / "programs" / "demo.sas").read_text())

FRAGMENTS = [";", "(", ")", "'", '"', "=", "*", "/*", "*/", "do;", "end;", "run;", "data x;", "proc print;",
             "if", "then", "else", ".", "-", "**", "&", "%", "@", "$", "1e", "'01jan2020'd", "array a{2};",
             "set", "by", "output;", "retain", "x", "input", "datalines;", "\n", "select;", "when(1)",
             "first.x", "lag(", "put", "format", "8.2", "_null_", "merge", "keep=", "where", "in (1,2)",
             "class", "model y = x", "/ dist=binomial", "proc means;", "proc freq;", "tables", "quit;"]


@st.composite
def mutated_program(draw):
    src = draw(st.sampled_from(SOURCES))
    n_mut = draw(st.integers(1, 4))
    for _ in range(n_mut):
        kind = draw(st.sampled_from(["delete", "insert", "duplicate", "truncate", "swap_lines", "char"]))
        if not src:
            break
        i = draw(st.integers(0, len(src) - 1))
        j = min(len(src), i + draw(st.integers(1, 40)))
        if kind == "delete":
            src = src[:i] + src[j:]
        elif kind == "insert":
            src = src[:i] + draw(st.sampled_from(FRAGMENTS)) + src[i:]
        elif kind == "duplicate":
            src = src[:j] + src[i:j] + src[j:]
        elif kind == "truncate":
            src = src[:i]
        elif kind == "swap_lines":
            lines = src.split("\n")
            a = draw(st.integers(0, len(lines) - 1))
            b = draw(st.integers(0, len(lines) - 1))
            lines[a], lines[b] = lines[b], lines[a]
            src = "\n".join(lines)
        else:
            src = src[:i] + draw(st.characters(codec="utf-8")) + src[i + 1:]
    return src


def _run(src: str) -> str:
    buf = io.StringIO()
    session = Session(log=Log(buf), out=io.StringIO(), step_timeout=2.0)
    session.submit(src)
    return buf.getvalue()


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(mutated_program())
def test_mutated_programs_never_raise(src):
    log = _run(src)
    assert "Internal error" not in log, log[-3000:]
    assert "Traceback" not in log


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(st.text(alphabet=st.sampled_from(list("dataprocsetifthen=;()'\"*/ .xy12$@&%\n")), max_size=200))
def test_random_text_never_raises(src):
    log = _run(src)
    assert "Internal error" not in log
