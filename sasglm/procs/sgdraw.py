"""The plot statements of PROC SGPLOT and PROC SGPANEL, drawn with matplotlib on one axes.

Each statement reads its data from a data set (the whole input, or one panel cell's rows) and draws on the
axes it is given; what the statements decide together (axis labels, legend, axis options) is kept in a
PlotState.  Style attributes SAS names (LINEATTRS=, MARKERATTRS=, FILLATTRS=, TRANSPARENCY=) are honoured
for their COLOR, PATTERN, THICKNESS, SYMBOL and SIZE; options that only change cosmetics we do not draw are
accepted with a WARNING that names them; anything else is an ERROR.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats as st_

from .. import ast as A
from ..errors import SasError
from .common import Options, value_of
from .modeling import formatted

COLORS = ["#445694", "#A23A2E", "#01665E", "#543005", "#9D3CDB", "#7F8E1F", "#2597FA", "#B26084"]

DRAW_STMTS = {"series", "scatter", "reg", "loess", "pbspline", "band", "vline", "hline", "vbar", "hbar", "vbox",
              "hbox", "histogram", "density", "needle", "step", "highlow", "lineparm", "text", "dot", "refline",
              "keylegend", "inset"}

# cosmetic options every plot statement accepts but we do not draw (each named in a WARNING)
_COSMETIC = {"datalabelattrs", "curvelabelpos", "curvelabelattrs", "clmattrs", "cliattrs", "clmtransparency",
             "outlineattrs", "jitter", "jitterwidth", "discreteoffset", "tip", "tipformat", "tiplabel", "url",
             "x2axis", "y2axis", "attrid", "fillpattern", "fillpatternattrs", "smoothconnect", "grouporder",
             "nomissinggroup", "displaystats", "meanattrs", "medianattrs", "whiskerattrs", "connect",
             "connectattrs", "labelattrs", "textattrs", "filledoutlinedmarkers", "markerfillattrs",
             "markeroutlineattrs", "datalabelpos", "splinepoints", "rolename", "lineattrs2", "dataskin",
             "boxwidth", "clusterwidth", "limitattrs", "baselineattrs", "curvelabelloc", "datalabelfitpolicy",
             "interpolation", "maxpoints", "extreme", "outlierattrs", "labelloc", "labelpos", "colormodel",
             "colorresponse", "colorstat", "scale2", "freq", "weight", "groupdisplay2", "legendlabel2",
             "nooutline", "whiskerpct", "percentile", "capshape", "discretelegend"}
_COMMON = {"group", "legendlabel", "name", "transparency", "lineattrs", "markerattrs", "fillattrs"}

_SYMBOLS = {"circle": ("o", False), "circlefilled": ("o", True), "square": ("s", False),
            "squarefilled": ("s", True), "triangle": ("^", False), "trianglefilled": ("^", True),
            "triangledown": ("v", False), "triangledownfilled": ("v", True), "diamond": ("D", False),
            "diamondfilled": ("D", True), "plus": ("+", True), "x": ("x", True), "star": ("*", False),
            "starfilled": ("*", True), "asterisk": ("*", True), "dot": (".", True), "hash": ("#", True),
            "arrowdown": ("v", True), "homedown": ("p", False), "homedownfilled": ("p", True),
            "tack": ("|", True), "ibeam": ("|", True), "union": ("u", False), "greaterthan": (">", True),
            "lessthan": ("<", True)}
_PATTERNS = {"solid": "-", "1": "-", "dot": ":", "34": ":", "35": ":", "thindot": (0, (1, 2)),
             "shortdash": (0, (3, 2)), "2": (0, (3, 2)), "dash": (0, (5, 3)), "20": (0, (5, 3)),
             "mediumdash": (0, (6, 3)), "4": (0, (6, 3)), "longdash": (0, (10, 3)), "5": (0, (10, 3)),
             "15": (0, (10, 3)), "shortdashdot": "-.", "41": "-.", "dashdashdot": (0, (5, 2, 5, 2, 1, 2)),
             "14": (0, (5, 2, 5, 2, 1, 2)), "dashdotdot": (0, (5, 2, 1, 2, 1, 2)),
             "mediumdashdotdot": (0, (6, 2, 1, 2, 1, 2)), "42": (0, (6, 2, 1, 2, 1, 2)),
             "longdashshortdash": (0, (10, 2, 3, 2)), "26": (0, (10, 2, 3, 2)),
             "mediumdashshortdash": (0, (6, 2, 3, 2)), "8": (0, (6, 2, 3, 2))}


class PlotState:
    """What the statements of one graph have decided so far: axis labels and options, whether a legend
    is needed (and its title and place), how many plot statements drew something."""

    def __init__(self):
        self.xlabel = self.ylabel = None
        self.legend_needed = False
        self.legend_title = None
        self.legend_loc = "best"
        self.n_plots = 0
        self.xticks = self.yticks = None
        self.xtick_labels = self.ytick_labels = None
        self.xgrid = self.ygrid = False
        self.xlim = [None, None]
        self.ylim = [None, None]
        self.xlog = self.ylog = False
        self.xreverse = self.yreverse = False
        self.xinteger = self.yinteger = False
        self.xminor = self.yminor = False
        self.xdisplay = self.ydisplay = None         # set of parts to hide: label, ticks, values, line
        self.group_levels = {}
        self.bin_width = None                          # the last HISTOGRAM's bin width and scale (DENSITY's)
        self.density_scale = "percent"
        self.n_series = 0                              # colours for statements without GROUP=
        self.xcats = self.ycats = None                 # a discrete axis: {category label: position}


def var(ds, name, stmt):
    c = ds.colname(str(name))
    if c is None:
        raise SasError(f"Variable {str(name).upper()} not found.", stmt.line, stmt.col)
    return c


def category_order(ds, cv, labels):
    """Categories in ascending order of their raw values (numbers by value), shown by their formatted value."""
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


# ---------------------------------------------------------------------- style attributes
def sas_color(session, text):
    """A SAS colour: a name matplotlib knows (red, gray, lightblue, ...) or CXrrggbb; None otherwise (WARNING)."""
    from matplotlib import colors as mcolors
    t = str(text).strip().strip("'\"")
    if t.lower().startswith("cx") and len(t) == 8:
        return "#" + t[2:]
    if mcolors.is_color_like(t.lower()):
        return t.lower()
    session.log.warning(f"The color {t} is not known; the default color is used.")
    return None


def _attrs(session, o, key, allowed, what):
    """The items of an attribute option (LINEATTRS=(COLOR=red PATTERN=dash)) as a dict; style-element
    references (GraphData1) and unknown attributes give a WARNING."""
    node = o.nodes.get(key)
    out = {}
    if node is None:
        return out
    items = node.items if isinstance(node, A.Group) else [node]
    for it in items:
        if isinstance(it, A.Opt) and it.key.lower() in allowed:
            out[it.key.lower()] = value_of(it.value)
        elif isinstance(it, A.Opt):
            session.log.warning(f"The {key.upper()} attribute {it.key.upper()} of the {what} statement is not "
                                "supported yet and was ignored.")
        else:
            session.log.warning(f"The {key.upper()} style reference {value_of(it)} of the {what} statement is not "
                                "supported yet and was ignored.")
    return out


class Style:
    """The colour, line and marker style of one statement (its attribute options)."""

    def __init__(self, session, o, what):
        la = _attrs(session, o, "lineattrs", {"color", "pattern", "thickness"}, what)
        ma = _attrs(session, o, "markerattrs", {"color", "symbol", "size"}, what)
        fa = _attrs(session, o, "fillattrs", {"color", "transparency"}, what)
        self.line_color = sas_color(session, la["color"]) if "color" in la else None
        self.marker_color = sas_color(session, ma["color"]) if "color" in ma else None
        self.fill_color = sas_color(session, fa["color"]) if "color" in fa else None
        self.lw = _size(la.get("thickness"), 1.5)
        pat = str(la.get("pattern", "solid")).lower()
        if pat not in _PATTERNS:
            session.log.warning(f"The line pattern {pat.upper()} is not known; a dashed line is drawn.")
        self.ls = _PATTERNS.get(pat, (0, (5, 3)))
        sym = str(ma.get("symbol", "circle")).lower()
        if sym not in _SYMBOLS:
            session.log.warning(f"The marker symbol {sym.upper()} is not known; a circle is drawn.")
        self.marker, self.filled = _SYMBOLS.get(sym, ("o", False))
        self.ms = _size(ma.get("size"), 6.0)
        t = o.get("transparency")
        self.alpha = 1.0 - float(t) if isinstance(t, float) else 1.0
        if isinstance(fa.get("transparency"), float):
            self.fill_alpha = 1.0 - float(fa["transparency"])
        else:
            self.fill_alpha = self.alpha

    def color(self, default, kind="line"):
        c = {"line": self.line_color, "marker": self.marker_color, "fill": self.fill_color}[kind]
        return c or default

    def scatter(self, ax, xs, ys, color, label=None):
        mc = self.color(color, "marker")
        kw = dict(s=self.ms ** 2 * 0.6, marker=self.marker, label=label, alpha=self.alpha)
        if self.filled or self.marker in ("+", "x", "|", "."):
            ax.scatter(xs, ys, color=mc, **kw)
        else:
            ax.scatter(xs, ys, facecolors="none", edgecolors=mc, **kw)


def _size(v, default):
    if v is None:
        return default
    try:
        return float(str(v).lower().rstrip("px").rstrip("pt"))
    except ValueError:
        return default


# ---------------------------------------------------------------------- helpers
def _options(session, st, kw, lead, extra, unused=()):
    """The statement's options (after its leading variable when lead is 1); the cosmetic ones and the
    statement's own options we accept without drawing (unused) each get a WARNING."""
    items = list(st.items[lead:]) + list(st.options or [])
    o = Options(items, _COMMON | _COSMETIC | set(extra) | set(unused), kw.upper())
    for k in sorted(_COSMETIC | set(unused)):
        if o.has(k):
            session.log.warning(f"The {kw.upper()} option {k.upper()} is not supported yet and was ignored.")
    return o


