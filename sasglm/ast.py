"""Typed syntax tree for SAS programs.  Every node carries the line and column of its source."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Node:
    line: int = field(default=0, kw_only=True)
    col: int = field(default=0, kw_only=True)


# ------------------------------------------------------------------ expressions
@dataclass
class Num(Node):
    value: float
    text: str = ""


@dataclass
class FmtLit(Node):
    value: str


@dataclass
class Str(Node):
    value: str


@dataclass
class Missing(Node):
    kind: str = "."          # '.', '._', '.A' ... '.Z'


@dataclass
class Var(Node):
    name: str


@dataclass
class FirstLast(Node):
    which: str               # 'first' | 'last'
    name: str


@dataclass
class Call(Node):
    name: str
    args: list[Any]


@dataclass
class OfList(Node):
    items: list[tuple]       # ('name', n) | ('range', a, b) | ('range2', a, b) | ('array', a) | ('prefix', p)


@dataclass
class Unary(Node):
    op: str
    operand: Any


@dataclass
class BinOp(Node):
    op: str
    left: Any
    right: Any


@dataclass
class InOp(Node):
    operand: Any
    values: list[Any]        # Num/Str/Missing/('range', lo, hi)
    negate: bool = False


# ------------------------------------------------------------------ data set references
@dataclass
class DsRef(Node):
    libref: str | None
    name: str
    options: dict[str, Any] = field(default_factory=dict)
    path: str | None = None   # quoted physical path

    @property
    def display(self) -> str:
        return f"{(self.libref or 'WORK').upper()}.{self.name.upper()}"


# ------------------------------------------------------------------ DATA step statements
@dataclass
class Assign(Node):
    target: str
    index: Any
    value: Any


@dataclass
class SumStmt(Node):
    target: str
    index: Any
    value: Any


@dataclass
class If(Node):
    cond: Any
    then: list[Any]
    orelse: list[Any] | None = None
    subsetting: bool = False


@dataclass
class Else(Node):            # transient: merged into If by the block builder
    body: Any


@dataclass
class DoBlock(Node):
    kind: str                # 'simple' | 'iter' | 'while' | 'until' | 'over'
    var: str | None = None
    specs: list[Any] = field(default_factory=list)   # DoSpec list for iterative
    cond: Any = None
    body: list[Any] = field(default_factory=list)


@dataclass
class DoSpec(Node):
    start: Any
    stop: Any = None
    by: Any = None
    while_: Any = None
    until: Any = None


@dataclass
class Select(Node):
    operand: Any
    whens: list[tuple[list[Any], list[Any]]] = field(default_factory=list)
    otherwise: list[Any] | None = None


@dataclass
class When(Node):            # transient
    values: list[Any]
    body: Any


@dataclass
class Otherwise(Node):       # transient
    body: Any


@dataclass
class End(Node):             # transient
    pass


@dataclass
class Output(Node):
    targets: list[str]


@dataclass
class Simple(Node):
    kind: str                # 'delete' | 'stop' | 'return' | 'leave' | 'continue' | 'abort'


@dataclass
class SetStmt(Node):
    kind: str                # 'set' | 'merge' | 'update'
    datasets: list[DsRef]
    options: dict[str, str]


@dataclass
class ByStmt(Node):
    items: list[tuple[str, bool]]    # (name, descending)
    notsorted: bool = False


@dataclass
class Retain(Node):
    items: list[tuple[list[str], Any]]   # (names, initial value or None)
    all_: bool = False


@dataclass
class Length(Node):
    items: list[tuple[list[str], bool, int]]   # (names, is_char, length)


@dataclass
class DropKeep(Node):
    kind: str
    names: list[Any]


@dataclass
class Rename(Node):
    pairs: list[tuple[str, str]]


@dataclass
class FormatStmt(Node):
    kind: str                # 'format' | 'informat'
    items: list[tuple[list[str], str | None]]


@dataclass
class Label(Node):
    pairs: list[tuple[str, str]]


@dataclass
class ArrayStmt(Node):
    name: str
    dims: list[tuple[int, int]] | None     # None for '*'
    is_char: bool
    length: int | None
    names: list[Any]
    init: list[Any] | None
    temporary: bool = False


@dataclass
class CallStmt(Node):
    name: str
    args: list[Any]


@dataclass
class Put(Node):
    items: list[tuple]


@dataclass
class Input(Node):
    items: list[tuple]


@dataclass
class Infile(Node):
    source: str
    is_fileref: bool
    options: dict[str, Any]


@dataclass
class Where(Node):
    cond: Any


@dataclass
class DataStep(Node):
    outputs: list[DsRef]
    statements: list[Any]
    datalines: list[str] | None = None
    source_text: str = ""
    datalines_line: int | None = None    # program line of the first in-stream record


# ------------------------------------------------------------------ PROC and global statements
@dataclass
class Opt(Node):
    key: str
    value: Any


@dataclass
class Group(Node):
    name: str | None          # None for a bare parenthesised group
    items: list[Any]
    raw: str = ""


@dataclass
class Word(Node):
    kind: str                 # 'name' | 'number' | 'string' | 'op' | 'format' | 'missing' | 'dotted'
    value: Any

    def __str__(self):
        return str(self.value)


@dataclass
class GenStmt(Node):
    keyword: str
    items: list[Any]
    options: list[Any] | None     # items after '/', None when no slash
    text: str = ""


@dataclass
class ModelStmt(Node):
    response: Any            # ('var', name, opts) | ('events', events, trials)
    effects: list[Any]
    options: list[Any] | None
    text: str = ""


@dataclass
class ProcStep(Node):
    name: str
    options: list[Any]
    statements: list[Any]
    text: str = ""
    program: list[Any] = field(default_factory=list)   # GLIMMIX programming statements (DATA-step nodes)
    program_text: str = ""


@dataclass
class GlobalStmt(Node):
    keyword: str
    stmt: GenStmt
    text: str = ""
