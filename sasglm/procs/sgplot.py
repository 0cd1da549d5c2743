"""PROC SGPLOT: SERIES, SCATTER, REG, VBOX, VBAR, HISTOGRAM with GROUP=, MARKERS, LINEATTRS=,
XAXIS/YAXIS LABEL= VALUES=; the TITLE lines; images written as SGPlot.png, SGPlot1.png, ... in the
output folder (--outdir), as SAS names them."""
from __future__ import annotations


import numpy as np

from .. import ast as A
from ..errors import SasError
from .common import Options, input_data, statements, value_of, warn_ignored, where_statements
from .modeling import formatted

PLOT_STMTS = {"series", "scatter", "reg", "vbox", "vbar", "histogram", "xaxis", "yaxis", "keylegend", "refline"}
COLORS = ["#445694", "#A23A2E", "#01665E", "#543005", "#9D3CDB", "#7F8E1F", "#2597FA", "#B26084"]


def _var(ds, name, stmt):
    c = ds.colname(str(name))
    if c is None:
        raise SasError(f"Variable {str(name).upper()} not found.", stmt.line, stmt.col)
    return c


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


def _category_order(ds, cv, labels):
    """The categories of VBAR/VBOX in ascending order of their raw values (numeric variables by number,
    so 10 follows 9), each shown by its formatted value."""
    return value_order(ds.column(cv).to_numpy(), labels, ds.var(cv).is_char)


def value_order(raw, labels, is_char):
    """The distinct formatted labels in ascending order of the raw value each first stands for (a
    missing number first, as SAS sorts it)."""
    first = {}
    for r, f in zip(raw, labels):
        first.setdefault(f, r)
    if is_char:
        return sorted(first, key=lambda f: str(first[f]))
    return sorted(first, key=lambda f: (not np.isnan(float(first[f])), float(np.nan_to_num(first[f]))))


class PlotState:
    """What the plot statements of one graph have decided so far: axis labels, whether a legend is
    needed (and its title), how many plot statements drew something."""

    def __init__(self):
        self.xlabel = self.ylabel = None
        self.legend_needed = False
        self.legend_title = None
        self.n_plots = 0
        self.xticks = self.yticks = None
        self.xgrid = self.ygrid = False
        self.group_levels = {}


def axis_statement(session, kw, st, state, names=("xaxis", "yaxis")):
    """XAXIS/YAXIS (SGPANEL: COLAXIS/ROWAXIS): LABEL=, VALUES=, GRID; the others ignored with a WARNING."""
    items = list(st.items) + list(st.options or [])
    o = Options(items, {"label", "values", "min", "max", "grid", "type", "display", "integer",
                        "valuesdisplay", "offsetmin", "offsetmax", "labelattrs", "valueattrs"},
                kw.upper())
    warn_ignored(session, o, ["min", "max", "type", "display", "integer", "valuesdisplay", "offsetmin",
                              "offsetmax", "labelattrs", "valueattrs"], kw.upper())
    lab = o.get("label")
    vals = _values_spec(o.nodes.get("values"))
    if kw == names[0]:
        state.xlabel = lab if lab is not None else state.xlabel
        state.xticks = vals or state.xticks
        state.xgrid = state.xgrid or o.has("grid")
    else:
        state.ylabel = lab if lab is not None else state.ylabel
        state.yticks = vals or state.yticks
        state.ygrid = state.ygrid or o.has("grid")


def finish_axes(ax, state):
    """Ticks and grid lines the axis statements asked for."""
    if state.xticks:
        ax.set_xticks(state.xticks)
    if state.yticks:
        ax.set_yticks(state.yticks)
    if state.xgrid:
        ax.xaxis.grid(True, color="#dddddd")
    if state.ygrid:
        ax.yaxis.grid(True, color="#dddddd")


