"""Compile a DATA step to Python source and run it.

The step's statements become one generated function whose PDV variables are Python locals (array
members live in a slot list so they can be indexed at run time).  SAS semantics handled here:
compile-time PDV construction (order, type, length), RETAIN and automatic retention of SET
variables, reset to missing at the top of each iteration, implicit/explicit OUTPUT to several data
sets, BY groups with FIRST./LAST., SET/MERGE/interleave, END=/NOBS=/POINT=/IN=, subsetting IF,
DELETE/STOP/RETURN/LEAVE/CONTINUE, DO loops, SELECT, arrays, INPUT and PUT, missing values.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field


from .. import ast as A
from ..errors import SasError
from . import formats as F
from . import runtime as R

NUMERIC_FUNCS_N = {
    "log", "log10", "log2", "exp", "sqrt", "abs", "int", "round", "ceil", "floor", "mod", "min", "max",
    "sum", "mean", "n", "nmiss", "cmiss", "std", "var", "range", "missing", "coalesce", "sign", "sin", "cos",
    "tan", "atan", "arsin", "arcos", "gamma", "lgamma", "fact", "logit", "logistic", "probnorm", "probit", "probchi",
    "probt", "probf", "tinv", "cinv", "cdf", "pdf", "quantile", "ranuni", "rannor", "rand", "uniform",
    "normal", "index", "find", "indexc", "length", "lengthn", "lengthc", "countw", "mdy", "today", "date",
    "year", "month", "day", "weekday", "qtr", "intck", "intnx", "datdif", "yrdif", "rank", "lag", "dif",
    "input", "inputn", "dim", "hbound", "lbound", "symgetn", "ifn",
}
CHAR_FUNCS = {
    "substr", "substrn", "upcase", "lowcase", "propcase", "trim", "strip", "left", "right", "cats", "catt",
    "cat", "catx", "compress", "scan", "tranwrd", "translate", "put", "putn", "putc", "reverse", "repeat",
    "byte", "coalescec", "symget", "compbl", "inputc", "ifc",
}
LAGGABLE = re.compile(r"^(lag|dif)(\d*)$")



def in_list(e: A.InOp):
    """The values of an IN list: (character values, numeric values, (low, high) ranges, has '.')."""
    strs, nums, ranges, miss = [], [], [], False
    for v in e.values:
        if isinstance(v, tuple):
            ranges.append((v[1], v[2]))
        elif isinstance(v, A.Str):
            strs.append(v.value.rstrip())
        elif isinstance(v, A.Missing):
            miss = True
        else:
            nums.append(float(v.value))
    return strs, nums, ranges, miss

class _Delete(Exception):
    pass


class _Return(Exception):
    pass


@dataclass
class PdvVar:
    name: str                   # as first written
    type: str = "N"
    length: int | None = None
    label: str | None = None
    format: str | None = None
    informat: str | None = None
    retained: bool = False
    init: object = None
    from_input_ds: bool = False
    automatic: bool = False     # _N_, FIRST./LAST., IN=, END= ... never written out
    slot: int | None = None     # index in the slot list when an array member
    assigned: bool = False

    @property
    def key(self) -> str:
        return self.name.lower()


@dataclass
class ArrayInfo:
    name: str
    members: list[str]          # lower-case PDV names ([] for _temporary_)
    lo: int
    n: int
    is_char: bool
    temporary: bool
    init: list | None


@dataclass
class OutputSpec:
    ref: A.DsRef
    vars: list[str] = field(default_factory=list)     # lower-case PDV names written


class StepContext:
    """What the compiled function needs at run time."""

    def __init__(self):
        self.cols: list[dict[str, list]] = []       # per source: column lists
        self.nrows: list[int] = []
        self.first: list[dict] = []
        self.last: list[dict] = []
        self.inflags: list[dict[str, list]] = []
        self.outputs: list[list] = []
        self.notes = R.Notes()
        self.reader = None
        self.log = None
        self.session = None
        self.rows_read: list[int] = []
        self.put_lines: list[str] = []


class Compiler:
    def __init__(self, step: A.DataStep, session):
        self.step = step
        self.session = session
        self.pdv: dict[str, PdvVar] = {}
        self.arrays: dict[str, ArrayInfo] = {}
        self.sources: list[dict] = []     # {'stmt': SetStmt, 'datasets': [...], 'frame': df, ...}
        self.lines: list[str] = []
        self.consts: dict[str, object] = {}
        self.c2n_places: list[tuple[int, int]] = []
        self.n2c_places: list[tuple[int, int]] = []
        self.uninit: dict[str, tuple[int, int]] = {}
        self.lag_sites = 0
        self.drop: set[str] = set()
        self.keep: list[str] | None = None
        self.rename: dict[str, str] = {}
        self.has_explicit_output = False
        self.has_reader = False
        self.input_specs: list = []
        self.infile: A.Infile | None = None
        self.by: A.ByStmt | None = None
        self.where: list = []
        self.loop_stack: list[dict] = []
        self.tmp_counter = 0
        self.nslots = 0

    # ------------------------------------------------------------------ PDV helpers
    def var(self, name: str, type_: str = "N", create=True) -> PdvVar | None:
        k = name.lower()
        v = self.pdv.get(k)
        if v is None and create:
            v = PdvVar(name, type_)
            if k in ("_n_", "_error_"):
                v.automatic = True          # assigned by the program, still never written out
            self.pdv[k] = v
        return v

    def expand_varlist(self, items, where=None) -> list[str]:
        out = []
        for it in items:
            kind = it[0]
            if kind == "name" and it[1].lower() in ("_all_", "_numeric_", "_character_"):
                it = ("all", it[1].lower())
                kind = "all"
            if kind == "name":
                out.append(it[1])
            elif kind == "all":
                names = [v.name for v in self.pdv.values() if not v.automatic]
                if it[1] == "_numeric_":
                    names = [v.name for v in self.pdv.values() if not v.automatic and v.type == "N"]
                elif it[1] == "_character_":
                    names = [v.name for v in self.pdv.values() if not v.automatic and v.type == "C"]
                out.extend(names)
            elif kind == "range":
                out.extend(numbered_range(it[1], it[2], where))
            elif kind == "range2":
                keys = list(self.pdv)
                a, b = it[1].lower(), it[2].lower()
                if a in keys and b in keys:
                    i, j = keys.index(a), keys.index(b)
                    out.extend(self.pdv[k].name for k in keys[i:j + 1] if not self.pdv[k].automatic)
            elif kind == "prefix":
                p = it[1].lower()
                out.extend(v.name for k, v in self.pdv.items() if k.startswith(p) and not v.automatic)
        return out

    def lname(self, name: str) -> str:
        v = self.pdv[name.lower()]
        if v.slot is not None:
            return f"P[{v.slot}]"
        return "v_" + name.lower()

    # ------------------------------------------------------------------ analysis
    def analyse(self, stmts: list):
        """First pass in source order: PDV order, types, lengths, declarations."""
        for st in stmts:
            self._analyse_stmt(st)

    def _analyse_stmt(self, st):
        if isinstance(st, A.SetStmt):
            self._declare_source(st)
        elif isinstance(st, A.ByStmt):
            self.by = st
        elif isinstance(st, A.Length):
            for names, is_char, length in st.items:
                for n in names:
                    v = self.pdv.get(n.lower())
                    t = "C" if is_char else "N"
                    if v is not None and v.type != t and (v.assigned or v.from_input_ds):
                        raise SasError(f"Variable {n} has already been defined as "
                                       f"{'numeric' if v.type == 'N' else 'character'}.", st.line, st.col)
                    v = self.var(n, t)
                    v.type, v.length = t, length
        elif isinstance(st, A.Retain):
            if st.all_:
                for v in self.pdv.values():
                    v.retained = True
            for names, values in st.items:
                expanded = self.expand_varlist([n if isinstance(n, tuple) else ("name", n) for n in names], st)
                for i, n in enumerate(expanded):
                    init = None
                    if values:
                        init = values[i] if i < len(values) else values[-1] if len(values) == 1 else None
                    t = "C" if isinstance(init, str) else None
                    v = self.pdv.get(n.lower())
                    if v is None:
                        v = self.var(n, t or "N")
                        if t == "C":
                            v.length = max(len(init), 1)
                    v.retained = True
                    v.init = init
        elif isinstance(st, A.ArrayStmt):
            self._declare_array(st)
        elif isinstance(st, A.DropKeep):
            names = self.expand_varlist(st.names, st)
            if st.kind == "drop":
                self.drop |= {n.lower() for n in names}
            else:
                self.keep = (self.keep or []) + [n.lower() for n in names]
        elif isinstance(st, A.Rename):
            for a, b in st.pairs:
                self.rename[a.lower()] = b
        elif isinstance(st, A.FormatStmt):
            for names, fmt in st.items:
                for n in names:
                    v = self.var(n)
                    if st.kind == "format":
                        v.format = fmt
                    else:
                        v.informat = fmt
        elif isinstance(st, A.Label):
            for n, lab in st.pairs:
                self.var(n).label = lab
        elif isinstance(st, A.Assign):
            self._analyse_assign(st.target, st.index, st.value, st)
        elif isinstance(st, A.SumStmt):
            v = self.var(st.target)
            if st.index is None:
                v.retained = True
                if v.init is None:
                    v.init = 0.0
                v.assigned = True
            self._scan_expr(st.value)
        elif isinstance(st, A.If):
            self._scan_expr(st.cond)
            for s in st.then:
                self._analyse_stmt(s)
            for s in st.orelse or []:
                self._analyse_stmt(s)
        elif isinstance(st, A.DoBlock):
            if st.kind == "over":
                arr = self.arrays.get(st.var.lower())
                if arr is None:
                    raise SasError(f"Undeclared array referenced: {st.var}.", st.line, st.col, code="68-185")
                if "_i_" not in self.pdv:
                    self.var("_i_").automatic = True
                st.body = [_subscript_array(b, arr.name.lower(), "_i_") for b in st.body]
                st.kind, st.var = "iter", "_i_"
                st.specs = [A.DoSpec(A.Num(float(arr.lo)), A.Num(float(arr.lo + arr.n - 1)))]
            if st.var:
                new = st.var.lower() not in self.pdv
                v = self.var(st.var)
                v.assigned = True
                first = st.specs[0].start if st.specs else None
                if new and isinstance(first, A.Str) and st.specs[0].stop is None:
                    # DO c = 'a', 'b': a character index, as long as its first value (as SAS sets it)
                    v.type, v.length = "C", max(len(first.value), 1)
            for sp in st.specs:
                for e in (sp.start, sp.stop, sp.by, sp.while_, sp.until):
                    if e is not None:
                        self._scan_expr(e)
            if st.cond is not None:
                self._scan_expr(st.cond)
            for s in st.body:
                self._analyse_stmt(s)
        elif isinstance(st, A.Select):
            if st.operand is not None:
                self._scan_expr(st.operand)
            for vals, body in st.whens:
                for e in vals:
                    self._scan_expr(e)
                for s in body:
                    self._analyse_stmt(s)
            for s in st.otherwise or []:
                self._analyse_stmt(s)
        elif isinstance(st, A.Output):
            self.has_explicit_output = True
        elif isinstance(st, A.Input):
            self.has_reader = True
            for item in st.items:
                k = item[0]
                if k == "var":
                    self._input_var(item[1], item[2], item[3])
                elif k == "varrange":
                    for n in numbered_range(item[1], item[2], st):
                        self._input_var(n, item[3], item[4])
                elif k == "column":
                    self._input_var(item[1], item[2], None, width=item[4] - item[3] + 1)
                elif k == "group":
                    spec = F.parse_format(item[2])
                    for n in item[1]:
                        self._input_var(n, bool(spec and spec.is_char), ("formatted", item[2]))
        elif isinstance(st, A.Infile):
            self.infile = st
        elif isinstance(st, A.Where):
            self.where.append(st)
        elif isinstance(st, A.CallStmt):
            for a in st.args:
                self._scan_expr(a)
            if st.name == "missing":
                for a in st.args:
                    if isinstance(a, A.Var):
                        self.var(a.name).assigned = True

    def _input_var(self, name, is_char, fmt, width=None):
        v = self.pdv.get(name.lower())
        spec = None
        if fmt is not None:
            spec = F.parse_format(fmt[1])
            if spec is not None and spec.is_char:
                is_char = True
        if v is None:
            v = self.var(name, "C" if is_char else "N")
            if is_char:
                v.length = (spec.width if spec is not None and spec.width else None) or width or 8
        elif is_char and v.type == "N" and not v.assigned and not v.from_input_ds:
            v.type = "C"
            v.length = v.length or 8
        elif is_char and v.type == "N":
            raise SasError(f"Variable {name} has been defined as both character and numeric.", None, None)
        v.assigned = True

    def _declare_source(self, st: A.SetStmt):
        for ds_ref in st.datasets:
            ds = self.session.get_dataset(ds_ref, where=(st.line, st.col))
            ds = self.session.apply_input_options(ds, ds_ref, (), structure_only=True)[0]
            for m in ds.ordered_meta():
                v = self.pdv.get(m.name.lower())
                if v is None:
                    v = self.var(m.name, m.type)
                    v.length, v.label, v.format, v.informat = m.length, m.label, m.format, m.informat
                    v.from_input_ds = True
                    v.assigned = True
                else:
                    if v.type != m.type and (v.from_input_ds or v.assigned):
                        raise SasError(f"Variable {m.name} has been defined as both character and numeric.",
                                       ds_ref.line, ds_ref.col)
                    v.type = m.type
                    v.from_input_ds = True
                    v.assigned = True
                    if m.type == "C" and (v.length or 0) < m.length and not v.length:
                        v.length = m.length
                    v.label = v.label or m.label
                    v.format = v.format or m.format
            # dataset options that create automatic variables
            inname = ds_ref.options.get("in")
            if inname:
                iv = self.var(str(inname))
                iv.automatic = True
        for key in ("end", "nobs", "point"):
            if key in st.options:
                self.var(st.options[key]).automatic = True
        self.sources.append({"stmt": st})

    def _declare_array(self, st: A.ArrayStmt):
        name = st.name.lower()
        if name in self.pdv:
            raise SasError(f"Array name {st.name} is also a variable name.", st.line, st.col, code="124-185")
        if name in ("sum", "mean", "min", "max", "log", "exp"):
            self.session.log.warning("An array is being defined with the same name as a SAS-supplied or "
                                     "user-defined function.  Parenthesized references involving this name "
                                     "will be treated as array references and not function references.")
        if st.temporary:
            n = st.dims[0][1] - st.dims[0][0] + 1 if st.dims else len(st.init or [])
            self.arrays[name] = ArrayInfo(st.name, [], st.dims[0][0] if st.dims else 1, n, st.is_char, True,
                                          list(st.init or []))
            return
        members = self.expand_varlist(st.names, st) if st.names else []
        if not members:
            n = st.dims[0][1] - st.dims[0][0] + 1 if st.dims else 0
            members = [f"{st.name}{i}" for i in range(1, n + 1)]
        lo = st.dims[0][0] if st.dims else 1
        existing = [self.pdv.get(m.lower()) for m in members]
        if not st.is_char and existing and all(v is not None and v.type == "C" for v in existing):
            st.is_char = True
        elif st.is_char is False and any(v is not None and v.type == "C" for v in existing):
            raise SasError("All variables in array list must be the same type, i.e., all numeric or character.",
                           st.line, st.col, code="")
        if st.dims:
            n = st.dims[0][1] - st.dims[0][0] + 1
            if n != len(members):
                raise SasError(f"Too few variables defined for the dimension(s) specified for the array {st.name}."
                               if n > len(members) else
                               f"Too many variables defined for the dimension(s) specified for the array {st.name}.",
                               st.line, st.col)
        for i, m in enumerate(members):
            v = self.var(m, "C" if st.is_char else "N")
            if st.is_char and not v.from_input_ds:
                v.type = "C"
                v.length = v.length or st.length or 8
            if v.slot is None:
                v.slot = self.nslots
                self.nslots += 1
            if st.init and i < len(st.init):
                v.retained = True
                v.init = st.init[i]
        self.arrays[name] = ArrayInfo(st.name, [m.lower() for m in members], lo, len(members), st.is_char,
                                      False, None)

    def _analyse_assign(self, target, index, value, st):
        self._scan_expr(value)
        if index is not None:
            self._scan_expr(index)
            return
        if target.lower() in self.arrays:
            raise SasError(f"Illegal reference to the array {target}.", st.line, st.col, code="68-185")
        v = self.pdv.get(target.lower())
        t, length = self.expr_type(value)
        if v is None:
            v = self.var(target, t)
            v.length = length if t == "C" else 8
        elif not v.assigned and not v.from_input_ds and v.length is None:
            v.type = t
            v.length = length if t == "C" else 8
        elif v.type == "C" and v.length is None:
            v.length = length
        v.assigned = True

    def _scan_expr(self, e):
        """Note variables referenced before any definition (they become numeric, uninitialized)."""
        if isinstance(e, A.Var):
            k = e.name.lower()
            if k not in self.pdv and k not in self.arrays and k not in ("_n_", "_error_"):
                self.var(e.name, "N")
                self.uninit.setdefault(k, (e.line, e.col))
        elif isinstance(e, A.BinOp):
            self._scan_expr(e.left)
            self._scan_expr(e.right)
        elif isinstance(e, A.Unary):
            self._scan_expr(e.operand)
        elif isinstance(e, A.InOp):
            self._scan_expr(e.operand)
        elif isinstance(e, A.Call):
            if e.name in self.arrays:
                for a in e.args:
                    self._scan_expr(a)
                return
            for a in e.args:
                if not isinstance(a, A.OfList):
                    self._scan_expr(a)

    # ------------------------------------------------------------------ expression typing
    def expr_type(self, e) -> tuple[str, int]:
        if isinstance(e, A.Str):
            return "C", max(len(e.value), 1)
        if isinstance(e, (A.Num, A.Missing, A.FirstLast)):
            return "N", 8
        if isinstance(e, A.Var):
            k = e.name.lower()
            if k in ("_n_", "_error_"):
                return "N", 8
            v = self.pdv.get(k)
            if v is None:
                return "N", 8
            return v.type, (v.length or 8) if v.type == "C" else 8
        if isinstance(e, A.BinOp):
            if e.op == "||":
                lt, ll = self.expr_type(e.left)
                rt, rl = self.expr_type(e.right)
                return "C", (ll if lt == "C" else 12) + (rl if rt == "C" else 12)
            if e.op in ("min", "max"):
                return "N", 8
            return "N", 8
        if isinstance(e, (A.Unary, A.InOp)):
            return "N", 8
        if isinstance(e, A.Call):
            name = e.name
            if name in self.arrays:
                arr = self.arrays[name]
                if arr.is_char:
                    if arr.members:
                        return "C", self.pdv[arr.members[0]].length or 8
                    return "C", 8
                if arr.members:
                    v = self.pdv[arr.members[0]]
                    return v.type, (v.length or 8)
                return "N", 8
            if name in CHAR_FUNCS:
                if name in ("substr", "substrn", "upcase", "lowcase", "propcase", "trim", "strip", "left",
                            "right", "compress", "reverse", "translate", "compbl") and e.args:
                    t, ln = self.expr_type(e.args[0])
                    return "C", ln if t == "C" else 200
                if name in ("put", "putn", "putc") and len(e.args) > 1:
                    fmt = _format_text(e.args[1])
                    spec = F.parse_format(fmt) if fmt else None
                    return "C", (spec.width if spec and spec.width else 12)
                if name == "byte":
                    return "C", 1
                return "C", 200
            m = LAGGABLE.match(name)
            if m and m.group(1) == "lag" and e.args:
                return self.expr_type(e.args[0])
            if name in ("min", "max") and e.args and all(self.expr_type(a)[0] == "C" for a in e.args
                                                        if not isinstance(a, A.OfList)):
                return "C", 200
            return "N", 8
        if isinstance(e, A.FmtLit):
            return "C", len(e.value)
        return "N", 8

    # ------------------------------------------------------------------ expression code
    def const(self, value) -> str:
        name = f"_k{len(self.consts)}"
        self.consts[name] = value
        return name

    def ex(self, e) -> tuple[str, str]:
        """Return (python code, kind) with kind 'N' (float), 'C' (str) or 'B' (python bool)."""
        if isinstance(e, A.Num):
            return repr(float(e.value)), "N"
        if isinstance(e, A.Str):
            return repr(e.value.rstrip()), "C"
        if isinstance(e, A.Missing):
            return "NAN", "N"
        if isinstance(e, A.FmtLit):
            return repr(e.value), "C"
        if isinstance(e, A.Var):
            k = e.name.lower()
            if k == "_n_":
                return "v__n_", "N"
            if k == "_error_":
                return "(1.0 if NT.error_flag else v__error_)", "N"
            if k in self.arrays and k not in self.pdv:
                raise SasError(f"Illegal reference to the array {e.name}.", e.line, e.col, code="68-185")
            v = self.pdv.get(k)
            if v is None:
                v = self.var(e.name, "N")
            return self.lname(e.name), v.type
        if isinstance(e, A.FirstLast):
            return self.first_last(e), "N"
        if isinstance(e, A.Unary):
            if e.op == "not":
                return f"(not {self.as_bool(e.operand)})", "B"
            code = self.as_num(e.operand)
            return (f"(-{code})" if e.op == "-" else code), "N"
        if isinstance(e, A.BinOp):
            return self.ex_binop(e)
        if isinstance(e, A.InOp):
            t, _ = self.expr_type(e.operand)
            strs, nums, ranges, miss = in_list(e)
            if t == "C":
                code = self.as_char(e.operand)
                k = self.const(frozenset(strs))
                test = f"({code} in {k})"
            else:
                code = self.as_num(e.operand)
                k = self.const(frozenset(nums))
                parts = [f"(_t in {k})"]
                if miss:
                    parts.append("(_t != _t)")
                for lo, hi in ranges:
                    parts.append(f"({float(lo)!r} <= _t <= {float(hi)!r})")
                test = "((_t := " + code + ") is None or " + " or ".join(parts) + ")"
            return (f"(not {test})" if e.negate else test), "B"
        if isinstance(e, A.Call):
            return self.ex_call(e)
        raise SasError("Unsupported expression.", getattr(e, "line", None), getattr(e, "col", None))

    def first_last(self, e: A.FirstLast) -> str:
        """The variable holding FIRST.x / LAST.x; an ERROR when x is not a BY variable."""
        bykeys = [b[0].lower() for b in (self.by.items if self.by else [])]
        if e.name.lower() not in bykeys:
            raise SasError(f"Variable {e.which.upper()}.{e.name} is uninitialized (not a BY variable).",
                           e.line, e.col)
        return f"{e.which}_{e.name.lower()}"

    def as_num(self, e) -> str:
        code, k = self.ex(e)
        if k == "N":
            return code
        if k == "B":
            return f"(1.0 if {code} else 0.0)"
        self.c2n_places.append((e.line, e.col))
        return f"_c2n({code}, R, {e.line}, {e.col})"

    def as_char(self, e, padded=False) -> str:
        code, k = self.ex(e)
        if k == "C":
            if padded and isinstance(e, A.Var):
                ln = self.pdv[e.name.lower()].length or 8
                return f"{code}.ljust({ln})"
            return code
        if k == "B":
            code = f"(1.0 if {code} else 0.0)"
        self.n2c_places.append((e.line, e.col))
        return f"_n2cp({code})"

    def as_bool(self, e) -> str:
        code, k = self.ex(e)
        if k == "B":
            return code
        if k == "C":
            self.c2n_places.append((e.line, e.col))
            code = f"_c2n({code}, R, {e.line}, {e.col})"
        return f"((_u := {code}) == _u and _u != 0)"

    def ex_binop(self, e: A.BinOp):
        op = e.op
        where = (e.line, e.col)
        if op in ("and", "or"):
            return f"({self.as_bool(e.left)} {op} {self.as_bool(e.right)})", "B"
        if op == "||":
            return f"({self.as_char(e.left, True)} + {self.as_char(e.right, True)})", "C"
        if op in ("eq", "ne", "lt", "le", "gt", "ge", "eqc"):
            lt_, _ = self.expr_type(e.left)
            rt_, _ = self.expr_type(e.right)
            if lt_ == "C" and rt_ == "C" or (lt_ == "C" and isinstance(e.right, A.Str)):
                a, b = self.as_char(e.left), self.as_char(e.right)
                if op == "eqc":
                    return f"_eqc({a}, {b})", "B"
                pyop = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
                return f"({a} {pyop} {b})", "B"
            if lt_ == "C" and rt_ == "N" and isinstance(e.right, (A.Num, A.Missing)) is False and False:
                pass
            a, b = self.as_num(e.left), self.as_num(e.right)
            if op == "eqc":
                op = "eq"
            lit = isinstance(e.right, A.Num)
            if lit:
                if op == "gt":
                    return f"({a} > {b})", "B"
                if op == "ge":
                    return f"({a} >= {b})", "B"
                if op == "eq":
                    return f"({a} == {b})", "B"
                if op == "ne":
                    return f"({a} != {b})", "B"
                if op == "lt":
                    return f"((_t := {a}) < {b} or _t != _t)", "B"
                if op == "le":
                    return f"((_t := {a}) <= {b} or _t != _t)", "B"
            if isinstance(e.right, A.Missing):
                if op == "eq":
                    return f"((_t := {a}) != _t)", "B"
                if op == "ne":
                    return f"((_t := {a}) == _t)", "B"
            return f"_{op}({a}, {b})", "B"
        if op in ("min", "max"):
            return f"_v{op}({self.as_num(e.left)}, {self.as_num(e.right)})", "N"
        a, b = self.as_num(e.left), self.as_num(e.right)
        if op == "/":
            return f"_div({a}, {b}, NT, {where!r})", "N"
        if op == "**":
            return f"_pow({a}, {b}, NT, {where!r})", "N"
        return f"(_t if (_t := ({a} {op} {b})) == _t else _miss(NT, {where!r}))", "N"

    def _of_args(self, e: A.OfList) -> list[str]:
        out = []
        for it in e.items:
            if it[0] == "array":
                arr = self.arrays.get(it[1].lower())
                if arr is None:
                    raise SasError(f"Undeclared array referenced: {it[1]}.", e.line, e.col)
                if arr.temporary:
                    out.append(f"*T_{arr.name.lower()}")
                else:
                    out.extend(self.lname(m) for m in arr.members)
            else:
                names = self.expand_varlist([it], e)
                for n in names:
                    if n.lower() not in self.pdv:
                        self.var(n, "N")
                        self.uninit.setdefault(n.lower(), (e.line, e.col))
                    out.append(self.lname(n))
        return out

    def ex_call(self, e: A.Call):
        name = e.name
        where = (e.line, e.col)
        if name in self.arrays:
            arr = self.arrays[name]
            if len(e.args) != 1:
                raise SasError(f"Too many array subscripts specified for array {arr.name}.", e.line, e.col)
            idx = self.as_num(e.args[0])
            t = "C" if arr.is_char else "N"
            if arr.temporary:
                return f"T_{name}[_aix({idx}, {arr.lo}, {arr.n}, {where!r})]", t
            members = self.const([self.pdv[m].slot for m in arr.members])
            return f"P[{members}[_aix({idx}, {arr.lo}, {arr.n}, {where!r})]]", t
        if name in ("dim", "hbound", "lbound"):
            if not e.args or not isinstance(e.args[0], A.Var) or e.args[0].name.lower() not in self.arrays:
                raise SasError(f"The {name.upper()} function requires an array name.", e.line, e.col)
            arr = self.arrays[e.args[0].name.lower()]
            val = arr.n if name == "dim" else (arr.lo if name == "lbound" else arr.lo + arr.n - 1)
            return repr(float(val)), "N"
        m = LAGGABLE.match(name)
        if m:
            n = int(m.group(2) or 1)
            site = self.lag_sites
            self.lag_sites += 1
            t, _ = self.expr_type(e.args[0])
            code = self.as_num(e.args[0]) if t == "N" else self.as_char(e.args[0])
            q = f"L{site}"
            self.consts.setdefault("_lagsizes", {})[q] = (n, "" if t == "C" else R.NAN)  # type: ignore
            if m.group(1) == "lag":
                return f"({q}.append({code}) or {q}.popleft())", t
            return f"(_t if (_t := ((_w := {code}) - ({q}.append(_w) or {q}.popleft()))) == _t else NAN)", "N"
        if name in ("put", "putn", "putc"):
            if len(e.args) < 2:
                raise SasError("The PUT function call does not have enough arguments.", e.line, e.col)
            fmt = _format_text(e.args[1])
            if fmt is None:
                raise SasError("The format in the PUT function must be a format name.", e.line, e.col)
            spec = F.parse_format(fmt)
            if spec is None:
                raise SasError(f"The format {fmt} was not found or could not be loaded.", e.line, e.col,
                               code="48-59")
            k = self.const(spec)
            t, _ = self.expr_type(e.args[0])
            code = self.as_char(e.args[0]) if t == "C" else self.as_num(e.args[0])
            return f"_putf({code}, {k}, UF)", "C"
        if name in ("input", "inputn", "inputc"):
            if len(e.args) < 2:
                raise SasError("The INPUT function call does not have enough arguments.", e.line, e.col)
            fmt = _format_text(e.args[1])
            spec = F.parse_format(fmt) if fmt else None
            if spec is None:
                raise SasError(f"The informat {fmt} was not found or could not be loaded.", e.line, e.col,
                               code="48-59")
            k = self.const(spec)
            code = self.as_char(e.args[0])
            if spec.is_char:
                return f"_inputc({code}, {k})", "C"
            return f"_inputn({code}, {k}, R, {e.line}, {e.col})", "N"
        if name == "symget":
            return f"_symget(R, {self.as_char(e.args[0])})", "C"
        fn = getattr(R, "f_" + name, None)
        if fn is None:
            raise SasError(f"The function {name.upper()} is unknown, or cannot be accessed.", e.line, e.col,
                           code="68-185")
        nargs = sum(len(self._of_args(a)) if isinstance(a, A.OfList) else 1 for a in e.args)
        lo, hi = _arity(fn)
        if nargs < lo:
            raise SasError(f"The {name.upper()} function call does not have enough arguments.", e.line, e.col,
                           code="71-185")
        if hi is not None and nargs > hi:
            raise SasError(f"The {name.upper()} function call has too many arguments.", e.line, e.col,
                           code="72-185")
        args = []
        for i, a in enumerate(e.args):
            if isinstance(a, A.OfList):
                args.extend(self._of_args(a))
                continue
            if name in CHAR_FUNCS or name in ("index", "find", "indexc", "length", "lengthn", "lengthc",
                                              "countw", "rank", "missing", "cmiss", "intck", "intnx", "cdf",
                                              "pdf", "quantile", "rand", "symgetn"):
                t, _ = self.expr_type(a)
                numeric_pos = _numeric_arg(name, i)
                if numeric_pos is None:
                    args.append(self.ex(a)[0] if self.ex(a)[1] != "B" else self.as_num(a))
                elif numeric_pos:
                    args.append(self.as_num(a))
                else:
                    args.append(self.as_char(a) if t == "C" else self.as_char(a))
            else:
                args.append(self.as_num(a))
        if name in ("log", "log10", "log2", "sqrt", "exp", "arsin", "arcos", "gamma", "lgamma", "fact",
                    "logit"):
            if len(args) != 1:
                raise SasError(f"Function {name.upper()} requires exactly 1 argument.", e.line, e.col)
            code = f"f_{name}({args[0]}, NT)"
        else:
            code = f"f_{name}({', '.join(args)})"
        self.consts["f_" + name] = fn
        return code, ("C" if name in CHAR_FUNCS else "N")

    # ------------------------------------------------------------------ statement code
    def emit(self, line: str, depth: int):
        self.lines.append("    " * depth + line)

    def assign_code(self, target: str, index, value, depth: int, st):
        k = target.lower()
        if index is not None:
            arr = self.arrays.get(k)
            if arr is None:
                raise SasError(f"Undeclared array referenced: {target}.", st.line, st.col, code="68-185")
            idx = self.as_num(index)
            where = (st.line, st.col)
            val = self.as_char(value) if arr.is_char else self.as_num(value)
            if arr.temporary:
                self.emit(f"T_{k}[_aix({idx}, {arr.lo}, {arr.n}, {where!r})] = {val}", depth)
            else:
                members = self.const([self.pdv[m].slot for m in arr.members])
                if arr.is_char:
                    ln = self.pdv[arr.members[0]].length or 8
                    val = f"{val}[:{ln}].rstrip()"
                self.emit(f"P[{members}[_aix({idx}, {arr.lo}, {arr.n}, {where!r})]] = {val}", depth)
            return
        v = self.pdv[k]
        if v.type == "C":
            code = self.as_char(value)
            ln = v.length or 8
            self.emit(f"{self.lname(target)} = {code}[:{ln}].rstrip()", depth)
        else:
            self.emit(f"{self.lname(target)} = {self.as_num(value)}", depth)

    def gen_block(self, stmts: list, depth: int):
        if not stmts:
            self.emit("pass", depth)
            return
        for st in stmts:
            self.gen_stmt(st, depth)

    def gen_stmt(self, st, depth: int):
        in_loop = bool(self.loop_stack)
        if isinstance(st, A.Assign):
            self.assign_code(st.target, st.index, st.value, depth, st)
            if st.target.lower() == "_error_" and st.index is None:
                self.emit("if not v__error_: _errclear(R)", depth)   # _ERROR_=0: no PDV dump
        elif isinstance(st, A.SumStmt):
            val = self.as_num(st.value)
            if st.index is not None:
                self.assign_code(st.target, st.index, A.Call("sum", [A.Call(st.target, [st.index], line=st.line,
                                 col=st.col), st.value], line=st.line, col=st.col), depth, st)
            else:
                nm = self.lname(st.target)
                self.emit(f"_t = {val}", depth)
                self.emit(f"{nm} = ({nm} if {nm} == {nm} else 0.0) + (_t if _t == _t else 0.0)", depth)
        elif isinstance(st, A.If):
            cond = self.as_bool(st.cond)
            if st.subsetting:
                self.emit(f"if not {cond}:", depth)
                self.emit("raise _Delete" if in_loop else "continue", depth + 1)
                return
            self.emit(f"if {cond}:", depth)
            self.gen_block(st.then, depth + 1)
            if st.orelse:
                if len(st.orelse) == 1 and isinstance(st.orelse[0], A.If) and not st.orelse[0].subsetting:
                    self.emit("else:", depth)
                    self.gen_stmt(st.orelse[0], depth + 1)
                else:
                    self.emit("else:", depth)
                    self.gen_block(st.orelse, depth + 1)
        elif isinstance(st, A.DoBlock):
            self.gen_do(st, depth)
        elif isinstance(st, A.Select):
            if st.operand is not None:
                t, _ = self.expr_type(st.operand)
                sel = self.as_char(st.operand) if t == "C" else self.as_num(st.operand)
                tmp = f"_sel{self.tmp_counter}"
                self.tmp_counter += 1
                self.emit(f"{tmp} = {sel}", depth)
            first = True
            for vals, body in st.whens:
                if st.operand is not None:
                    conds = []
                    for v in vals:
                        vt, _ = self.expr_type(v)
                        if t == "C":
                            conds.append(f"({tmp} == {self.as_char(v)})")
                        else:
                            conds.append(f"_eq({tmp}, {self.as_num(v)})")
                    cond = " or ".join(conds)
                else:
                    cond = " or ".join(self.as_bool(v) for v in vals)
                self.emit(f"{'if' if first else 'elif'} {cond}:", depth)
                self.gen_block(body, depth + 1)
                first = False
            if st.otherwise is not None:
                if first:
                    self.gen_block(st.otherwise, depth)
                else:
                    self.emit("else:", depth)
                    self.gen_block(st.otherwise, depth + 1)
            else:
                if not first:
                    self.emit("else:", depth)
                    self.emit(f"_nowhen({st.line}, {st.col})", depth + 1)
        elif isinstance(st, A.Output):
            self.gen_output(st.targets, depth, st)
        elif isinstance(st, A.Simple):
            if st.kind == "delete":
                self.emit("raise _Delete" if in_loop else "continue", depth)
            elif st.kind == "stop":
                self.emit("raise StopStep", depth)
            elif st.kind == "abort":
                self.emit(f"_abort({st.line})", depth)
            elif st.kind == "return":
                if in_loop:
                    self.emit("raise _Return", depth)
                else:
                    if not self.has_explicit_output:
                        self.gen_output([], depth, st)
                    self.emit("continue", depth)
            elif st.kind == "leave":
                if not in_loop:
                    raise SasError("The LEAVE statement is not within a DO loop.", st.line, st.col)
                self.emit("break", depth)
            elif st.kind == "continue":
                if not in_loop:
                    raise SasError("The CONTINUE statement is not within a DO loop.", st.line, st.col)
                top = self.loop_stack[-1]
                if top.get("incr"):
                    self.emit(top["incr"], depth)
                self.emit("continue", depth)
        elif isinstance(st, A.SetStmt):
            self.gen_set(st, depth)
        elif isinstance(st, A.Input):
            self.gen_input(st, depth)
        elif isinstance(st, A.Put):
            self.gen_put(st, depth)
        elif isinstance(st, A.CallStmt):
            self.gen_call(st, depth)
        # declarations produce no code

    def gen_do(self, st: A.DoBlock, depth: int):
        if st.kind == "simple":
            self.gen_block(st.body, depth)
            return
        if st.kind == "while":
            self.emit(f"while {self.as_bool(st.cond)}:", depth)
            self.loop_stack.append({})
            self.gen_block(st.body, depth + 1)
            self.loop_stack.pop()
            return
        if st.kind == "until":
            self.emit("while True:", depth)
            cond = self.as_bool(st.cond)
            self.loop_stack.append({"incr": f"if {cond}: break"})
            self.gen_block(st.body, depth + 1)
            self.loop_stack.pop()
            self.emit(f"if {cond}:", depth + 1)
            self.emit("break", depth + 2)
            return
        var = self.lname(st.var)
        vt = self.pdv[st.var.lower()].type
        specs = st.specs
        if len(specs) == 1 and specs[0].stop is not None:
            sp = specs[0]
            n = self.tmp_counter
            self.tmp_counter += 1
            self.emit(f"{var} = {self.as_num(sp.start)}", depth)
            self.emit(f"_stop{n} = {self.as_num(sp.stop)}", depth)
            self.emit(f"_by{n} = {self.as_num(sp.by) if sp.by is not None else '1.0'}", depth)
            self.emit(f"if _by{n} == 0 or _by{n} != _by{n}: _badby({st.line}, {st.col})", depth)
            cond = f"({var} <= _stop{n} if _by{n} > 0 else {var} >= _stop{n})"
            if sp.while_ is not None:
                cond = f"{cond} and {self.as_bool(sp.while_)}"
            self.emit(f"while {cond}:", depth)
            incr = f"{var} = {var} + _by{n}"
            until = self.as_bool(sp.until) if sp.until is not None else None
            cont = incr if until is None else f"{incr}\n" + "    " * (depth + 2) + f"if {until}: break"
            # CONTINUE must still step the index (and test UNTIL first)
            if until is not None:
                cont = f"if {until}:\n" + "    " * (depth + 3) + f"{incr}\n" + "    " * (depth + 3) + \
                       "break\n" + "    " * (depth + 2) + incr
            self.loop_stack.append({"incr": cont})
            self.gen_block(st.body, depth + 1)
            self.loop_stack.pop()
            if until is not None:
                self.emit(f"if {until}:", depth + 1)
                self.emit(incr, depth + 2)
                self.emit("break", depth + 2)
            self.emit(incr, depth + 1)
            return
        # list form: do i = 1, 3, 5  /  do c = 'a', 'b'
        items = []
        for sp in specs:
            if sp.stop is not None:
                by = self.as_num(sp.by) if sp.by is not None else "1.0"
                items.append(f"*_drange({self.as_num(sp.start)}, {self.as_num(sp.stop)}, {by})")
            else:
                items.append(self.as_char(sp.start) if vt == "C" else self.as_num(sp.start))
        self.emit(f"for {var} in ({', '.join(items)},):", depth)
        self.loop_stack.append({})
        self.gen_block(st.body, depth + 1)
        self.loop_stack.pop()

    def output_targets(self, targets: list[str], st) -> list[int]:
        """Indexes of the output data sets an OUTPUT statement writes (all of them when none named)."""
        names = [o.ref.name.lower() for o in self.outputs]
        if not targets:
            return list(range(len(self.outputs)))
        idx = []
        for t in targets:
            if t.lower() not in names:
                raise SasError(f"Data set {t.upper()} is not specified on the DATA statement.",
                               getattr(st, "line", None), getattr(st, "col", None), code="455-185")
            idx.append(names.index(t.lower()))
        return idx

    def gen_output(self, targets: list[str], depth: int, st):
        for i in self.output_targets(targets, st):
            o = self.outputs[i]
            vals = ", ".join(self.lname(v) for v in o.vars)
            self.emit(f"O{i}(({vals}{',' if len(o.vars) == 1 else ''}))", depth)

    def gen_set(self, st: A.SetStmt, depth: int):
        k = next(i for i, s in enumerate(self.sources) if s["stmt"] is st)
        src = self.sources[k]
        self.emit(f"I{k} += 1", depth)
        if "point" in st.options:
            pv = self.lname(st.options["point"])
            self.emit(f"I{k} = _point({pv}, N{k}, {st.line}, {st.col})", depth)
        else:
            self.emit(f"if I{k} >= N{k}: raise StopStep", depth)
        for col in src["vars"]:
            self.emit(f"{self.lname(col)} = C{k}_{col}[I{k}]", depth)
        for inname in src["in_vars"]:
            self.emit(f"{self.lname(inname)} = IN{k}_{inname.lower()}[I{k}]", depth)
        if "end" in st.options:
            self.emit(f"{self.lname(st.options['end'])} = 1.0 if I{k} == N{k} - 1 else 0.0", depth)
        for b in src["by"]:
            self.emit(f"first_{b} = F{k}_{b}[I{k}]; last_{b} = LA{k}_{b}[I{k}]", depth)

    def gen_input(self, st: A.Input, depth: int):
        i = len(self.input_specs)
        self.input_specs.append(st)
        targets = []
        for item in st.items:
            if item[0] in ("var", "column"):
                targets.append(item[1])
            elif item[0] == "varrange":
                targets.extend(numbered_range(item[1], item[2], st))
            elif item[0] == "group":
                targets.extend(item[1])
        self.emit(f"_vals = RD.read({i})", depth)
        for j, t in enumerate(targets):
            v = self.pdv[t.lower()]
            if v.type == "C":
                self.emit(f"{self.lname(t)} = _vals[{j}][:{v.length or 8}]", depth)
            else:
                self.emit(f"{self.lname(t)} = _vals[{j}]", depth)

    def gen_put(self, st: A.Put, depth: int):
        parts = []
        for item in st.items:
            kind = item[0]
            if kind == "str":
                parts.append(repr(("s", item[1])))
            elif kind == "var":
                k = item[1].lower()
                if k == "_n_" or k == "_error_":
                    parts.append(f"('v', v_{k}, {item[2]!r})")
                elif k in self.pdv:
                    parts.append(f"('v', {self.lname(item[1])}, {item[2]!r})")
                elif k in self.arrays:
                    arr = self.arrays[k]
                    for m in arr.members:
                        parts.append(f"('v', {self.lname(m)}, None)")
                else:
                    self.var(item[1], "N")
                    self.uninit.setdefault(k, (st.line, st.col))
                    parts.append(f"('v', {self.lname(item[1])}, None)")
            elif kind == "vareq":
                k = item[1].lower()
                if k not in self.pdv and k not in ("_n_", "_error_"):
                    self.var(item[1], "N")
                    self.uninit.setdefault(k, (st.line, st.col))
                code = f"v_{k}" if k in ("_n_", "_error_") else self.lname(item[1])
                parts.append(f"('e', {item[1]!r}, {code})")
            elif kind == "all":
                if item[1] == "_all_":
                    for v in self.pdv.values():
                        if not v.automatic:
                            parts.append(f"('e', {v.name!r}, {self.lname(v.name)})")
                    parts.append("('e', '_ERROR_', v__error_)")
                    parts.append("('e', '_N_', v__n_)")
            elif kind == "newline":
                parts.append("('n',)")
            elif kind in ("col", "skip"):
                parts.append(repr((kind, item[1])))
        self.emit(f"_put(R, [{', '.join(parts)}], UF)", depth)

    def gen_call(self, st: A.CallStmt, depth: int):
        name = st.name
        if name in ("symput", "symputx"):
            if len(st.args) < 2:
                raise SasError(f"CALL {name.upper()} requires two arguments.", st.line, st.col)
            a = self.as_char(st.args[0])
            t, _ = self.expr_type(st.args[1])
            b = self.as_char(st.args[1]) if t == "C" else self.as_num(st.args[1])
            self.emit(f"_symput(R, {a}, {b}, {name == 'symputx'})", depth)
        elif name == "streaminit":
            self.emit(f"_streaminit({self.as_num(st.args[0])})", depth)
        elif name == "missing":
            for a in st.args:
                if isinstance(a, A.Var):
                    v = self.pdv[a.name.lower()]
                    self.emit(f"{self.lname(a.name)} = {'NAN' if v.type == 'N' else repr('')}", depth)
        elif name in ("system", "execute"):
            raise SasError(f"CALL {name.upper()} is refused: shell and code execution are disabled.",
                           st.line, st.col)
        elif name == "sortn" or name == "sortc":
            names = []
            for a in st.args:
                if isinstance(a, A.OfList):
                    names.extend(self._of_args(a))
                else:
                    names.append(self.ex(a)[0])
            tgt = ", ".join(names)
            self.emit(f"{tgt}, = sorted([{tgt}], key=_key)", depth)
        else:
            raise SasError(f"The CALL routine {name.upper()} is unknown, or cannot be accessed.",
                           st.line, st.col, code="251-185")


def _subscript_array(node, arr: str, idx: str):
    """DO OVER body: a bare reference to the array means the element at the implicit index."""
    import dataclasses
    if isinstance(node, A.Var) and node.name.lower() == arr:
        return A.Call(arr, [A.Var(idx, line=node.line, col=node.col)], line=node.line, col=node.col)
    if isinstance(node, (A.Assign, A.SumStmt)) and node.target.lower() == arr and node.index is None:
        return dataclasses.replace(node, index=A.Var(idx, line=node.line, col=node.col),
                                   value=_subscript_array(node.value, arr, idx))
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        changes = {}
        for f in dataclasses.fields(node):
            v = getattr(node, f.name)
            if isinstance(v, list):
                changes[f.name] = [_subscript_array(x, arr, idx) if not isinstance(x, tuple) else
                                   tuple(_subscript_array(y, arr, idx) for y in x) for x in v]
            elif dataclasses.is_dataclass(v):
                changes[f.name] = _subscript_array(v, arr, idx)
        return dataclasses.replace(node, **changes) if changes else node
    if isinstance(node, list):
        return [_subscript_array(x, arr, idx) for x in node]
    return node


def _arity(fn) -> tuple[int, int | None]:
    import inspect
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return 0, None
    lo, hi = 0, 0
    for p in sig.parameters.values():
        if p.name.startswith("_"):
            continue
        if p.kind == p.VAR_POSITIONAL:
            hi = None
            continue
        if p.default is p.empty:
            lo += 1
        if hi is not None:
            hi += 1
    return lo, hi


def _format_text(arg) -> str | None:
    if isinstance(arg, A.FmtLit):
        return arg.value
    if isinstance(arg, A.Num):
        return arg.text or repr(arg.value)
    if isinstance(arg, A.Str):
        return arg.value
    return None


def _numeric_arg(fname: str, i: int):
    """For functions with mixed argument types: True numeric, False character, None keep."""
    table = {
        "substr": [False, True, True], "substrn": [False, True, True], "scan": [False, True, False],
        "index": [False, False], "find": [False, False, None, True], "indexc": [False, False],
        "repeat": [False, True], "byte": [True], "rank": [False], "compress": [False, False, False],
        "tranwrd": [False, False, False], "translate": [False, False, False],
        "intck": [False, True, True], "intnx": [False, True, True, False], "cdf": [False, True, True, True, True],
        "pdf": [False, True, True, True, True], "quantile": [False, True, True, True, True],
        "rand": [False, True, True, True, True, True, True], "countw": [False, False],
        "missing": [None], "cmiss": [None] * 100, "coalescec": [False] * 100,
        "ifc": [True, False, False, False],
    }
    if fname in ("cats", "catx", "cat", "catt"):
        return None
    spec = table.get(fname)
    if spec is None:
        return False
    return spec[i] if i < len(spec) else None


def numbered_range(a: str, b: str, where=None) -> list[str]:
    ma = re.match(r"^(.*?)(\d+)$", a)
    mb = re.match(r"^(.*?)(\d+)$", b)
    if not ma or not mb or ma.group(1).lower() != mb.group(1).lower():
        raise SasError(f"Invalid variable list {a}-{b}.", getattr(where, "line", None), getattr(where, "col", None))
    lo, hi = int(ma.group(2)), int(mb.group(2))
    step = 1 if hi >= lo else -1
    return [f"{ma.group(1)}{i}" for i in range(lo, hi + step, step)]