def _groups(session, ds, o, st, state):
    """[(level label | None, row mask)] for GROUP= (the data set's levels in order of appearance; SGPANEL
    passes the whole input's levels so a group keeps its colour in every cell)."""
    n = ds.nobs
    if "group" not in o.values:
        return [(None, np.ones(n, dtype=bool))]
    gv = var(ds, o.get("group"), st)
    gl = np.asarray(formatted(ds, gv, session), dtype=object)
    seen = state.group_levels.get(gv) or list(dict.fromkeys(gl))
    state.legend_needed = True
    state.legend_title = gv
    return [(g, gl == g) for g in seen]


def _num(ds, v):
    return ds.column(v).to_numpy(dtype=float)


def _xy(ds, o, st, keys=("x", "y")):
    for k in keys:
        if k not in o.values:
            raise SasError(f"The {st.keyword.upper()} statement requires {' and '.join(k.upper() + '=' for k in keys)}.",
                           st.line, st.col)
    return [var(ds, o.get(k), st) for k in keys]


def _label(ds, v):
    return ds.var(v).label or v


def _color(k, state, grouped):
    """The k-th group's colour, or for an ungrouped statement the next colour in the graph."""
    return COLORS[(k if grouped else state.n_series) % len(COLORS)]


def _next_series(state, grouped):
    if not grouped:
        state.n_series += 1


_CATEGORY = {"vbar", "hbar", "vline", "hline", "dot", "vbox", "hbox"}
_DISTRIBUTION = {"histogram", "density"}
_BASIC = {"series", "scatter", "reg", "loess", "pbspline", "band", "needle", "step", "highlow", "lineparm", "text"}


def check_overlay(stmts, proc):
    """SAS overlays plots of one family only: category plots (bars, lines and boxes by category), the
    histogram and density plots, and the basic and fit plots (X= Y=); mixing them is an ERROR, as in SAS."""
    fams = set()
    first = {}
    for kw, st in stmts:
        for fam, members in (("category", _CATEGORY), ("distribution", _DISTRIBUTION), ("basic", _BASIC)):
            if kw in members:
                fams.add(fam)
                first.setdefault(fam, st)
    if len(fams) > 1:
        st = list(first.values())[1]
        raise SasError("Attempting to overlay incompatible plot or chart types.", st.line, st.col)


# ---------------------------------------------------------------------- statements
def draw_statement(session, ds, ax, kw, st, state):
    """One plot statement drawn on ax from the data set ds."""
    if kw == "keylegend":
        return _keylegend(session, st, state)
    if kw == "refline":
        return _refline(session, ds, ax, st)
    if kw == "inset":
        return _inset(session, ax, st)
    state.n_plots += 1
    fn = {"series": _xy_plot, "scatter": _xy_plot, "reg": _fit_plot, "loess": _fit_plot, "pbspline": _fit_plot,
          "needle": _xy_plot, "step": _xy_plot, "band": _band, "vline": _summary_line, "hline": _summary_line,
          "dot": _summary_line, "vbar": _bar, "hbar": _bar, "vbox": _box, "hbox": _box, "histogram": _histogram,
          "density": _density, "highlow": _highlow, "lineparm": _lineparm, "text": _text}[kw]
    fn(session, ds, ax, kw, st, state)


