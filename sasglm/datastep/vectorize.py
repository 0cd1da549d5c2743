"""Vectorised DATA step backend.

When every iteration of a step is independent of the others (one SET of one data set at the top,
no RETAIN, sum statement, LAG/DIF, loops, INPUT/PUT, arrays, random numbers, STOP/RETURN), all
iterations can run at once: each PDV variable becomes a numpy array over the rows, IF/ELSE become
masks, DELETE and subsetting IF clear an `alive` mask, and each OUTPUT takes a snapshot of the
rows it applies to; snapshots are put back in SAS's order (row, then OUTPUT statement order).
The same missing-value notes as the row backend are counted, only over the rows a statement runs
for.  Steps that do not qualify run on the row backend; results are identical.
"""
from __future__ import annotations

import math

import numpy as np

from .. import ast as A
from ..errors import SasError
from . import runtime as R
from .compiler import in_list

VECTOR_FUNCS = {"log", "log10", "log2", "exp", "sqrt", "abs", "int", "round", "ceil", "floor", "mod", "min",
                "max", "sum", "mean", "n", "nmiss", "missing", "probnorm", "sign", "coalesce"}
ROW_ONLY_FUNCS = {"ranuni", "rannor", "rand", "uniform", "normal", "symget", "symgetn", "today", "date"}


class NotVectorisable(Exception):
    pass


def eligible(comp, stmts) -> bool:
    """Can this step run on the vector backend?"""
    if comp.has_reader or len(comp.sources) != 1 or comp.arrays:
        return False
    src = comp.sources[0]["stmt"]
    if src.kind != "set" or len(src.datasets) != 1 or "point" in src.options:
        return False
    execs = [s for s in stmts if _is_exec(s)]
    if not execs or execs[0] is not src:
        return False
    if any(v.retained for v in comp.pdv.values()):
        return False
    try:
        for s in execs[1:]:
            _check_stmt(s)
    except NotVectorisable:
        return False
    return True


def _is_exec(s) -> bool:
    return not isinstance(s, (A.Length, A.DropKeep, A.Rename, A.FormatStmt, A.Label, A.Where, A.ByStmt))


def _check_stmt(s):
    if isinstance(s, A.Assign):
        if s.index is not None:
            raise NotVectorisable
        _check_expr(s.value)
    elif isinstance(s, A.If):
        _check_expr(s.cond)
        for t in s.then + (s.orelse or []):
            _check_stmt(t)
    elif isinstance(s, A.DoBlock):
        if s.kind != "simple":
            raise NotVectorisable
        for t in s.body:
            _check_stmt(t)
    elif isinstance(s, A.Output):
        pass
    elif isinstance(s, A.Simple):
        if s.kind != "delete":
            raise NotVectorisable
    elif isinstance(s, (A.Length, A.DropKeep, A.Rename, A.FormatStmt, A.Label, A.Where, A.ByStmt)):
        pass
    else:
        raise NotVectorisable


def _check_expr(e):
    if isinstance(e, A.Call):
        if e.name in ROW_ONLY_FUNCS or e.name.startswith("lag") or e.name.startswith("dif") or \
                e.name in ("put", "putn", "putc", "input", "inputn", "inputc", "dim", "hbound", "lbound"):
            raise NotVectorisable
        for a in e.args:
            if isinstance(a, A.OfList):
                raise NotVectorisable
            _check_expr(a)
    elif isinstance(e, A.BinOp):
        _check_expr(e.left)
        _check_expr(e.right)
    elif isinstance(e, A.Unary):
        _check_expr(e.operand)
    elif isinstance(e, A.InOp):
        _check_expr(e.operand)


