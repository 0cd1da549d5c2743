"""PROC SGPANEL: the SGPLOT plot statements drawn once per cell of a panel, the cells being the level
combinations of the PANELBY variables (LAYOUT=PANEL, LATTICE, COLUMNLATTICE, ROWLATTICE); COLAXIS and
ROWAXIS play the parts of XAXIS and YAXIS.  Images SGPanel.png, SGPanel1.png, ... in the output folder."""
from __future__ import annotations

import math

import numpy as np

from .. import ast as A
from ..data.dataset import Dataset
from ..errors import SasError
from .common import Options, input_data, statements, warn_ignored, where_statements
from .modeling import formatted
from .sgdraw import PlotState, draw_statement, value_order, var
from .sgplot import PLOT_STMTS, apply_labels, axis_statement, finish_axes, save_figure

PANEL_PLOTS = PLOT_STMTS - {"xaxis", "yaxis", "x2axis", "y2axis"}
PANELBY_OPTS = {"columns", "rows", "layout", "novarname", "missing", "onepanel", "uniscale", "spacing",
                "border", "noborder", "colheaderpos", "rowheaderpos", "start", "sparse", "headerattrs",
                "noheader", "noheaderborder", "headerbackcolor"}
PANELBY_IGNORED = ["spacing", "border", "noborder", "colheaderpos", "rowheaderpos", "headerattrs",
                   "noheaderborder", "headerbackcolor"]


def _panelby(session, st, ds):
    """The PANELBY variables and options."""
    names = [str(w.value) for w in st.items if isinstance(w, A.Word) and w.kind == "name"]
    if not names or len(names) != len(st.items):
        raise SasError("PANELBY needs one or more classification variables.", st.line, st.col)
    o = Options(st.options or [], PANELBY_OPTS, "PANELBY")
    warn_ignored(session, o, PANELBY_IGNORED, "PANELBY")
    for bad in ("sparse", "start"):
        if o.has(bad):
            raise SasError(f"The PANELBY option {bad.upper()} is not supported yet.", st.line, st.col)
    layout = str(o.get("layout", "panel")).lower()
    if layout not in ("panel", "lattice", "columnlattice", "rowlattice"):
        raise SasError(f"LAYOUT={layout.upper()} is not valid (PANEL, LATTICE, COLUMNLATTICE, ROWLATTICE).",
                       st.line, st.col)
    need = {"lattice": 2, "columnlattice": 1, "rowlattice": 1}.get(layout)
    if need is not None and len(names) != need:
        raise SasError(f"LAYOUT={layout.upper()} needs exactly {need} PANELBY variable(s).", st.line, st.col)
    if need is not None:
        # the lattice layouts take their rows and columns from the levels
        warn_ignored(session, o, ["columns", "rows", "onepanel"], f"PANELBY (LAYOUT={layout.upper()})")
    uniscale = str(o.get("uniscale", "all")).lower()
    if uniscale not in ("all", "row", "column"):
        raise SasError(f"UNISCALE={uniscale.upper()} is not valid (ALL, ROW, COLUMN).", st.line, st.col)
    cols = [var(ds, n, st) for n in names]
    return cols, o, layout, uniscale


def _levels(ds, v, session, keep_missing):
    """(formatted levels of v in ascending order of the raw values, the row labels, the missing rows);
    missing values form a level only with MISSING."""
    m = ds.var(v)
    raw = ds.column(v).to_numpy()
    lab = np.asarray(formatted(ds, v, session), dtype=object)
    miss = np.array([str(x).strip() == "" for x in raw]) if m.is_char else np.isnan(raw.astype(float))
    use = np.ones(len(raw), dtype=bool) if keep_missing else ~miss
    return value_order(raw[use], lab[use], m.is_char), lab, miss


