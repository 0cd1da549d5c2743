"""Helpers every PROC uses: reading PROC-statement options, DATA=, BY/VAR lists, and the rule
that an option a PROC does not know is an ERROR (never silently ignored)."""
from __future__ import annotations

import math

from .. import ast as A
from ..data.dataset import Dataset, VarMeta
from ..datastep.compiler import numbered_range
from ..errors import SasError


class Options:
    """Options of a PROC statement or after a statement's slash, with unknown-option checking."""

    def __init__(self, items, known: set[str], what: str, line=None, col=None, allow_rest: bool = False):
        self.values: dict[str, object] = {}
        self.nodes: dict[str, object] = {}
        self.flags: set[str] = set()
        self.rest: list = []
        self.lists: dict[str, list] = {}     # key=v1, v2, ...: the values after the first (R=1,3 V=20,30)
        last, comma = None, False
        for it in _join_crossed(items or []):
            if isinstance(it, A.Word) and it.kind == "op" and it.value == "," and last is not None:
                comma = True
                continue
            if comma and isinstance(it, A.Word) and it.kind == "number":
                self.lists.setdefault(last, [self.values[last]]).append(value_of(it))
                comma = False
                continue
            last = None
            if comma:
                self.rest.append(A.Word(it.line, it.col, "op", ","))
                comma = False
            if isinstance(it, A.Opt):
                last = it.key.lower() if isinstance(value_of(it.value), float) else None
                key = it.key.lower()
                if key not in known:
                    raise SasError(f"The option {key.upper()} is not supported on the {what} statement.",
                                   it.line, it.col, code="22-322")
                self.values[key] = value_of(it.value)
                self.nodes[key] = it.value
            elif isinstance(it, A.Word) and it.kind == "name":
                key = str(it.value).lower()
                if key not in known:
                    raise SasError(f"The option {key.upper()} is not supported on the {what} statement.",
                                   it.line, it.col, code="22-322")
                self.flags.add(key)
            elif isinstance(it, A.Group) and it.name is not None:
                key = it.name.lower()
                if key not in known:
                    raise SasError(f"The option {key.upper()} is not supported on the {what} statement.",
                                   it.line, it.col, code="22-322")
                self.values[key] = it
                self.nodes[key] = it
            else:
                self.rest.append(it)
        if not allow_rest:
            for it in self.rest:
                # a stray number, string or symbol among the options (SAS: a syntax error) is never dropped
                if isinstance(it, A.Word) and it.kind in ("number", "string", "op", "format"):
                    text = it.value if it.kind != "number" else value_of(it)
                    if isinstance(text, float) and text.is_integer():
                        text = int(text)
                    raise SasError(f"Syntax error at '{text}' in the {what} statement options.", it.line, it.col,
                                   code="22-322")

    def get(self, key, default=None):
        return self.values.get(key, default)

    def get_list(self, key) -> list:
        """All values of key=v1, v2, ... (one value: a list of one; absent: empty)."""
        if key in self.lists:
            return list(self.lists[key])
        return [self.values[key]] if key in self.values else []

    def has(self, key) -> bool:
        return key in self.flags or key in self.values


def positive_option(opts: "Options", key: str, default, stmt, integer: bool = False):
    """The value of key=number (MAXITER=, CONVH=, CONVERGE=, ...), which must be positive (and whole when
    ``integer``); the default when the option is absent."""
    v = opts.get(key)
    if v is None:
        return default
    x = v if isinstance(v, float) else math.nan
    if not x > 0 or (integer and x != int(x)):
        raise SasError(f"{key.upper()}= needs a positive {'integer' if integer else 'number'}.",
                       getattr(stmt, "line", None), getattr(stmt, "col", None))
    return int(x) if integer else x


def warn_ignored(session, opts: "Options", names, what: str) -> None:
    """Options the statement accepts but sasglm does not honour yet: a WARNING names each one."""
    for n in names:
        if opts.has(n):
            session.log.warning(f"The {what} option {n.upper()} is not supported yet and was ignored.")


