"""PROC SGPLOT plot statements (procs/sgdraw.py).  The figures are captured before they are written, so the
tests read the data behind each line, bar and band, not pixels.

References: group means, t confidence limits and least-squares fits computed here with numpy/scipy; LOESS
values from R 4 stats::loess(span, degree, family = "gaussian", surface = "direct") run by hand on the
data of test_loess_matches_r (Cleveland's local regression, which SAS's LOESS statement fits)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from conftest import capture_figures, run_sas

DATA = """data d;
  do id = 1 to 12;
    g = mod(id, 2);
    do t = 1 to 4;
      y = 10 + g * t + id / 5 + mod(id * t, 3);
      output;
    end;
  end;
run;
"""


@pytest.fixture
def figures(monkeypatch):
    from sasglm.procs import sgplot
    return capture_figures(monkeypatch, sgplot)


def _y(g, t):
    ids = [i for i in range(1, 13) if i % 2 == g]
    return np.array([10 + g * t + i / 5 + (i * t) % 3 for i in ids])


def test_vline_means_and_clm_limits(figures, tmp_path):
    r = run_sas(DATA + "proc sgplot data=d; vline t / response=y stat=mean limits=both group=g markers; run;",
                outdir=str(tmp_path))
    assert not r.errors and not r.warnings, r.log
    ax = figures[0].axes[0]
    lines = {ln.get_label(): ln for ln in ax.get_lines() if not ln.get_label().startswith("_")}
    assert set(lines) == {"0", "1"}
    for g in (0, 1):
        means = [float(np.mean(_y(g, t))) for t in range(1, 5)]
        assert lines[str(g)].get_ydata() == pytest.approx(means, abs=1e-12)
    # the error bars of group 1 at t = 2: mean +- t(0.975, 5) s / sqrt(6)
    v = _y(1, 2)
    e = stats.t.ppf(0.975, 5) * v.std(ddof=1) / np.sqrt(6)
    segs = [seg for coll in ax.collections for seg in coll.get_segments()]
    assert any(np.allclose(seg[:, 1], [v.mean() - e, v.mean() + e]) for seg in segs)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3", "4"]


def test_vbar_counts_cluster_and_hbar_mean(figures, tmp_path):
    r = run_sas(DATA + "proc sgplot data=d; vbar t / group=g groupdisplay=cluster; run;\n"
                       "proc sgplot data=d; hbar g / response=y stat=mean; run;", outdir=str(tmp_path))
    assert not r.errors, r.log
    heights = sorted(p.get_height() for p in figures[0].axes[0].patches)
    assert heights == [6.0] * 8
    widths = [p.get_width() for p in figures[1].axes[0].patches]
    assert widths == pytest.approx([np.mean(np.concatenate([_y(g, t) for t in range(1, 5)])) for g in (0, 1)])


def test_reg_fit_and_clm_band(figures, tmp_path):
    r = run_sas(DATA + "proc sgplot data=d; reg x=t y=y / clm; run;", outdir=str(tmp_path))
    assert not r.errors, r.log
    ax = figures[0].axes[0]
    fit = [ln for ln in ax.get_lines() if ln.get_label() == "Regression"][0]
    d = [(t, y) for i in range(1, 13) for t in range(1, 5) for y in [10 + (i % 2) * t + i / 5 + (i * t) % 3]]
    x, y = np.array(d).T
    lr = stats.linregress(x, y)
    gx = fit.get_xdata()
    assert fit.get_ydata() == pytest.approx(lr.intercept + lr.slope * gx, abs=1e-9)
    # the confidence band at x = 1: fit -+ t(0.975, n - 2) s sqrt(1/n + (x - xbar)^2 / Sxx)
    n = len(x)
    s = np.sqrt(np.sum((y - lr.intercept - lr.slope * x) ** 2) / (n - 2))
    half = stats.t.ppf(0.975, n - 2) * s * np.sqrt(1 / n + (1 - x.mean()) ** 2 / np.sum((x - x.mean()) ** 2))
    band = ax.collections[-1].get_paths()[0].vertices
    at1 = band[np.isclose(band[:, 0], 1.0), 1]
    assert min(at1) == pytest.approx(lr.intercept + lr.slope - half, abs=1e-9)
    assert max(at1) == pytest.approx(lr.intercept + lr.slope + half, abs=1e-9)


def test_loess_matches_r():
    from sasglm.procs.sgdraw import loess_fit
    x = np.arange(1, 21.0)
    y = np.sin(x / 3) + (x % 3) / 5
    at = np.array([1, 5.5, 10, 14.25, 20])
    assert loess_fit(x, y, at, 0.5, 1) == pytest.approx(
        [0.79465149641, 1.01768752354, 0.04496767344, -0.63020762043, 0.51859614403], abs=1e-9)
    assert loess_fit(x, y, at, 0.75, 2) == pytest.approx(
        [0.63509988908, 1.06886088643, 0.01534132887, -0.75717720077, 0.73442782904], abs=1e-9)


def test_loess_with_tied_x_and_pbspline_stay_within_the_data(figures, tmp_path):
    r = run_sas(DATA + "proc sgplot data=d; loess x=t y=y / nomarkers; pbspline x=t y=y / nomarkers; run;",
                outdir=str(tmp_path))
    assert not r.errors, r.log
    for ln in figures[0].axes[0].get_lines():
        assert 10 <= min(ln.get_ydata()) and max(ln.get_ydata()) <= 17


def test_attributes_labels_formats_and_axis_options(figures, tmp_path):
    r = run_sas(DATA + "proc format; value gf 0 = 'Placebo' 1 = 'Active'; run;\n"
                       "proc sgplot data=d; series x=t y=y / group=g lineattrs=(color=red pattern=dash thickness=3);\n"
                       "  format g gf.; label y = 'Outcome'; xaxis min=0 max=5 label='Visit'; yaxis type=log; run;",
                outdir=str(tmp_path))
    assert not r.errors and not r.warnings, r.log
    ax = figures[0].axes[0]
    lines = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
    assert {ln.get_label() for ln in lines} == {"Placebo", "Active"}
    for ln in lines:
        assert ln.get_color() == "red" and ln.get_linewidth() == 3 and ln.get_linestyle() == "--"
    assert ax.get_ylabel() == "Outcome" and ax.get_xlabel() == "Visit"
    assert ax.get_xlim() == (0.0, 5.0)
    assert ax.get_yscale() == "log"


def test_histogram_counts_and_density_scale(figures, tmp_path):
    r = run_sas(DATA + "proc sgplot data=d; histogram y / binwidth=2 scale=count; density y; run;",
                outdir=str(tmp_path))
    assert not r.errors, r.log
    ax = figures[0].axes[0]
    y = np.array([10 + (i % 2) * t + i / 5 + (i * t) % 3 for i in range(1, 13) for t in range(1, 5)])
    assert sum(p.get_height() for p in ax.patches) == len(y)
    dens = [ln for ln in ax.get_lines() if ln.get_label() == "Normal"][0]
    peak = stats.norm.pdf(0, 0, y.std(ddof=1)) * len(y) * 2
    assert max(dens.get_ydata()) == pytest.approx(peak, rel=1e-3)


def test_band_needle_step_text_and_refline_draw(figures, tmp_path):
    r = run_sas(DATA + "data e; set d; if id = 1; lo = y - 1; hi = y + 1; run;\n"
                       "proc sgplot data=e; band x=t upper=hi lower=lo; series x=t y=y; needle x=t y=y;\n"
                       "  step x=t y=lo; text x=t y=hi text=id; refline 12 / label='ref'; run;",
                outdir=str(tmp_path))
    assert not r.errors and not r.warnings, r.log
    ax = figures[0].axes[0]
    band = ax.collections[0].get_paths()[0].vertices
    # id 1 (g = 1): y = 12.2, 14.2, 13.2, 15.2 at t = 1..4, so the band spans 11.2 .. 16.2
    assert (band[:, 1].min(), band[:, 1].max()) == pytest.approx((11.2, 16.2))
    assert any(ln.get_ydata()[0] == 12 for ln in ax.get_lines() if len(ln.get_ydata()) == 2)
    assert len([t for t in ax.texts if t.get_text() == "1"]) == 4


def test_overlay_rules_and_unknown_attributes(tmp_path):
    r = run_sas(DATA + "proc sgplot data=d; vbar t; series x=t y=y; run;\n"
                       "proc sgplot data=d; series x=t y=y / lineattrs=(color=nosuchcolor smoothness=2); run;\n"
                       "proc sgplot data=d; vline t / response=y stat=mode; run;", outdir=str(tmp_path))
    assert r.errors[0].endswith("Attempting to overlay incompatible plot or chart types.")
    assert "STAT=MODE is not valid" in r.errors[1]
    assert "WARNING: The LINEATTRS attribute SMOOTHNESS of the SERIES statement is not supported yet and was " \
           "ignored." in r.warnings
    assert "WARNING: The color nosuchcolor is not known; the default color is used." in r.warnings


def test_options_accepted_but_not_drawn_are_named(tmp_path):
    r = run_sas(DATA + "proc sgplot data=d; vbar t / categoryorder=respdesc outline; run;\n"
                       "proc sgplot data=d; vline t / response=y curvelabel; run;", outdir=str(tmp_path))
    assert not r.errors, r.log
    assert r.warnings == ["WARNING: The VBAR option CATEGORYORDER is not supported yet and was ignored.",
                          "WARNING: The VBAR option OUTLINE is not supported yet and was ignored.",
                          "WARNING: The VLINE option CURVELABEL is not supported yet and was ignored."]