def _xy_plot(session, ds, ax, kw, st, state):
    """SERIES, SCATTER, NEEDLE, STEP: X= Y= with GROUP=."""
    extra = {"x", "y", "markers", "nomarkers", "datalabel", "curvelabel", "break", "markerchar", "yerrorupper",
             "yerrorlower", "xerrorupper", "xerrorlower", "baseline", "justify"}
    o = _options(session, st, kw, 0, extra, ("groupdisplay",))
    for key in ("yerrorupper", "yerrorlower", "xerrorupper", "xerrorlower", "markerchar"):
        if key in o.values and kw != "scatter":
            raise SasError(f"The option {key.upper()} is not supported on the {kw.upper()} statement.", st.line, st.col)
    xv, yv = _xy(ds, o, st)
    x_char = ds.var(xv).is_char
    x = ds.column(xv).to_numpy() if x_char else _num(ds, xv)
    y = _num(ds, yv)
    state.xlabel = state.xlabel or _label(ds, xv)
    state.ylabel = state.ylabel or _label(ds, yv)
    style = Style(session, o, kw.upper())
    groups = _groups(session, ds, o, st, state)
    grouped = groups[0][0] is not None
    extras = {}
    for key in ("yerrorupper", "yerrorlower", "xerrorupper", "xerrorlower", "markerchar", "datalabel"):
        if key in o.values:
            vv = var(ds, o.get(key), st)
            extras[key] = np.asarray(formatted(ds, vv, session), dtype=object) \
                if key in ("markerchar", "datalabel") else _num(ds, vv)
    if o.has("datalabel") and "datalabel" not in extras:      # DATALABEL alone: the Y values
        extras["datalabel"] = np.asarray(formatted(ds, yv, session), dtype=object)
    for k, (g, m) in enumerate(groups):
        xs, ys = x[m], y[m]
        ok = ~np.isnan(ys) & (np.array([str(v).strip() != "" for v in xs]) if x_char else ~np.isnan(xs))
        ex = {key: arr[m] for key, arr in extras.items()}
        color = style.color(_color(k, state, grouped))
        label = g if g is not None else (o.get("legendlabel") or yv)
        if kw == "series":
            order = np.arange(len(xs)) if x_char else np.argsort(np.where(np.isnan(xs), np.inf, xs), kind="stable")
            xo, yo, oko = xs[order], ys[order], ok[order]
            if o.has("break"):
                yo = np.where(oko, yo, np.nan)       # a missing value breaks the line
                xo = xo if x_char else np.where(np.isnan(xo), np.nan, xo)
            else:
                xo, yo = xo[oko], yo[oko]
            ax.plot(xo, yo, color=color, lw=style.lw, ls=style.ls, label=label, alpha=style.alpha,
                    marker=style.marker if o.has("markers") else None, ms=style.ms * 0.7,
                    mfc=color if style.filled else "none")
            if o.has("curvelabel") and len(xo):
                text = o.get("curvelabel") if isinstance(o.get("curvelabel"), str) else label
                ax.annotate(str(text), (xo[-1], yo[~np.isnan(yo)][-1] if np.any(~np.isnan(yo)) else 0),
                            xytext=(3, 0), textcoords="offset points", fontsize=8, color=color, va="center")
        elif kw == "scatter":
            xs_, ys_ = xs[ok], ys[ok]
            for lo_k, hi_k, vert in (("yerrorlower", "yerrorupper", True), ("xerrorlower", "xerrorupper", False)):
                if lo_k in ex or hi_k in ex:
                    base = ys_ if vert else xs_.astype(float)
                    lo = np.where(np.isnan(ex[lo_k][ok]), base, ex[lo_k][ok]) if lo_k in ex else base
                    hi = np.where(np.isnan(ex[hi_k][ok]), base, ex[hi_k][ok]) if hi_k in ex else base
                    (ax.vlines(xs_, lo, hi, color=color, lw=1) if vert else ax.hlines(ys_, lo, hi, color=color, lw=1))
            if "markerchar" in ex:
                for xi, yi, t in zip(xs_, ys_, ex["markerchar"][ok]):
                    ax.annotate(str(t).strip(), (xi, yi), ha="center", va="center", fontsize=8, color=color)
                ax.scatter(xs_, ys_, s=0, label=label)
            else:
                style.scatter(ax, xs_, ys_, color, label)
        elif kw == "needle":
            base = float(o.get("baseline", 0.0)) if isinstance(o.get("baseline"), float) else 0.0
            ax.vlines(xs[ok], base, ys[ok], color=color, lw=style.lw, ls=style.ls, label=label, alpha=style.alpha)
            if o.has("markers"):
                style.scatter(ax, xs[ok], ys[ok], color)
        else:   # step
            order = np.arange(len(xs)) if x_char else np.argsort(np.where(np.isnan(xs), np.inf, xs), kind="stable")
            where = {"left": "post", "right": "pre", "center": "mid"}.get(str(o.get("justify", "left")).lower(), "post")
            keep = ok[order]
            ax.step(xs[order][keep], ys[order][keep], where=where, color=color, lw=style.lw, ls=style.ls,
                    label=label, alpha=style.alpha)
            if o.has("markers"):
                style.scatter(ax, xs[ok], ys[ok], color)
        if "datalabel" in ex:
            for xi, yi, t in zip(xs[ok], ys[ok], ex["datalabel"][ok]):
                ax.annotate(str(t).strip(), (xi, yi), xytext=(2, 3), textcoords="offset points", fontsize=7,
                            color=color)
    _next_series(state, grouped)


def _loess_weights(x, g, q, degree):
    """Tricube weights around g over the q nearest points, the window widened (with ties) until it holds
    degree + 2 distinct x values so the local fit is determined."""
    d = np.abs(x - g)
    h = np.partition(d, q - 1)[q - 1]
    ud = np.unique(d)
    need = ud[min(degree + 1, len(ud) - 1)]
    if h < need:
        h = need * 1.0001
    return np.clip(1 - (d / (h or 1.0)) ** 3, 0, None) ** 3


def loess_fit(x, y, grid, smooth, degree=1):
    """Local polynomial regression (Cleveland): tricube weights on the nearest floor(smooth n) points."""
    n = len(x)
    q = min(n, max(int(math.floor(smooth * n)), degree + 2))
    out = np.empty(len(grid))
    for i, g in enumerate(grid):
        w = _loess_weights(x, g, q, degree)
        X = np.vander(x - g, degree + 1, increasing=True)
        WX = X * w[:, None]
        beta = np.linalg.lstsq(WX.T @ X, WX.T @ y, rcond=None)[0]
        out[i] = beta[0]
    return out


def loess_hat_trace(x, smooth, degree=1):
    """The fitted values at the data and the trace of the smoother matrix (for AICC)."""
    n = len(x)
    q = min(n, max(int(math.floor(smooth * n)), degree + 2))
    L = np.zeros((n, n))
    for i, g in enumerate(x):
        w = _loess_weights(x, g, q, degree)
        X = np.vander(x - g, degree + 1, increasing=True)
        WX = X * w[:, None]
        L[i] = np.linalg.pinv(WX.T @ X)[0] @ WX.T
    return L