class VectorGen:
    """Generate the vectorised function from the analysed Compiler."""

    def __init__(self, comp):
        self.c = comp
        self.lines: list[str] = []
        self.k = 0
        self.has_delete = False
        self.outputs_used = False

    def tmp(self, prefix="_m") -> str:
        self.k += 1
        return f"{prefix}{self.k}"

    def emit(self, s: str, depth: int = 1):
        self.lines.append("    " * depth + s)

    # ------------------------------------------------------------------ masks
    def mask(self, m: str | None) -> str | None:
        """The effective mask of a statement under branch mask m."""
        if self.has_delete:
            return "alive" if m is None else f"({m} & alive)"
        return m

    # ------------------------------------------------------------------ expressions
    def ex(self, e, m) -> tuple[str, str]:
        c = self.c
        if isinstance(e, A.Num):
            return repr(float(e.value)), "N"
        if isinstance(e, A.Str):
            return repr(e.value.rstrip()), "C"
        if isinstance(e, A.Missing):
            return "NAN", "N"
        if isinstance(e, A.Var):
            k = e.name.lower()
            if k == "_n_":
                return "NROW", "N"
            if k == "_error_":
                return "0.0", "N"
            v = c.pdv.get(k)
            if v is None:
                v = c.var(e.name, "N")
            return "v_" + k, v.type
        if isinstance(e, A.FirstLast):
            return c.first_last(e), "N"
        if isinstance(e, A.Unary):
            if e.op == "not":
                return f"(~_vb({self.as_bool(e.operand, m)}))", "B"
            code = self.as_num(e.operand, m)
            return (f"(-{code})" if e.op == "-" else code), "N"
        if isinstance(e, A.InOp):
            t, _ = c.expr_type(e.operand)
            strs, nums, ranges, miss = in_list(e)
            if t == "C":
                test = f"_visin({self.as_char(e.operand, m)}, {strs!r})"
            else:
                test = f"_visin_num({self.as_num(e.operand, m)}, {nums!r}, {ranges!r}, {miss})"
            return (f"(~{test})" if e.negate else test), "B"
        if isinstance(e, A.BinOp):
            return self.ex_binop(e, m)
        if isinstance(e, A.Call):
            return self.ex_call(e, m)
        raise NotVectorisable

    def as_num(self, e, m) -> str:
        code, k = self.ex(e, m)
        if k == "N":
            return code
        if k == "B":
            return f"_vb({code}).astype(float)"
        self.c.c2n_places.append((e.line, e.col))
        return f"_vc2n({code}, R, {e.line}, {e.col})"

    def as_char(self, e, m, padded=False) -> str:
        code, k = self.ex(e, m)
        if k == "C":
            if padded and isinstance(e, A.Var):
                ln = self.c.pdv[e.name.lower()].length or 8
                return f"_vljust({code}, {ln})"
            return code
        if k == "B":
            code = f"_vb({code}).astype(float)"
        self.c.n2c_places.append((e.line, e.col))
        return f"_vn2c({code})"

    def as_bool(self, e, m) -> str:
        code, k = self.ex(e, m)
        if k == "B":
            return code
        if k == "C":
            self.c.c2n_places.append((e.line, e.col))
            code = f"_vc2n({code}, R, {e.line}, {e.col})"
        return f"_vtruth({code})"

    def ex_binop(self, e, m):
        op = e.op
        where = (e.line, e.col)
        em = self.mask(m) or "None"
        if op in ("and", "or"):
            sym = "&" if op == "and" else "|"
            return f"(_vb({self.as_bool(e.left, m)}) {sym} _vb({self.as_bool(e.right, m)}))", "B"
        if op == "||":
            return f"({self.as_char(e.left, m, True)} + {self.as_char(e.right, m, True)})", "C"
        if op in ("eq", "ne", "lt", "le", "gt", "ge", "eqc"):
            lt_, _ = self.c.expr_type(e.left)
            rt_, _ = self.c.expr_type(e.right)
            if lt_ == "C" and rt_ == "C":
                a, b = self.as_char(e.left, m), self.as_char(e.right, m)
                if op == "eqc":
                    return f"_veqc({a}, {b})", "B"
                pyop = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
                return f"_vb({a} {pyop} {b})", "B"
            a, b = self.as_num(e.left, m), self.as_num(e.right, m)
            if op == "eqc":
                op = "eq"
            if isinstance(e.right, A.Num):
                pyop = {"eq": "==", "ne": "!=", "gt": ">", "ge": ">="}.get(op)
                if pyop:
                    return f"({a} {pyop} {b})", "B"
            return f"_vcmp_{op}({a}, {b})", "B"
        if op in ("min", "max"):
            return f"np.f{op}({self.as_num(e.left, m)}, {self.as_num(e.right, m)})", "N"
        a, b = self.as_num(e.left, m), self.as_num(e.right, m)
        name = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow"}[op]
        return f"_v{name}({a}, {b}, {em}, {where!r}, NT)", "N"

    def ex_call(self, e, m):
        name = e.name
        where = (e.line, e.col)
        em = self.mask(m) or "None"
        fn = getattr(R, "f_" + name, None)
        if fn is None:
            raise SasError(f"The function {name.upper()} is unknown, or cannot be accessed.", e.line, e.col,
                           code="68-185")
        from .compiler import CHAR_FUNCS, _arity
        lo, hi = _arity(fn)
        if len(e.args) < lo:
            raise SasError(f"The {name.upper()} function call does not have enough arguments.", e.line, e.col,
                           code="71-185")
        if hi is not None and len(e.args) > hi:
            raise SasError(f"The {name.upper()} function call has too many arguments.", e.line, e.col,
                           code="72-185")
        if name == "missing" and len(e.args) == 1 and self.c.expr_type(e.args[0])[0] == "C":
            return f"_vmissing_c({self.as_char(e.args[0], m)})", "N"
        if name in VECTOR_FUNCS:
            args = [self.as_num(a, m) for a in e.args]
            return f"_vf_{name}({', '.join(args)}, M={em}, W={where!r}, NT=NT)", "N"
        # general: the scalar function mapped over the rows the statement runs for
        args = []
        for a in e.args:
            code, k = self.ex(a, m)
            if k == "B":
                code = f"_vb({code}).astype(float)"
            args.append(code)
        kind = "C" if name in CHAR_FUNCS else "N"
        return f"_vmap(f_{name}, {kind!r}, {em}, NROWS, {', '.join(args)})", kind

    # ------------------------------------------------------------------ statements
    def block(self, stmts, m, depth):
        for s in stmts:
            self.stmt(s, m, depth)

    def stmt(self, s, m, depth):
        c = self.c
        if isinstance(s, A.Assign):
            v = c.pdv[s.target.lower()]
            if v.type == "C":
                val = self.as_char(s.value, m)
                val = f"_vtrunc({val}, {v.length or 8})"
            else:
                val = self.as_num(s.value, m)
            target = "v_" + s.target.lower()
            em = self.mask(m)
            if em is None:
                self.emit(f"{target} = _vfull({val}, NROWS, {v.type == 'C'})", depth)
            else:
                self.emit(f"{target} = _vwhere({em}, {val}, {target})", depth)
        elif isinstance(s, A.If):
            cond = self.as_bool(s.cond, m)
            if s.subsetting:
                em = self.mask(m)
                if em is None:
                    self.emit(f"alive = alive & _vb({cond})", depth)
                else:
                    self.emit(f"alive = alive & (_vb({cond}) | ~{em})", depth)
                return
            cv = self.tmp("_c")
            self.emit(f"{cv} = _vb({cond})", depth)
            tm = self.tmp()
            self.emit(f"{tm} = {cv}" if m is None else f"{tm} = {m} & {cv}", depth)
            self.block(s.then, tm, depth)
            if s.orelse:
                fm = self.tmp()
                self.emit(f"{fm} = ~{cv}" if m is None else f"{fm} = {m} & ~{cv}", depth)
                self.block(s.orelse, fm, depth)
        elif isinstance(s, A.DoBlock):
            self.block(s.body, m, depth)
        elif isinstance(s, A.Simple):      # delete
            em = self.mask(m)
            self.emit("alive = np.zeros(NROWS, dtype=bool)" if em is None else f"alive = alive & ~{em}", depth)
        elif isinstance(s, A.Output):
            self.output(s.targets, self.mask(m), s, depth)
        elif isinstance(s, A.SetStmt):
            pass

    def output(self, targets, em, s, depth):
        c = self.c
        idx = c.output_targets(targets, s)
        seq = self.k = self.k + 1
        for i in idx:
            o = c.outputs[i]
            vals = ", ".join("v_" + v for v in o.vars)
            self.emit(f"R.vout({i}, {seq}, {em or 'None'}, [{vals}])", depth)

    def generate(self, stmts) -> str:
        c = self.c
        self.has_delete = _has_delete(stmts)
        body_start = len(self.lines)
        for s in stmts:
            self.stmt(s, None, 1)
        if not c.has_explicit_output:
            self.output([], "alive" if self.has_delete else None, None, 1)
        body = self.lines[body_start:]
        head = ["def _vstep(R):", "    NT = R.notes", "    NROWS = R.nrows[0]",
                "    NROW = np.arange(1, NROWS + 1, dtype=float)",
                "    alive = np.ones(NROWS, dtype=bool)"]
        src = c.sources[0]
        for col in src["vars"]:
            head.append(f"    v_{col} = R.vcols[{col!r}]")
        for b in src["by"]:
            head.append(f"    first_{b} = R.vfirst[{b!r}]; last_{b} = R.vlast[{b!r}]")
        for k, v in c.pdv.items():
            if k in src["vars"]:
                continue
            if v.automatic:
                continue
            head.append(f"    v_{k} = _vfull({'NAN' if v.type == 'N' else repr('')}, NROWS, {v.type == 'C'})")
        for ref_in in src["in_vars"]:
            head.append(f"    v_{ref_in.lower()} = np.ones(NROWS)")
        st = src["stmt"]
        if "end" in st.options:
            head.append(f"    v_{st.options['end'].lower()} = (NROW == NROWS).astype(float)")
        if "nobs" in st.options:
            head.append(f"    v_{st.options['nobs'].lower()} = np.full(NROWS, float(NROWS))")
        return "\n".join(head + body) + "\n"


