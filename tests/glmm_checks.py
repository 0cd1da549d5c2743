"""A shared check for GLIMMIX fits against an R peer's numbers (used by the distribution tests)."""
from __future__ import annotations

import pytest


def rows(r, name):
    return [t for t in r.session.tables if t.name == name][0].rows


def check_fit(r, est, se, covparms, m2ll, tol=2e-5):
    """Fixed effects (rows with a standard error), their SEs, covariance parameters by name and -2 log L."""
    assert not r.errors, r.errors
    sol = [row for row in rows(r, "ParameterEstimates") if row["StdErr"] is not None]
    assert [row["Estimate"] for row in sol] == pytest.approx(est, abs=tol)
    assert [row["StdErr"] for row in sol] == pytest.approx(se, abs=tol)
    cp = {row["CovParm"]: row["Estimate"] for row in rows(r, "CovParms")}
    for name, value in covparms.items():
        assert cp[name] == pytest.approx(value, abs=tol), name
    fit = {row["Descr"]: row["Value"] for row in rows(r, "FitStatistics")}
    assert fit["-2 Log Likelihood"] == pytest.approx(m2ll, abs=1e-4)
    return fit
