"""The SAS conformance cases in ../shared/conformance, checked with ../shared/tools/compare_expected.py
(numbers SAS printed, to the precision SAS printed them)."""
from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, SHARED

CASES = SHARED / "conformance"
pytestmark = pytest.mark.skipif(not CASES.is_dir(), reason="../shared/conformance not present")


def _compare_module():
    spec = importlib.util.spec_from_file_location("compare_expected", SHARED / "tools" / "compare_expected.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_case(name, tmp_path):
    case = tmp_path / name
    shutil.copytree(CASES / name, case)
    res = subprocess.run([sys.executable, "-m", "sasglm", "run", "program.sas", "--json", "produced.json"],
                         cwd=case, capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert "Traceback" not in res.stderr
    cmp = _compare_module()
    expected = json.loads((case / "expected.json").read_text())
    produced = json.loads((case / "produced.json").read_text())
    return cmp.compare(expected, produced)


@pytest.mark.parametrize("name", ["genmod_ex2_normal_loglink", "bios667_chd004_poisson_binomial_events_trials",
                                  "bios667_mus005_gee_bin_unbalanced", "genmod_ex6_alr_fullclust"])
def test_case_matches_sas(name, tmp_path):
    matched, total, problems = run_case(name, tmp_path)
    assert matched == total, "\n".join(problems[:20])
