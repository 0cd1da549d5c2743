"""Parse SAS statements with the Lark grammar and group them into steps.

Pipeline: ``lexer.split_statements`` -> per-statement parse (start rule chosen by the first word)
-> AST nodes -> steps (DATA / PROC / global).  Syntax errors become :class:`SasSyntaxError` with
line, column and the expected tokens in words; the caller reports them and skips the step.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import ast as A
from .lexer import Statement, split_statements

START_RULES = [
    "expr", "data_stmt", "set_stmt", "by_stmt", "assign_stmt", "sum_stmt", "if_stmt", "else_stmt",
    "do_stmt", "select_stmt", "when_stmt", "otherwise_stmt", "retain_stmt", "length_stmt",
    "varlist_stmt", "rename_stmt", "format_stmt", "label_stmt", "array_stmt", "call_stmt",
    "put_stmt", "input_stmt", "infile_stmt", "where_stmt", "output_stmt", "simple_kw",
    "delete_only", "datalines_stmt", "run_stmt", "gen_stmt", "proc_stmt", "model_stmt", "dsref",
    "varlist",
]


def _grammar_text() -> str:
    try:
        return resources.files("sasglm.grammar").joinpath("sas.lark").read_text()
    except (ModuleNotFoundError, FileNotFoundError):
        here = Path(__file__).resolve().parent.parent / "grammar" / "sas.lark"
        return here.read_text()


@functools.lru_cache(maxsize=1)
def get_parser() -> Lark:
    return Lark(_grammar_text(), parser="lalr", lexer="contextual", start=START_RULES,
                propagate_positions=True, maybe_placeholders=True, cache=False)


class SasSyntaxError(Exception):
    def __init__(self, message: str, line: int, col: int, expected: list[str] | None = None):
        super().__init__(message)
        self.message, self.line, self.col, self.expected = message, line, col, expected or []


_TERM_WORDS = {
    "NAME": "a name", "OPTNAME": "a name", "NUMBER": "a numeric constant", "STRING": "a quoted string",
    "MISSING": "a missing value", "LPAR": "(", "RPAR": ")", "SEMICOLON": ";", "EQUAL": "=",
    "COMMA": ",", "SLASHTOK": "/", "ADD_OP": "+", "MUL_OP": "*", "CMP_OP": "a comparison operator",
    "FORMAT": "a format name", "LSQB": "[", "RSQB": "]", "LBRACE": "{", "RBRACE": "}",
    "DOLLAR": "$", "AND_OP": "AND", "OR_OP": "OR", "CONCAT": "||", "POW": "**", "COLON": ":",
    "DOT": ".", "$END": "end of statement", "PREFIX_OP": "an operator", "GOP": "an operator",
    "MINUS": "-", "STAR": "*", "FIRSTLAST": "a FIRST./LAST. variable", "IN_KW": "IN",
    "TO_KW": "TO", "BY_KW": "BY", "WHILE_KW": "WHILE", "UNTIL_KW": "UNTIL", "OF_KW": "OF",
}


def _describe_expected(expected) -> list[str]:
    words = []
    for t in sorted(expected):
        w = _TERM_WORDS.get(t)
        if w is None:
            if t.startswith("__ANON") or t.endswith("_KW"):
                w = t.replace("_KW", "")
            elif re.fullmatch(r"[A-Z]+", t):
                w = t
            else:
                w = t.lower()
        if w not in words:
            words.append(w)
    return words


def _first_token_text(text: str) -> str:
    m = re.match(r"\s*(\S+)", text)
    return m.group(1) if m else ""


def parse_statement_text(text: str, start: str, line: int = 1, col: int = 1):
    """Parse ``text`` with start rule ``start``; positions are shifted to (line, col)."""
    try:
        tree = get_parser().parse(text, start=start)
    except UnexpectedInput as e:
        eline = getattr(e, "line", 1) or 1
        ecol = getattr(e, "column", 1) or 1
        if isinstance(e, UnexpectedEOF) or (isinstance(e, UnexpectedToken) and e.token.type == "$END"):
            lines = text.split("\n")
            eline, ecol = len(lines), len(lines[-1]) + 1
        abs_line = line + eline - 1
        abs_col = ecol + (col - 1 if eline == 1 else 0)
        if isinstance(e, UnexpectedCharacters):
            ch = text[e.pos_in_stream] if e.pos_in_stream < len(text) else ""
            expected = _describe_expected(e.allowed or [])
            raise SasSyntaxError(f"Syntax error at '{ch}'", abs_line, abs_col, expected) from None
        if isinstance(e, UnexpectedToken):
            tok = e.token
            val = "end of statement" if tok.type == "$END" else f"'{tok}'"
            expected = _describe_expected(e.expected or [])
            raise SasSyntaxError(f"Syntax error at {val}", abs_line, abs_col, expected) from None
        raise SasSyntaxError("Syntax error: statement ended early", abs_line, abs_col,
                             _describe_expected(getattr(e, "expected", []) or [])) from None
    try:
        return ToAst(line, col, text).transform(tree)
    except VisitError as e:
        if isinstance(e.orig_exc, SasSyntaxError):
            raise e.orig_exc from None
        raise


def _num(tok: str) -> float:
    return float(tok)


def _unquote(tok: str) -> tuple[str, str]:
    """Return (string value, suffix) for a SAS string token."""
    q = tok[0]
    end = tok.rfind(q)
    body = tok[1:end].replace(q + q, q)
    return body, tok[end + 1:].lower()


class ToAst(Transformer):
    def __init__(self, line: int, col: int, text: str):
        super().__init__(visit_tokens=False)
        self.l0, self.c0, self.text = line, col, text

    # position helpers -----------------------------------------------------------------
    def _pos(self, meta_or_tok) -> dict:
        ln = getattr(meta_or_tok, "line", None)
        cl = getattr(meta_or_tok, "column", None)
        if ln is None:
            return {"line": self.l0, "col": self.c0}
        return {"line": self.l0 + ln - 1, "col": cl + (self.c0 - 1 if ln == 1 else 0)}

    def __default__(self, data, children, meta):
        raise NotImplementedError(f"grammar rule {data} has no AST mapping")

    # expressions ---------------------------------------------------------------------
    @v_args(meta=True)
    def number(self, meta, ch):
        return A.Num(_num(ch[0]), str(ch[0]), **self._pos(meta))

    @v_args(meta=True)
    def fmtlit(self, meta, ch):
        return A.FmtLit(str(ch[0]), **self._pos(meta))

    @v_args(meta=True)
    def neg_number(self, meta, ch):
        return A.Num(-_num(ch[0]), **self._pos(meta))

    @v_args(meta=True)
    def missing(self, meta, ch):
        return A.Missing(str(ch[0]).upper(), **self._pos(meta))

    @v_args(meta=True)
    def string(self, meta, ch):
        body, suffix = _unquote(str(ch[0]))
        pos = self._pos(meta)
        if suffix in ("d", "t", "dt"):
            from .datastep.formats import parse_date_literal
            value = parse_date_literal(body, suffix)
            if value is None:
                raise SasSyntaxError(f"Invalid date/time/datetime constant {ch[0]}.", pos["line"], pos["col"])
            return A.Num(value, **pos)
        if suffix == "n":
            return A.Var(body, **pos)
        if suffix == "x":
            try:
                return A.Str(bytes.fromhex(body).decode("latin-1"), **pos)
            except ValueError:
                raise SasSyntaxError(f"Invalid hexadecimal constant {ch[0]}.", pos["line"], pos["col"])
        return A.Str(body, **pos)

    @v_args(meta=True)
    def firstlast(self, meta, ch):
        which, name = str(ch[0]).split(".", 1)
        return A.FirstLast(which.lower(), name, **self._pos(meta))

    @v_args(meta=True)
    def var(self, meta, ch):
        return A.Var(str(ch[0]), **self._pos(meta))

    @v_args(meta=True)
    def call(self, meta, ch):
        args = ch[1] if len(ch) > 1 and ch[1] is not None else []
        return A.Call(str(ch[0]).lower(), args, **self._pos(meta))

    def arglist(self, ch):
        return list(ch)

    @v_args(meta=True)
    def of_list(self, meta, ch):
        return A.OfList(list(ch[1:]), **self._pos(meta))

    def of_range(self, ch):
        return ("range", str(ch[0]), str(ch[1]))

    def of_range2(self, ch):
        return ("range2", str(ch[0]), str(ch[1]))

    def of_array(self, ch):
        return ("array", str(ch[0]))

    def of_prefix(self, ch):
        return ("prefix", str(ch[0]))

    def of_name(self, ch):
        return ("name", str(ch[0]))

    @v_args(meta=True)
    def unary(self, meta, ch):
        op = str(ch[0]).lower()
        if op in ("^", "~", "¬"):
            op = "not"
        return A.Unary(op, ch[1], **self._pos(meta))

    def _binchain(self, meta, ch, normalise, at_operator=False):
        # arithmetic nodes sit at their operator, the column SAS's missing-value NOTEs give
        left = ch[0]
        i = 1
        while i < len(ch):
            op = normalise(str(ch[i]))
            where = self._pos(ch[i]) if at_operator and hasattr(ch[i], "line") else self._pos(meta)
            left = A.BinOp(op, left, ch[i + 1], **where)
            i += 2
        return left

    @v_args(meta=True)
    def or_expr(self, meta, ch):
        return self._binchain(meta, ch, lambda s: "or")

    @v_args(meta=True)
    def and_expr(self, meta, ch):
        return self._binchain(meta, ch, lambda s: "and")

    _CMP = {"^=": "ne", "~=": "ne", "¬=": "ne", "=": "eq", "<": "lt", ">": "gt", "<=": "le",
            ">=": "ge", "=:": "eqc"}

    @v_args(meta=True)
    def cmp_expr(self, meta, ch):
        return self._binchain(meta, ch, lambda s: self._CMP.get(s, s.lower()))

    @v_args(meta=True)
    def concat_expr(self, meta, ch):
        return self._binchain(meta, ch, lambda s: "||")

    @v_args(meta=True)
    def add_expr(self, meta, ch):
        return self._binchain(meta, ch, lambda s: s, True)

    @v_args(meta=True)
    def mul_expr(self, meta, ch):
        return self._binchain(meta, ch, lambda s: s, True)

    @v_args(meta=True)
    def minmax_expr(self, meta, ch):
        return self._binchain(meta, ch, lambda s: "max" if s == "<>" else "min")

    @v_args(meta=True)
    def pow_expr(self, meta, ch):
        return A.BinOp("**", ch[0], ch[2], **self._pos(ch[1] if hasattr(ch[1], "line") else meta))

    @v_args(meta=True)
    def in_expr(self, meta, ch):
        negate = len(ch) == 4
        return A.InOp(ch[0], ch[-1], negate, **self._pos(meta))

    def in_list(self, ch):
        return list(ch)

    def in_range(self, ch):
        return ("range", _num(ch[0]), _num(ch[1]))

    # variable lists ---------------------------------------------------------------------
    def varlist(self, ch):
        return [c if isinstance(c, tuple) else ("name", str(c)) for c in ch]

    def range(self, ch):
        return ("range", str(ch[0]), str(ch[1]))

    def range2(self, ch):
        return ("range2", str(ch[0]), str(ch[1]))

    def prefix(self, ch):
        return ("prefix", str(ch[0]))

    # data set references ----------------------------------------------------------------
    @v_args(meta=True)
    def dsref(self, meta, ch):
        name = ch[0]
        opts = {}
        for o in ch[1:]:
            if o is None:
                continue
            k, v = o
            opts[k] = v
        if isinstance(name, tuple) and name[0] == "path":
            return A.DsRef(None, name[1], opts, path=name[1], **self._pos(meta))
        lib, nm = name
        return A.DsRef(lib, nm, opts, **self._pos(meta))

    def dsname(self, ch):
        if len(ch) == 2:
            return (str(ch[0]), str(ch[1]))
        return (None, str(ch[0]))

    def dspath(self, ch):
        return ("path", _unquote(str(ch[0]))[0])

    def dsopt_where(self, ch):
        return ("where", ch[1])

    def dsopt_pairs(self, ch):
        key = str(ch[0]).lower()
        pairs = ch[1:]
        if key == "rename":
            return (key, [p for p in pairs if isinstance(p, tuple)])
        names = [p[0] if isinstance(p, tuple) else p for p in pairs]
        return (key, [("name", n) for n in names])

    def dsopt(self, ch):
        key = str(ch[0]).lower()
        vals = []
        for v in ch[1:]:
            if isinstance(v, tuple):            # a variable list item: x1-x5, a--b, pre:
                vals.append(v)
                continue
            s = str(v)
            if v.type == "STRING":
                vals.append(_unquote(s)[0])
            elif v.type == "NUMBER":
                vals.append(_num(s))
            else:
                vals.append(s)
        if key in ("keep", "drop"):
            return (key, [v if isinstance(v, tuple) else ("name", str(v)) for v in vals])
        return (key, vals[0] if len(vals) == 1 else vals)

    def rename_pair(self, ch):
        return (str(ch[0]), str(ch[1]))

    def bare_name(self, ch):
        return str(ch[0])

    # DATA step statements ---------------------------------------------------------------
    @v_args(meta=True)
    def data_stmt(self, meta, ch):
        outs = [c for c in ch if isinstance(c, A.DsRef)]
        return ("data", outs, self._pos(meta))

    @v_args(meta=True)
    def set_stmt(self, meta, ch):
        kind = str(ch[0]).lower()
        dss = [c for c in ch[1:] if isinstance(c, A.DsRef)]
        opts = {k: v for (k, v) in (c for c in ch[1:] if isinstance(c, tuple))}
        return A.SetStmt(kind, dss, opts, **self._pos(meta))

    def set_opt(self, ch):
        return (str(ch[0]).lower(), str(ch[1]))

    @v_args(meta=True)
    def by_stmt(self, meta, ch):
        items = [c for c in ch if isinstance(c, tuple)]
        return A.ByStmt(items, any(c == "notsorted" for c in ch), **self._pos(meta))

    def by_item(self, ch):
        if len(ch) == 2:
            return (str(ch[1]), True)
        return (str(ch[0]), False)

    def notsorted(self, ch):
        return "notsorted"

    def lhs(self, ch):
        return (str(ch[0]), None)

    def lhs_elem(self, ch):
        return (str(ch[0]), ch[1])

    @v_args(meta=True)
    def assign_stmt(self, meta, ch):
        (name, idx), value = ch
        return A.Assign(name, idx, value, **self._pos(meta))

    @v_args(meta=True)
    def sum_stmt(self, meta, ch):
        (name, idx), op, value = ch
        if str(op) == "-":
            value = A.Unary("-", value, line=value.line, col=value.col)
        return A.SumStmt(name, idx, value, **self._pos(meta))

    @v_args(meta=True)
    def if_stmt(self, meta, ch):
        cond, inner = ch
        if inner is None:
            # `if cond;` is a subsetting IF; `if cond then;` would also land here with no inner
            text_after = self.text
            if re.search(r"\bthen\s*$", text_after, re.I):
                return A.If(cond, [], None, **self._pos(meta))
            return A.If(cond, [], None, subsetting=True, **self._pos(meta))
        return A.If(cond, [inner], None, **self._pos(meta))

    @v_args(meta=True)
    def else_stmt(self, meta, ch):
        return A.Else(ch[0], **self._pos(meta))

    @v_args(meta=True)
    def delete_only(self, meta, ch):
        return A.Simple("delete", **self._pos(meta))

    @v_args(meta=True)
    def simple_kw(self, meta, ch):
        kw = str(ch[0]).lower()
        if kw == "end":
            return A.End(**self._pos(meta))
        return A.Simple(kw, **self._pos(meta))

    @v_args(meta=True)
    def output_stmt(self, meta, ch):
        return A.Output([str(c) for c in ch[1:]], **self._pos(meta))

    @v_args(meta=True)
    def do_simple(self, meta, ch):
        return A.DoBlock("simple", **self._pos(meta))

    @v_args(meta=True)
    def do_iter(self, meta, ch):
        return A.DoBlock("iter", var=str(ch[0]), specs=list(ch[1:]), **self._pos(meta))

    @v_args(meta=True)
    def do_while(self, meta, ch):
        return A.DoBlock("while", cond=ch[1], **self._pos(meta))

    @v_args(meta=True)
    def do_until(self, meta, ch):
        return A.DoBlock("until", cond=ch[1], **self._pos(meta))

    @v_args(meta=True)
    def do_over(self, meta, ch):
        return A.DoBlock("over", var=str(ch[0]), **self._pos(meta))

    @v_args(meta=True)
    def do_spec(self, meta, ch):
        # children: start, TO, stop, BY, by, WHILE, cond, UNTIL, cond (placeholders None)
        start, _to, stop, _by, by, _wh, wcond, _un, ucond = ch
        return A.DoSpec(start, stop, by, wcond, ucond, **self._pos(meta))

    @v_args(meta=True)
    def select_stmt(self, meta, ch):
        return A.Select(ch[0], **self._pos(meta))

    @v_args(meta=True)
    def when_stmt(self, meta, ch):
        return A.When(list(ch[:-1]), ch[-1], **self._pos(meta))

    @v_args(meta=True)
    def otherwise_stmt(self, meta, ch):
        return A.Otherwise(ch[0], **self._pos(meta))

    @v_args(meta=True)
    def retain_stmt(self, meta, ch):
        items: list[tuple[list[str], object]] = []
        pending: list[str] = []
        all_ = False
        for c in ch:
            kind = c[0]
            if kind == "name":
                if c[1].lower() == "_all_":
                    all_ = True
                else:
                    pending.append(c[1])
            elif kind == "range":
                pending.append(("range", c[1], c[2]))
            else:
                values = c[1] if kind == "group" else [c[1]]
                items.append((pending, values))
                pending = []
        if pending:
            items.append((pending, None))
        return A.Retain(items, all_, **self._pos(meta))

    def ret_name(self, ch):
        return ("name", str(ch[0]))

    def ret_range(self, ch):
        return ("range", str(ch[0]), str(ch[1]))

    def ret_num(self, ch):
        return ("value", _num(ch[0]))

    def ret_negnum(self, ch):
        return ("value", -_num(ch[0]))

    def ret_str(self, ch):
        return ("value", _unquote(str(ch[0]))[0])

    def ret_missing(self, ch):
        return ("value", None)

    def ret_group(self, ch):
        return ("group", [c[1] for c in ch])

    @v_args(meta=True)
    def length_stmt(self, meta, ch):
        items = [c for c in ch if c[0] != "default"]
        return A.Length(items, **self._pos(meta))

    def length_item(self, ch):
        names = [str(c) for c in ch if isinstance(c, Token) and c.type == "NAME"]
        is_char = any(isinstance(c, Token) and c.type == "DOLLAR" for c in ch)
        return (names, is_char, int(float(ch[-1])))

    def length_item_dlr(self, ch):
        names = [str(c) for c in ch[:-1]]
        return (names, True, int(float(str(ch[-1])[1:].rstrip("."))))

    def length_default(self, ch):
        return ("default", False, int(float(ch[1])))

    @v_args(meta=True)
    def varlist_stmt(self, meta, ch):
        return A.DropKeep(str(ch[0]).lower(), ch[1], **self._pos(meta))

    @v_args(meta=True)
    def rename_stmt(self, meta, ch):
        return A.Rename([c for c in ch if isinstance(c, tuple)], **self._pos(meta))

    @v_args(meta=True)
    def format_stmt(self, meta, ch):
        kind = str(ch[0]).lower()
        items = []
        pending: list[str] = []
        for t in ch[1:]:
            if t.type == "FORMAT" or (t.type == "NUMBER" and "." in str(t)):
                items.append((pending, str(t)))
                pending = []
            else:
                pending.append(str(t))
        if pending:
            items.append((pending, None))
        return A.FormatStmt(kind, items, **self._pos(meta))

    @v_args(meta=True)
    def label_stmt(self, meta, ch):
        return A.Label(list(ch), **self._pos(meta))

    def label_pair(self, ch):
        return (str(ch[0]), _unquote(str(ch[1]))[0])

    @v_args(meta=True)
    def array_stmt(self, meta, ch):
        return self._array(meta, ch)

    def _array(self, meta, ch):
        name, dims, dollar, length, names, init = ch
        temporary = False
        nm = names or []
        if any(n[0] in ("all", "name") and n[1].lower() == "_temporary_" for n in nm):
            temporary = True
            nm = [n for n in nm if not (n[0] in ("all", "name") and n[1].lower() == "_temporary_")]
        return A.ArrayStmt(str(name), dims, dollar is not None,
                           int(float(length)) if length is not None else None,
                           nm, init, temporary, **self._pos(meta))

    @v_args(meta=True)
    def array_implicit(self, meta, ch):
        name, dollar, length, names, init = ch
        return self._array(meta, [name, None, dollar, length, names, init])

    def array_dim(self, ch):
        return ch[0]

    def dimspec(self, ch):
        if not ch:
            return None
        nums = [int(float(c)) for c in ch]
        # a single number n means 1..n; pairs lo:hi are given as consecutive numbers
        return [(1, nums[0])] if len(nums) == 1 else [(nums[0], nums[1])]

    def varlist_nodollar(self, ch):
        out = []
        for c in ch:
            if isinstance(c, tuple):
                out.append(c)
            elif isinstance(c, Token) and c.type == "ALLKW":
                out.append(("all", str(c).lower()))
            else:
                out.append(("name", str(c)))
        return out

    def array_init(self, ch):
        vals = []
        for c in ch:
            if isinstance(c, Token):
                if c.type == "STRING":
                    vals.append(_unquote(str(c))[0])
                else:
                    vals.append(_num(c))
            else:
                vals.append(c)
        return vals

    def neg(self, ch):
        return -_num(ch[0])

    @v_args(meta=True)
    def call_stmt(self, meta, ch):
        return A.CallStmt(str(ch[0]).lower(), ch[1] or [], **self._pos(meta))

    @v_args(meta=True)
    def put_stmt(self, meta, ch):
        return A.Put(list(ch), **self._pos(meta))

    def put_str(self, ch):
        return ("str", _unquote(str(ch[0]))[0])

    def put_var(self, ch):
        return ("var", str(ch[0]), str(ch[1]) if ch[1] is not None else None)

    def put_vareq(self, ch):
        return ("vareq", str(ch[0]))

    def put_ptr(self, ch):
        return ("ptr", str(ch[0]).lower())

    def put_all(self, ch):
        return ("all", str(ch[0]).lower())

    def put_newline(self, ch):
        return ("newline",)

    def put_col(self, ch):
        return ("col", int(float(ch[0])))

    def put_skip(self, ch):
        return ("skip", int(float(ch[0])))

    @v_args(meta=True)
    def input_stmt(self, meta, ch):
        return A.Input(list(ch), **self._pos(meta))

    def in_var(self, ch):
        name, dollar, fmt = ch
        return ("var", str(name), dollar is not None, fmt)

    def in_range_list(self, ch):
        a, b, dollar, fmt = ch
        return ("varrange", str(a), str(b), dollar is not None, fmt)

    def in_group(self, ch):
        return ("group", [str(c) for c in ch[:-1]], str(ch[-1]))

    def in_column(self, ch):
        name, dollar, a, b = ch
        return ("column", str(name), dollar is not None, int(float(a)), int(float(b)))

    def in_column1(self, ch):
        name, dollar, a = ch
        if "." in str(a):
            return ("var", str(name), dollar is not None, ("formatted", ("$" if dollar else "") + str(a)))
        return ("column", str(name), dollar is not None, int(float(a)), int(float(a)))

    def in_at(self, ch):
        return ("at", int(float(ch[0])))

    def in_plus(self, ch):
        return ("plus", int(float(ch[0])))

    def in_hold1(self, ch):
        return ("hold1",)

    def in_hold2(self, ch):
        return ("hold2",)

    def in_slash(self, ch):
        return ("slash",)

    def input_fmt(self, ch):
        s = str(ch[0])
        if s.startswith(":"):
            return ("modified", s[1:].strip())
        return ("formatted", s)

    @v_args(meta=True)
    def infile_stmt(self, meta, ch):
        src = ch[0]
        is_ref = src.type == "NAME"
        source = str(src) if is_ref else _unquote(str(src))[0]
        opts = {}
        for o in ch[1:]:
            opts[o[0]] = o[1]
        return A.Infile(source, is_ref, opts, **self._pos(meta))

    def infile_opt(self, ch):
        v = ch[1]
        if v.type == "STRING":
            val = _unquote(str(v))[0]
        elif v.type == "NUMBER":
            val = _num(v)
        else:
            val = str(v)
        return (str(ch[0]).lower(), val)

    def infile_flag(self, ch):
        return (str(ch[0]).lower(), True)

    @v_args(meta=True)
    def where_stmt(self, meta, ch):
        return A.Where(ch[0], **self._pos(meta))

    def datalines_stmt(self, ch):
        return ("datalines", str(ch[0]).lower())

    def run_stmt(self, ch):
        return ("run",)

    # generic statements ---------------------------------------------------------------
    def _raw(self, meta) -> str:
        try:
            return self.text[meta.start_pos:meta.end_pos]
        except Exception:
            return ""

    @v_args(meta=True)
    def gen_stmt(self, meta, ch):
        keyword = str(ch[0]).lower()
        rest = ch[1:]
        if any(isinstance(c, Token) and c.type == "SLASHTOK" for c in rest):
            i = next(i for i, c in enumerate(rest) if isinstance(c, Token) and c.type == "SLASHTOK")
            items, opts = list(rest[:i]), list(rest[i + 1:])
        else:
            items = [c for c in rest if c is not None]
            opts = None
        items = [c for c in items if c is not None]
        return A.GenStmt(keyword, items, opts, self.text, **self._pos(meta))

    @v_args(meta=True)
    def proc_stmt(self, meta, ch):
        return A.GenStmt(str(ch[0]).lower(), list(ch[1:]), None, self.text, **self._pos(meta))

    @v_args(meta=True)
    def model_stmt(self, meta, ch):
        response = ch[0]
        rest = ch[1:]
        slash = next((i for i, c in enumerate(rest) if isinstance(c, Token) and c.type == "SLASHTOK"), None)
        if slash is None:
            effects, opts = [c for c in rest if c is not None], None
        else:
            effects, opts = [c for c in rest[:slash] if c is not None], [c for c in rest[slash + 1:] if c is not None]
        return A.ModelStmt(response, effects, opts, self.text, **self._pos(meta))

    def resp_opts(self, ch):
        return ("var", str(ch[0]), list(ch[1:]))

    def resp_et(self, ch):
        return ("events", str(ch[0]), str(ch[2]))

    def response(self, ch):
        return ("var", str(ch[0]), [])

    def resp_plain(self, ch):
        return ("var", str(ch[0]), [])

    @v_args(meta=True)
    def gopt(self, meta, ch):
        return A.Opt(str(ch[0]).lower(), ch[1], **self._pos(meta))

    @v_args(meta=True)
    def gcall(self, meta, ch):
        # name(items / options), as in EFFECT spl = spline(x / details): the slash is kept as an operator word
        items = [A.Word("op", "/", line=c.line, col=c.column) if isinstance(c, Token) and c.type == "SLASHTOK" else c
                 for c in ch[1:]]
        return A.Group(str(ch[0]), items, self._raw(meta), **self._pos(meta))

    @v_args(meta=True)
    def ggroup(self, meta, ch):
        raw = self._raw(meta)
        return A.Group(None, list(ch), raw, **self._pos(meta))

    @v_args(meta=True)
    def gbracket(self, meta, ch):
        """[coefficient, levels ...]: the nonpositional coefficient syntax of ESTIMATE, CONTRAST, LSMESTIMATE."""
        return A.Group("[", list(ch), self._raw(meta), **self._pos(meta))

    @v_args(meta=True)
    def gname(self, meta, ch):
        return A.Word("name", str(ch[0]), **self._pos(meta))

    @v_args(meta=True)
    def gdotted(self, meta, ch):
        return A.Word("dotted", f"{ch[0]}.{ch[1]}", **self._pos(meta))

    @v_args(meta=True)
    def gnumber(self, meta, ch):
        return A.Word("number", _num(ch[0]), **self._pos(meta))

    @v_args(meta=True)
    def gnegnumber(self, meta, ch):
        return A.Word("number", -_num(ch[0]), **self._pos(meta))

    @v_args(meta=True)
    def gmissing(self, meta, ch):
        return A.Word("missing", str(ch[0]), **self._pos(meta))

    @v_args(meta=True)
    def gstring(self, meta, ch):
        return A.Word("string", _unquote(str(ch[0]))[0], **self._pos(meta))

    @v_args(meta=True)
    def gop(self, meta, ch):
        return A.Word("op", str(ch[0]), **self._pos(meta))

    @v_args(meta=True)
    def gformat(self, meta, ch):
        return A.Word("format", str(ch[0]), **self._pos(meta))


# --------------------------------------------------------------------------- statement dispatch
DATA_KEYWORDS = {
    "set": "set_stmt", "merge": "set_stmt", "update": "set_stmt", "by": "by_stmt", "if": "if_stmt",
    "else": "else_stmt", "do": "do_stmt", "select": "select_stmt", "when": "when_stmt",
    "otherwise": "otherwise_stmt", "retain": "retain_stmt", "length": "length_stmt",
    "drop": "varlist_stmt", "keep": "varlist_stmt", "rename": "rename_stmt",
    "format": "format_stmt", "informat": "format_stmt", "label": "label_stmt",
    "array": "array_stmt", "call": "call_stmt", "put": "put_stmt", "input": "input_stmt",
    "infile": "infile_stmt", "where": "where_stmt", "output": "output_stmt",
    "delete": "delete_only", "stop": "simple_kw", "return": "simple_kw", "leave": "simple_kw",
    "continue": "simple_kw", "end": "simple_kw", "abort": "simple_kw",
    "datalines": "datalines_stmt", "cards": "datalines_stmt", "lines": "datalines_stmt",
    "datalines4": "datalines_stmt", "cards4": "datalines_stmt", "lines4": "datalines_stmt",
    "run": "run_stmt", "quit": "run_stmt", "data": "data_stmt",
}

GLOBAL_KEYWORDS = {"libname", "title", "footnote", "options", "ods", "filename", "x", "endsas",
                   "goptions", "dm", "systask", "ods", "missing", "footnote"}
for _i in range(1, 11):
    GLOBAL_KEYWORDS.add(f"title{_i}")
    GLOBAL_KEYWORDS.add(f"footnote{_i}")


def _followed_by_assign(text: str) -> bool:
    m = re.match(r"\s*[A-Za-z_][A-Za-z0-9_]*\s*(=(?!=)|\+)", text)
    if not m:
        return False
    # `if x = 1` vs `if = 1`: only an assignment when '=' comes right after the first word
    return m.group(1) == "="


def parse_data_statement(st: Statement):
    word = st.first_word
    rule = DATA_KEYWORDS.get(word)
    if rule and not _followed_by_assign(st.text):
        return parse_statement_text(st.text, rule, st.line, st.col)
    # assignment or sum statement
    if re.match(r"\s*[A-Za-z_][A-Za-z0-9_]*\s*(\[[^\]]*\]|\{[^}]*\}|\([^)]*\))?\s*\+", st.text) and \
            not re.match(r"\s*[A-Za-z_][A-Za-z0-9_]*\s*(\[[^\]]*\]|\{[^}]*\}|\([^)]*\))?\s*=", st.text):
        return parse_statement_text(st.text, "sum_stmt", st.line, st.col)
    return parse_statement_text(st.text, "assign_stmt", st.line, st.col)


def parse_proc_statement(st: Statement):
    if st.first_word == "model" and not _followed_by_assign(st.text):
        return parse_statement_text(st.text, "model_stmt", st.line, st.col)
    if st.first_word == "where":
        return parse_statement_text(st.text, "where_stmt", st.line, st.col)
    if st.first_word in ("run", "quit"):
        return ("run",)
    return parse_statement_text(st.text, "gen_stmt", st.line, st.col)


# --------------------------------------------------------------------------- step grouping
@dataclass
class RawStep:
    """A step as a list of statements, before statement parsing (so errors stay per step)."""
    kind: str                       # 'data' | 'proc' | 'global' | 'stray'
    statements: list[Statement]
    ended: bool = False             # ended by RUN/QUIT (vs the next step boundary or EOF)
    globals_inside: list[Statement] = field(default_factory=list)

    @property
    def line(self) -> int:
        return self.statements[0].line if self.statements else 0


def group_steps(stmts: list[Statement]) -> list[RawStep]:
    steps: list[RawStep] = []
    cur: RawStep | None = None
    for st in stmts:
        w = st.first_word
        if w in ("data", "proc") and not _followed_by_assign(st.text):
            if cur is not None:
                steps.append(cur)
            cur = RawStep(w, [st])
            continue
        if (w in GLOBAL_KEYWORDS and not re.match(r"\s*\w+\s*[=+(\[{]", st.text)) or w.startswith("%"):
            if cur is not None:
                # a global inside a step takes effect when met, before the step runs
                cur.globals_inside.append(st)
            steps.append(RawStep("global", [st]))
            continue
        if w in ("run", "quit") and not _followed_by_assign(st.text):
            if cur is not None:
                cur.statements.append(st)
                cur.ended = True
                steps.append(cur)
                cur = None
            # a RUN with no open step is ignored, as SAS does
            continue
        if cur is None:
            steps.append(RawStep("stray", [st]))
            continue
        cur.statements.append(st)
        if st.datalines is not None and cur.kind == "data":
            cur.ended = True
            steps.append(cur)
            cur = None
    if cur is not None:
        steps.append(cur)
    return steps


def split_program(source: str, first_line: int = 1):
    stmts, errors = split_statements(source, first_line)
    return group_steps(stmts), errors
