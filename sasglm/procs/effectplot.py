"""EFFECTPLOT (GENMOD and PLM): the fitted model drawn from a fitted-model record (an ItemStore).

Plot types FIT (a curve against one continuous variable), SLICEFIT (curves against a continuous
variable, one per level of a CLASS variable) and INTERACTION (predicted values at the levels of a CLASS
variable, optionally joined per level of a second CLASS variable).  Variables not on the plot are held
at their means (continuous) or at their reference, last, level (CLASS), as SAS's default AT does.
Predictions are on the mean scale (ILINK) unless LINK is given; CLM draws confidence limits (on by
default for FIT, NOLIMITS removes them).  Images are PNG files named after SAS's ODS graph names
(FitPlot.png, SliceFitPlot.png, InteractionPlot.png, then ...1.png, ...)."""
from __future__ import annotations

import numpy as np
from scipy import stats as st

from .. import ast as A
from ..errors import SasError
from .common import Options, value_of

PLOT_TYPES = {"fit": "FitPlot", "slicefit": "SliceFitPlot", "interaction": "InteractionPlot"}
REJECTED_TYPES = {"box", "contour", "mosaic"}


def _plot_spec(stmt):
    kind, defn = None, {}
    for it in stmt.items:
        if isinstance(it, A.Group) and it.name is not None:
            kind = it.name.lower()
            for o in it.items:
                if isinstance(o, A.Opt):
                    defn[o.key.lower()] = str(value_of(o.value))
                else:
                    raise SasError("EFFECTPLOT plot-definition options must be X=, SLICEBY= (PLOTBY= and Y= are not "
                                   "supported yet).", stmt.line, stmt.col)
        elif isinstance(it, A.Word) and it.kind == "name":
            kind = str(it.value).lower()
        else:
            raise SasError("Invalid EFFECTPLOT specification.", stmt.line, stmt.col)
    return kind, defn