def _join_crossed(items) -> list:
    """`SUBJECT=id*trt` arrives as the option `subject=id`, the operator `*` and the name `trt`: join them
    into one crossed-effect value (kind 'cross', text 'id*trt')."""
    out = []
    i = 0
    while i < len(items):
        it = items[i]
        if isinstance(it, A.Opt) and isinstance(it.value, A.Word) and it.value.kind == "name":
            parts = [str(it.value.value)]
            while i + 2 < len(items) and isinstance(items[i + 1], A.Word) and items[i + 1].kind == "op" \
                    and items[i + 1].value == "*" and isinstance(items[i + 2], A.Word) and items[i + 2].kind == "name":
                parts.append(str(items[i + 2].value))
                i += 2
            if len(parts) > 1:
                it = A.Opt(it.key, A.Word("cross", "*".join(parts), line=it.value.line, col=it.value.col),
                           line=it.line, col=it.col)
        out.append(it)
        i += 1
    return out


def value_of(v):
    if isinstance(v, A.Word):
        return v.value
    return v


def dsref_from_value(v, line=None, col=None) -> A.DsRef:
    """DATA=/OUT= values: name, lib.name, or name(options)."""
    if isinstance(v, A.Word):
        text = str(v.value)
        if v.kind == "string":
            return A.DsRef(None, text, path=text, line=v.line, col=v.col)
        if "." in text:
            lib, name = text.split(".", 1)
            return A.DsRef(lib, name, line=v.line, col=v.col)
        return A.DsRef(None, text, line=v.line, col=v.col)
    if isinstance(v, A.Group) and v.name is not None:
        from ..parser import SasSyntaxError, parse_statement_text
        try:
            return parse_statement_text(v.raw, "dsref", v.line, v.col)
        except SasSyntaxError as e:
            raise SasError(e.message, e.line, e.col)
    if isinstance(v, str):
        return A.DsRef(None, v, line=line, col=col)
    raise SasError("Invalid data set name.", line, col)


def input_data(session, opts: Options, proc: A.ProcStep, where_stmts=()) -> tuple[Dataset, A.DsRef]:
    v = opts.nodes.get("data")
    if v is None:
        if session.last_dataset is None:
            raise SasError("There is not a default input data set (_LAST_ is _NULL_).", proc.line, proc.col)
        ref = A.DsRef(*session.last_dataset.split(".", 1), line=proc.line, col=proc.col)
    else:
        ref = dsref_from_value(v)
    ds = session.get_dataset(ref, where=(ref.line, ref.col))
    ds, _, where_txt = session.apply_input_options(ds, ref, where_stmts)
    bf = getattr(session, "by_filter", None)
    if bf is not None and bf.data == ref.display:
        # BY-group processing: this run sees one group's observations (rows start:stop after WHERE)
        a, b = bf.rows
        ds = Dataset(ds.df.iloc[a:b].reset_index(drop=True), ds.meta, ds.label, ds.sorted_by)
    fmts = {}
    for st in proc.statements:
        if isinstance(st, A.GenStmt) and st.keyword == "format" and proc.name.upper() in FORMAT_STMT_PROCS:
            fmts.update(format_assignments(st))
    if fmts:
        # a FORMAT statement in a PROC step applies to that step only
        meta = {k: VarMeta(**vars(v)) for k, v in ds.meta.items()}
        for name, fmt in fmts.items():
            m = meta.get(name.upper())
            if m is None:
                raise SasError(f"Variable {name.upper()} not found.", proc.line, proc.col)
            m.format = fmt
        ds = Dataset(ds.df, meta, ds.label, ds.sorted_by)
    if proc.program:
        ds = apply_program(session, ds, proc)
    ds.display_name = ref.display  # type: ignore[attr-defined]
    ds.where_text = where_txt      # type: ignore[attr-defined]
    return ds, ref


_AUTOMATIC = ("_linp_", "_mu_", "_xbeta_", "_zgamma_", "_variance_", "_logl_")