def _has_delete(stmts) -> bool:
    for s in stmts:
        if isinstance(s, A.Simple) and s.kind == "delete":
            return True
        if isinstance(s, A.If):
            if s.subsetting or _has_delete(s.then) or _has_delete(s.orelse or []):
                return True
        if isinstance(s, A.DoBlock) and _has_delete(s.body):
            return True
    return False


# ---------------------------------------------------------------------- run-time helpers
def _vb(x):
    if isinstance(x, np.ndarray):
        return x if x.dtype == bool else x.astype(bool)
    return np.bool_(x)


def _vfull(v, n, is_char):
    if isinstance(v, np.ndarray):
        return v
    arr = np.empty(n, dtype=object) if is_char else np.empty(n, dtype=float)
    arr[:] = v
    return arr


def _vwhere(m, a, b):
    out = np.where(m, a, b)
    if out.dtype.kind in "US":
        out = out.astype(object)
    return out


def _vtruth(x):
    return (x == x) & (x != 0)


def _count(NT, where, n):
    if n:
        NT.missing_ops[where] = NT.missing_ops.get(where, 0) + int(n)


def _isnan(x):
    return np.isnan(x) if isinstance(x, np.ndarray) else (x != x)


def _arith(r, a, b, M, where, NT):
    if isinstance(r, np.ndarray):
        bad = np.isnan(r)
        if bad.any():
            src = _isnan(a) | _isnan(b)
            hit = bad & src
            if M is not None:
                hit &= M
            _count(NT, where, np.count_nonzero(hit))
    elif r != r and (a != a or b != b) and (M is None or np.any(M)):
        _count(NT, where, np.count_nonzero(M) if M is not None else 1)
    return r