def run_sgpanel(session, proc):
    opts = Options(proc.options, {"data", "noautolegend", "description", "des", "pad", "nocycleattrs",
                                  "cycleattrs", "subpixel", "nosubpixel"}, "PROC SGPANEL")
    ds, ref = input_data(session, opts, proc, where_statements(proc))
    warn_ignored(session, opts, ["description", "des", "pad", "nocycleattrs", "cycleattrs", "subpixel",
                                 "nosubpixel"], "PROC SGPANEL")
    ds = apply_labels(ds, proc)
    stmts = list(statements(proc, PANEL_PLOTS | {"panelby", "colaxis", "rowaxis", "where", "label"}))
    panel = [st for kw, st in stmts if kw == "panelby"]
    if len(panel) != 1:
        raise SasError("PROC SGPANEL needs exactly one PANELBY statement.", proc.line, proc.col)
    first_plot = next((i for i, (kw, _) in enumerate(stmts) if kw in PANEL_PLOTS | {"colaxis", "rowaxis"}), None)
    if first_plot is not None and first_plot < next(i for i, (kw, _) in enumerate(stmts) if kw == "panelby"):
        st = stmts[first_plot][1]
        raise SasError("The PANELBY statement must come before the plot, axis and legend statements.",
                       st.line, st.col)
    vars_, popt, layout, uniscale = _panelby(session, panel[0], ds)
    keep_missing = popt.has("missing")
    # the panel cells: level combinations that occur (ascending by the raw values of each variable)
    levels, labs, misses = [], [], []
    for v in vars_:
        order, lab, miss = _levels(ds, v, session, keep_missing)
        levels.append(order)
        labs.append(lab)
        misses.append(miss)
    ok = np.ones(ds.nobs, dtype=bool)
    if not keep_missing:
        for miss in misses:
            ok &= ~miss
    combos = {}
    for i in np.flatnonzero(ok):
        combos.setdefault(tuple(lab[i] for lab in labs), []).append(i)
    rank = [{f: k for k, f in enumerate(order)} for order in levels]
    cells = sorted(combos, key=lambda c: tuple(r[f] for r, f in zip(rank, c)))
    if not cells:
        raise SasError("PROC SGPANEL: no observations for the PANELBY variables.", proc.line, proc.col)
    # the grid
    if layout == "lattice":
        ncol, nrow = len(levels[0]), len(levels[1])
        place = {c: (levels[1].index(c[1]), levels[0].index(c[0])) for c in cells}
    elif layout == "columnlattice":
        ncol, nrow = len(cells), 1
        place = {c: (0, k) for k, c in enumerate(cells)}
    elif layout == "rowlattice":
        ncol, nrow = 1, len(cells)
        place = {c: (k, 0) for k, c in enumerate(cells)}
    else:
        n = len(cells)
        ncol = int(popt.get("columns", 0)) or None
        nrow = int(popt.get("rows", 0)) or None
        if ncol is None and nrow is None:
            ncol = math.ceil(math.sqrt(n))
        if ncol is None:
            ncol = math.ceil(n / nrow)
        if nrow is None or popt.has("onepanel"):
            nrow = math.ceil(n / ncol)
        place = {c: divmod(k, ncol) for k, c in enumerate(cells)}
    per_page = ncol * nrow
    pages = [cells[i:i + per_page] for i in range(0, len(cells), per_page)] if layout == "panel" else [cells]

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    state_axes = PlotState()
    axis_stmts = [(kw, st) for kw, st in stmts if kw in ("colaxis", "rowaxis")]
    for kw, st in axis_stmts:
        axis_statement(session, kw, st, state_axes, names=("colaxis", "rowaxis"))
    plots = [(kw, st) for kw, st in stmts if kw in PANEL_PLOTS]
    from .sgdraw import check_overlay
    check_overlay(plots, proc)
    if not [1 for kw, _ in plots if kw not in ("keylegend", "refline")]:
        raise SasError("No plot statement was specified for PROC SGPANEL.", proc.line, proc.col)
    # a GROUP= variable keeps one colour per level across the cells
    group_levels = {}
    for kw, st in plots:
        for it in list(st.items) + list(st.options or []):
            if isinstance(it, A.Opt) and it.key.lower() == "group" and isinstance(it.value, A.Word):
                gv = var(ds, it.value.value, st)
                group_levels[gv] = list(dict.fromkeys(formatted(ds, gv, session)))
    for page in pages:
        rows_used = nrow if layout != "panel" else math.ceil(len(page) / ncol)
        # UNISCALE=COLUMN: only the column (x) axes are identical across the cells; ROW: only the row (y) axes
        share_x = "all" if uniscale in ("all", "column") else False
        share_y = "all" if uniscale in ("all", "row") else False
        fig, axes = plt.subplots(rows_used, ncol, figsize=(min(3.2 * ncol + 1, 14), min(2.8 * rows_used + 1, 14)),
                                 dpi=100, squeeze=False, sharex=share_x, sharey=share_y)
        state = PlotState()
        state.group_levels = group_levels
        try:
            used = set()
            for k, c in enumerate(page):
                r, col = place[c] if layout != "panel" else divmod(k, ncol)
                ax = axes[r][col]
                used.add((r, col))
                idx = np.asarray(combos[c])
                sub = Dataset(ds.df.iloc[idx].reset_index(drop=True), ds.meta, ds.label)
                for kw, st in plots:
                    draw_statement(session, sub, ax, kw, st, state)
                finish_axes(ax, state_axes)
                if layout == "lattice":
                    if r == 0:
                        ax.set_title(_header(vars_[:1], c[:1], popt), fontsize=9)
                    if col == ncol - 1:
                        ax.yaxis.set_label_position("right")
                        ax.set_ylabel(_header(vars_[1:], c[1:], popt), fontsize=9, rotation=270, labelpad=12)
                elif not popt.has("noheader"):
                    ax.set_title(_header(vars_, c, popt), fontsize=9)
            for r in range(rows_used):
                for col in range(ncol):
                    if (r, col) not in used:
                        axes[r][col].set_visible(False)
        except Exception:
            plt.close(fig)
            raise
        xlabel = state_axes.xlabel or state.xlabel
        ylabel = state_axes.ylabel or state.ylabel
        handles, labels_ = [], []
        if state.legend_needed and not opts.has("noautolegend"):
            for ax in axes.ravel():
                for h, lb in zip(*ax.get_legend_handles_labels()):
                    if lb not in labels_:
                        handles.append(h)
                        labels_.append(lb)
        # the legend (one for all cells) below the cells, the column-axis label just above it
        bottom = 0.0
        if handles:
            leg = fig.legend(handles, labels_, title=state.legend_title, loc="lower center",
                             ncol=min(len(handles), 8), frameon=True, fontsize=8)
            fig.canvas.draw()
            bottom = leg.get_window_extent().height / fig.bbox.height + 0.01
        if xlabel:
            fig.supxlabel(xlabel, fontsize=10, y=bottom + 0.01, va="bottom")
        if ylabel:
            fig.supylabel(ylabel, fontsize=10)
        titles = [session.titles[k] for k in sorted(session.titles)]
        if titles:
            fig.suptitle("\n".join(titles), fontsize=11)
        fig.tight_layout(rect=(0, bottom, 1, 1))
        save_figure(session, fig, "SGPanel")


def _header(vars_, cell, popt):
    """A cell heading: 'var = value' per PANELBY variable (just the values with NOVARNAME)."""
    if popt.has("novarname"):
        return ", ".join(str(v) for v in cell)
    return ", ".join(f"{n} = {v}" for n, v in zip(vars_, cell))