def loess_smooth(x, y, degree=1):
    """SMOOTH= chosen by minimising AICC (Hurvich, Simonoff and Tsai), as SAS's LOESS does by default."""
    n = len(x)
    best, best_s = math.inf, 0.5
    for s in np.linspace(max((degree + 2) / n, 0.1), 1.0, 19):
        L = loess_hat_trace(x, s, degree)
        tr = np.trace(L)
        rss = float(np.sum((y - L @ y) ** 2))
        if n - tr - 2 <= 0 or rss <= 0:
            continue
        aicc = math.log(rss / n) + 1 + 2 * (tr + 1) / (n - tr - 2)
        if aicc < best:
            best, best_s = aicc, float(s)
    return best_s


def pspline_fit(x, y, grid, nknots=100, degree=3, lam=None):
    """A penalised B-spline (Eilers and Marx): cubic B-splines on equally spaced knots with a second-order
    difference penalty, its weight chosen by generalised cross-validation unless given."""
    from scipy.interpolate import BSpline
    lo, hi = float(x.min()), float(x.max())
    nseg = max(min(nknots, 4 * len(np.unique(x))), 1)
    h = (hi - lo) / nseg
    t = lo + h * np.arange(-degree, nseg + degree + 1)
    B = BSpline.design_matrix(np.clip(x, lo, hi), t, degree).toarray()
    Bg = BSpline.design_matrix(np.clip(grid, lo, hi), t, degree).toarray()
    D = np.diff(np.eye(B.shape[1]), 2, axis=0)
    P = D.T @ D
    BtB, Bty = B.T @ B, B.T @ y

    def solve(lm):
        A = np.linalg.pinv(BtB + lm * P)
        return A @ Bty, float(np.trace(B @ A @ B.T))
    if lam is None:
        n, best = len(y), math.inf
        for lm in 10.0 ** np.linspace(-4, 6, 41):
            coef, tr = solve(lm)
            rss = float(np.sum((y - B @ coef) ** 2))
            gcv = n * rss / max(n - tr, 1e-9) ** 2
            if gcv < best:
                best, lam = gcv, lm
    coef, _ = solve(lam)
    return Bg @ coef


def _fit_plot(session, ds, ax, kw, st, state):
    """REG (polynomial fit, CLM/CLI bands), LOESS (local regression, SMOOTH= by AICC when not given) and
    PBSPLINE (a smoothing spline, its penalty by generalised cross-validation): the points and the curve."""
    extra = {"x", "y", "degree", "clm", "cli", "alpha", "nomarkers", "smooth", "nknots", "curvelabel"}
    o = _options(session, st, kw, 0, extra, ("datalabel", "markers"))
    xv, yv = _xy(ds, o, st)
    x, y = _num(ds, xv), _num(ds, yv)
    state.xlabel = state.xlabel or _label(ds, xv)
    state.ylabel = state.ylabel or _label(ds, yv)
    style = Style(session, o, kw.upper())
    groups = _groups(session, ds, o, st, state)
    grouped = groups[0][0] is not None
    alpha = float(o.get("alpha", 0.05)) if isinstance(o.get("alpha"), float) else 0.05
    if kw != "reg" and o.has("cli"):
        raise SasError(f"The option CLI is not supported on the {kw.upper()} statement.", st.line, st.col)
    if kw == "pbspline" and o.has("clm"):
        session.log.warning("The PBSPLINE option CLM is not supported yet and was ignored.")
    for k, (g, m) in enumerate(groups):
        ok = m & ~np.isnan(x) & ~np.isnan(y)
        xs, ys = x[ok], y[ok]
        color = style.color(_color(k, state, grouped))
        label = g if g is not None else (o.get("legendlabel") or
                                         {"reg": "Regression", "loess": "Loess", "pbspline": "Penalized B-Spline"}[kw])
        if not o.has("nomarkers"):
            style.scatter(ax, xs, ys, style.color(_color(k, state, grouped), "marker"),
                          label if grouped else None)
        if len(np.unique(xs)) < 2:
            continue
        grid = np.linspace(xs.min(), xs.max(), 200)
        lo = hi = None
        if kw == "reg":
            deg = int(o.get("degree", 1))
            X = np.vander(xs, deg + 1)
            beta, *_ = np.linalg.lstsq(X, ys, rcond=None)
            G = np.vander(grid, deg + 1)
            fit = G @ beta
            dfe = len(xs) - (deg + 1)
            if (o.has("clm") or o.has("cli")) and dfe > 0:
                s2 = float(np.sum((ys - X @ beta) ** 2)) / dfe
                XtXi = np.linalg.pinv(X.T @ X)
                h = np.einsum("ij,jk,ik->i", G, XtXi, G)
                tq = st_.t.ppf(1 - alpha / 2, dfe)
                if o.has("cli"):
                    e = tq * np.sqrt(s2 * (1 + h))
                    ax.plot(grid, fit - e, color=color, lw=1, ls=(0, (5, 3)))
                    ax.plot(grid, fit + e, color=color, lw=1, ls=(0, (5, 3)))
                if o.has("clm"):
                    lo, hi = fit - tq * np.sqrt(s2 * h), fit + tq * np.sqrt(s2 * h)
        elif kw == "loess":
            deg = int(o.get("degree", 1))
            order = np.argsort(xs, kind="stable")
            xs, ys = xs[order], ys[order]
            s = float(o.get("smooth")) if isinstance(o.get("smooth"), float) else loess_smooth(xs, ys, deg)
            fit = loess_fit(xs, ys, grid, s, deg)
            if o.has("clm"):
                L = loess_hat_trace(xs, s, deg)
                res = ys - L @ ys
                d1 = np.trace((np.eye(len(xs)) - L).T @ (np.eye(len(xs)) - L))
                s2 = float(res @ res) / max(d1, 1e-12)
                sd = np.sqrt(s2 * np.sum(L * L, axis=1))
                z = st_.t.ppf(1 - alpha / 2, max(d1, 1.0))
                lo = np.interp(grid, xs, L @ ys - z * sd)
                hi = np.interp(grid, xs, L @ ys + z * sd)
        else:
            nk = int(o.get("nknots", 100)) if isinstance(o.get("nknots"), float) else 100
            lam = float(o.get("smooth")) if isinstance(o.get("smooth"), float) else None
            fit = pspline_fit(xs, ys, grid, nk, int(o.get("degree", 3)), lam)
        if lo is not None:
            ax.fill_between(grid, lo, hi, color=color, alpha=0.25 * style.fill_alpha, lw=0)
        ax.plot(grid, fit, color=color, lw=style.lw, ls=style.ls, alpha=style.alpha,
                label=None if grouped else label)
        if o.has("curvelabel"):
            text = o.get("curvelabel") if isinstance(o.get("curvelabel"), str) else label
            ax.annotate(str(text), (grid[-1], fit[-1]), xytext=(3, 0), textcoords="offset points", fontsize=8,
                        color=color, va="center")
    _next_series(state, grouped)


