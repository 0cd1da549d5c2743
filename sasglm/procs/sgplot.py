"""PROC SGPLOT: the plot statements of procs/sgdraw.py on one graph, the XAXIS/YAXIS and KEYLEGEND
statements and the TITLE lines; images written as SGPlot.png, SGPlot1.png, ... in the output folder
(--outdir), as SAS names them."""
from __future__ import annotations


import numpy as np

from .. import ast as A
from ..errors import SasError
from .common import Options, input_data, statements, value_of, warn_ignored, where_statements
from .sgdraw import DRAW_STMTS, PlotState, check_overlay, draw_statement

PLOT_STMTS = DRAW_STMTS | {"xaxis", "yaxis", "x2axis", "y2axis"}

_AXIS_IGNORED = ["offsetmin", "offsetmax", "labelattrs", "valueattrs", "fitpolicy", "discreteorder",
                 "tickvalueformat", "valuesformat", "logstyle", "logbase", "thresholdmin", "thresholdmax",
                 "interval", "notimesplit", "colorbands", "linear", "labelpos", "valueshint", "minorcount",
                 "gridattrs", "minorgridattrs", "splitchar", "valuesrotate", "labelfitpolicy", "tickstyle",
                 "minorinterval", "refticks", "timeintervalpos", "labelloc", "nobrackets", "values2"]


def _values_spec(node):
    """VALUES=(a b c) or (a to b by c)."""
    if not isinstance(node, A.Group):
        return None
    nums = [x.value for x in node.items if isinstance(x, A.Word) and x.kind == "number"]
    words = [str(x.value).lower() for x in node.items if isinstance(x, A.Word) and x.kind == "name"]
    if "to" in words and len(nums) >= 2:
        by = nums[2] if len(nums) > 2 else 1.0
        return list(np.arange(nums[0], nums[1] + by / 2, by))
    return nums


def axis_statement(session, kw, st, state, names=("xaxis", "yaxis")):
    """XAXIS/YAXIS (SGPANEL: COLAXIS/ROWAXIS): LABEL=, VALUES=, VALUESDISPLAY=, MIN=, MAX=, TYPE=LOG,
    DISPLAY=, GRID, MINOR, REVERSE, INTEGER; cosmetic options are ignored with a WARNING."""
    if kw in ("x2axis", "y2axis"):
        session.log.warning(f"The {kw.upper()} statement is not supported yet and was ignored.")
        return
    items = list(st.items) + list(st.options or [])
    o = Options(items, {"label", "values", "min", "max", "grid", "type", "display", "integer", "valuesdisplay",
                        "minor", "reverse", "nogrid"} | set(_AXIS_IGNORED), kw.upper())
    warn_ignored(session, o, _AXIS_IGNORED, kw.upper())
    axis = "x" if kw == names[0] else "y"
    lab = o.get("label")
    vals = _values_spec(o.nodes.get("values"))
    vd = o.nodes.get("valuesdisplay")
    vdisp = [str(x.value) for x in vd.items if isinstance(x, A.Word)] if isinstance(vd, A.Group) else None
    typ = str(o.get("type", "")).lower()
    if typ and typ not in ("linear", "log", "discrete", "time"):
        raise SasError(f"TYPE={typ.upper()} is not valid on the {kw.upper()} statement.", st.line, st.col)
    if typ in ("discrete", "time"):
        session.log.warning(f"The {kw.upper()} option TYPE={typ.upper()} is not supported yet and was ignored.")
    disp = o.nodes.get("display")
    hide = None
    if disp is not None:
        words = [str(x.value).lower() for x in disp.items if isinstance(x, A.Word)] if isinstance(disp, A.Group) \
            else [str(value_of(disp)).lower()]
        hide = {"label", "ticks", "values", "line"} if "none" in words else \
            {w[2:] for w in words if w in ("nolabel", "noticks", "novalues", "noline")}
    if lab is not None:
        setattr(state, axis + "label", lab)
    if vals:
        setattr(state, axis + "ticks", vals)
    if vdisp:
        setattr(state, axis + "tick_labels", vdisp)
    if o.has("grid"):
        setattr(state, axis + "grid", True)
    lim = getattr(state, axis + "lim")
    for k, key in enumerate(("min", "max")):
        if isinstance(o.get(key), float):
            lim[k] = float(o.get(key))
    if typ == "log":
        setattr(state, axis + "log", True)
    for flag in ("reverse", "integer", "minor"):
        if o.has(flag):
            setattr(state, axis + flag, True)
    if hide is not None:
        setattr(state, axis + "display", hide)


def _same(label, value) -> bool:
    try:
        return float(str(label)) == float(value)
    except ValueError:
        return str(label).strip() == str(value).strip()