def apply_program(session, ds: Dataset, proc: A.ProcStep) -> Dataset:
    """PROC GLIMMIX programming statements (assignments, IF/ELSE, DO/END, SELECT, ARRAY) computed for every
    observation of the input data, as a DATA step over it whose log notes are not shown (its WARNING and
    ERROR lines are).  Statements that use GLIMMIX's automatic variables (_LINP_, _MU_, _VARIANCE_, ...:
    user-defined link or variance functions) are not supported."""
    import io
    import re
    from ..datastep.execute import DataStepRunner
    from ..log import Log
    used = {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", proc.program_text)}
    auto = [w for w in _AUTOMATIC if w in used]
    if auto:
        first = proc.program[0]
        raise SasError(f"Programming statements with {', '.join(a.upper() for a in auto)} (user-defined link or "
                       f"variance functions) are not supported yet in PROC {proc.name}.", first.line, first.col)
    work = session.libraries["work"]
    tmp = "_PGMIN_"
    work.put(tmp, ds)
    first = proc.program[0]
    step = A.DataStep([A.DsRef(None, "_PGMOUT_", line=first.line, col=first.col)],
                      [A.SetStmt("set", [A.DsRef("work", tmp, line=first.line, col=first.col)], {},
                                 line=first.line, col=first.col)] + list(proc.program),
                      line=first.line, col=first.col)
    real = session.log
    quiet = Log(io.StringIO(), echo_source=False)
    session.log = quiet
    try:
        results = DataStepRunner(step, session).run()
    finally:
        session.log = real
        work.delete(tmp)
        for line in quiet.lines:
            if line.startswith(("ERROR", "WARNING")):
                real.write(line)
                if line.startswith("ERROR"):
                    real.errors += 1
                else:
                    real.warnings += 1
    return results[0][1]


def var_names(items, ds: Dataset | None = None, what="VAR") -> list[str]:
    """Expand a statement's variable list (names, x1-x3, a--b, prefix:, _all_/_numeric_/_character_)."""
    out: list[str] = []
    i = 0
    items = list(items or [])
    while i < len(items):
        it = items[i]
        if isinstance(it, A.Word) and it.kind == "name":
            name = str(it.value)
            nxt = items[i + 1] if i + 1 < len(items) else None
            if isinstance(nxt, A.Word) and nxt.kind == "op" and nxt.value in ("-", "--") and i + 2 < len(items):
                end = str(items[i + 2].value)
                if nxt.value == "--" or (i + 3 < len(items) and isinstance(items[i + 2], A.Word) and
                                        items[i + 2].kind == "op" and items[i + 2].value == "-"):
                    pass
                if ds is not None and nxt.value == "-" and isinstance(items[i + 2], A.Word) and \
                        items[i + 2].kind == "op" and items[i + 2].value == "-":
                    end = str(items[i + 3].value)
                    cols = [c.lower() for c in ds.columns]
                    a, b = cols.index(name.lower()), cols.index(end.lower())
                    out.extend(ds.columns[a:b + 1])
                    i += 4
                    continue
                out.extend(numbered_range(name, end, it))
                i += 3
                continue
            if isinstance(nxt, A.Word) and nxt.kind == "op" and nxt.value == ":" and ds is not None:
                out.extend(c for c in ds.columns if c.lower().startswith(name.lower()))
                i += 2
                continue
            low = name.lower()
            if ds is not None and low in ("_all_", "_numeric_", "_character_"):
                for m in ds.ordered_meta():
                    if low == "_all_" or (low == "_numeric_") == (m.type == "N"):
                        out.append(m.name)
                i += 1
                continue
            out.append(name)
            i += 1
            continue
        raise SasError(f"Expecting a variable name in the {what} statement.", getattr(it, "line", None),
                       getattr(it, "col", None), code="22-322")
    if ds is not None:
        resolved = []
        for n in out:
            c = ds.colname(n)
            if c is None:
                raise SasError(f"Variable {n.upper()} not found.", None, None)
            resolved.append(c)
        return resolved
    return out


def by_items(items, ds: Dataset | None = None) -> list[tuple[str, bool]]:
    out = []
    desc = False
    for it in items or []:
        if isinstance(it, A.Word) and it.kind == "name" and str(it.value).lower() == "descending":
            desc = True
            continue
        if isinstance(it, A.Word) and it.kind == "name" and str(it.value).lower() == "notsorted":
            continue
        if not (isinstance(it, A.Word) and it.kind == "name"):
            raise SasError("Expecting a variable name in the BY statement.", getattr(it, "line", None),
                           getattr(it, "col", None), code="22-322")
        name = str(it.value)
        if ds is not None:
            c = ds.colname(name)
            if c is None:
                raise SasError(f"Variable {name.upper()} not found.", it.line, it.col)
            name = c
        out.append((name, desc))
        desc = False
    return out


# procedures whose FORMAT statement input_data applies (PRINT reads its own)
FORMAT_STMT_PROCS = {"GENMOD", "GLIMMIX", "MIXED", "FREQ", "MEANS", "SUMMARY", "SGPLOT", "SGPANEL"}


def format_assignments(st: A.GenStmt) -> dict[str, str | None]:
    """FORMAT a b fmt. c 8.2 d; -> {a: fmt., b: fmt., c: 8.2, d: None} (a trailing list removes formats)."""
    out: dict[str, str | None] = {}
    pending: list[str] = []
    for it in st.items:
        if isinstance(it, A.Word) and it.kind in ("format", "number"):
            for p in pending:
                out[p] = str(it.value)
            pending = []
        elif isinstance(it, A.Word):
            pending.append(str(it.value))
    for p in pending:
        out[p] = None
    return out


def statements(proc: A.ProcStep, allowed: set[str]):
    for st in proc.statements:
        kw = st.keyword if isinstance(st, A.GenStmt) else ("model" if isinstance(st, A.ModelStmt) else
                                                           "where" if isinstance(st, A.Where) else "?")
        if kw == "format" and proc.name.upper() in FORMAT_STMT_PROCS:
            continue        # applied by input_data
        if kw not in allowed:
            raise SasError(f"Statement {kw.upper()} is not valid in PROC {proc.name} (or not supported yet).",
                           st.line, st.col, code="180-322")
        yield kw, st


def where_statements(proc: A.ProcStep):
    return [st for st in proc.statements if isinstance(st, A.Where)]


def by_groups(ds: Dataset, by: list[tuple[str, bool]], session, proc_name: str):
    """Yield (byline, sub-dataset) per BY group; checks the sort order as SAS does."""
    if not by:
        yield None, ds
        return
    from ..datastep.execute import check_sorted
    bad = check_sorted(ds.df, by)
    if bad is not None:
        from ..datastep.formats import best

        def shown(v):
            return best(float(v), 12).strip() if isinstance(v, (int, float)) else str(v).rstrip()
        raise SasError(f"Data set {getattr(ds, 'display_name', '')} is not sorted in ascending sequence. "
                       f"The current BY group has {by[0][0]} = {shown(ds.df[by[0][0]].iloc[bad - 1])} and the "
                       f"next BY group has {by[0][0]} = {shown(ds.df[by[0][0]].iloc[bad])}.")
    cols = [b for b, _ in by]
    from ..datastep.formats import format_value
    keyframe = ds.df[cols].astype(object).where(ds.df[cols].notna(), None)
    for c in cols:
        # a BY variable with a format forms its groups from the formatted values, as SAS procedures do
        m = ds.var(c)
        if m.format:
            keyframe[c] = [format_value(v if v is not None else float("nan"), m.format, session.user_formats,
                                        is_char=m.is_char, strip=True) for v in keyframe[c]]
    keys = keyframe.itertuples(index=False, name=None)
    groups: list[tuple] = []
    starts = []
    prev = object()
    for i, k in enumerate(keys):
        if k != prev:
            starts.append(i)
            groups.append(k)
            prev = k
    starts.append(ds.nobs)
    for g, (a, b) in enumerate(zip(starts[:-1], starts[1:])):
        parts = []
        for c in cols:
            m = ds.var(c)
            v = ds.df[c].iloc[a]
            v = None if (v is None or (isinstance(v, float) and v != v)) else v
            txt = format_value(v if v is not None else float("nan"), m.format, session.user_formats,
                               is_char=m.is_char, strip=True)
            parts.append(f"{c}={txt}")
        sub = Dataset(ds.df.iloc[a:b].reset_index(drop=True), ds.meta, ds.label)
        yield " ".join(parts), sub


def parse_parms(stm, npar: int):
    """PARMS (value-list) ... </ HOLD=list EQCONS=list NOITER NOPROFILE>: the grid of starting points (one per
    combination of the lists, in order), the held parameters (a mask, or None), NOITER and NOPROFILE."""
    import itertools

    import numpy as np
    lists = []
    for g in stm.items:
        if not isinstance(g, A.Group) or g.name is not None:
            raise SasError("PARMS expects parenthesised value lists, as in PARMS (1) (0.5);", stm.line, stm.col)
        lists.append(_value_list(g, stm))
    hold, noiter, noprofile = None, False, False
    opts = list(stm.options or [])
    i = 0
    while i < len(opts):
        it = opts[i]
        key = (it.key if isinstance(it, A.Opt) else str(getattr(it, "value", ""))).lower()
        if isinstance(it, A.Opt) and key in ("hold", "eqcons"):
            idx = [int(float(it.value.value))]
            while i + 2 < len(opts) and isinstance(opts[i + 1], A.Word) and opts[i + 1].value == "," \
                    and isinstance(opts[i + 2], A.Word) and opts[i + 2].kind == "number":
                idx.append(int(float(opts[i + 2].value)))
                i += 2
            hold = idx
        elif isinstance(it, A.Word) and key == "noiter":
            noiter = True
        elif isinstance(it, A.Word) and key == "noprofile":
            noprofile = True
        else:
            raise SasError(f"The PARMS option {key.upper() or '?'} is not supported yet (HOLD=, EQCONS=, NOITER, NOPROFILE "
                           "are).",
                           getattr(it, "line", stm.line), getattr(it, "col", stm.col))
        i += 1
    if len(lists) != npar:
        raise SasError(f"The PARMS statement gives {len(lists)} value list(s) but the model has {npar} covariance "
                       "parameter(s).", stm.line, stm.col)
    mask = None
    if hold is not None:
        mask = np.zeros(npar, dtype=bool)
        for h in hold:
            if not 1 <= h <= npar:
                raise SasError(f"HOLD={h} does not name a covariance parameter (1 to {npar}).", stm.line, stm.col)
            mask[h - 1] = True
    points = [np.array(pt, dtype=float) for pt in itertools.product(*lists)]
    return points, mask, noiter, noprofile


def _value_list(g, stm) -> list[float]:
    """A PARMS value list: m | m1, m2 ... | m to n <by i>, mixed."""
    toks = [x for x in g.items if not (isinstance(x, A.Word) and x.value == ",")]
    out, i = [], 0
    num = lambda t: float(t.value) if isinstance(t, A.Word) and t.kind == "number" else None
    while i < len(toks):
        a = num(toks[i])
        if a is None:
            neg = isinstance(toks[i], A.Word) and toks[i].value == "-" and i + 1 < len(toks) and num(toks[i + 1]) is not None
            if not neg:
                raise SasError(f"PARMS value list {g.raw} is not valid.", stm.line, stm.col)
            a = -num(toks[i + 1])
            i += 1
        if i + 2 < len(toks) and isinstance(toks[i + 1], A.Word) and str(toks[i + 1].value).lower() == "to":
            b = num(toks[i + 2])
            step = 1.0
            i += 3
            if i + 1 < len(toks) and isinstance(toks[i], A.Word) and str(toks[i].value).lower() == "by":
                step = num(toks[i + 1])
                i += 2
            if b is None or not step:
                raise SasError(f"PARMS value list {g.raw} is not valid.", stm.line, stm.col)
            k = 0
            while (a + k * step <= b + 1e-12) if step > 0 else (a + k * step >= b - 1e-12):
                out.append(a + k * step)
                k += 1
            continue
        out.append(a)
        i += 1
    if not out:
        raise SasError("A PARMS value list is empty.", stm.line, stm.col)
    return out


def type_text(g) -> str:
    """TYPE=AR(1) / UN(1) / FA0(2) / SP(POW) as lower-case text, integer arguments printed as integers."""
    args = [str(int(x.value)) if isinstance(x.value, float) and float(x.value).is_integer() else str(x.value)
            for x in g.items if isinstance(x, A.Word) and str(x.value) != ","]
    return f"{g.name.lower()}({','.join(args)})"


def sp_kind(kind: str) -> str | None:
    """'exp' for TYPE=SP(EXP) (also with its coordinate list), None for other TYPE= values."""
    k = kind.lower()
    if k.startswith("sp(") and k.endswith(")") and k[3:-1] in ("pow", "exp", "gau", "sph", "lin"):
        return k[3:-1]
    return None


def sp_coords(opts, stmt, ds, kind: str) -> list[str]:
    """The coordinate variables of TYPE=SP(kind)(c1 c2 ...): the parenthesised group after TYPE=."""
    for it in opts.rest:
        if isinstance(it, A.Group) and it.name is None:
            names = [str(x.value) for x in it.items if isinstance(x, A.Word) and x.kind == "name"]
            cols = [ds.colname(v) for v in names]
            if not names:
                break
            for v, c in zip(names, cols):
                if c is None:
                    raise SasError(f"Variable {v.upper()} not found.", stmt.line, stmt.col)
            return cols
    k = kind.upper()
    raise SasError(f"TYPE={k} needs its coordinate variables, as in TYPE={k}(x y).", stmt.line, stmt.col)


def grid_search(proc: str, points, objective, label: str, key: str = "Neg2LogLike", half=None):
    """PARMS with several values: evaluate objective (a -2 log likelihood) at every grid point; returns the best
    point and the Parameter Search table (CovP1.., then `half` = (column, label) of the log likelihood itself
    when given, then the -2 log likelihood as column `key` labelled `label`)."""
    import math
    from ..ods.table import Column, Table
    rows, best, best_v = [], None, math.inf
    for pt in points:
        v = float(objective(pt))
        row = {f"CovP{j + 1}": float(x) for j, x in enumerate(pt)}
        if half is not None:
            row[half[0]] = -0.5 * v
        row[key] = v
        rows.append(row)
        if v < best_v:
            best, best_v = pt, v
    npar = len(points[0])
    cols = [Column(f"CovP{j + 1}", None, "10.4") for j in range(npar)]
    if half is not None:
        cols.append(Column(half[0], half[1], "12.4"))
    table = Table(proc, "ParmSearch", "Parameter Search", cols + [Column(key, label, "12.4")], rows)
    return best, table


def numeric_var(stm, ds: Dataset) -> str:
    """The one numeric variable a FREQ or WEIGHT statement names (its data set column name)."""
    kw = stm.keyword.upper()
    names = var_names(stm.items, ds, kw)
    col = ds.colname(names[0]) if len(names) == 1 else None
    if col is None or ds.var(col).is_char:
        raise SasError(f"The {kw} statement needs one numeric variable.", stm.line, stm.col)
    return col


def expand_by_freq(ds: Dataset, col: str):
    """Each observation repeated f times (f truncated; f < 1 or missing drops it), as SAS procedures read a
    FREQ variable.  Returns (expanded data set, input row of every expanded row, sum of the frequencies)."""
    import numpy as np
    f = np.floor(ds.df[col].to_numpy(dtype=float))
    f = np.where(np.isnan(f) | (f < 1), 0, f).astype(int)
    rows = np.repeat(np.arange(ds.nobs), f)
    out = Dataset(ds.df.iloc[rows].reset_index(drop=True), ds.meta, ds.label)
    out.display_name = getattr(ds, "display_name", "")
    out.where_text = getattr(ds, "where_text", None)
    return out, rows, int(f.sum())


def store_target(stm) -> tuple[str, str | None]:
    """STORE <OUT=>item-store-name </ LABEL='label'>: the store's name and label."""
    words = []
    for it in stm.items:
        if isinstance(it, A.Opt) and it.key.lower() == "out":
            it = it.value
        if isinstance(it, A.Word) and (it.kind in ("name", "dotted") or (it.kind == "op" and it.value == ".")):
            words.append(str(it.value))
        else:
            raise SasError("STORE expects an item-store name (STORE <OUT=>name </ LABEL='label'>).",
                           stm.line, stm.col)
    text = "".join(words)
    if words and (len(text.split(".")) > 2 or text.startswith(".") or text.endswith(".") or
                  any(a != "." and b != "." for a, b in zip(words, words[1:]))):
        raise SasError(f"STORE expects one item-store name, not '{' '.join(words)}'.", stm.line, stm.col)
    name = text or None
    if name is None:
        raise SasError("STORE requires an item-store name.", stm.line, stm.col)
    label = None
    for o in stm.options or []:
        if isinstance(o, A.Opt) and o.key.lower() == "label":
            label = str(value_of(o.value))
        else:
            key = getattr(o, "key", None) or getattr(o, "value", "?")
            raise SasError(f"The STORE option {str(key).upper()} is not supported.", stm.line, stm.col)
    return name, label