def _band(session, ds, ax, kw, st, state):
    """BAND X= UPPER= LOWER= (or Y= with the limits on the x axis): a filled band."""
    o = _options(session, st, kw, 0, {"x", "y", "upper", "lower", "nofill", "outline", "fill"},
                 ("curvelabelupper", "curvelabellower", "modelname", "type"))
    style = Style(session, o, "BAND")
    vertical = "x" in o.values
    if not vertical and "y" not in o.values or "upper" not in o.values or "lower" not in o.values:
        raise SasError("The BAND statement requires X= (or Y=), UPPER= and LOWER=.", st.line, st.col)
    pv = var(ds, o.get("x" if vertical else "y"), st)
    p = _num(ds, pv)

    def limit(key):
        v = o.get(key)
        if isinstance(v, float):
            return np.full(len(p), v)
        return _num(ds, var(ds, v, st))
    lo, hi = limit("lower"), limit("upper")
    if vertical:
        state.xlabel = state.xlabel or _label(ds, pv)
    else:
        state.ylabel = state.ylabel or _label(ds, pv)
    groups = _groups(session, ds, o, st, state)
    grouped = groups[0][0] is not None
    for k, (g, m) in enumerate(groups):
        ok = m & ~np.isnan(p) & ~np.isnan(lo) & ~np.isnan(hi)
        order = np.argsort(p[ok], kind="stable")
        pp, ll, hh = p[ok][order], lo[ok][order], hi[ok][order]
        color = style.color(_color(k, state, grouped), "fill")
        label = g if g is not None else o.get("legendlabel")
        if not o.has("nofill"):
            fn = ax.fill_between if vertical else ax.fill_betweenx
            fn(pp, ll, hh, color=color, alpha=0.3 * style.fill_alpha if style.fill_color is None else style.fill_alpha,
               lw=0, label=label)
        if o.has("outline") or o.has("nofill"):
            for arr in (ll, hh):
                (ax.plot(pp, arr, color=style.color(color), lw=1) if vertical else ax.plot(arr, pp, color=color, lw=1))
    _next_series(state, grouped)


def _stat(values, stat):
    v = values[~np.isnan(values)]
    if stat == "freq":
        return float(len(values))
    if not len(v):
        return float("nan")
    return {"mean": float(np.mean(v)), "median": float(np.median(v)), "sum": float(np.sum(v))}.get(stat, float("nan"))


def _limits(values, o):
    """LIMITS= for STAT=MEAN: LIMITSTAT=CLM (t limits, ALPHA=), STDDEV or STDERR (times NUMSTD=)."""
    v = values[~np.isnan(values)]
    n = len(v)
    if n < 2:
        return float("nan"), float("nan")
    m, sd = float(np.mean(v)), float(np.std(v, ddof=1))
    ls = str(o.get("limitstat", "clm")).lower()
    k = float(o.get("numstd", 1.0)) if isinstance(o.get("numstd"), float) else 1.0
    if ls == "stddev":
        e = k * sd
    elif ls == "stderr":
        e = k * sd / math.sqrt(n)
    else:
        a = float(o.get("alpha", 0.05)) if isinstance(o.get("alpha"), float) else 0.05
        e = st_.t.ppf(1 - a / 2, n - 1) * sd / math.sqrt(n)
    return m - e, m + e


def _category_stats(session, ds, o, st, kw, state):
    """The category levels and, per group, the statistic (and limits) of each: VLINE, HLINE, DOT, VBAR, HBAR."""
    cv = var(ds, st.items[0].value if st.items else None, st)
    cl = np.asarray(formatted(ds, cv, session), dtype=object)
    levels = category_order(ds, cv, cl)
    has_resp = "response" in o.values
    r = _num(ds, var(ds, o.get("response"), st)) if has_resp else np.zeros(ds.nobs)
    default = "sum" if has_resp else "freq"
    if kw == "dot" and has_resp:
        default = "mean"
    stat = str(o.get("stat", default)).lower()
    if stat not in ("freq", "mean", "median", "sum", "percent"):
        raise SasError(f"STAT={stat.upper()} is not valid (FREQ, MEAN, MEDIAN, PERCENT, SUM).", st.line, st.col)
    if stat in ("mean", "median", "sum") and not has_resp:
        raise SasError(f"STAT={stat.upper()} requires RESPONSE=.", st.line, st.col)
    limits = str(o.get("limits", "")).lower() if o.has("limits") else ""
    if limits and stat != "mean":
        session.log.note(f"LIMITS= applies to STAT=MEAN only; no limits are drawn for STAT={stat.upper()}.")
        limits = ""
    groups = _groups(session, ds, o, st, state)
    out = []
    total = float(ds.nobs)
    for g, m in groups:
        vals, los, his = [], [], []
        for lv in levels:
            sel = m & (cl == lv)
            if stat == "percent":
                vals.append(100.0 * sel.sum() / total if total else float("nan"))
            else:
                vals.append(_stat(r[sel] if has_resp else np.where(sel, 0.0, np.nan)[sel], stat)
                            if stat != "freq" else float(sel.sum()))
            lo, hi = _limits(r[sel], o) if limits else (float("nan"), float("nan"))
            los.append(lo if limits in ("both", "lower") else vals[-1])
            his.append(hi if limits in ("both", "upper") else vals[-1])
        out.append((g, np.array(vals), np.array(los), np.array(his)))
    resp_name = _label(ds, var(ds, o.get("response"), st)) if has_resp else None
    title = {"freq": "Frequency", "percent": "Percent"}.get(stat) or f"{resp_name} ({stat.capitalize()})"
    return cv, levels, out, title, bool(limits)


