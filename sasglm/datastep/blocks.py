"""Turn the flat statement list of a DATA step into nested blocks: DO ... END, IF/ELSE chains,
SELECT/WHEN/OTHERWISE ... END."""
from __future__ import annotations

from .. import ast as A
from ..errors import SasError


def _attach_else(out: list, st: A.Else):
    if not out or not isinstance(out[-1], A.If) or out[-1].subsetting:
        raise SasError("No matching IF-THEN clause.", st.line, st.col, code="160-185")
    node = out[-1]
    while node.orelse and len(node.orelse) == 1 and isinstance(node.orelse[0], A.If) and \
            node.orelse[0]._open_else:  # type: ignore[attr-defined]
        node = node.orelse[0]
    node.orelse = [st.body] if st.body is not None else []
    node._open_else = False  # type: ignore[attr-defined]
    if isinstance(st.body, A.If) and not st.body.subsetting:
        st.body._open_else = True  # type: ignore[attr-defined]
        node._open_else = True  # type: ignore[attr-defined]


def build_blocks(stmts: list) -> list:
    """Nest DO/SELECT blocks and attach ELSE clauses.  Raises SasError on mismatches."""
    pos = 0

    def block(until_end: bool, opener=None) -> list:
        nonlocal pos
        out: list = []
        while pos < len(stmts):
            st = stmts[pos]
            pos += 1
            if isinstance(st, A.End):
                if until_end:
                    return out
                raise SasError("There is no matching DO/SELECT statement for this END statement.",
                               st.line, st.col, code="161-185")
            out_st = expand(st)
            if isinstance(out_st, A.Else):
                _attach_else(out, out_st)
                continue
            if isinstance(out_st, A.If) and not out_st.subsetting:
                out_st._open_else = True  # type: ignore[attr-defined]
            out.append(out_st)
        if until_end:
            raise SasError(f"There were 1 unclosed {'DO' if isinstance(opener, A.DoBlock) else 'SELECT'} blocks.",
                           opener.line, opener.col, code="117-185")
        return out

    def expand(st):
        """Fill the body of DO blocks (also when they follow THEN / ELSE / WHEN)."""
        if isinstance(st, A.DoBlock):
            st.body = block(True, st)
            return st
        if isinstance(st, A.If):
            if st.then:
                st.then = [expand(st.then[0])]
            return st
        if isinstance(st, A.Else):
            if st.body is not None:
                st.body = expand(st.body)
            return st
        if isinstance(st, A.Select):
            return select_block(st)
        return st

    def select_block(sel: A.Select):
        nonlocal pos
        while pos < len(stmts):
            st = stmts[pos]
            pos += 1
            if isinstance(st, A.End):
                return sel
            if isinstance(st, A.When):
                body = [expand(st.body)] if st.body is not None else []
                sel.whens.append((st.values, body))
            elif isinstance(st, A.Otherwise):
                sel.otherwise = [expand(st.body)] if st.body is not None else []
            else:
                raise SasError("Statement is not valid inside a SELECT group; expecting WHEN, OTHERWISE or END.",
                               st.line, st.col, code="180-322")
        raise SasError("There were 1 unclosed SELECT blocks.", sel.line, sel.col, code="117-185")

    return block(False)