def _vadd(a, b, M, where, NT):
    return _arith(a + b, a, b, M, where, NT)


def _vsub(a, b, M, where, NT):
    return _arith(a - b, a, b, M, where, NT)


def _vmul(a, b, M, where, NT):
    return _arith(a * b, a, b, M, where, NT)


def _vdiv(a, b, M, where, NT):
    a_ = np.asarray(a, dtype=float)
    b_ = np.asarray(b, dtype=float)
    zero = (b_ == 0) & ~np.isnan(a_)
    with np.errstate(all="ignore"):
        r = np.where(zero, np.nan, a_ / np.where(b_ == 0, 1.0, b_))
    zhit = zero if M is None else zero & M
    if np.any(zhit):
        NT.div_zero[where] = NT.div_zero.get(where, 0) + int(np.count_nonzero(zhit))
    miss = (np.isnan(a_) | np.isnan(b_))
    mhit = miss if M is None else miss & M
    _count(NT, where, np.count_nonzero(mhit))
    return r


def _vpow(a, b, M, where, NT):
    a_ = np.asarray(a, dtype=float)
    b_ = np.asarray(b, dtype=float)
    with np.errstate(all="ignore"):
        r = np.power(a_, b_)
    miss = np.isnan(a_) | np.isnan(b_)
    bad = ~np.isfinite(r) & ~miss
    r = np.where(np.isfinite(r), r, np.nan)
    _count(NT, where, np.count_nonzero(miss if M is None else miss & M))
    bh = bad if M is None else bad & M
    if np.any(bh):
        NT.invalid_math[where] = NT.invalid_math.get(where, 0) + int(np.count_nonzero(bh))
    return r