def _summary_line(session, ds, ax, kw, st, state):
    """VLINE, HLINE (a line through the statistic of each category) and DOT (markers, horizontal)."""
    o = _options(session, st, kw, 1, {"response", "stat", "limits", "limitstat", "numstd", "alpha", "markers",
                                      "datalabel"}, ("curvelabel", "break", "groupdisplay", "categoryorder"))
    style = Style(session, o, kw.upper())
    cv, levels, res, title, has_lim = _category_stats(session, ds, o, st, kw, state)
    pos = np.arange(len(levels))
    horiz = kw in ("hline", "dot")
    grouped = res[0][0] is not None
    for k, (g, vals, los, his) in enumerate(res):
        color = style.color(_color(k, state, grouped))
        label = g if g is not None else (o.get("legendlabel") or title)
        ok = ~np.isnan(vals)
        if kw == "dot":
            style.scatter(ax, vals[ok], pos[ok], color, label)
        else:
            a, b = (vals[ok], pos[ok]) if horiz else (pos[ok], vals[ok])
            ax.plot(a, b, color=color, lw=style.lw, ls=style.ls, alpha=style.alpha, label=label,
                    marker=style.marker if o.has("markers") else None, ms=style.ms * 0.7,
                    mfc=color if style.filled else "none")
        if has_lim:
            okl = ~np.isnan(los) & ~np.isnan(his)
            (ax.hlines(pos[okl], los[okl], his[okl], color=color, lw=1) if horiz else
             ax.vlines(pos[okl], los[okl], his[okl], color=color, lw=1))
        if o.has("datalabel"):
            for p_, v_ in zip(pos[ok], vals[ok]):
                xy = (v_, p_) if horiz else (p_, v_)
                ax.annotate(f"{v_:.4g}", xy, xytext=(2, 3), textcoords="offset points", fontsize=7, color=color)
    _category_axis(ax, state, "y" if horiz else "x", pos, levels, _label(ds, cv), title)
    _next_series(state, grouped)


def _bar(session, ds, ax, kw, st, state):
    """VBAR, HBAR: the statistic of each category; GROUP= bars stacked (GROUPDISPLAY=STACK, the default)
    or side by side (CLUSTER); LIMITS= for STAT=MEAN."""
    o = _options(session, st, kw, 1, {"response", "stat", "limits", "limitstat", "numstd", "alpha", "barwidth",
                                      "datalabel", "groupdisplay", "nofill", "fill"},
                 ("missing", "nostatlabel", "categoryorder", "outline"))
    style = Style(session, o, kw.upper())
    cv, levels, res, title, has_lim = _category_stats(session, ds, o, st, kw, state)
    pos = np.arange(len(levels), dtype=float)
    width = float(o.get("barwidth", 0.8)) if isinstance(o.get("barwidth"), float) else 0.8
    cluster = str(o.get("groupdisplay", "stack")).lower() == "cluster"
    horiz = kw == "hbar"
    grouped = res[0][0] is not None
    bottom = np.zeros(len(levels))
    ng = len(res)
    for k, (g, vals, los, his) in enumerate(res):
        color = style.color(_color(k, state, grouped), "fill")
        label = g if g is not None else o.get("legendlabel")
        v = np.nan_to_num(vals)
        if cluster and grouped:
            w = width / ng
            p = pos - width / 2 + w * (k + 0.5)
            base = np.zeros(len(levels))
        else:
            w, p, base = width, pos, bottom.copy()
        kw_ = dict(color=color, alpha=style.fill_alpha, label=label, edgecolor="white" if not o.has("nofill") else color)
        if o.has("nofill"):
            kw_["fill"] = False
        (ax.barh(p, v, height=w, left=base, **kw_) if horiz else ax.bar(p, v, width=w, bottom=base, **kw_))
        if has_lim:
            okl = ~np.isnan(los) & ~np.isnan(his)
            (ax.hlines(p[okl], (base + los)[okl], (base + his)[okl], color="black", lw=1) if horiz else
             ax.vlines(p[okl], (base + los)[okl], (base + his)[okl], color="black", lw=1))
        if o.has("datalabel"):
            for p_, b_, v_ in zip(p, base, v):
                xy = (b_ + v_, p_) if horiz else (p_, b_ + v_)
                ax.annotate(f"{v_:.4g}", xy, ha="center", va="bottom", fontsize=7)
        if not (cluster and grouped):
            bottom = bottom + v
    _category_axis(ax, state, "y" if horiz else "x", pos, levels, _label(ds, cv), title)
    _next_series(state, grouped)


def _box(session, ds, ax, kw, st, state):
    """VBOX, HBOX: box and whiskers (1.5 IQR), outliers, the mean marked by a diamond; CATEGORY= and GROUP=
    (boxes side by side within a category)."""
    o = _options(session, st, kw, 1, {"category", "nooutliers", "nomean", "nofill", "notches", "fill"},
                 ("nocaps", "groupdisplay", "categoryorder"))
    style = Style(session, o, kw.upper())
    yv = var(ds, st.items[0].value if st.items else None, st)
    y = _num(ds, yv)
    if o.get("category") is not None:
        cv = var(ds, o.get("category"), st)
        cl = np.asarray(formatted(ds, cv, session), dtype=object)
        levels = category_order(ds, cv, cl)
    else:
        cv, cl, levels = None, np.full(len(y), "", dtype=object), [""]
    groups = _groups(session, ds, o, st, state)
    grouped = groups[0][0] is not None
    ng = len(groups)
    vert = kw == "vbox"
    pos = np.arange(1, len(levels) + 1, dtype=float)
    w = 0.6 / ng if grouped else 0.5
    for k, (g, m) in enumerate(groups):
        data = [y[m & (cl == lv) & ~np.isnan(y)] for lv in levels]
        p = pos - 0.3 + w * (k + 0.5) if grouped else pos
        color = style.color(_color(k, state, grouped), "fill")
        keep = [i for i, d in enumerate(data) if len(d)]
        if not keep:
            continue
        bp = ax.boxplot([data[i] for i in keep], positions=p[keep], widths=w * 0.9, vert=vert,
                        showmeans=not o.has("nomean"), showfliers=not o.has("nooutliers"), notch=o.has("notches"),
                        patch_artist=True, manage_ticks=False,
                        meanprops=dict(marker="D", markerfacecolor="none", markeredgecolor="black", markersize=5),
                        medianprops=dict(color="black"))
        for b in bp["boxes"]:
            b.set_facecolor("none" if o.has("nofill") else color)
            b.set_alpha(0.6 * style.fill_alpha if not o.has("nofill") else 1.0)
        if grouped:
            ax.plot([], [], color=color, lw=6, label=g)
    _category_axis(ax, state, "x" if vert else "y", pos, levels, _label(ds, cv) if cv else "", _label(ds, yv))
    _next_series(state, grouped)


def _category_axis(ax, state, axis, pos, levels, cat_label=None, value_label=None):
    """A discrete (category) axis: the levels at positions pos (XAXIS/YAXIS VALUES= then pick categories);
    the axis labels by default: the category variable's, and the statistic's on the other axis."""
    (ax.set_xticks if axis == "x" else ax.set_yticks)(pos, levels)
    cats = getattr(state, axis + "cats") or {}
    cats.update({lv: p for lv, p in zip(levels, pos)})
    setattr(state, axis + "cats", cats)
    other = "y" if axis == "x" else "x"
    if cat_label is not None:
        setattr(state, axis + "label", getattr(state, axis + "label") or cat_label)
    if value_label is not None:
        setattr(state, other + "label", getattr(state, other + "label") or value_label)


