"""PROC SQL, the subset statisticians' programs use around the modelling steps:

  SELECT [DISTINCT] items [INTO :mv ...] FROM table [alias] {, table | [INNER|LEFT|RIGHT|FULL] JOIN table ON c}
         [WHERE c] [GROUP BY ...] [HAVING c] [ORDER BY ... [DESC]];
  CREATE TABLE name AS SELECT ...;      DROP TABLE name, ...;

Statements run one at a time, as SAS runs them; anything else (INSERT, UPDATE, CREATE VIEW, ...) is an
ERROR naming it.  Grammar: grammar/sql.lark; expressions are evaluated column-wise over numpy arrays with
the DATA step's missing-value rules and function library.  Summary functions (COUNT, N, SUM, MEAN/AVG, MIN,
MAX, STD, VAR, NMISS, RANGE, with DISTINCT) follow SAS: with GROUP BY one row per group (sorted by the
groups when there is no ORDER BY); a query that also selects columns that are neither grouped nor summarised
is remerged with the detail rows (SAS's NOTE)."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from lark import Lark, Transformer, v_args
from lark.exceptions import UnexpectedInput, VisitError

from .. import ast as A
from ..data.dataset import Dataset, VarMeta
from ..datastep import runtime as R
from ..datastep.formats import format_value
from ..datastep.vector import arith
from ..errors import SasError
from ..ods.table import Column, Table

AGGREGATES = {"count", "n", "freq", "sum", "mean", "avg", "min", "max", "std", "var", "nmiss", "range"}


# ---------------------------------------------------------------------- syntax tree
@dataclass(eq=False)
class Col:
    table: str | None
    name: str
    line: int = 0
    col: int = 0

    def __eq__(self, other):
        """The same column reference, whatever the case or the place it is written."""
        return isinstance(other, Col) and self.name.lower() == other.name.lower() and \
            (self.table or "").lower() == (other.table or "").lower()

    __hash__ = None


@dataclass
class Agg:
    fn: str
    arg: Any            # None for COUNT(*)
    distinct: bool = False


@dataclass
class Func:
    name: str
    args: list


@dataclass
class Op:
    op: str             # + - * / ** || eq ne lt le gt ge and or not neg
    args: list


@dataclass
class Const:
    value: Any          # float (nan = missing) or str


@dataclass
class Case:
    operand: Any
    whens: list
    other: Any


@dataclass
class Between:
    x: Any
    lo: Any
    hi: Any
    negate: bool


@dataclass
class Like:
    x: Any
    pattern: str
    negate: bool


@dataclass
class IsMissing:
    x: Any
    negate: bool


@dataclass
class InList:
    x: Any
    values: list
    negate: bool


@dataclass
class Calculated:
    name: str


@dataclass
class SelItem:
    expr: Any = None            # None with star
    star: str | None = None     # '' for *, alias for alias.*
    alias: str | None = None
    label: str | None = None
    format: str | None = None
    length: int | None = None


@dataclass
class IntoItem:
    name: str
    range_end: str | None = None
    is_range: bool = False
    sep: str | None = None
    trim: str | None = None


@dataclass
class TableRef:
    ref: A.DsRef
    alias: str


@dataclass
class Query:
    distinct: bool
    items: list
    into: list
    tables: list                # [(join kind, TableRef, on expr)], the first with kind None
    where: Any = None
    group: list = field(default_factory=list)
    having: Any = None
    order: list = field(default_factory=list)


def _grammar() -> str:
    try:
        return resources.files("sasglm.grammar").joinpath("sql.lark").read_text()
    except (ModuleNotFoundError, FileNotFoundError):
        return (Path(__file__).resolve().parent.parent.parent / "grammar" / "sql.lark").read_text()


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(_grammar(), parser="lalr", lexer="contextual", propagate_positions=True,
                maybe_placeholders=True)


def _unquote(tok: str) -> str:
    q = tok[0]
    return tok[1:-1].replace(q + q, q)


@v_args(inline=True)
class _Build(Transformer):
    def __init__(self, line: int, col: int):
        super().__init__()
        self.line, self.col = line, col

    def number(self, t):
        return Const(float(t))

    def string(self, t):
        return Const(_unquote(str(t)).rstrip())

    def missing(self):
        return Const(float("nan"))

    def column(self, t):
        return Col(None, str(t), self.line + t.line - 1, t.column)

    def qcolumn(self, a, b):
        return Col(str(a), str(b), self.line + b.line - 1, b.column)

    def calculated(self, t):
        return Calculated(str(t))

    def count_star(self, name):
        if str(name).lower() != "count":
            raise SasError(f"{str(name).upper()}(*) is not valid; only COUNT(*) is.", self.line, self.col)
        return Agg("count", None)

    def call_distinct(self, name, _d, e):
        fn = str(name).lower()
        if fn not in AGGREGATES:
            raise SasError(f"DISTINCT is only valid in a summary function, not in {fn.upper()}.", self.line, self.col)
        return Agg(fn, e, True)

    def call(self, name, *args):
        fn = str(name).lower()
        args = [a for a in args if a is not None]
        if fn in AGGREGATES and len(args) == 1:
            return Agg("mean" if fn == "avg" else fn, args[0])
        return Func(fn, args)

    def case(self, *parts):
        operand, rest = parts[0], list(parts[1:])
        other = rest.pop() if rest and not isinstance(rest[-1], tuple) else None
        return Case(operand, [w for w in rest if w is not None], other)

    def when(self, c, v):
        return (c, v)

    def neg(self, x):
        return Op("neg", [x])

    def not_(self, _tok, x):
        return Op("not", [x])

    @staticmethod
    def _fold(op, xs):
        """x1 op x2 op x3 ... as left-nested binary operations."""
        out = xs[0]
        for x in xs[1:]:
            out = Op(op, [out, x])
        return out

    def or_expr(self, *xs):
        return self._fold("or", xs)

    def and_expr(self, *xs):
        return self._fold("and", xs)

    def compare(self, a, op, b):
        o = str(op).lower()
        o = {"=": "eq", "<>": "ne", "^=": "ne", "~=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}.get(o, o)
        return Op(o, [a, b])

    def between(self, x, neg, lo, hi):
        return Between(x, lo, hi, neg is not None)

    def like(self, x, neg, pat):
        return Like(x, _unquote(str(pat)), neg is not None)

    def is_missing(self, x, neg, *_):
        return IsMissing(x, neg is not None)

    def in_list(self, x, neg, *vals):
        return InList(x, list(vals), neg is not None)

    def _chain(self, xs):
        out = xs[0]
        for i in range(1, len(xs), 2):
            out = Op(str(xs[i]), [out, xs[i + 1]])
        return out

    def sum(self, *xs):
        return self._chain(xs)

    def product(self, *xs):
        return self._chain(xs)

    def power(self, *xs):
        out = xs[-1]
        for x in reversed(xs[:-1]):
            out = Op("**", [x, out])
        return out

    def concat(self, *xs):
        return self._fold("||", xs)

    # ---- clauses
    def tname(self, a, b=None):
        return A.DsRef(str(a) if b is not None else None, str(b if b is not None else a), line=self.line, col=self.col)

    def table_ref(self, ref, opts, alias):
        if opts is not None:
            from ..parser import SasSyntaxError, parse_statement_text
            text = (f"{ref.libref}." if ref.libref else "") + ref.name + str(opts)
            try:
                ref = parse_statement_text(text, "dsref", self.line, self.col)
            except SasSyntaxError as e:
                raise SasError(e.message, self.line, self.col)
        return TableRef(ref, str(alias) if alias is not None else ref.name)

    def cross_join(self, t):
        return ("cross", t, None)

    def on_join(self, kind, t, on):
        k = re.sub(r"\s+outer", "", str(kind).lower()) if kind is not None else "inner"
        return (k, t, on)

    def from_clause(self, first, *joins):
        return [(None, first, None)] + list(joins)

    def where(self, e):
        return ("where", e)

    def group(self, *es):
        return ("group", list(es))

    def having(self, e):
        return ("having", e)

    def order_key(self, e, d):
        return (e, d is not None and str(d).lower() == "desc")

    def order(self, *ks):
        return ("order", list(ks))

    def sep(self, s):
        return _unquote(str(s))

    def range_end(self, name=None):
        return ("range", str(name) if name is not None else None)

    def into_item(self, name, rng, sep, trim):
        return IntoItem(str(name), rng[1] if rng else None, rng is not None, sep,
                        str(trim).lower() if trim is not None else None)

    def into(self, *items):
        return list(items)

    def attr_label(self, s):
        return ("label", _unquote(str(s)))

    def attr_format(self, f):
        return ("format", str(f))

    def attr_length(self, n):
        return ("length", int(float(n)))

    def sel_all(self):
        return SelItem(star="")

    def sel_table_all(self, t):
        return SelItem(star=str(t))

    def sel_expr(self, e, alias, *attrs):
        it = SelItem(expr=e, alias=str(alias) if alias is not None else None)
        for k, v in attrs:
            setattr(it, k, v)
        return it

    def query(self, distinct, *parts):
        parts = list(parts)
        items = []
        while parts and isinstance(parts[0], SelItem):
            items.append(parts.pop(0))
        into = parts.pop(0) or []
        tables = parts.pop(0)
        q = Query(distinct is not None, items, into, tables)
        for p in parts:
            if p is None:
                continue
            setattr(q, p[0], p[1])
        return q

    def select_stmt(self, q):
        return ("select", q)

    def create_stmt(self, ref, q):
        return ("create", ref, q)

    def drop_stmt(self, *refs):
        return ("drop", list(refs))


def parse_sql(text: str, line: int, col: int):
    try:
        tree = _parser().parse(text)
        return _Build(line, col).transform(tree)
    except VisitError as e:
        if isinstance(e.orig_exc, SasError):
            raise e.orig_exc
        raise
    except UnexpectedInput as e:
        ln = line + getattr(e, "line", 1) - 1
        cl = getattr(e, "column", 1)
        tok = getattr(e, "token", None)
        near = f" near '{tok}'" if tok else ""
        raise SasError(f"Syntax error in the SQL statement{near}.", ln, cl, code="22-322")


# ---------------------------------------------------------------------- evaluation
class _Frame:
    """The rows of the FROM clause: one numpy array per table column, addressed as alias.column."""

    def __init__(self):
        self.cols: dict[str, np.ndarray] = {}         # 'alias.name' (lower) -> values
        self.meta: dict[str, VarMeta] = {}
        self.order: list[str] = []                   # qualified keys in source order
        self.by_name: dict[str, list[str]] = {}      # 'name' -> qualified keys
        self.aliases: list[str] = []
        self.n = 0

    def add_table(self, alias: str, ds: Dataset):
        a = alias.lower()
        self.aliases.append(a)
        for c in ds.columns:
            key = f"{a}.{c.lower()}"
            v = ds.df[c].to_numpy()
            self.cols[key] = v.astype(float) if not ds.var(c).is_char else v.astype(object)
            self.meta[key] = ds.var(c)
            self.order.append(key)
            self.by_name.setdefault(c.lower(), []).append(key)

    def take(self, idx_by_alias: dict[str, np.ndarray], n: int):
        """Rows selected per table (index -1 = no row: missing values, as an outer join gives)."""
        for key in self.order:
            a = key.split(".", 1)[0]
            idx = idx_by_alias[a]
            v = self.cols[key]
            if v.dtype == object:
                out = np.where(idx >= 0, v[np.maximum(idx, 0)] if len(v) else "", "").astype(object)
            else:
                out = np.where(idx >= 0, v[np.maximum(idx, 0)] if len(v) else np.nan, np.nan)
            self.cols[key] = out
        self.n = n

    def filter(self, mask):
        for k in self.cols:
            self.cols[k] = self.cols[k][mask]
        self.n = int(mask.sum())

    def resolve(self, c: Col) -> str:
        if c.table is not None:
            key = f"{c.table.lower()}.{c.name.lower()}"
            if key not in self.cols:
                if c.table.lower() not in self.aliases:
                    raise SasError(f"Unresolved reference to table/correlation name {c.table}.", c.line, c.col)
                raise SasError(f"The following columns were not found in the contributing tables: {c.name}.",
                               c.line, c.col)
            return key
        keys = self.by_name.get(c.name.lower(), [])
        if not keys:
            raise SasError(f"The following columns were not found in the contributing tables: {c.name}.",
                           c.line, c.col)
        if len(keys) > 1:
            raise SasError(f"Ambiguous reference, column {c.name} is in more than one table.", c.line, c.col)
        return keys[0]


class _Eval:
    """Evaluates expressions over the current rows; summary functions give their group's value per row."""

    def __init__(self, frame: _Frame, groups: np.ndarray | None, ngroups: int, calc: dict):
        self.f, self.groups, self.ngroups, self.calc = frame, groups, ngroups, calc

    def ev(self, e) -> tuple[np.ndarray, str]:
        n = self.f.n
        if isinstance(e, Const):
            if isinstance(e.value, str):
                out = np.empty(n, dtype=object)
                out[:] = e.value
                return out, "C"
            return np.full(n, e.value, dtype=float), "N"
        if isinstance(e, Col):
            key = self.f.resolve(e)
            v = self.f.cols[key]
            return v, ("C" if v.dtype == object else "N")
        if isinstance(e, Calculated):
            if e.name.lower() not in self.calc:
                raise SasError(f"CALCULATED {e.name} does not name an earlier column of the SELECT list.")
            return self.calc[e.name.lower()]
        if isinstance(e, Agg):
            return self.agg(e)
        if isinstance(e, Op):
            return self.op(e)
        if isinstance(e, Func):
            fn = getattr(R, "f_" + e.name, None)
            if fn is None:
                raise SasError(f"Function {e.name.upper()} is not known to PROC SQL here.")
            cols = [self.ev(a) for a in e.args]
            vals = [c[0] if c[1] != "B" else c[0].astype(float) for c in cols]
            out = [fn(*row) for row in zip(*vals)] if vals else [fn() for _ in range(n)]
            if out and isinstance(out[0], str):
                return np.array(out, dtype=object), "C"
            return np.array(out, dtype=float), "N"
        if isinstance(e, Case):
            done = np.zeros(n, dtype=bool)
            pieces = []
            for cond, val in e.whens:
                if e.operand is not None:
                    m = self._cmp("eq", self.ev(e.operand), self.ev(cond))
                else:
                    m = self.truth(cond)
                take = m & ~done
                v, k = self.ev(val)
                pieces.append((take, v, k))
                done |= take
            if e.other is not None:
                v, k = self.ev(e.other)
                pieces.append((~done, v, k))
            kinds = {k for _, _, k in pieces}
            kind = "C" if "C" in kinds else "N"
            res = np.full(n, "", dtype=object) if kind == "C" else np.full(n, np.nan)
            for take, v, k in pieces:
                if kind == "C" and k != "C":
                    v = np.array([R.n2c(x) for x in v], dtype=object)
                res[take] = v[take]
            return res, kind
        if isinstance(e, Between):
            x = self.ev(e.x)
            m = self._cmp("ge", x, self.ev(e.lo)) & self._cmp("le", x, self.ev(e.hi))
            return (~m if e.negate else m), "B"
        if isinstance(e, Like):
            rx = re.compile("^" + "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch)
                                          for ch in e.pattern.rstrip()) + "$", re.S)
            v, k = self.ev(e.x)
            m = np.array([bool(rx.match(str(s).rstrip())) for s in v], dtype=bool)
            return (~m if e.negate else m), "B"
        if isinstance(e, IsMissing):
            v, k = self.ev(e.x)
            m = (v == "") if k == "C" else np.isnan(v.astype(float))
            return (~m if e.negate else m), "B"
        if isinstance(e, InList):
            x = self.ev(e.x)
            m = np.zeros(n, dtype=bool)
            for val in e.values:
                m |= self._cmp("eq", x, self.ev(val))
            return (~m if e.negate else m), "B"
        raise SasError("Unsupported expression in the SQL statement.")

    def truth(self, e) -> np.ndarray:
        v, k = self.ev(e)
        if k == "B":
            return v
        if k == "C":
            return v != ""
        v = v.astype(float)
        return ~np.isnan(v) & (v != 0)

    def num(self, e) -> np.ndarray:
        v, k = self.ev(e)
        if k == "C":
            raise SasError("Expression using a numeric operator requires numeric operands (a character "
                           "value was given).")
        return v.astype(float)

    def _cmp(self, op, a, b) -> np.ndarray:
        (x, kx), (y, ky) = a, b
        if (kx == "C") != (ky == "C"):
            raise SasError("Expression using equals (=) has components that are of different data types.")
        if kx == "C":
            x = np.array([str(s).rstrip() for s in x], dtype=object)
            y = np.array([str(s).rstrip() for s in y], dtype=object)
        else:
            x = np.where(np.isnan(x.astype(float)), -np.inf, x.astype(float))
            y = np.where(np.isnan(y.astype(float)), -np.inf, y.astype(float))
        fn = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater,
              "ge": np.greater_equal}[op]
        return fn(x, y).astype(bool)

    def op(self, e: Op):
        o = e.op
        if o in ("and", "or"):
            a, b = self.truth(e.args[0]), self.truth(e.args[1])
            return (a & b if o == "and" else a | b), "B"
        if o == "not":
            return ~self.truth(e.args[0]), "B"
        if o in ("eq", "ne", "lt", "le", "gt", "ge"):
            return self._cmp(o, self.ev(e.args[0]), self.ev(e.args[1])), "B"
        if o == "||":
            (a, ka), (b, kb) = self.ev(e.args[0]), self.ev(e.args[1])
            a = a if ka == "C" else np.array([R.n2c_padded(x) for x in a], dtype=object)
            b = b if kb == "C" else np.array([R.n2c_padded(x) for x in b], dtype=object)
            return np.array([str(x) + str(y) for x, y in zip(a, b)], dtype=object), "C"
        if o == "neg":
            return -self.num(e.args[0]), "N"
        r = arith(o, self.num(e.args[0]), self.num(e.args[1]))
        if r is None:
            raise SasError(f"Operator {o} is not supported in PROC SQL here.")
        return r, "N"

    def agg(self, e: Agg):
        n = self.f.n
        g = self.groups if self.groups is not None else np.zeros(n, dtype=int)
        ng = self.ngroups if self.groups is not None else 1
        if e.arg is None:
            cnt = np.bincount(g, minlength=ng).astype(float)
            return cnt[g], "N"
        inner = _Eval(self.f, None, 0, self.calc)
        if _has_agg(e.arg):
            raise SasError("Summary functions nested in this way are not supported.")
        v, k = inner.ev(e.arg)
        miss = (v == "") if k == "C" else np.isnan(v.astype(float))
        fn = e.fn
        if k == "C" and fn not in ("count", "n", "freq", "nmiss", "min", "max"):
            raise SasError(f"The {fn.upper()} summary function requires a numeric argument.")
        if fn == "nmiss":
            return np.bincount(g[miss], minlength=ng).astype(float)[g], "N"
        frame = pd.DataFrame({"g": g[~miss], "v": v[~miss]})
        if e.distinct:
            frame = frame.drop_duplicates()
        grp = frame.groupby("g")["v"]
        full = pd.RangeIndex(ng)
        if fn in ("count", "n", "freq"):
            return grp.count().reindex(full, fill_value=0).to_numpy(dtype=float)[g], "N"
        if k == "C":
            out = (grp.min() if fn == "min" else grp.max()).reindex(full, fill_value="")
            return out.to_numpy(dtype=object)[g], "C"
        grp = frame.assign(v=frame["v"].astype(float)).groupby("g")["v"]
        res = {"sum": grp.sum, "mean": grp.mean, "min": grp.min, "max": grp.max,
               "std": lambda: grp.std(ddof=1), "var": lambda: grp.var(ddof=1),
               "range": lambda: grp.max() - grp.min()}[fn]()
        return res.reindex(full).to_numpy(dtype=float)[g], "N"