def finish_axes(ax, state):
    """The axis options the XAXIS/YAXIS statements asked for."""
    from matplotlib.ticker import MaxNLocator
    for axis in ("x", "y"):
        obj = ax.xaxis if axis == "x" else ax.yaxis
        if getattr(state, axis + "log"):
            from matplotlib.ticker import ScalarFormatter
            (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
            obj.set_major_formatter(ScalarFormatter())
            obj.set_minor_formatter(ScalarFormatter())
        ticks = getattr(state, axis + "ticks")
        cats = getattr(state, axis + "cats")
        if ticks and cats:
            # VALUES= on a category axis names the categories to show
            pick = [(p, lv) for lv, p in cats.items() if any(_same(lv, t) for t in ticks)]
            if pick:
                (ax.set_xticks if axis == "x" else ax.set_yticks)([p for p, _ in pick], [lv for _, lv in pick])
            ticks = None
        if ticks:
            labels = getattr(state, axis + "tick_labels")
            if labels and len(labels) == len(ticks):
                (ax.set_xticks if axis == "x" else ax.set_yticks)(ticks, labels)
            else:
                (ax.set_xticks if axis == "x" else ax.set_yticks)(ticks)
        lim = getattr(state, axis + "lim")
        if lim[0] is not None or lim[1] is not None:
            lo, hi = (ax.get_xlim() if axis == "x" else ax.get_ylim())
            lo = lim[0] if lim[0] is not None and (ticks is None or lim[0] <= min(ticks)) else \
                (min(lo, lim[0]) if lim[0] is not None else lo)
            hi = lim[1] if lim[1] is not None and (ticks is None or lim[1] >= max(ticks)) else \
                (max(hi, lim[1]) if lim[1] is not None else hi)
            (ax.set_xlim if axis == "x" else ax.set_ylim)(lo, hi)
        if getattr(state, axis + "integer"):
            obj.set_major_locator(MaxNLocator(integer=True))
        if getattr(state, axis + "minor"):
            ax.minorticks_on()
        if getattr(state, axis + "reverse"):
            (ax.invert_xaxis if axis == "x" else ax.invert_yaxis)()
        if getattr(state, axis + "grid"):
            obj.grid(True, color="#dddddd")
        hide = getattr(state, axis + "display") or set()
        if "ticks" in hide:
            ax.tick_params(axis=axis, length=0)
        if "values" in hide:
            ax.tick_params(axis=axis, labelbottom=False, labelleft=False)
        if "line" in hide:
            ax.spines["bottom" if axis == "x" else "left"].set_visible(False)
        if "label" in hide:
            setattr(state, axis + "label", "")


def run_sgplot(session, proc):
    ignored = ["description", "des", "noborder", "nowall", "pad", "aspect", "nocycleattrs", "cycleattrs",
               "uniform", "subpixel", "nosubpixel", "noopaque", "tmplout", "datacolors", "datacontrastcolors",
               "datalinepatterns", "datasymbols", "styleattrs"]
    opts = Options(proc.options, {"data", "noautolegend"} | set(ignored), "PROC SGPLOT")
    ds, ref = input_data(session, opts, proc, where_statements(proc))
    warn_ignored(session, opts, ignored, "PROC SGPLOT")
    ds = apply_labels(ds, proc)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    stmts = list(statements(proc, PLOT_STMTS | {"where", "label"}))
    check_overlay(stmts, proc)
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
    state = PlotState()
    try:
        for kw, st in stmts:
            if kw in ("where", "label"):
                continue
            if kw in ("xaxis", "yaxis", "x2axis", "y2axis"):
                axis_statement(session, kw, st, state)
                continue
            draw_statement(session, ds, ax, kw, st, state)
    except Exception:
        plt.close(fig)
        raise
    if state.n_plots == 0:
        plt.close(fig)
        raise SasError("No plot statement was specified for PROC SGPLOT.", proc.line, proc.col)
    finish_axes(ax, state)
    if state.xlabel:
        ax.set_xlabel(state.xlabel)
    if state.ylabel:
        ax.set_ylabel(state.ylabel)
    titles = [session.titles[k] for k in sorted(session.titles)]
    if titles:
        fig.suptitle("\n".join(titles), fontsize=11)
    if state.legend_needed and not opts.has("noautolegend"):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(title=state.legend_title, loc=state.legend_loc, frameon=True)
    ax.spines["top"].set_visible(True)
    fig.tight_layout()
    save_figure(session, fig, "SGPlot")


def save_figure(session, fig, base):
    """Write the figure as base.png, base1.png, ... (SAS's image names; one counter for all graphs)."""
    import matplotlib.pyplot as plt
    session.outdir.mkdir(parents=True, exist_ok=True)
    name = f"{base}.png" if session.graph_counter == 0 else f"{base}{session.graph_counter}.png"
    session.graph_counter += 1
    path = session.outdir / name
    fig.savefig(path)
    plt.close(fig)
    session.add_image(str(path))
    session.log.note(f"The graph was written to {path}.")


def apply_labels(ds, proc):
    """A LABEL statement in the step (var='text' ...) labels the variables for this graph only."""
    from .. import ast as A_
    from ..data.dataset import Dataset, VarMeta
    labels = {}
    for st in proc.statements:
        if isinstance(st, A_.GenStmt) and st.keyword == "label":
            for it in st.items:
                if isinstance(it, A_.Opt):
                    labels[it.key.upper()] = str(value_of(it.value))
    if not labels:
        return ds
    meta = {k: VarMeta(**vars(v)) for k, v in ds.meta.items()}
    for name, text in labels.items():
        if name not in meta:
            raise SasError(f"Variable {name} not found.", proc.line, proc.col)
        meta[name].label = text
    out = Dataset(ds.df, meta, ds.label, ds.sorted_by)
    for attr in ("display_name", "where_text"):
        if hasattr(ds, attr):
            setattr(out, attr, getattr(ds, attr))
    return out