def _nk(x):
    x = np.asarray(x, dtype=float)
    return np.where(np.isnan(x), -np.inf, x)


def _vcmp_eq(a, b):
    return _nk(a) == _nk(b)


def _vcmp_ne(a, b):
    return _nk(a) != _nk(b)


def _vcmp_lt(a, b):
    return _nk(a) < _nk(b)


def _vcmp_le(a, b):
    return _nk(a) <= _nk(b)


def _vcmp_gt(a, b):
    return _nk(a) > _nk(b)


def _vcmp_ge(a, b):
    return _nk(a) >= _nk(b)


def _veqc(a, b):
    f = np.frompyfunc(lambda x, y: x[:min(len(x), len(y))] == y[:min(len(x), len(y))], 2, 1)
    return f(a, b).astype(bool)


def _visin(a, vals):
    return np.isin(np.asarray(a, dtype=object), vals)


def _visin_num(a, vals, ranges, miss):
    a = np.asarray(a, dtype=float)
    out = np.isin(a, vals)
    for lo, hi in ranges:
        out |= (a >= lo) & (a <= hi)
    if miss:
        out |= np.isnan(a)
    return out


def _vljust(a, n):
    return np.frompyfunc(lambda s: s.ljust(n), 1, 1)(a)


def _vtrunc(a, n):
    if isinstance(a, np.ndarray):
        return np.frompyfunc(lambda s: s[:n].rstrip(), 1, 1)(a)
    return a[:n].rstrip()


def _vc2n(a, ctx, line, col):
    from .execute import _c2n
    f = lambda s: _c2n(s, ctx, line, col)
    return np.frompyfunc(f, 1, 1)(a).astype(float) if isinstance(a, np.ndarray) else f(a)


def _vn2c(a):
    return np.frompyfunc(R.n2c_padded, 1, 1)(a) if isinstance(a, np.ndarray) else R.n2c_padded(a)


def _vmap(fn, kind, M, n, *args):
    arrays = [a for a in args if isinstance(a, np.ndarray)]
    if not arrays:
        v = fn(*args)
        return v
    idx = np.arange(n) if M is None else np.nonzero(M)[0]
    out = np.empty(n, dtype=object if kind == "C" else float)
    out[:] = "" if kind == "C" else np.nan
    cols = [a[idx] if isinstance(a, np.ndarray) else [a] * len(idx) for a in args]
    for j, vals in zip(idx, zip(*cols)):
        out[j] = fn(*vals)
    return out


def _invalid(NT, name, bad, M):
    hit = bad if M is None else bad & M
    if np.any(hit):
        NT.invalid_args.append(name)


def _arr(x):
    return np.asarray(x, dtype=float)


def _domain_fn(name, fn, is_bad, safe):
    """A vector function with a restricted domain: arguments outside it give missing and SAS's
    invalid-argument NOTE (counted only on rows the mask M selects)."""
    def f(x, M=None, W=None, NT=None):
        x = _arr(x)
        bad = is_bad(x)
        _invalid(NT, name, bad, M)
        with np.errstate(all="ignore"):
            return np.where(bad, np.nan, fn(np.where(bad, safe, x)))
    return f