def _children(e) -> list:
    """The subexpressions of an SQL expression node."""
    if isinstance(e, (Op, Func)):
        return list(e.args)
    if isinstance(e, Case):
        return [x for x in [e.operand, e.other] + [y for w in e.whens for y in w] if x is not None]
    if isinstance(e, Between):
        return [e.x, e.lo, e.hi]
    if isinstance(e, (Like, IsMissing)):
        return [e.x]
    if isinstance(e, InList):
        return [e.x] + list(e.values)
    return []


def _has_agg(e) -> bool:
    return isinstance(e, Agg) or any(_has_agg(c) for c in _children(e))


def _cols_outside_agg(e, out: list):
    """The column references of e that are not inside a summary function."""
    if isinstance(e, Col):
        out.append(e)
    elif not isinstance(e, Agg):
        for c in _children(e):
            _cols_outside_agg(c, out)
    return out


# ---------------------------------------------------------------------- the procedure
class SqlRunner:
    def __init__(self, session, noprint: bool, outobs: int | None = None):
        self.s, self.noprint, self.outobs = session, noprint, outobs
        self.log = session.log

    def run(self, stmt, line, col):
        kind = stmt[0]
        if kind == "drop":
            for ref in stmt[1]:
                lib = self.s.library(ref.libref, (line, col))
                if lib.exists(ref.name):
                    lib.delete(ref.name)
                    self.log.note(f"Table {ref.display} has been dropped.")
                else:
                    self.log.warning(f"File {ref.display}.DATA does not exist.")
            return
        q = stmt[-1]
        ds, names = self.query(q, line, col)
        if kind == "create":
            ref = stmt[1]
            if q.into:
                raise SasError("INTO is not allowed in a CREATE TABLE query.", line, col)
            self.s.put_dataset(ref, ds, note=False)
            self.s.set_macro_var("sqlobs", str(ds.nobs))
            self.log.note(f"Table {ref.display} created, with {ds.nobs} rows and {len(ds.columns)} columns.")
            return
        if q.into:
            self._into(q, ds, names, line, col)
            return
        self.s.set_macro_var("sqlobs", str(ds.nobs))
        if not self.noprint and ds.nobs:
            self._print(ds, names)
        elif not self.noprint:
            self.log.warning("No rows were selected.")

    # ------------------------------------------------------------------
    def _load(self, tref: TableRef, line, col) -> Dataset:
        ds = self.s.get_dataset(tref.ref, where=(line, col))
        if tref.ref.options:
            ds = self.s.apply_input_options(ds, tref.ref, ())[0]
        return ds

    def _from(self, q: Query, line, col) -> _Frame:
        f = _Frame()
        kind0, t0, _ = q.tables[0]
        d0 = self._load(t0, line, col)
        f.add_table(t0.alias, d0)
        idx = {t0.alias.lower(): np.arange(d0.nobs)}
        n = d0.nobs
        for kind, t, on in q.tables[1:]:
            if t.alias.lower() in f.aliases:
                raise SasError(f"Table alias {t.alias} is used more than once.", line, col)
            d = self._load(t, line, col)
            nr = d.nobs
            if n * nr > 50_000_000:
                raise SasError("The join would have more than 50 million rows; not supported here.", line, col)
            left = np.repeat(np.arange(n), nr)
            right = np.tile(np.arange(nr), n)
            # the joined rows so far (every table's index) then the new table's rows
            prev = {a: v[left] for a, v in idx.items()}
            f.add_table(t.alias, d)
            cand = dict(prev)
            cand[t.alias.lower()] = right
            if kind == "cross":
                idx, n = cand, len(right)
                continue
            # ON: evaluated over the candidate pairs (every table's columns at the pair's rows)
            g = _Frame()
            g.meta, g.order, g.by_name, g.aliases = f.meta, f.order, f.by_name, f.aliases
            g.cols = {key: (base[cand[key.split(".", 1)[0]]] if len(base) else base) for key, base in f.cols.items()}
            g.n = len(right)
            m = _Eval(g, None, 0, {}).truth(on)
            li, ri = left[m], right[m]
            keep = {a: v[m] for a, v in prev.items()}
            keep[t.alias.lower()] = ri
            if kind in ("left", "full"):
                miss_l = np.setdiff1d(np.arange(n), li)
                for a in prev:
                    keep[a] = np.concatenate([keep[a], idx[a][miss_l]])
                keep[t.alias.lower()] = np.concatenate([keep[t.alias.lower()], -np.ones(len(miss_l), dtype=int)])
            if kind in ("right", "full"):
                miss_r = np.setdiff1d(np.arange(nr), ri)
                for a in prev:
                    keep[a] = np.concatenate([keep[a], -np.ones(len(miss_r), dtype=int)])
                keep[t.alias.lower()] = np.concatenate([keep[t.alias.lower()], miss_r])
            idx = keep
            n = len(keep[t.alias.lower()])
        # materialise the rows: restore the base columns, then take the index per table
        f.take(idx, n)
        return f

    def query(self, q: Query, line, col):
        f = self._from(q, line, col)
        if q.where is not None:
            if _has_agg(q.where):
                raise SasError("Summary functions are restricted to the SELECT and HAVING clauses only.", line, col)
            f.filter(_Eval(f, None, 0, {}).truth(q.where))
        # SELECT * / alias.*: the columns in table order (a name seen before is skipped, with SAS's WARNING)
        items: list[SelItem] = []
        for it in q.items:
            if it.star is None:
                items.append(it)
                continue
            for key in f.order:
                a, nm = key.split(".", 1)
                if it.star and a != it.star.lower():
                    continue
                items.append(SelItem(expr=Col(a, f.meta[key].name)))
        has_agg = any(_has_agg(it.expr) for it in items) or (q.having is not None and _has_agg(q.having))
        groups, ng = None, 0
        group_keys = []
        group_exprs = [self._group_expr(e, items) for e in q.group]
        if q.group:
            ev0 = _Eval(f, None, 0, {})
            group_keys = [ev0.ev(e) for e in group_exprs]
            if not has_agg:
                # SAS: a GROUP BY without summary functions is an ORDER BY
                self.log.warning("A GROUP BY clause has been transformed into an ORDER BY clause because neither "
                                 "the SELECT clause nor the optional HAVING clause of the associated "
                                 "table-expression referenced a summary function.")
                q.order = list(q.order) or [(e, False) for e in q.group]
                q.group = []
                group_keys = []
            elif f.n:
                # missing values form a group that sorts first, as SAS orders them
                frame = pd.DataFrame({f"k{i}": (np.where(np.isnan(v), -np.inf, v) if k != "C" else v)
                                      for i, (v, k) in enumerate(group_keys)})
                codes = frame.groupby(list(frame.columns), sort=True, dropna=False).ngroup().to_numpy()
                groups, ng = codes, int(codes.max()) + 1
            else:
                groups, ng = np.zeros(0, dtype=int), 0
        if groups is None and has_agg:
            groups, ng = np.zeros(f.n, dtype=int), 1
        calc: dict = {}
        ev = _Eval(f, groups, ng, calc)
        out_cols, names, metas = [], [], []
        tem = 0
        for it in items:
            v, k = ev.ev(it.expr)
            if k == "B":
                v, k = v.astype(float), "N"
            if isinstance(it.expr, Col) and it.alias is None:
                key = f.resolve(it.expr)
                src = f.meta[key]
                name = src.name
                meta = VarMeta(name, src.type, src.length, src.label, src.format)
            else:
                if it.alias:
                    name = it.alias
                else:
                    tem += 1
                    name = f"_TEMA{tem:03d}"
                length = 8 if k == "N" else max([len(str(x)) for x in v] + [1])
                meta = VarMeta(name, k, length)
            if it.label is not None:
                meta.label = it.label
            if it.format is not None:
                meta.format = it.format
            if it.length is not None:
                meta.length = it.length
            if name.lower() in [nm.lower() for nm in names]:
                self.log.warning(f"Variable {name} already exists in the query result; the later column of that "
                                 "name is dropped.")
                continue
            calc[name.lower()] = (v, k)
            out_cols.append(v)
            names.append(name)
            metas.append(meta)
        rows = np.arange(f.n)
        if q.having is not None:
            rows = rows[ev.truth(q.having)]
        if groups is not None:
            # one row per group unless a selected column is neither grouped nor summarised (remerge)
            gnames = {e.name.lower() for e in group_exprs if isinstance(e, Col)}
            detail = any(it.expr not in group_exprs and
                         any(c.name.lower() not in gnames for c in _cols_outside_agg(it.expr, []))
                         for it in items)
            if detail:
                self.log.note("The query requires remerging summary statistics back with the original data.")
            else:
                _, first = np.unique(groups[rows], return_index=True)
                rows = rows[np.sort(first)]
                if not q.order:
                    rows = rows[np.argsort(groups[rows], kind="stable")]
        out = {nm: c[rows] for nm, c in zip(names, out_cols)}
        df = pd.DataFrame(out, columns=names)
        if q.distinct:
            df = df.drop_duplicates().reset_index(drop=True)
            if not q.order:
                df = self._order(df, [(Col(None, nm), False) for nm in names], names, None, None, None, line, col)
        if q.order:
            df = self._order(df, q.order, names, f, rows, ev, line, col)
        if self.outobs is not None and len(df) > self.outobs:
            df = df.iloc[:self.outobs].reset_index(drop=True)
            self.log.warning(f"Statement terminated early due to OUTOBS={self.outobs} option.")
        for nm, m in zip(names, metas):
            if m.type == "N":
                df[nm] = df[nm].astype(float)
            else:
                df[nm] = df[nm].astype(object)
        ds = Dataset(df, {m.name.upper(): m for m in metas})
        return ds, names

    def _group_expr(self, e, items):
        """A GROUP BY item as the expression it groups by: a position or a SELECT alias names that item."""
        if isinstance(e, Const) and not isinstance(e.value, str):
            k = int(e.value) if e.value == e.value else 0
            if not 1 <= k <= len(items):
                raise SasError(f"GROUP BY position {k} is not a column of the SELECT list.")
            e = items[k - 1].expr
        if isinstance(e, Col) and e.table is None:
            for it in items:
                if it.alias and it.alias.lower() == e.name.lower():
                    e = it.expr
                    break
        if _has_agg(e):
            raise SasError("Summary functions are not allowed in GROUP BY.")
        return e

    def _order(self, df, keys, names, f, rows, ev, line, col):
        low = [n.lower() for n in names]
        cols, asc = [], []
        tmp = {}
        for i, (e, desc) in enumerate(keys):
            if isinstance(e, Const) and not isinstance(e.value, str):
                k = int(e.value) if e.value == e.value else 0
                if not 1 <= k <= len(names):
                    raise SasError(f"ORDER BY position {k} is not a column of the SELECT list.", line, col)
                cols.append(names[k - 1])
            elif isinstance(e, Col) and e.table is None and e.name.lower() in low:
                cols.append(names[low.index(e.name.lower())])
            else:
                if len(df) != len(rows):
                    raise SasError("ORDER BY an expression that is not selected is not supported with DISTINCT.",
                                   line, col)
                v, _ = ev.ev(e)
                nm = f"__order{i}"
                tmp[nm] = v[rows]
                cols.append(nm)
            asc.append(not desc)
        work = df.assign(**tmp) if tmp else df.copy()
        # SAS orders missing values as the smallest: sort on keys with missing numbers as -inf
        keys = {}
        for i, c in enumerate(cols):
            v = work[c]
            keys[f"__k{i}"] = v.astype(float).fillna(-np.inf) if pd.api.types.is_numeric_dtype(v) \
                else v.astype(object).fillna("")
        work = work.assign(**keys).sort_values(list(keys), ascending=asc, kind="stable")
        return work[names].reset_index(drop=True)

    # ------------------------------------------------------------------
    def _into(self, q, ds, names, line, col):
        if len(q.into) > len(names):
            raise SasError("The INTO clause has more macro variables than the SELECT list has columns.", line, col)
        n = ds.nobs
        self.s.set_macro_var("sqlobs", str(n if any(it.is_range or it.sep is not None for it in q.into)
                                            else min(n, 1)))
        if n == 0:
            self.log.note("No rows were selected.")
            return
        for it, nm in zip(q.into, names):
            meta = ds.var(nm)
            vals = ds.df[nm].tolist()

            def text(v, trim):
                if meta.is_char:
                    s = v if isinstance(v, str) else ""
                    return s.strip() if trim else s.ljust(meta.length)
                s = format_value(float(v), meta.format or "BEST8.", getattr(self.s, "user_formats", None))
                return s.strip() if trim else s
            if it.is_range:
                m = re.match(r"(.*?)(\d+)$", it.name)
                if not m:
                    raise SasError(f"The INTO range :{it.name}- needs a numbered macro variable name.", line, col)
                base, start = m.group(1), int(m.group(2))
                stop = None
                if it.range_end:
                    m2 = re.match(r"(.*?)(\d+)$", it.range_end)
                    if not m2 or m2.group(1).lower() != base.lower():
                        raise SasError(f"The INTO range :{it.name}-:{it.range_end} is not a numbered range.",
                                       line, col)
                    stop = int(m2.group(2))
                count = n if stop is None else min(n, stop - start + 1)
                for i in range(count):
                    self.s.set_macro_var(f"{base}{start + i}", text(vals[i], it.trim != "notrim"))
                self.s.set_macro_var("sqlobs", str(count))
            elif it.sep is not None:
                self.s.set_macro_var(it.name, it.sep.join(text(v, it.trim != "notrim") for v in vals))
            else:
                self.s.set_macro_var(it.name, text(vals[0], it.trim == "trimmed"))

    def _print(self, ds, names):
        cols = []
        for nm in names:
            m = ds.var(nm)
            header = m.label if m.label else ("" if re.match(r"_TEMA\d{3}$", nm) else m.name)
            fmt = m.format or (None if m.is_char else "BEST8.")
            cols.append(Column(nm, header, fmt))
        rows = [dict(zip(names, r)) for r in ds.df[names].itertuples(index=False, name=None)]
        t = Table("SQL", "SQLResults", "", cols, rows)
        t.show_proc_title = False          # PROC SQL reports carry no "The SQL Procedure" line
        self.s.emit_table(t)


