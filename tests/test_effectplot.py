"""EFFECTPLOT in GENMOD and PLM: the curves drawn must be the model's predictions, with the other
variables at SAS's default AT settings (continuous at their mean, CLASS at the last level).  The
reference values are computed here from the GENMOD parameter estimates printed in the same run."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit

from conftest import assert_errors, run_sas

DATA = """data a; input g $ x y @@; datalines;
a 1 0 a 2 1 a 3 1 b 1 0 b 2 0 b 3 1 c 1 1 c 2 1 c 3 0 a 4 1 b 4 0 c 4 1 a 2 0 b 5 1 c 0 0
;
"""


def _coef(r):
    t = [t for t in r.session.tables if t.name == "ParameterEstimates" and t.proc == "GENMOD"][0]
    return {(row["Parameter"], row["Level1"]): row["Estimate"] for row in t.rows}


def test_fit_slicefit_interaction_values_and_files():
    r = run_sas(DATA + "proc genmod data=a descending; class g; model y = g x / dist=bin;\n"
                "  effectplot fit(x=x); effectplot; effectplot interaction(x=g) / clm link; store m; run;\n"
                "proc plm source=m; effectplot slicefit(x=x sliceby=g) / clm; run;")
    assert not r.errors and not r.warnings, r.log
    b = _coef(r)
    plots = r.session.effectplot_data
    assert [p["name"] for p in plots] == ["FitPlot", "SliceFitPlot", "InteractionPlot", "SliceFitPlot"]
    assert [Path(p["path"]).name for p in plots] == ["FitPlot.png", "SliceFitPlot.png", "InteractionPlot.png",
                                                     "SliceFitPlot1.png"]
    assert all(Path(p["path"]).stat().st_size > 5000 for p in plots)
    # FIT: g held at its last level 'c'; x from its minimum 0 to its maximum 5
    grid, v = plots[0]["curves"][None]
    assert (grid[0], grid[-1]) == (0.0, 5.0) and plots[0]["held"]["g"] == "c"
    assert v[:, 0] == pytest.approx(expit(b[("Intercept", "")] + b[("x", "")] * grid), abs=1e-12)
    assert np.all(v[:, 1] < v[:, 0]) and np.all(v[:, 0] < v[:, 2])
    # the default plot for a CLASS + continuous model is SLICEFIT, one curve per level of g
    grid, va = plots[1]["curves"]["a"]
    assert va[:, 0] == pytest.approx(expit(b[("Intercept", "")] + b[("g", "a")] + b[("x", "")] * grid), abs=1e-12)
    # INTERACTION on the link scale: x at its mean (37/15)
    labels, vi = plots[2]["curves"][None]
    xbar = 37 / 15
    assert labels == ["a", "b", "c"]
    assert vi[1, 0] == pytest.approx(b[("Intercept", "")] + b[("g", "b")] + b[("x", "")] * xbar, abs=1e-12)
    # the PLM plot from the store draws the same curves as GENMOD's default plot
    assert plots[3]["curves"]["b"][1] == pytest.approx(plots[1]["curves"]["b"][1], abs=1e-12)


def test_effectplot_rejects_what_it_does_not_draw():
    r = run_sas(DATA + "proc genmod data=a; class g; model y = g x / dist=bin; effectplot contour(x=x y=x); run;\n"
                "proc genmod data=a; class g; model y = g x / dist=bin; effectplot fit(x=g); run;\n"
                "proc genmod data=a; class g; model y = g x / dist=bin; effectplot fit(x=x) / at(g='a'); run;")
    assert_errors(r, ["CONTOUR", "continuous", "AT"])
