"""PROC FORMAT: VALUE statements (numeric and $character; single values, lists, ranges with LOW/HIGH
and exclusive ends, OTHER)."""
from __future__ import annotations

from .. import ast as A
from ..datastep.formats import UserFormat
from ..errors import SasError
from .common import Options, statements, warn_ignored


def _tokens(items):
    out = []
    for it in items:
        if isinstance(it, A.Opt):
            out.append(("name", it.key))
            out.append(("op", "="))
            v = it.value
            out.append((v.kind, v.value) if isinstance(v, A.Word) else ("string", str(v)))
        elif isinstance(it, A.Word):
            out.append((it.kind, it.value))
        else:
            raise SasError("Invalid VALUE statement.", getattr(it, "line", None), getattr(it, "col", None))
    return out


def run_format(session, proc):
    opts = Options(proc.options, {"library", "lib", "fmtlib", "cntlin", "cntlout"}, "PROC FORMAT")
    for name in ("cntlin", "cntlout"):
        if opts.has(name):
            raise SasError(f"The PROC FORMAT option {name.upper()}= is not supported yet.", proc.line, proc.col)
    # formats live in the session (as in WORK.FORMATS); a permanent catalog and its listing are not made
    warn_ignored(session, opts, ["library", "lib", "fmtlib"], "PROC FORMAT")
    for kw, st in statements(proc, {"value", "invalue", "picture"}):
        if kw != "value":
            raise SasError(f"The {kw.upper()} statement of PROC FORMAT is not supported yet.", st.line, st.col)
        toks = _tokens(st.items)
        i = 0
        is_char = False
        if toks and toks[0] == ("op", "$"):
            is_char = True
            i = 1
        if i >= len(toks) or toks[i][0] != "name":
            raise SasError("VALUE statement requires a format name.", st.line, st.col)
        name = str(toks[i][1]).upper()
        i += 1
        fmt = UserFormat(name, is_char)
        while i < len(toks) and toks[i][0] == "group":
            i += 1
        # ranges: lhs (value | value-value | low-high, lists with ',') = 'label'
        lhs: list = []
        while i < len(toks):
            t = toks[i]
            if t == ("op", "="):
                label = str(toks[i + 1][1]) if i + 1 < len(toks) else ""
                _add(fmt, lhs, label, st)
                lhs = []
                i += 2
                continue
            lhs.append(t)
            i += 1
        session.user_formats[("$" if is_char else "") + name] = fmt
        session.log.note(f"Format {'$' if is_char else ''}{name} has been output.")


def _val(t, st):
    kind, v = t
    if kind == "name" and str(v).lower() in ("low", "lo"):
        return None
    if kind == "name" and str(v).lower() in ("high", "hi"):
        return None
    if kind == "number":
        return float(v)
    if kind in ("string", "name"):
        return str(v)
    if kind == "missing":
        return "."
    raise SasError(f"Invalid value {v} in VALUE statement.", st.line, st.col)


def _add(fmt: UserFormat, lhs, label, st):
    if len(lhs) == 1 and lhs[0][0] == "name" and str(lhs[0][1]).lower() == "other":
        fmt.other = label
        return
    parts = []
    cur: list = []
    for t in lhs:
        if t == ("op", ","):
            parts.append(cur)
            cur = []
        else:
            cur.append(t)
    parts.append(cur)
    for p in parts:
        if not p:
            continue
        if len(p) == 1:
            v = _val(p[0], st)
            if p[0][0] == "name" and str(p[0][1]).lower() == "other":
                fmt.other = label
            else:
                fmt.discrete["." if v == "." else v] = label
            continue
        # range: a [<]-[<] b
        j = 1
        lo_x = hi_x = False
        if p[j] == ("op", "<"):
            lo_x = True
            j += 1
        if p[j] != ("op", "-"):
            raise SasError("Invalid range in VALUE statement.", st.line, st.col)
        j += 1
        if p[j] == ("op", "<"):
            hi_x = True
            j += 1
        lo, hi = _val(p[0], st), _val(p[j], st)
        fmt.ranges.append((lo, hi, label, lo_x, hi_x))