_vf_log = _domain_fn("log", np.log, lambda x: x <= 0, 1.0)
_vf_log10 = _domain_fn("log10", np.log10, lambda x: x <= 0, 1.0)
_vf_log2 = _domain_fn("log2", np.log2, lambda x: x <= 0, 1.0)
_vf_exp = _domain_fn("exp", np.exp, lambda x: x >= 709.78, 0.0)
_vf_sqrt = _domain_fn("sqrt", np.sqrt, lambda x: x < 0, 0.0)


def _vf_abs(x, M=None, W=None, NT=None):
    return np.abs(_arr(x))


def _vf_int(x, M=None, W=None, NT=None):
    return np.trunc(_arr(x))


def _vf_ceil(x, M=None, W=None, NT=None):
    return np.ceil(_arr(x) - 1e-12)


def _vf_floor(x, M=None, W=None, NT=None):
    return np.floor(_arr(x) + 1e-12)


def _vf_sign(x, M=None, W=None, NT=None):
    return np.sign(_arr(x))


def _vf_round(x, unit=1.0, M=None, W=None, NT=None):
    x = _arr(x)
    u = _arr(unit)
    if u.ndim == 0 and float(u) == 1.0:
        r = np.floor(np.abs(x) + 0.5)
        return np.where(x >= 0, r, -r)
    with np.errstate(all="ignore"):
        q = np.abs(x) / u
        r = np.floor(q + 0.5 + 1e-9 * (q > 1e-6)) * u
        r = np.where(x >= 0, r, -r)
    if u.ndim == 0 and 0 < float(u) < 1:
        d = max(0, -int(math.floor(math.log10(float(u))))) + 2
        r = np.round(r, d)
    return r


def _vf_mod(a, b, M=None, W=None, NT=None):
    a, b = _arr(a), _arr(b)
    with np.errstate(all="ignore"):
        return np.where(b == 0, np.nan, np.fmod(a, np.where(b == 0, 1.0, b)))


def _stack(args):
    n = max((np.size(a) for a in args), default=1)
    return np.vstack([np.broadcast_to(_arr(a), (n,)) for a in args])


def _vf_sum(*args, M=None, W=None, NT=None):
    s = _stack(args)
    with np.errstate(all="ignore"):
        out = np.nansum(s, axis=0)
    return np.where(np.all(np.isnan(s), axis=0), np.nan, out)


def _vf_mean(*args, M=None, W=None, NT=None):
    s = _stack(args)
    cnt = np.sum(~np.isnan(s), axis=0)
    with np.errstate(all="ignore"):
        return np.where(cnt > 0, np.nansum(s, axis=0) / np.maximum(cnt, 1), np.nan)


def _vf_min(*args, M=None, W=None, NT=None):
    s = _stack(args)
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.nanmin(s, axis=0)


def _vf_max(*args, M=None, W=None, NT=None):
    s = _stack(args)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.nanmax(s, axis=0)


def _vf_n(*args, M=None, W=None, NT=None):
    return np.sum(~np.isnan(_stack(args)), axis=0).astype(float)


def _vf_nmiss(*args, M=None, W=None, NT=None):
    return np.sum(np.isnan(_stack(args)), axis=0).astype(float)


def _vmissing_c(a):
    if isinstance(a, np.ndarray):
        return np.frompyfunc(lambda s: s.strip() == "", 1, 1)(a).astype(float)
    return float(a.strip() == "")


def _vf_missing(x, M=None, W=None, NT=None):
    return np.isnan(_arr(x)).astype(float)


def _vf_coalesce(*args, M=None, W=None, NT=None):
    s = _stack(args)
    out = np.full(s.shape[1], np.nan)
    for row in s[::-1]:
        out = np.where(np.isnan(row), out, row)
    return out


def _vf_probnorm(x, M=None, W=None, NT=None):
    from scipy.special import ndtr
    return ndtr(_arr(x))


def namespace() -> dict:
    ns = {k: v for k, v in globals().items() if k.startswith("_v") or k.startswith("_vf_")}
    ns.update({"np": np, "NAN": math.nan, "nan": math.nan})
    for name in dir(R):
        if name.startswith("f_"):
            ns[name] = getattr(R, name)
    return ns
