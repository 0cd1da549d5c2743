"""Shared helpers: run SAS source in-process and capture the log and the listing."""
from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from sasglm.log import Log
from sasglm.session import Session

ROOT = Path(__file__).resolve().parent.parent
SHARED = (ROOT / ".." / "shared").resolve()
SHARED_DATA = SHARED / "data"


class Run:
    def __init__(self, session: Session, log: str, out: str):
        self.session, self.log, self.out = session, log, out

    def ds(self, name: str):
        return self.session.get_dataset(name)

    @property
    def errors(self) -> list[str]:
        return [l for l in self.log.splitlines() if l.startswith("ERROR")]

    @property
    def warnings(self) -> list[str]:
        return [l for l in self.log.splitlines() if l.startswith("WARNING")]


def run_sas(source: str, cwd: Path | None = None, **kw) -> Run:
    logbuf, outbuf = io.StringIO(), io.StringIO()
    if "outdir" not in kw:
        import tempfile
        kw["outdir"] = tempfile.mkdtemp(prefix="sasglm_test_")
    session = Session(log=Log(logbuf), out=outbuf, **kw)
    session.assign_override_libs()
    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        session.submit(source)
    finally:
        os.chdir(old)
    r = Run(session, logbuf.getvalue(), outbuf.getvalue())
    r.exit_status = session.log.exit_status
    return r


def capture_figures(monkeypatch, module, with_base: bool = False) -> list:
    """Collect the matplotlib figures a graphics procedure module saves (still written to disk), so tests
    read the data behind the lines and bars rather than pixels."""
    got = []
    real = module.save_figure

    def capture(session, fig, base):
        got.append((base, fig) if with_base else fig)
        real(session, fig, base)
    monkeypatch.setattr(module, "save_figure", capture)
    return got


def assert_errors(r: Run, fragments: list[str]) -> None:
    """Exactly one ERROR per fragment, in order, each naming its fragment."""
    assert len(r.errors) == len(fragments), r.log
    for err, frag in zip(r.errors, fragments):
        assert frag in err, (frag, err)


@pytest.fixture
def sas():
    return run_sas


needs_shared = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data not present")


# A small Poisson data set (class g, covariate x, count y) used by the GENMOD and GLIMMIX tests whose
# reference numbers were computed by hand in R from exactly these rows.
COUNT_ROWS = """1 0.5 3
1 1.5 5
2 0.2 1
2 2.5 9
3 1.0 2
3 3.0 7
1 2.0 4
2 1.1 3
"""



# The CAMIS respiratory-trial data (../shared/conformance/.../resp_gee.csv) and the DATA step the CAMIS programs
# read it with
RESP_CSV = SHARED / "conformance" / "camis_glimmix_quad5_binary_ri_bw" / "resp_gee.csv"
RESP_STEP = """
data resp;
  length trtp $1 sex $1 usubjid $8 respnom $5;
  infile 'resp_gee.csv' dsd firstobs=2 truncover;
  input center id trtp $ sex $ age base visit1-visit4
        usubjid $ avisitn outcome respord respnom $;
run;
"""
needs_resp = pytest.mark.skipif(not RESP_CSV.is_file(), reason="../shared/conformance not present")


@pytest.fixture
def resp_dir(tmp_path, monkeypatch):
    """A working folder holding resp_gee.csv, for programs that read it by bare name."""
    import shutil
    shutil.copy(RESP_CSV, tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def sim_trial(n: int = 40, visits: int = 4, seed: int = 42, params: tuple[str, ...] = ()) -> str:
    """A DATA step (data set A) simulating a two-arm repeated-measures trial: id 1..n, trt = id mod 2,
    time 1..visits, a normal y with a subject random intercept and a trt*time interaction, and a binary
    c = (y above its centre); with params, one copy of the trial per value of a character BY variable
    param (shifted by 3 for each later value)."""
    head, tail, shift = "", "", ""
    if params:
        head = "  do param = " + ", ".join(f"'{p}'" for p in params) + ";\n"
        tail = "  end;\n"
        shift = " + 3 * (" + " + ".join(f"(param = '{p}')" for p in params[1:]) + ")" if len(params) > 1 else ""
    return (f"data a;\n  call streaminit({seed});\n{head}"
            f"  do id = 1 to {n};\n    trt = mod(id, 2);\n    b = rand('normal', 0, 1);\n"
            f"    do time = 1 to {visits};\n"
            f"      y = 10 + trt + 0.5*time + 0.3*trt*time + b + rand('normal', 0, 1){shift};\n"
            f"      c = (y > 12{shift});\n      output;\n    end;\n  end;\n{tail}run;\n")