def draw_statement(session, ds, ax, kw, st, state):
    """One plot statement (SERIES, SCATTER, REG, VBOX, VBAR, HISTOGRAM, REFLINE, KEYLEGEND) drawn on ax
    from the data set ds (a whole data set, or one panel's rows)."""
    if kw == "keylegend":
        state.legend_needed = True
        return
    if kw == "refline":
        for it in st.items:
            if isinstance(it, A.Word) and it.kind == "number":
                o = Options(st.options or [], {"axis", "lineattrs", "label"}, "REFLINE")
                if str(o.get("axis", "y")).lower() == "x":
                    ax.axvline(it.value, color="#888888", lw=1)
                else:
                    ax.axhline(it.value, color="#888888", lw=1)
        return
    # VBOX, VBAR and HISTOGRAM name their variable first; the rest are options
    lead = 1 if kw in ("vbox", "vbar", "histogram") and st.items else 0
    items = list(st.items[lead:]) + list(st.options or [])
    known = {"x", "y", "group", "markers", "lineattrs", "markerattrs", "legendlabel", "name", "category",
             "response", "stat", "datalabel", "transparency", "binwidth", "nbins", "scale", "clm", "cli",
             "degree", "nomarkers", "break", "curvelabel", "fillattrs", "barwidth", "colorresponse",
             "yerrorupper", "yerrorlower", "xerrorupper", "xerrorlower", "markerchar"}
    o = Options(items, known, kw.upper())
    state.n_plots += 1
    if kw in ("series", "scatter", "reg"):
        if "x" not in o.values or "y" not in o.values:
            raise SasError(f"{kw.upper()} requires X= and Y=.", st.line, st.col)
        xv, yv = _var(ds, o.get("x"), st), _var(ds, o.get("y"), st)
        x = ds.column(xv).to_numpy(dtype=float) if not ds.var(xv).is_char else ds.column(xv).to_numpy()
        y = ds.column(yv).to_numpy(dtype=float)
        state.xlabel = state.xlabel or (ds.var(xv).label or xv)
        state.ylabel = state.ylabel or (ds.var(yv).label or yv)
        groups = [(None, np.ones(len(y), dtype=bool))]
        if "group" in o.values:
            gv = _var(ds, o.get("group"), st)
            gl = np.asarray(formatted(ds, gv, session), dtype=object)
            # SGPANEL: the group levels of the whole data set, so a group keeps its colour in every panel
            seen = state.group_levels.get(gv) or list(dict.fromkeys(gl))
            groups = [(g, gl == g) for g in seen]
            state.legend_needed = True
            state.legend_title = gv
        lw = 1.5
        la = o.nodes.get("lineattrs")
        if isinstance(la, A.Group):
            for it in la.items:
                if isinstance(it, A.Opt) and it.key == "thickness":
                    v = value_of(it.value)
                    try:
                        lw = float(str(v).rstrip("px"))
                    except ValueError:
                        pass
        extra = {}
        for key in ("yerrorupper", "yerrorlower", "xerrorupper", "xerrorlower", "markerchar"):
            if key in o.values:
                if kw != "scatter":
                    raise SasError(f"The option {key.upper()} is not supported on the {kw.upper()} statement.",
                                   st.line, st.col)
                v = _var(ds, o.get(key), st)
                extra[key] = np.asarray(formatted(ds, v, session), dtype=object) if key == "markerchar" \
                    else ds.column(v).to_numpy(dtype=float)
        for k, (g, m) in enumerate(groups):
            xs, ys = x[m], y[m]
            ok = ~np.isnan(ys) & (~np.isnan(xs.astype(float)) if xs.dtype != object else True)
            xs, ys = xs[ok], ys[ok]
            ex = {key: arr[m][ok] for key, arr in extra.items()}
            color = COLORS[k % len(COLORS)]
            label = g if g is not None else (o.get("legendlabel") or yv)
            if kw == "series":
                order = np.argsort(xs, kind="stable") if xs.dtype != object else np.arange(len(xs))
                ax.plot(xs[order], ys[order], color=color, lw=lw, label=label,
                        marker="o" if o.has("markers") else None, ms=4)
            elif kw == "scatter":
                # error bars (YERRORUPPER=/YERRORLOWER=, X...); a missing limit draws no bar on that side
                for lo_k, hi_k, vert in (("yerrorlower", "yerrorupper", True), ("xerrorlower", "xerrorupper", False)):
                    if lo_k in ex or hi_k in ex:
                        base = ys if vert else xs.astype(float)
                        lo = ex.get(lo_k, base)
                        hi = ex.get(hi_k, base)
                        lo = np.where(np.isnan(lo), base, lo)
                        hi = np.where(np.isnan(hi), base, hi)
                        (ax.vlines(xs, lo, hi, color=color, lw=1) if vert else
                         ax.hlines(ys, lo, hi, color=color, lw=1))
                if "markerchar" in ex:      # the variable's formatted value in place of the marker
                    for xi, yi, t in zip(xs, ys, ex["markerchar"]):
                        ax.annotate(str(t).strip(), (xi, yi), ha="center", va="center", fontsize=8, color=color)
                    ax.scatter(xs, ys, s=0, label=label)
                else:
                    ax.scatter(xs, ys, s=14, color=color, label=label, facecolors="none")
            else:
                ax.scatter(xs, ys, s=14, color=color, facecolors="none", label=label)
                if len(xs) > 1:
                    deg = int(o.get("degree", 1))
                    coef = np.polyfit(xs.astype(float), ys, deg)
                    grid = np.linspace(xs.min(), xs.max(), 100)
                    ax.plot(grid, np.polyval(coef, grid), color=color, lw=1.5)
    elif kw in ("vbox",):
        yv = _var(ds, st.items[0].value if st.items else None, st)
        y = ds.column(yv).to_numpy(dtype=float)
        cat = o.get("category")
        if cat is not None:
            cv = _var(ds, cat, st)
            cl = np.asarray(formatted(ds, cv, session), dtype=object)
            levels = _category_order(ds, cv, cl)
            data = [y[(cl == lv) & ~np.isnan(y)] for lv in levels]
            ax.boxplot(data, tick_labels=levels)
            state.xlabel = state.xlabel or cv
        else:
            ax.boxplot([y[~np.isnan(y)]])
        state.ylabel = state.ylabel or (ds.var(yv).label or yv)
    elif kw == "vbar":
        cv = _var(ds, st.items[0].value if st.items else None, st)
        cl = np.asarray(formatted(ds, cv, session), dtype=object)
        levels = _category_order(ds, cv, cl)
        if "response" in o.values:
            rv = _var(ds, o.get("response"), st)
            r = ds.column(rv).to_numpy(dtype=float)
            stat = str(o.get("stat", "sum")).lower()
            vals = [np.nansum(r[cl == lv]) if stat == "sum" else np.nanmean(r[cl == lv]) for lv in levels]
            state.ylabel = state.ylabel or f"{rv} ({stat.capitalize()})"
        else:
            vals = [int((cl == lv).sum()) for lv in levels]
            state.ylabel = state.ylabel or "Frequency"
        ax.bar(levels, vals, color=COLORS[0])
        state.xlabel = state.xlabel or cv
    elif kw == "histogram":
        xv = _var(ds, st.items[0].value if st.items else None, st)
        x = ds.column(xv).to_numpy(dtype=float)
        x = x[~np.isnan(x)]
        nb = int(o.get("nbins", 0)) or (np.histogram_bin_edges(x, "auto") if len(x) else 10)
        weights = np.full(len(x), 100.0 / max(len(x), 1))
        ax.hist(x, bins=nb, weights=weights, color=COLORS[0], edgecolor="white")
        state.xlabel = state.xlabel or (ds.var(xv).label or xv)
        state.ylabel = state.ylabel or "Percent"


def run_sgplot(session, proc):
    opts = Options(proc.options, {"data", "noautolegend", "description", "des", "noborder", "nowall",
                                  "pad", "aspect", "nocycleattrs", "uniform", "subpixel", "nosubpixel"},
                   "PROC SGPLOT")
    ds, ref = input_data(session, opts, proc, where_statements(proc))
    warn_ignored(session, opts, ['description', 'des', 'noborder', 'nowall', 'pad', 'aspect', 'nocycleattrs', 'uniform', 'subpixel', 'nosubpixel'], 'PROC SGPLOT')
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
    state = PlotState()
    try:
        for kw, st in statements(proc, PLOT_STMTS | {"where", "format", "label"}):
            if kw in ("format", "label"):
                session.log.warning(f"The {kw.upper()} statement of PROC SGPLOT is not supported yet and was ignored.")
            if kw in ("where", "format", "label"):
                continue
            if kw in ("xaxis", "yaxis"):
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
        ax.legend(title=state.legend_title, loc="best", frameon=True)
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
