"""PROC SGPANEL: one cell per PANELBY level combination, each drawing the plot statements on that
cell's rows.  The figures are captured before they are written, so the tests read what each cell holds
(the data behind its lines and points), not pixels."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import assert_errors, capture_figures, run_sas

DATA = """data d;
  do id = 1 to 12;
    trt = mod(id, 3);
    sex = ifc(id <= 6, 'F', 'M');
    do t = 0 to 4;
      y = 10 + trt * t + id / 5 + mod(id * t, 3);
      output;
    end;
  end;
run;
"""


@pytest.fixture
def figures(monkeypatch):
    from sasglm.procs import sgpanel
    return capture_figures(monkeypatch, sgpanel, with_base=True)


def _visible(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def test_spaghetti_panel_one_cell_per_level_with_each_subjects_line(figures, tmp_path):
    r = run_sas(DATA + """title 'Profiles';
proc sgpanel data=d;
  panelby trt / columns=3;
  series x=t y=y / group=id;
  colaxis label='Week';
  rowaxis label='Outcome';
run;
""", outdir=str(tmp_path))
    assert not r.errors and not r.warnings, r.log
    assert (tmp_path / "SGPanel.png").stat().st_size > 5000
    (base, fig), = figures
    axes = _visible(fig)
    assert [ax.get_title() for ax in axes] == ["trt = 0", "trt = 1", "trt = 2"]
    for k, ax in enumerate(axes):
        drawn = [ln for ln in ax.get_lines() if len(ln.get_xdata())]
        ids = sorted(int(ln.get_label()) for ln in drawn)
        assert ids == [i for i in range(1, 13) if i % 3 == k]          # the subjects of that arm only
        for ln in drawn:
            i = int(ln.get_label())
            t = np.arange(5)
            assert list(ln.get_xdata()) == list(t)
            assert np.allclose(ln.get_ydata(), 10 + k * t + i / 5 + (i * t) % 3)
    assert fig._supxlabel.get_text() == "Week" and fig._supylabel.get_text() == "Outcome"
    assert fig._suptitle.get_text() == "Profiles"
    # one legend for the panel, every subject once, each subject in the same colour wherever it is drawn
    leg = fig.legends[0]
    assert sorted(int(t.get_text()) for t in leg.get_texts()) == list(range(1, 13))


def test_lattice_layout_rows_and_columns_and_novarname(figures):
    r = run_sas(DATA + """proc sgpanel data=d noautolegend;
  panelby trt sex / layout=lattice novarname;
  scatter x=t y=y;
run;
proc sgpanel data=d;
  panelby sex trt / rows=1 columns=2;
  scatter x=t y=y;
run;
""")
    assert not r.errors and not r.warnings, r.log
    (_, lat), *pages = figures
    axes = np.array(lat.axes).reshape(2, 3)          # rows: sex F, M; columns: trt 0, 1, 2
    assert [ax.get_title() for ax in axes[0]] == ["0", "1", "2"]
    assert [axes[r][2].get_ylabel() for r in range(2)] == ["F", "M"]
    pts = axes[1][2].collections[0].get_offsets()
    assert len(pts) == 5 * 2                            # ids 8 and 11: male, trt 2
    # PANEL layout with ROWS= and COLUMNS=: 6 cells, 2 per image, in ascending order of sex then trt
    assert len(pages) == 3
    titles = [ax.get_title() for _, f in pages for ax in _visible(f)]
    assert titles == ["sex = F, trt = 0", "sex = F, trt = 1", "sex = F, trt = 2",
                      "sex = M, trt = 0", "sex = M, trt = 1", "sex = M, trt = 2"]
    assert "SGPanel2.png" in r.log


def test_sgpanel_errors():
    assert_errors(run_sas(DATA + "proc sgpanel data=d; series x=t y=y; run;\n"),
                  ["needs exactly one PANELBY statement"])
    assert_errors(run_sas(DATA + "proc sgpanel data=d; panelby trt / layout=lattice; series x=t y=y; run;\n"),
                  ["LAYOUT=LATTICE needs exactly 2 PANELBY"])
    assert_errors(run_sas(DATA + "proc sgpanel data=d; series x=t y=y; panelby trt; run;\n"),
                  ["PANELBY statement must come before"])
    assert_errors(run_sas(DATA + "proc sgpanel data=d; panelby nope; series x=t y=y; run;\n"),
                  ["Variable NOPE not found"])


def test_sgplot_vbar_variable_not_taken_for_an_option_numeric_order_and_histogram(monkeypatch):
    """Regressions found while building SGPANEL: `vbar t / ...` read T as an option (an ERROR), numeric
    categories were sorted as text (10 before 2), and HISTOGRAM without NBINS= failed inside numpy."""
    from sasglm.procs import sgplot
    got = []
    real = sgplot.save_figure
    monkeypatch.setattr(sgplot, "save_figure", lambda s, fig, base: (got.append(fig), real(s, fig, base)))
    r = run_sas("""data d; do t = 1 to 12; do r = 1 to 3; y = t + r; output; end; end; run;
proc sgplot data=d; vbar t / response=y stat=mean; run;
proc sgplot data=d; histogram y; run;
""")
    assert not r.errors and not r.warnings, r.log
    bars = got[0].axes[0].patches
    assert [b.get_height() for b in bars] == pytest.approx([t + 2 for t in range(1, 13)])
    assert [tk.get_text() for tk in got[0].axes[0].get_xticklabels()] == [str(t) for t in range(1, 13)]
    assert sum(b.get_height() for b in got[1].axes[0].patches) == pytest.approx(100.0)   # percents