def effect_plot(session, proc_name: str, stmt, store) -> None:
    kind, defn = _plot_spec(stmt)
    opts = Options(stmt.options, {"clm", "nolimits", "ilink", "link", "alpha", "noobs", "obs", "at"},
                   "EFFECTPLOT")
    for k in ("obs", "at"):
        if opts.has(k):
            raise SasError(f"The EFFECTPLOT option {k.upper()} is not supported yet.", stmt.line, stmt.col)
    if kind in REJECTED_TYPES:
        raise SasError(f"The EFFECTPLOT plot type {kind.upper()} is not supported yet (FIT, SLICEFIT and "
                       "INTERACTION are).", stmt.line, stmt.col)
    for k in defn:
        if k not in ("x", "sliceby"):
            raise SasError(f"The EFFECTPLOT plot-definition option {k.upper()}= is not supported yet.", stmt.line,
                           stmt.col)
    classes = store.classes
    model_vars = store.data_vars()
    cons = getattr(store.design, "constructed", None) or {}
    cont = [v for v in model_vars if v not in classes]
    cls = [v for v in model_vars if v in classes]

    def var(name):
        for v in model_vars:
            if v.lower() == name.lower():
                return v
        raise SasError(f"Variable {name.upper()} is not in the model.", stmt.line, stmt.col)
    x = var(defn["x"]) if "x" in defn else None
    by = var(defn["sliceby"]) if "sliceby" in defn else None
    if kind is None:        # SAS's default plot from the model's variables
        if cont and cls:
            kind, x, by = "slicefit", x or cont[0], by or cls[0]
        elif cont:
            kind, x = "fit", x or cont[0]
        elif cls:
            kind, x = "interaction", x or cls[0]
            by = by or (cls[1] if len(cls) > 1 else None)
        else:
            raise SasError("EFFECTPLOT needs a model with at least one explanatory variable.", stmt.line, stmt.col)
    if kind not in PLOT_TYPES:
        raise SasError(f"Unknown EFFECTPLOT plot type {str(kind).upper()}.", stmt.line, stmt.col)
    if x is None:
        if kind == "interaction":
            if not cls:
                raise SasError("EFFECTPLOT INTERACTION needs a CLASS variable in the model.", stmt.line, stmt.col)
            x = cls[0]
        else:
            if not cont:
                raise SasError(f"EFFECTPLOT {kind.upper()} needs a continuous variable in the model.", stmt.line,
                               stmt.col)
            x = cont[0]
    if kind in ("fit", "slicefit") and x in classes:
        raise SasError(f"X={x} must be a continuous variable for EFFECTPLOT {kind.upper()}.", stmt.line, stmt.col)
    if kind == "interaction" and x not in classes:
        raise SasError(f"X={x} must be a CLASS variable for EFFECTPLOT INTERACTION.", stmt.line, stmt.col)
    if kind == "slicefit" and by is None:
        if not cls:
            raise SasError("EFFECTPLOT SLICEFIT needs a CLASS variable to slice by.", stmt.line, stmt.col)
        by = cls[0]
    if by is not None and by not in classes:
        raise SasError(f"SLICEBY={by} must be a CLASS variable.", stmt.line, stmt.col)
    if kind == "fit":
        by = None
    ilink = not opts.has("link")
    clm = (kind == "fit" or opts.has("clm")) and not opts.has("nolimits")
    alpha = float(opts.get("alpha", 0.05))
    zq = st.norm.ppf(1 - alpha / 2)
    ranges = getattr(store, "ranges", {}) or {}
    means = store.means

    def predict(setting):
        design = store.design

        def factor(v, level):
            if v in cons:
                vals = cons[v].row({u: setting[u] for u in cons[v].vars})
                return float(vals[cons[v].labels.index(level)])
            if v in classes:
                return 1.0 if level == setting[v] else 0.0
            return float(setting[v])
        row = design.row(factor)
        eta = float(row @ np.asarray(store.beta))
        se = float(np.sqrt(max(row @ np.asarray(store.cov) @ row, 0.0)))
        lo, hi = eta - zq * se, eta + zq * se
        if ilink:
            f = store.link.inv
            a, b = float(f(np.array([lo]))[0]), float(f(np.array([hi]))[0])
            return float(f(np.array([eta]))[0]), min(a, b), max(a, b)
        return eta, lo, hi
    base = {v: means.get(v, 0.0) for v in cont}
    for v in cls:
        base[v] = classes[v].labels[-1]           # the reference (last) level
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
    ylab = ("Predicted Mean" if ilink else "Linear Predictor")
    groups = classes[by].labels if by is not None else [None]
    curves = {}         # group label -> (x values, [(pred, lower, upper)]) as drawn
    def along(xvalues, g):
        """Predictions (with limits) at each x value, for slice level g (None: no slice)."""
        out = []
        for xv in xvalues:
            setting = dict(base)
            setting[x] = xv
            if g is not None:
                setting[by] = g
            out.append(predict(setting))
        return np.array(out)
    if kind in ("fit", "slicefit"):
        if x not in ranges:
            raise SasError(f"The data range of {x} is not known (store the model again).", stmt.line, stmt.col)
        grid = np.linspace(ranges[x][0], ranges[x][1], 200)
        for g in groups:
            v = along(grid, g)
            curves[g] = (grid, v)
            line, = ax.plot(grid, v[:, 0], label=None if g is None else f"{by}={g}", linewidth=1.8)
            if clm:
                ax.fill_between(grid, v[:, 1], v[:, 2], alpha=0.25, color=line.get_color(), linewidth=0,
                                label=f"{int(round(100 * (1 - alpha)))}% Confidence Limits" if g is None else None)
        ax.set_xlabel(x)
    else:
        xl = classes[x].labels
        pos = np.arange(len(xl))
        for k, g in enumerate(groups):
            v = along(xl, g)
            curves[g] = (list(xl), v)
            off = (k - (len(groups) - 1) / 2) * 0.05
            if clm:
                ax.errorbar(pos + off, v[:, 0], yerr=[v[:, 0] - v[:, 1], v[:, 2] - v[:, 0]], marker="o", capsize=4,
                            label=None if g is None else f"{by}={g}")
            else:
                ax.plot(pos + off, v[:, 0], marker="o", label=None if g is None else f"{by}={g}")
        ax.set_xticks(pos)
        ax.set_xticklabels(xl)
        ax.set_xlabel(x)
    ax.set_ylabel(ylab)
    held = [f"{v}={base[v]:.4g}" if v in cont else f"{v}={base[v]}" for v in model_vars if v not in (x, by)]
    title = f"Fit for {store.response or 'the response'}"
    if held:
        title += "\n" + ", ".join(held)
    ax.set_title(title, fontsize=10)
    if by is not None or (clm and kind == "fit"):
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    base_name = PLOT_TYPES[kind]
    n = session.graph_names.get(base_name, 0)
    session.graph_names[base_name] = n + 1
    session.outdir.mkdir(parents=True, exist_ok=True)
    path = session.outdir / (f"{base_name}.png" if n == 0 else f"{base_name}{n}.png")
    fig.savefig(path)
    plt.close(fig)
    session.add_image(str(path))
    # what was drawn, for callers and tests that check the numbers behind the picture
    session.effectplot_data.append(
        {"name": base_name, "path": str(path), "x": x, "sliceby": by, "held": dict(base), "ilink": ilink,
         "curves": curves})
    session.log.note(f"The graph was written to {path}.")