def _histogram(session, ds, ax, kw, st, state):
    """HISTOGRAM: BINWIDTH=, NBINS=, BINSTART=, SCALE=PERCENT (default) | COUNT | PROPORTION; GROUP= overlays
    semi-transparent histograms."""
    o = _options(session, st, kw, 1, {"binwidth", "nbins", "binstart", "scale", "showbins", "nofill", "fill"},
                 ("boundary",))
    style = Style(session, o, "HISTOGRAM")
    xv = var(ds, st.items[0].value if st.items else None, st)
    x = _num(ds, xv)
    xa = x[~np.isnan(x)]
    if not len(xa):
        return
    if isinstance(o.get("binwidth"), float) and o.get("binwidth") > 0:
        bw = float(o.get("binwidth"))
        start = float(o.get("binstart")) - bw / 2 if isinstance(o.get("binstart"), float) else \
            math.floor(xa.min() / bw) * bw
        edges = np.arange(start, xa.max() + bw, bw)
        if edges[-1] <= xa.max():
            edges = np.append(edges, edges[-1] + bw)
    elif isinstance(o.get("nbins"), float) and o.get("nbins") >= 1:
        edges = np.histogram_bin_edges(xa, int(o.get("nbins")))
    else:
        edges = np.histogram_bin_edges(xa, "auto")
    state.bin_width = float(edges[1] - edges[0]) if len(edges) > 1 else None
    scale = str(o.get("scale", "percent")).lower()
    if scale not in ("percent", "count", "proportion"):
        raise SasError(f"SCALE={scale.upper()} is not valid (PERCENT, COUNT, PROPORTION).", st.line, st.col)
    groups = _groups(session, ds, o, st, state)
    grouped = groups[0][0] is not None
    for k, (g, m) in enumerate(groups):
        xs = x[m & ~np.isnan(x)]
        n = max(len(xs), 1)
        wt = {"percent": 100.0 / n, "count": 1.0, "proportion": 1.0 / n}[scale]
        color = style.color(_color(k, state, grouped), "fill")
        ax.hist(xs, bins=edges, weights=np.full(len(xs), wt), color=color, edgecolor="white",
                alpha=(0.5 if grouped else 1.0) * style.fill_alpha, label=g if grouped else o.get("legendlabel"),
                fill=not o.has("nofill"))
    if o.has("showbins"):
        ax.set_xticks((edges[:-1] + edges[1:]) / 2)
    state.xlabel = state.xlabel or _label(ds, xv)
    state.ylabel = state.ylabel or scale.capitalize()
    state.density_scale = scale
    _next_series(state, grouped)


def _density(session, ds, ax, kw, st, state):
    """DENSITY: TYPE=NORMAL (default; mean and standard deviation of the data) or TYPE=KERNEL (Gaussian
    kernel), on the scale of the histogram drawn before it (percent by default)."""
    o = _options(session, st, kw, 1, {"type", "scale"})
    style = Style(session, o, "DENSITY")
    xv = var(ds, st.items[0].value if st.items else None, st)
    x = _num(ds, xv)
    tnode = o.nodes.get("type")
    tname = (tnode.name if isinstance(tnode, A.Group) else str(o.get("type", "normal"))).lower()
    if tname not in ("normal", "kernel"):
        raise SasError(f"TYPE={tname.upper()} is not valid (NORMAL, KERNEL).", st.line, st.col)
    scale = str(o.get("scale", state.density_scale)).lower()
    groups = _groups(session, ds, o, st, state)
    grouped = groups[0][0] is not None
    for k, (g, m) in enumerate(groups):
        xs = x[m & ~np.isnan(x)]
        if len(xs) < 2:
            continue
        lo, hi = xs.min(), xs.max()
        pad = 0.25 * (hi - lo or 1.0)
        grid = np.linspace(lo - pad, hi + pad, 200)
        if tname == "normal":
            dens = st_.norm.pdf(grid, xs.mean(), xs.std(ddof=1) or 1.0)
        else:
            dens = st_.gaussian_kde(xs)(grid) if np.std(xs) > 0 else np.zeros_like(grid)
        bw = state.bin_width or float(np.diff(np.histogram_bin_edges(xs, "auto"))[0])
        factor = {"density": 1.0, "percent": 100.0 * bw, "count": len(xs) * bw, "proportion": bw}.get(scale, 1.0)
        color = style.color(_color(k, state, grouped) if grouped else "#1f1f1f")
        label = g if grouped else (o.get("legendlabel") or ("Normal" if tname == "normal" else "Kernel"))
        ax.plot(grid, dens * factor, color=color, lw=style.lw, ls=style.ls, alpha=style.alpha, label=label)
    state.xlabel = state.xlabel or _label(ds, xv)
    state.ylabel = state.ylabel or scale.capitalize()
    if not grouped:
        state.legend_needed = True


def _highlow(session, ds, ax, kw, st, state):
    """HIGHLOW X= HIGH= LOW= (or Y= for horizontal): a line (TYPE=LINE) or bar (TYPE=BAR) from low to high."""
    o = _options(session, st, kw, 0, {"x", "y", "high", "low", "type"},
                 ("open", "close", "highcap", "lowcap", "barwidth"))
    style = Style(session, o, "HIGHLOW")
    vertical = "x" in o.values
    pv = var(ds, o.get("x" if vertical else "y"), st)
    p = ds.column(pv).to_numpy() if ds.var(pv).is_char else _num(ds, pv)
    hi = _num(ds, var(ds, o.get("high"), st))
    lo = _num(ds, var(ds, o.get("low"), st))
    groups = _groups(session, ds, o, st, state)
    grouped = groups[0][0] is not None
    for k, (g, m) in enumerate(groups):
        ok = m & ~np.isnan(hi) & ~np.isnan(lo)
        color = style.color(_color(k, state, grouped))
        if str(o.get("type", "line")).lower() == "bar":
            (ax.bar(p[ok], hi[ok] - lo[ok], bottom=lo[ok], color=color, alpha=style.fill_alpha, width=0.5, label=g)
             if vertical else ax.barh(p[ok], hi[ok] - lo[ok], left=lo[ok], color=color, height=0.5, label=g))
        else:
            (ax.vlines(p[ok], lo[ok], hi[ok], color=color, lw=style.lw, label=g) if vertical else
             ax.hlines(p[ok], lo[ok], hi[ok], color=color, lw=style.lw, label=g))
    if vertical:
        state.xlabel = state.xlabel or _label(ds, pv)
    else:
        state.ylabel = state.ylabel or _label(ds, pv)
    _next_series(state, grouped)


