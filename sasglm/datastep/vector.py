"""Vectorised evaluation of SAS expressions over a data set (numpy), used by WHERE statements and
WHERE= options in every step.  Same missing-value rules as the compiled DATA step."""
from __future__ import annotations

import numpy as np

from .. import ast as A
from ..errors import SasError
from . import runtime as R


def _col(ds, name, e):
    m = ds.var(name)
    if m is None:
        raise SasError(f"Variable {name} is not on file {getattr(ds, 'display_name', 'the input data set')}.",
                       e.line, e.col)
    s = ds.column(name).to_numpy()
    return s, m.type


def evaluate(e, ds):
    """Return (array, kind) with kind 'N' (float array), 'C' (object array) or 'B' (bool array)."""
    n = ds.nobs
    if isinstance(e, A.Num):
        return np.full(n, float(e.value)), "N"
    if isinstance(e, A.Missing):
        return np.full(n, np.nan), "N"
    if isinstance(e, A.Str):
        arr = np.empty(n, dtype=object)
        arr[:] = e.value.rstrip()
        return arr, "C"
    if isinstance(e, A.Var):
        arr, t = _col(ds, e.name, e)
        return arr, t
    if isinstance(e, A.Unary):
        if e.op == "not":
            return ~as_bool(e.operand, ds), "B"
        v = as_num(e.operand, ds)
        return (-v if e.op == "-" else v), "N"
    if isinstance(e, A.InOp):
        v, t = evaluate(e.operand, ds)
        mask = np.zeros(n, dtype=bool)
        for item in e.values:
            if isinstance(item, tuple):
                vv = v.astype(float)
                mask |= (vv >= item[1]) & (vv <= item[2])
            elif isinstance(item, A.Str):
                mask |= (v == item.value.rstrip())
            elif isinstance(item, A.Missing):
                mask |= np.isnan(v.astype(float)) if t == "N" else (v == "")
            else:
                if t == "C":
                    continue
                mask |= (v == float(item.value))
        return (~mask if e.negate else mask), "B"
    if isinstance(e, A.BinOp):
        op = e.op
        if op in ("and", "or"):
            a, b = as_bool(e.left, ds), as_bool(e.right, ds)
            return (a & b if op == "and" else a | b), "B"
        if op in ("eq", "ne", "lt", "le", "gt", "ge", "eqc"):
            a, ta = evaluate(e.left, ds)
            b, tb = evaluate(e.right, ds)
            if ta == "C" or tb == "C":
                a = a if ta == "C" else np.array([R.n2c(x) for x in a], dtype=object)
                b = b if tb == "C" else np.array([R.n2c(x) for x in b], dtype=object)
                if op == "eqc":
                    return np.array([x.startswith(y) or y.startswith(x) for x, y in zip(a, b)], dtype=bool), "B"
            else:
                a = _num(a, ta)
                b = _num(b, tb)
                a = np.where(np.isnan(a), -np.inf, a)
                b = np.where(np.isnan(b), -np.inf, b)
                if op == "eqc":
                    op = "eq"
            fn = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
                  "gt": np.greater, "ge": np.greater_equal}[op]
            return fn(a, b).astype(bool), "B"
        if op == "||":
            a, ta = evaluate(e.left, ds)
            b, tb = evaluate(e.right, ds)
            return np.array([str(x) + str(y) for x, y in zip(a, b)], dtype=object), "C"
        r = arith(op, as_num(e.left, ds), as_num(e.right, ds))
        if r is not None:
            return r, "N"
    if isinstance(e, A.Call):
        fn = getattr(R, "f_" + e.name, None)
        if fn is None:
            raise SasError(f"Function {e.name.upper()} is unknown or cannot be used in a WHERE clause.",
                           e.line, e.col)
        cols = []
        for a in e.args:
            if isinstance(a, A.OfList):
                raise SasError("OF lists are not supported in WHERE expressions.", e.line, e.col)
            v, t = evaluate(a, ds)
            cols.append(v if t != "B" else v.astype(float))
        out = [fn(*vals) for vals in zip(*cols)] if cols else [fn() for _ in range(n)]
        if out and isinstance(out[0], str):
            return np.array(out, dtype=object), "C"
        return np.array(out, dtype=float), "N"
    raise SasError("Unsupported expression in WHERE clause.", getattr(e, "line", None), getattr(e, "col", None))


def arith(op, a, b):
    """SAS arithmetic on float arrays (NaN = missing): a missing operand, a division by zero or an
    overflowing power gives a missing value; MIN/MAX (the <> and >< operators) ignore missing values.
    None for an operator that is not arithmetic."""
    with np.errstate(all="ignore"):
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return np.where(b == 0, np.nan, a / np.where(b == 0, 1, b))
        if op == "**":
            r = np.power(a, b)
            return np.where(np.isfinite(r), r, np.nan)
        if op == "min":
            return np.fmin(a, b)
        if op == "max":
            return np.fmax(a, b)
    return None


def _num(a, t):
    if t == "B":
        return a.astype(float)
    if t == "C":
        return np.array([R.c2n(x) for x in a], dtype=float)
    return a.astype(float)


def as_num(e, ds):
    v, t = evaluate(e, ds)
    return _num(v, t)


def as_bool(e, ds):
    v, t = evaluate(e, ds)
    if t == "B":
        return v
    v = _num(v, t)
    return (~np.isnan(v)) & (v != 0)


def where_mask(e, ds) -> np.ndarray:
    return as_bool(e, ds)


def where_text(e) -> str:
    """Re-create a WHERE clause for the log."""
    if isinstance(e, A.Num):
        return e.text or repr(e.value)
    if isinstance(e, A.Str):
        return "'" + e.value + "'"
    if isinstance(e, A.Missing):
        return "."
    if isinstance(e, A.Var):
        return e.name
    if isinstance(e, A.Unary):
        return ("not " if e.op == "not" else e.op) + where_text(e.operand)
    if isinstance(e, A.BinOp):
        ops = {"eq": "=", "ne": "^=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "and": "and", "or": "or"}
        o = ops.get(e.op, e.op)
        sep = " " if o in ("and", "or") else ""
        return f"{where_text(e.left)}{sep}{o}{sep}{where_text(e.right)}"
    if isinstance(e, A.InOp):
        vals = ", ".join(where_text(v) if not isinstance(v, tuple) else f"{v[1]}:{v[2]}" for v in e.values)
        return f"{where_text(e.operand)} {'not ' if e.negate else ''}in ({vals})"
    if isinstance(e, A.Call):
        return f"{e.name.upper()}({', '.join(where_text(a) for a in e.args)})"
    return "?"