def run_sql_step(session, raw) -> None:
    """A PROC SQL step from its raw statements: each statement is parsed and run in turn.  PROC SQL options:
    NOPRINT, NOEXEC (statements are only parsed), NOERRORSTOP (go on after an error; by default SAS's batch
    ERRORSTOP only parses the statements after one) and OUTOBS=n are honoured, the default forms (PRINT,
    EXEC, ERRORSTOP, NONUMBER, ...) accepted; options that change only SAS's log or report layout are
    named in a WARNING."""
    from ..parser import parse_statement_text, SasSyntaxError
    from .common import Options, warn_ignored
    head = raw.statements[0]
    try:
        proc_stmt = parse_statement_text(head.text, "proc_stmt", head.line, head.col)
    except SasSyntaxError as e:
        session._syntax_error(e)
        return
    ignored = ["feedback", "stimer", "number", "double", "flow", "inobs", "loops", "undo_policy", "sortseq"]
    popts = Options(proc_stmt.items, {"noprint", "print", "noexec", "exec", "noerrorstop", "errorstop", "outobs",
                                      "nonumber", "nofeedback", "nostimer", "nodouble", "noflow", *ignored},
                    "PROC SQL")
    warn_ignored(session, popts, ignored, "PROC SQL")
    outobs = None
    if popts.has("outobs"):
        try:
            outobs = int(float(popts.get("outobs")))
        except (TypeError, ValueError):
            outobs = -1
        if outobs < 0:
            raise SasError("The PROC SQL option OUTOBS= needs a nonnegative integer.", head.line, head.col)
    runner = SqlRunner(session, popts.has("noprint"), outobs)
    noexec = popts.has("noexec")
    errorstop = not popts.has("noerrorstop")
    stopped = False

    def failed():
        # SAS in batch mode (ERRORSTOP): after an error the remaining statements are only syntax-checked
        nonlocal noexec, stopped
        session.syscc = max(session.syscc, 8)
        if errorstop and not noexec:
            noexec = stopped = True
            session.log.note("PROC SQL set option NOEXEC and will continue to check the syntax of statements.")

    for st in raw.statements[1:]:
        w = st.first_word
        if w in ("run", "quit"):
            continue
        if w not in ("select", "create", "drop"):
            session.log.error(f"Line {st.line}, column {st.col}: The PROC SQL statement {w.upper()} is not "
                              "supported (SELECT, CREATE TABLE ... AS SELECT and DROP TABLE are).")
            failed()
            continue
        try:
            node = parse_sql(st.text, st.line, st.col)
            if noexec:
                continue
            runner.run(node, st.line, st.col)
        except SasError as e:
            if e.line is None:
                e.line, e.col = st.line, st.col
            session._report(e)
            failed()
    if stopped:
        session.log.note("The SAS System stopped processing this step because of errors.")