def _lineparm(session, ds, ax, kw, st, state):
    """LINEPARM X= Y= SLOPE=: the line through (x, y) with that slope (numbers or variables, one line per row)."""
    o = _options(session, st, kw, 0, {"x", "y", "slope"}, ("curvelabel", "clip"))
    style = Style(session, o, "LINEPARM")

    def vals(key):
        if key not in o.values:
            raise SasError("The LINEPARM statement requires X=, Y= and SLOPE=.", st.line, st.col)
        v = o.get(key)
        return np.array([v]) if isinstance(v, float) else _num(ds, var(ds, v, st))
    xs, ys, sl = np.broadcast_arrays(vals("x"), vals("y"), vals("slope"))
    color = style.color(_color(0, state, False))
    for i, (x0, y0, s) in enumerate(zip(xs, ys, sl)):
        if np.isnan(x0) or np.isnan(y0) or np.isnan(s):
            continue
        ax.axline((x0, y0), slope=s, color=color, lw=style.lw, ls=style.ls,
                  label=(o.get("legendlabel") if i == 0 else None))
    _next_series(state, False)


def _text(session, ds, ax, kw, st, state):
    """TEXT X= Y= TEXT=: the formatted value of TEXT= at each point."""
    o = _options(session, st, kw, 0, {"x", "y", "text"}, ("position", "rotate", "backlight", "strip", "splitchar"))
    xv, yv, tv = _xy(ds, o, st, ("x", "y", "text"))
    x, y = _num(ds, xv), _num(ds, yv)
    t = np.asarray(formatted(ds, tv, session), dtype=object)
    ok = ~np.isnan(x) & ~np.isnan(y)
    for xi, yi, ti in zip(x[ok], y[ok], t[ok]):
        ax.annotate(str(ti).strip(), (xi, yi), ha="center", va="center", fontsize=8)
    if ok.any():
        ax.update_datalim(np.column_stack([x[ok], y[ok]]))
        ax.autoscale_view()
    state.xlabel = state.xlabel or _label(ds, xv)
    state.ylabel = state.ylabel or _label(ds, yv)


def _refline(session, ds, ax, st):
    """REFLINE values or a variable / AXIS=X|Y LABEL= LINEATTRS= TRANSPARENCY=."""
    o = Options(st.options or [], {"axis", "lineattrs", "label", "transparency", "name", "legendlabel",
                                   "labelloc", "labelpos", "labelattrs", "noclip", "discreteoffset", "x2axis",
                                   "y2axis"}, "REFLINE")
    for k in ("labelloc", "labelpos", "labelattrs", "noclip", "discreteoffset", "x2axis", "y2axis"):
        if o.has(k):
            session.log.warning(f"The REFLINE option {k.upper()} is not supported yet and was ignored.")
    style = Style(session, o, "REFLINE")
    values = []
    for it in st.items:
        if isinstance(it, A.Word) and it.kind == "number":
            values.append(float(it.value))
        elif isinstance(it, A.Word) and it.kind == "name":
            v = var(ds, it.value, st)
            values += [float(u) for u in np.unique(_num(ds, v)) if not np.isnan(u)]
    on_x = str(o.get("axis", "y")).lower() == "x"
    color = style.color("#888888")
    lab = o.get("label")
    for v in values:
        (ax.axvline if on_x else ax.axhline)(v, color=color, lw=min(style.lw, 1.0) if "lineattrs" not in o.values
                                             else style.lw, ls=style.ls, alpha=style.alpha)
        if isinstance(lab, str) and lab:
            if on_x:
                ax.annotate(lab, (v, 1), xycoords=("data", "axes fraction"), fontsize=7, ha="left", va="top")
            else:
                ax.annotate(lab, (1, v), xycoords=("axes fraction", "data"), fontsize=7, ha="right", va="bottom")


def _inset(session, ax, st):
    """INSET 'text' ... / POSITION= TITLE= BORDER: the lines of text in a corner of the plot area."""
    o = Options(st.options or [], {"position", "title", "border", "noborder", "textattrs", "titleattrs",
                                   "backcolor", "opaque", "labelalign", "valuealign"}, "INSET")
    for k in ("textattrs", "titleattrs", "backcolor", "opaque", "labelalign", "valuealign"):
        if o.has(k):
            session.log.warning(f"The INSET option {k.upper()} is not supported yet and was ignored.")
    lines = [str(it.value) for it in st.items if isinstance(it, A.Word) and it.kind == "string"]
    if isinstance(o.get("title"), str):
        lines = [o.get("title")] + lines
    pos = str(o.get("position", "topright")).lower()
    spots = {"topright": (0.98, 0.98, "right", "top"), "topleft": (0.02, 0.98, "left", "top"),
             "bottomright": (0.98, 0.02, "right", "bottom"), "bottomleft": (0.02, 0.02, "left", "bottom"),
             "top": (0.5, 0.98, "center", "top"), "bottom": (0.5, 0.02, "center", "bottom"),
             "left": (0.02, 0.5, "left", "center"), "right": (0.98, 0.5, "right", "center"),
             "ne": (0.98, 0.98, "right", "top"), "nw": (0.02, 0.98, "left", "top"),
             "se": (0.98, 0.02, "right", "bottom"), "sw": (0.02, 0.02, "left", "bottom"),
             "n": (0.5, 0.98, "center", "top"), "s": (0.5, 0.02, "center", "bottom"),
             "e": (0.98, 0.5, "right", "center"), "w": (0.02, 0.5, "left", "center")}
    x, y, ha, va = spots.get(pos, spots["topright"])
    ax.text(x, y, "\n".join(lines), transform=ax.transAxes, ha=ha, va=va, fontsize=8,
            bbox=dict(facecolor="white", edgecolor="#888888") if o.has("border") else None)


def _keylegend(session, st, state):
    """KEYLEGEND </ TITLE= LOCATION=INSIDE|OUTSIDE POSITION=>: the legend, its title and place."""
    o = Options(st.options or [], {"title", "location", "position", "across", "down", "noborder", "border",
                                   "valueattrs", "titleattrs", "sortorder", "autoitemsize", "exclude", "type",
                                   "linelength", "opaque", "outerpad", "fillheight", "fillaspect"}, "KEYLEGEND",
                allow_rest=True)
    for k in ("across", "down", "valueattrs", "titleattrs", "sortorder", "autoitemsize", "exclude", "type",
              "linelength", "opaque", "outerpad", "fillheight", "fillaspect"):
        if o.has(k):
            session.log.warning(f"The KEYLEGEND option {k.upper()} is not supported yet and was ignored.")
    state.legend_needed = True
    if isinstance(o.get("title"), str):
        state.legend_title = o.get("title")
    pos = str(o.get("position", "")).lower()
    loc = {"top": "upper center", "bottom": "lower center", "left": "center left", "right": "center right",
           "topleft": "upper left", "topright": "upper right", "bottomleft": "lower left",
           "bottomright": "lower right", "n": "upper center", "s": "lower center", "e": "center right",
           "w": "center left", "ne": "upper right", "nw": "upper left", "se": "lower right", "sw": "lower left"}
    if pos in loc:
        state.legend_loc = loc[pos]
