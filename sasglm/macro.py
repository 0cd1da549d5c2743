"""The SAS macro facility: a text-level stage between the source and the parser.

The interpreter scans text, executes macro statements (%LET %PUT %GLOBAL %LOCAL %IF/%THEN/%ELSE %DO
loops %MACRO/%MEND %INCLUDE %RETURN), resolves &references and macro function calls (%EVAL %SYSEVALF
%STR %NRSTR %QUOTE %BQUOTE %NRBQUOTE %SUPERQ %UNQUOTE %SCAN %QSCAN %SUBSTR %QSUBSTR %UPCASE %QUPCASE
%LOWCASE %LENGTH %INDEX %SYSFUNC %QSYSFUNC %SYMEXIST %CMPRES %LEFT %TRIM), invokes user macros, and
*emits* the generated SAS code to a feeder.  The feeder runs each step as soon as it is complete, so
macro code after a step sees what the step did (CALL SYMPUT, SYSLAST), as in SAS.  Single-quoted
strings, comments and DATALINES are copied without resolution.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_DEPTH = 50
QUOTING = {"str", "nrstr", "quote", "nrquote", "bquote", "nrbquote", "superq", "unquote"}
FUNCS = QUOTING | {"eval", "sysevalf", "scan", "qscan", "substr", "qsubstr", "upcase", "qupcase", "lowcase",
                   "qlowcase", "length", "index", "sysfunc", "qsysfunc", "symexist", "cmpres", "qcmpres", "left",
                   "qleft", "trim", "qtrim", "sysget", "symglobl", "symlocal", "sysexec"}
STATEMENTS = {"let", "put", "global", "local", "if", "do", "end", "else", "then", "macro", "mend", "include",
              "inc", "return", "abort", "goto", "to", "by", "while", "until", "symdel"}


class MacroError(Exception):
    def __init__(self, message, line=None):
        super().__init__(message)
        self.message, self.line = message, line


class _Return(Exception):
    pass


@dataclass
class MacroDef:
    name: str
    params: list                     # [(name, default or None, keyword?)]
    body: str
    line: int


@dataclass
class Frame:
    name: str
    scope: dict = field(default_factory=dict)
    line: int = 0


class MacroProcessor:
    def __init__(self, session):
        self.session = session
        self.macros: dict[str, MacroDef] = {}
        self.frames: list[Frame] = []
        now = _dt.datetime.now()
        self.automatic = {
            "sysdate9": now.strftime("%d%b%Y").upper(), "sysdate": now.strftime("%d%b%y").upper(),
            "sysday": now.strftime("%A"), "systime": now.strftime("%H:%M"), "sysver": "9.4",
            "sysscp": "LIN X64", "sysuserid": "sasglm", "sysmacroname": "", "sysinfo": "0",
        }

    @property
    def log(self):
        return self.session.log

    def opt(self, name) -> bool:
        return bool(self.session.options.get(name))

    # ------------------------------------------------------------------ symbol tables
    def lookup(self, name: str) -> str | None:
        key = name.lower()
        for fr in reversed(self.frames):
            if key in fr.scope:
                return fr.scope[key]
        v = self.session.macro_vars.get(key)
        if v is not None:
            return v
        if key == "syslast":
            return self.session.last_dataset or "_NULL_"
        if key == "syserr":
            return "0" if self.session.log.errors == 0 else "3000"
        if key == "syscc":
            return str(self.session.syscc)
        if key == "sysmacroname":
            return self.frames[-1].name.upper() if self.frames else ""
        return self.automatic.get(key)

    def assign(self, name: str, value: str) -> None:
        key = name.lower()
        for fr in reversed(self.frames):
            if key in fr.scope:
                fr.scope[key] = value
                return
        if key in self.session.macro_vars or not self.frames:
            self.session.macro_vars[key] = value
            return
        self.frames[-1].scope[key] = value

    # ------------------------------------------------------------------ entry point
    def run_open_code(self, source: str, feeder, line: int = 1) -> None:
        try:
            self.execute(source, feeder.feed, line, open_code=True)
        except MacroError as e:
            where = f"Line {e.line}: " if e.line else ""
            self.log.error(where + e.message)
        except _Return:
            pass

    # ------------------------------------------------------------------ the interpreter
    def execute(self, text: str, emit, line: int, open_code: bool = False) -> None:
        i, n = 0, len(text)
        stmt_start = True
        while i < n:
            c = text[i]
            if c == "\n":
                line += 1
                emit(c)
                i += 1
                continue
            if text.startswith("/*", i):
                j = text.find("*/", i + 2)
                j = n if j < 0 else j + 2
                seg = text[i:j]
                emit(seg)
                line += seg.count("\n")
                i = j
                continue
            if c == "'":
                j = _end_quote(text, i, "'")
                seg = text[i:j]
                emit(seg)
                line += seg.count("\n")
                i = j
                stmt_start = False
                continue
            if c == '"':
                j = _end_quote(text, i, '"')
                seg = text[i:j]
                emit(self.resolve_text(seg, line))
                line += seg.count("\n")
                i = j
                stmt_start = False
                continue
            if stmt_start and c == "*" and open_code is not None:
                j = text.find(";", i)
                j = n if j < 0 else j + 1
                seg = text[i:j]
                emit(seg)
                line += seg.count("\n")
                i = j
                continue
            if c == "%":
                if text.startswith("%*", i):
                    j = text.find(";", i)
                    j = n if j < 0 else j + 1
                    line += text[i:j].count("\n")
                    emit(re.sub(r"[^\n]", " ", text[i:j]))
                    i = j
                    continue
                m = _NAME.match(text, i + 1)
                if m:
                    word = m.group(0).lower()
                    j = self.macro_keyword(word, text, i, m.end(), emit, line, open_code)
                    if j is not None:
                        line += text[i:j].count("\n")
                        i = j
                        stmt_start = True
                        continue
                emit(c)
                i += 1
                stmt_start = False
                continue
            if c == "&":
                j = i
                while j < n and text[j] == "&":
                    j += 1
                m = _NAME.match(text, j)
                if m:
                    end = m.end()
                    if end < n and text[end] == ".":
                        end += 1
                    # &&x&i style: keep consuming &-references and names that are glued together
                    while end < n and (text[end] == "&" or (text[end - 1] == "." and False)):
                        m2 = _NAME.match(text, end + 1 + (text[end + 1:end + 2] == "&"))
                        if not m2:
                            break
                        end = m2.end()
                        if end < n and text[end] == ".":
                            end += 1
                    emit(self.resolve_text(text[i:end], line))
                    i = end
                    stmt_start = False
                    continue
            if c == ";":
                emit(c)
                i += 1
                stmt_start = True
                if open_code is not None:
                    j = self._datalines(text, i, emit)
                    if j is not None:
                        line += text[i:j].count("\n")
                        i = j
                continue
            if not c.isspace():
                stmt_start = False
            emit(c)
            i += 1

    def _datalines(self, text, i, emit):
        """After 'datalines;' (or cards;, datalines4;) copy the data lines raw."""
        back = text[max(0, i - 40):i]
        m = re.search(r"(?:^|[;\s])(datalines4|cards4|lines4|datalines|cards|lines)\s*;$", back, re.I)
        if not m:
            return None
        four = m.group(1).endswith("4")
        nl = text.find("\n", i)
        if nl < 0:
            return None
        j = nl + 1
        emit(text[i:j])
        while j < len(text):
            e = text.find("\n", j)
            e = len(text) if e < 0 else e + 1
            raw = text[j:e]
            emit(raw)
            j = e
            if (four and raw.strip().startswith(";;;;")) or (not four and ";" in raw):
                break
        return j

    # ------------------------------------------------------------------ keywords
    def macro_keyword(self, word, text, start, after, emit, line, open_code):
        """Handle %word at text[start]; return the index after the construct, or None to keep it as text."""
        if word == "let":
            j = _to_semicolon(text, after)
            body = text[after:j]
            m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$", body, re.S)
            if not m:
                raise MacroError("Expecting a variable name after %LET.", line)
            value = self.evaluate_text(m.group(2), line).strip()
            self.assign(m.group(1), value)
            if self.opt("symbolgen"):
                pass
            return j + 1
        if word == "put":
            j = _to_semicolon(text, after)
            self._put(text[after:j], line)
            return j + 1
        if word in ("global", "local"):
            j = _to_semicolon(text, after)
            for name in text[after:j].split():
                key = name.lower()
                if word == "local" and self.frames:
                    self.frames[-1].scope.setdefault(key, "")
                elif word == "global":
                    if self.frames and any(key in f.scope for f in self.frames):
                        raise MacroError(f"Attempt to %GLOBAL a name ({name.upper()}) which exists in a local "
                                         "environment.", line)
                    self.session.macro_vars.setdefault(key, "")
            return j + 1
        if word == "macro":
            return self._define(text, start, after, line)
        if word == "mend":
            raise MacroError("There is no matching %MACRO statement for this %MEND statement.", line)
        if word == "if":
            return self._if(text, after, emit, line, open_code)
        if word == "do":
            return self._do(text, after, emit, line, open_code)
        if word == "end":
            raise MacroError("There is no matching %DO statement for the %END. This statement will be ignored.", line)
        if word in ("else", "then"):
            raise MacroError(f"There is no matching %IF statement for the %{word.upper()}.", line)
        if word in ("include", "inc"):
            j = _to_semicolon(text, after)
            arg = self.evaluate_text(text[after:j], line).strip().split()[0] if text[after:j].strip() else ""
            path = arg.strip("'\"")
            try:
                src = Path(self.session.resolve_path(path)).read_text()
            except OSError:
                raise MacroError(f"Cannot open %INCLUDE file {path}.", line)
            self.execute(src, emit, 1, open_code=open_code)
            return j + 1
        if word == "return":
            j = _to_semicolon(text, after)
            if not self.frames:
                raise MacroError("%RETURN is only valid inside a macro.", line)
            raise _Return()
        if word == "abort":
            raise MacroError("Execution was stopped by %ABORT.", line)
        if word == "sysexec" and not self.session.allow_shell:
            j = _to_semicolon(text, after)
            raise MacroError("%SYSEXEC is refused: shell commands are disabled (run with --allow-shell).", line)
        if word in ("goto", "symdel", "sysexec"):
            raise MacroError(f"The macro statement %{word.upper()} is not supported.", line)
        if word in FUNCS:
            k = _skip_ws(text, after)
            if k < len(text) and text[k] == "(":
                close = _match_paren(text, k)
                if close is None:
                    raise MacroError(f"Unclosed parenthesis in %{word.upper()}.", line)
                emit(self.call_function(word, text[k + 1:close], line))
                return close + 1
            return None
        mdef = self.macros.get(word)
        if mdef is not None:
            k = _skip_ws(text, after)
            args = None
            end = after
            if k < len(text) and text[k] == "(":
                close = _match_paren(text, k)
                if close is None:
                    raise MacroError(f"Unclosed parenthesis in the call of macro {word.upper()}.", line)
                args = text[k + 1:close]
                end = close + 1
            self.invoke(mdef, args, emit, line)
            # a semicolon right after a call without parameters belongs to the caller's text
            return end
        if word not in STATEMENTS:
            self.log.warning(f"Apparent invocation of macro {word.upper()} not resolved.")
        return None

    # ------------------------------------------------------------------ definitions and calls
    def _define(self, text, start, after, line):
        j = _to_semicolon(text, after)
        head = text[after:j].strip()
        m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\s*(\((.*)\))?\s*(/.*)?$", head, re.S)
        if not m:
            raise MacroError("Invalid macro name in %MACRO statement.", line)
        name = m.group(1).lower()
        params = []
        if m.group(3) is not None and m.group(3).strip():
            for part in _split_args(m.group(3)):
                part = part.strip()
                if "=" in part:
                    pn, default = part.split("=", 1)
                    params.append((pn.strip().lower(), default.strip(), True))
                else:
                    params.append((part.lower(), None, False))
        # find the matching %MEND (nested definitions counted)
        depth = 1
        k = j + 1
        body_start = k
        while True:
            mm = re.compile(r"%(macro|mend)\b", re.I).search(text, k)
            if mm is None:
                raise MacroError(f"Missing %MEND for macro {name.upper()} (defined at line {line}).", line)
            if mm.group(1).lower() == "macro":
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    body = text[body_start:mm.start()]
                    end = _to_semicolon(text, mm.end())
                    self.macros[name] = MacroDef(name, params, body, line + text[start:body_start].count("\n"))
                    return end + 1
            k = mm.end()

    def invoke(self, mdef: MacroDef, args_text, emit, line):
        if len(self.frames) >= MAX_DEPTH:
            raise MacroError(f"Maximum macro nesting depth ({MAX_DEPTH}) exceeded while calling "
                             f"{mdef.name.upper()} (recursive macro?).", line)
        frame = Frame(mdef.name, line=line)
        positional = [p for p in mdef.params if not p[2]]
        for pn, default, kw in mdef.params:
            frame.scope[pn] = default if kw else ""
        if args_text is not None and args_text.strip():
            pos = 0
            for a in _split_args(args_text):
                m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$", a, re.S)
                if m and any(p[0] == m.group(1).lower() for p in mdef.params):
                    frame.scope[m.group(1).lower()] = self.evaluate_text(m.group(2), line).strip()
                else:
                    if pos >= len(positional):
                        raise MacroError(f"More positional parameters found than defined for macro "
                                         f"{mdef.name.upper()}.", line)
                    frame.scope[positional[pos][0]] = self.evaluate_text(a, line).strip()
                    pos += 1
        if self.opt("mlogic"):
            self.log.write(f"MLOGIC({mdef.name.upper()}):  Beginning execution.")
            for pn, _, _ in mdef.params:
                self.log.write(f"MLOGIC({mdef.name.upper()}):  Parameter {pn.upper()} has value {frame.scope[pn]}")
        self.frames.append(frame)
        if not self.opt("mprint"):
            out = emit
        else:
            buf = []

            def out(s, _emit=emit, _buf=buf, _name=mdef.name.upper()):
                _emit(s)
                _buf.append(s)
                if ";" in s:
                    joined = "".join(_buf)
                    parts = joined.split(";")
                    for stmt in parts[:-1]:
                        st = " ".join(stmt.split())
                        if st:
                            self.log.write(f"MPRINT({_name}):   {st};")
                    _buf.clear()
                    _buf.append(parts[-1])
        try:
            self.execute(mdef.body, out, mdef.line, open_code=None if False else False)
        except _Return:
            pass
        finally:
            self.frames.pop()
        if self.opt("mlogic"):
            self.log.write(f"MLOGIC({mdef.name.upper()}):  Ending execution.")

    # ------------------------------------------------------------------ %IF / %DO
    def _if(self, text, after, emit, line, open_code):
        th = _find_keyword(text, after, "then")
        if th is None:
            raise MacroError("Expecting %THEN after the %IF condition.", line)
        cond_text = text[after:th]
        value = self._truth(self.evaluate_text(cond_text, line), line)
        if self.opt("mlogic") and self.frames:
            self.log.write(f"MLOGIC({self.frames[-1].name.upper()}):  %IF condition {cond_text.strip()} is "
                           f"{'TRUE' if value else 'FALSE'}")
        a_start = th + len("%then")
        a_end, a_body = self._action(text, a_start, line)
        k = _skip_ws(text, a_end)
        e_body = None
        end = a_end
        if text[k:k + 5].lower() == "%else" and not _NAME.match(text, k + 5 if k + 5 < len(text) else k, ) or \
                re.match(r"%else\b", text[k:k + 6], re.I):
            end, e_body = self._action(text, k + 5, line)
        if value:
            self.execute(a_body, emit, line, open_code=open_code)
        elif e_body is not None:
            self.execute(e_body, emit, line, open_code=open_code)
        return end

    def _action(self, text, start, line):
        """The %THEN/%ELSE action: a %DO; ... %END; block or text through the next semicolon."""
        k = _skip_ws(text, start)
        if re.match(r"%do\s*;", text[k:], re.I):
            semi = text.find(";", k)
            end = _matching_end(text, semi + 1, line)
            return end[1], text[semi + 1:end[0]]
        j = _to_semicolon(text, k)
        return j + 1, text[k:j + 1]

    def _do(self, text, after, emit, line, open_code):
        semi = _to_semicolon(text, after)
        head = text[after:semi].strip()
        body_start = semi + 1
        try:
            body_end, end = _matching_end(text, body_start, line)
        except MacroError:
            where = f" in macro {self.frames[-1].name.upper()}" if self.frames else ""
            raise MacroError(f"There were unclosed %DO statements{where} (a %DO at line {line} has no matching "
                             "%END).", line) from None
        body = text[body_start:body_end]
        if not head:
            self.execute(body, emit, line, open_code=open_code)
            return end
        mw = re.match(r"%(while|until)\s*\((.*)\)\s*$", head, re.I | re.S)
        if mw:
            kind, cond = mw.group(1).lower(), mw.group(2)
            for _ in range(1_000_000):
                if kind == "while" and not self._truth(self.evaluate_text(cond, line), line):
                    break
                self.execute(body, emit, line, open_code=open_code)
                if kind == "until" and self._truth(self.evaluate_text(cond, line), line):
                    break
            else:
                raise MacroError("%DO loop executed more than 1,000,000 times.", line)
            return end
        mi = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\s*=(.*?)%to\b(.*?)(?:%by\b(.*))?$", head, re.I | re.S)
        if not mi:
            raise MacroError(f"Invalid %DO statement: %DO {head}.", line)
        var = mi.group(1)
        a = self._int(self.evaluate_text(mi.group(2), line), line)
        b = self._int(self.evaluate_text(mi.group(3), line), line)
        by = self._int(self.evaluate_text(mi.group(4), line), line) if mi.group(4) else 1
        if by == 0:
            raise MacroError("The %BY value of a %DO loop is zero.", line)
        v = a
        count = 0
        while (v <= b) if by > 0 else (v >= b):
            self.assign(var, str(v))
            self.execute(body, emit, line, open_code=open_code)
            v = self._int(self.lookup(var) or "0", line) + by
            count += 1
            if count > 1_000_000:
                raise MacroError("%DO loop executed more than 1,000,000 times.", line)
        self.assign(var, str(v))
        return end

    # ------------------------------------------------------------------ text evaluation
    def evaluate_text(self, text: str, line: int) -> str:
        """Resolve references and macro calls in a piece of text and return the result."""
        out: list[str] = []
        self.execute(text, out.append, line, open_code=None)
        return "".join(out)

    def resolve_text(self, text: str, line=None) -> str:
        """Resolve &references (with && indirection) in text; nothing else."""
        for _ in range(20):
            out, changed = self._resolve_once(text, line)
            if not changed:
                return out
            text = out
        raise MacroError("Macro variable resolution exceeded 20 levels.", line)

    def resolve(self, text: str, line=None) -> str:
        return self.resolve_text(text, line)

    def _resolve_once(self, text, line):
        out = []
        i, n = 0, len(text)
        changed = False
        while i < n:
            c = text[i]
            if c == "&":
                j = i
                while j < n and text[j] == "&":
                    j += 1
                amps = j - i
                m = _NAME.match(text, j)
                if not m:
                    out.append(text[i:j])
                    i = j
                    continue
                name = m.group(0)
                end = m.end()
                if amps > 1:
                    out.append("&" * (amps // 2))
                    if amps % 2:
                        val = self.lookup(name)
                        out.append(val if val is not None else "&" + name)
                        if end < n and text[end] == ".":
                            end += 1
                    else:
                        out.append(name)
                    i = end
                    changed = True
                    continue
                val = self.lookup(name)
                if val is None:
                    self.log.warning(f"Apparent symbolic reference {name.upper()} not resolved.")
                    out.append(text[i:end])
                    i = end
                    continue
                if self.opt("symbolgen"):
                    self.log.write(f"SYMBOLGEN:  Macro variable {name.upper()} resolves to {val}")
                if end < n and text[end] == ".":
                    end += 1
                out.append(val)
                i = end
                changed = True
                continue
            out.append(c)
            i += 1
        return "".join(out), changed

    def _put(self, body, line):
        text = body.strip()
        low = text.lower()
        if low in ("_user_", "_global_", "_all_", "_local_"):
            if low in ("_user_", "_local_", "_all_"):
                for fr in reversed(self.frames):
                    for k, v in sorted(fr.scope.items()):
                        self.log.write(f"{fr.name.upper()} {k.upper()} {v}")
            if low != "_local_":
                for k, v in sorted(self.session.macro_vars.items()):
                    self.log.write(f"GLOBAL {k.upper()} {v}")
            if low == "_all_":
                for k in sorted(self.automatic):
                    self.log.write(f"AUTOMATIC {k.upper()} {self.lookup(k)}")
            return
        if low == "_automatic_":
            for k in sorted(self.automatic):
                self.log.write(f"AUTOMATIC {k.upper()} {self.lookup(k)}")
            return
        # &=name (SAS 9.3+) writes NAME=value
        body = re.sub(r"&=([A-Za-z_][A-Za-z0-9_]*)", lambda m: f"{m.group(1).upper()}=&{m.group(1)}", body)
        self.log.write(self.evaluate_text(body.lstrip(), line))

    # ------------------------------------------------------------------ functions
    def call_function(self, name, argtext, line) -> str:
        if name in ("nrstr", "superq"):
            if name == "superq":
                v = self.lookup(argtext.strip())
                return "" if v is None else v
            return argtext
        if name in ("str", "quote", "nrquote", "bquote", "nrbquote", "unquote"):
            return self.evaluate_text(argtext, line)
        args = [self.evaluate_text(a, line) for a in _split_args(argtext)] if name != "sysfunc" and \
            name != "qsysfunc" else None
        if name == "eval":
            return str(self._int(args[0], line, evaluate=True))
        if name == "sysevalf":
            v = self.evalf(args[0], line)
            conv = args[1].strip().lower() if len(args) > 1 else ""
            if conv == "boolean":
                return "1" if v else "0"
            if conv == "integer":
                return str(int(v))
            if conv == "ceil":
                return str(math.ceil(v))
            if conv == "floor":
                return str(math.floor(v))
            return _fmt_num(v)
        if name in ("scan", "qscan"):
            from .datastep.runtime import f_scan
            d = args[2] if len(args) > 2 else None
            return f_scan(args[0], float(self._int(args[1], line, evaluate=True)), d)
        if name in ("substr", "qsubstr"):
            s = args[0]
            p = self._int(args[1], line, evaluate=True)
            ln = self._int(args[2], line, evaluate=True) if len(args) > 2 else None
            if p < 1 or p > len(s) + 1:
                self.log.warning("Argument 2 to macro function %SUBSTR is out of range.")
                return ""
            return s[p - 1:] if ln is None else s[p - 1:p - 1 + ln]
        if name in ("upcase", "qupcase"):
            return args[0].upper()
        if name in ("lowcase", "qlowcase"):
            return args[0].lower()
        if name == "length":
            return str(len(args[0]))
        if name == "index":
            return str(args[0].find(args[1].strip()) + 1 if len(args) > 1 else 0)
        if name == "symexist":
            return "1" if self.lookup(args[0].strip()) is not None else "0"
        if name in ("symglobl",):
            return "1" if args[0].strip().lower() in self.session.macro_vars else "0"
        if name in ("symlocal",):
            return "1" if any(args[0].strip().lower() in f.scope for f in self.frames) else "0"
        if name in ("cmpres", "qcmpres"):
            return " ".join(args[0].split())
        if name in ("left", "qleft"):
            return args[0].lstrip()
        if name in ("trim", "qtrim"):
            return args[0].rstrip()
        if name == "sysget":
            import os
            return os.environ.get(args[0].strip(), "")
        if name in ("sysfunc", "qsysfunc"):
            return self._sysfunc(argtext, line)
        raise MacroError(f"Macro function %{name.upper()} is not supported.", line)

    def _sysfunc(self, argtext, line):
        parts = _split_args(argtext)
        call = self.evaluate_text(parts[0], line).strip()
        fmt = parts[1].strip() if len(parts) > 1 else None
        m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)\s*$", call, re.S)
        if not m:
            raise MacroError(f"Invalid %SYSFUNC call {call}.", line)
        from .datastep import runtime as R
        from .datastep import formats as F
        fname = m.group(1).lower()
        fn = getattr(R, "f_" + fname, None)
        if fname in ("inputn", "inputc", "putn", "putc"):
            fn = self._format_function(fname, line)
        if fn is None:
            raise MacroError(f"Function {fname.upper()} referenced by %SYSFUNC is unknown.", line)
        args = []
        for a in _split_args(m.group(2)) if m.group(2).strip() else []:
            a = a.strip()
            try:
                args.append(float(a))
            except ValueError:
                args.append(a.strip("'\""))
        try:
            v = fn(*args)
        except (TypeError, ValueError) as e:
            raise MacroError(f"Invalid arguments for %SYSFUNC({fname.upper()}): {e}.", line)
        if isinstance(v, str):
            return v
        if fmt:
            return F.format_value(v, fmt, self.session.user_formats, strip=True)
        return F.best(v, 12).strip()

    def _format_function(self, fname, line):
        """INPUTN/INPUTC/PUTN/PUTC: the %SYSFUNC forms of INPUT and PUT, with the (in)format given as
        text rather than as a name in the code."""
        from .datastep import formats as F

        def spec_of(text):
            spec = F.parse_format(str(text).strip())
            if spec is None:
                raise MacroError(f"The {'informat' if fname.startswith('input') else 'format'} {text} was "
                                 f"not found or could not be loaded.", line)
            return spec

        def inputn(text, fmt):
            spec = spec_of(fmt)
            text = str(text) if not isinstance(text, float) else F.best(text, 12).strip()
            try:
                return F.read_numeric(text[:spec.width] if spec.width else text, spec)
            except F.InvalidData:
                self.session.log.note(f"Invalid argument to function INPUTN at line {line}.")
                return float("nan")

        def inputc(text, fmt):
            spec = spec_of(fmt)
            text = str(text)
            return text[:spec.width] if spec.width else text

        def putn(value, fmt):
            if isinstance(value, str):
                raise ValueError("PUTN needs a numeric value")
            return F.format_value(value, spec_of(fmt), self.session.user_formats, is_char=False, strip=True)

        def putc(value, fmt):
            return F.format_value(str(value), spec_of(fmt), self.session.user_formats, is_char=True,
                                  strip=True)

        return {"inputn": inputn, "inputc": inputc, "putn": putn, "putc": putc}[fname]

    # ------------------------------------------------------------------ %EVAL / %SYSEVALF
    def _truth(self, text, line) -> bool:
        return self._int(text, line, evaluate=True) != 0

    def _int(self, text, line, evaluate=False):
        t = text.strip()
        if not evaluate:
            try:
                return int(t)
            except ValueError:
                pass
        v = _Expr(t, integer=True, line=line).parse()
        if isinstance(v, float):
            if not v.is_integer():
                raise MacroError(f"A character operand was found in the %EVAL function or %IF condition where "
                                 f"a numeric operand is required. The condition was: {t}", line)
            v = int(v)
        if isinstance(v, str):
            raise MacroError(f"A character operand was found in the %EVAL function or %IF condition where a "
                             f"numeric operand is required. The condition was: {t}", line)
        return int(v)

    def evalf(self, text, line) -> float:
        v = _Expr(text.strip(), integer=False, line=line).parse()
        if isinstance(v, str):
            raise MacroError(f"A character operand was found in the %SYSEVALF function where a numeric operand "
                             f"is required. The condition was: {text.strip()}", line)
        return float(v)


class _Expr:
    """%EVAL / %SYSEVALF expressions: integers (or floats), comparisons of numbers or text, logic."""
    TOKEN = re.compile(r"\s*(?:(\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?|(\*\*|<=|>=|\^=|~=|¬=|=|<|>|\+|-|\*|/|\(|\)|&|\||\^|~|¬|,)"
                       r"|([A-Za-z_][A-Za-z0-9_.]*|'[^']*'|\"[^\"]*\"|[^\s()=<>+\-*/&|^~,]+))", re.I)
    WORDOPS = {"eq": "=", "ne": "^=", "lt": "<", "gt": ">", "le": "<=", "ge": ">=", "and": "&", "or": "|",
               "not": "^", "in": "in"}

    def __init__(self, text, integer, line):
        self.toks = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = self.TOKEN.match(text, pos)
            if not m or m.end() == pos:
                break
            pos = m.end()
            if m.group(1) is not None:
                num = float(m.group(0))
                self.toks.append(("num", num))
            elif m.group(2) is not None:
                self.toks.append(("op", m.group(2)))
            else:
                w = m.group(3)
                if w.lower() in self.WORDOPS:
                    self.toks.append(("op", self.WORDOPS[w.lower()]))
                else:
                    self.toks.append(("str", w))
        self.i = 0
        self.integer = integer
        self.line = line
        self.text = text

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self):
        t = self.peek()
        self.i += 1
        return t

    def parse(self):
        if not self.toks:
            raise MacroError("An expression is required in %EVAL / %IF; the expression is empty.", self.line)
        v = self.orx()
        if self.i < len(self.toks):
            raise MacroError(f"Invalid expression for %EVAL: {self.text}", self.line)
        return v

    def orx(self):
        v = self.andx()
        while self.peek() == ("op", "|"):
            self.take()
            r = self.andx()
            v = 1 if (_num(v) or _num(r)) else 0
        return v

    def andx(self):
        v = self.notx()
        while self.peek() == ("op", "&"):
            self.take()
            r = self.notx()
            v = 1 if (_num(v) and _num(r)) else 0
        return v

    def notx(self):
        if self.peek() in (("op", "^"), ("op", "~"), ("op", "¬")):
            self.take()
            return 0 if _num(self.notx()) else 1
        return self.cmp()

    def cmp(self):
        v = self.add()
        while self.peek()[0] == "op" and self.peek()[1] in ("=", "^=", "~=", "¬=", "<", ">", "<=", ">=", "in"):
            op = self.take()[1]
            if op == "in":
                items = []
                r = self.add()
                items.append(r)
                while self.peek() in (("op", ","),) or self.peek()[0] in ("num", "str"):
                    if self.peek() == ("op", ","):
                        self.take()
                    items.append(self.add())
                v = 1 if any(_eq(v, x) for x in items) else 0
                continue
            r = self.add()
            if isinstance(v, str) or isinstance(r, str):
                a, b = str(_fmt_num(v) if not isinstance(v, str) else v), str(_fmt_num(r) if not isinstance(r, str) else r)
            else:
                a, b = v, r
            res = {"=": a == b, "^=": a != b, "~=": a != b, "¬=": a != b, "<": a < b, ">": a > b,
                   "<=": a <= b, ">=": a >= b}[op]
            v = 1 if res else 0
        return v

    def add(self):
        v = self.mul()
        while self.peek()[0] == "op" and self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            r = self.mul()
            v = _arith(v, r, op, self)
        return v

    def mul(self):
        v = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("*", "/"):
            op = self.take()[1]
            r = self.unary()
            v = _arith(v, r, op, self)
        return v

    def unary(self):
        if self.peek() in (("op", "-"), ("op", "+")):
            op = self.take()[1]
            v = self.unary()
            return _arith(0, v, op, self)
        return self.power()

    def power(self):
        v = self.atom()
        if self.peek() == ("op", "**"):
            self.take()
            r = self.unary()
            v = _arith(v, r, "**", self)
        return v

    def atom(self):
        kind, val = self.take()
        if kind == "num":
            return val
        if kind == "str":
            return val
        if (kind, val) == ("op", "("):
            v = self.orx()
            if self.take() != ("op", ")"):
                raise MacroError(f"Unbalanced parentheses in %EVAL expression: {self.text}", self.line)
            return v
        raise MacroError(f"Invalid expression for %EVAL: {self.text}", self.line)


def _num(v):
    if isinstance(v, str):
        raise MacroError(f"A character operand was found where a numeric operand is required: {v}")
    return v


def _eq(a, b):
    if isinstance(a, str) or isinstance(b, str):
        return str(a) == str(b)
    return a == b


def _arith(a, b, op, ex):
    if isinstance(a, str) or isinstance(b, str):
        raise MacroError(f"A character operand was found in the %EVAL function or %IF condition where a numeric "
                         f"operand is required. The condition was: {ex.text}", ex.line)
    if op == "+":
        v = a + b
    elif op == "-":
        v = a - b
    elif op == "*":
        v = a * b
    elif op == "/":
        if b == 0:
            raise MacroError(f"Division by zero in %EVAL: {ex.text}", ex.line)
        v = a / b
        if ex.integer:
            v = float(math.trunc(v))
    else:
        v = a ** b
    if ex.integer and isinstance(v, float) and not v.is_integer():
        v = float(math.trunc(v))
    return v


def _fmt_num(v):
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return repr(v) if isinstance(v, float) else str(v)


# ---------------------------------------------------------------------- text helpers
def _end_quote(text, i, q):
    j = i + 1
    n = len(text)
    while j < n:
        if text[j] == q:
            if j + 1 < n and text[j + 1] == q:
                j += 2
                continue
            return j + 1
        j += 1
    return n


def _skip_ws(text, i):
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _scan(text, i, clamp=False):
    """Yield (index, char, depth) for each character from i that is outside quoted strings; depth is the
    parenthesis nesting before the character (kept at 0 or above when clamp)."""
    depth = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in "'\"":
            i = _end_quote(text, i, c)
            continue
        yield i, c, depth
        if c == "(":
            depth += 1
        elif c == ")":
            depth = max(depth - 1, 0) if clamp else depth - 1
        i += 1


def _to_semicolon(text, i):
    """Index of the next ';' outside quotes and parentheses (or len)."""
    return next((k for k, c, d in _scan(text, i, clamp=True) if c == ";" and d == 0), len(text))


def _match_paren(text, i):
    """Index of the ')' closing the '(' at i (None when it is not closed)."""
    return next((k for k, c, d in _scan(text, i) if c == ")" and d == 1), None)


def _split_args(text):
    """Split at commas outside parentheses and quotes."""
    out, start = [], 0
    for k, c, d in _scan(text, 0):
        if c == "," and d == 0:
            out.append(text[start:k])
            start = k + 1
    out.append(text[start:])
    return out


def _find_keyword(text, i, word):
    """Index of %word outside quotes and parentheses, from i."""
    pat = re.compile(r"%" + word + r"\b", re.I)
    return next((k for k, c, d in _scan(text, i) if c == "%" and d <= 0 and pat.match(text, k)), None)


_DOEND = re.compile(r"%(do|end)\b", re.I)


def _matching_end(text, i, line):
    """For a %DO body starting at i: (index of its %END, index after '%END;')."""
    depth = 1
    n = len(text)
    while i < n:
        c = text[i]
        if c in "'\"":
            i = _end_quote(text, i, c)
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
            continue
        if c == "%":
            m = _DOEND.match(text, i)
            if m:
                if m.group(1).lower() == "do":
                    depth += 1
                else:
                    depth -= 1
                    if depth == 0:
                        semi = _to_semicolon(text, m.end())
                        return i, semi + 1
                i = m.end()
                continue
        i += 1
    raise MacroError("There were unclosed %DO statements (a %DO has no matching %END).", line)


class Feeder:
    """Receives generated SAS code and runs every step as soon as it is complete."""

    def __init__(self, session, first_line: int):
        self.session = session
        self.buf = ""
        self.line = first_line

    def feed(self, text: str) -> None:
        self.buf += text
        if ";" in text or "\n" in text and self.buf.rstrip().endswith(";"):
            self._process(final=False)

    def finish(self) -> None:
        self._process(final=True)

    def _process(self, final: bool) -> None:
        from .lexer import split_statements
        from .parser import group_steps
        if not self.buf.strip():
            if final:
                self.line += self.buf.count("\n")
                self.buf = ""
            return
        stmts, errors = split_statements(self.buf, self.line)
        if errors and not final:
            return                  # an open quote or comment: wait for more text
        complete = []
        for st in stmts:
            if getattr(st, "unterminated", False) and not final:
                break
            if st.datalines is not None and not getattr(st, "datalines_complete", True) and not final:
                break
            complete.append(st)
        steps = group_steps(complete)
        keep_from = None
        if complete and len(complete) < len(stmts):
            keep_from = stmts[len(complete)].offset
        if steps and not final and steps[-1].kind in ("data", "proc") and not steps[-1].ended:
            keep_from = steps[-1].statements[0].offset
            steps = steps[:-1]
        for err in errors if final else []:
            self.session.log.error(f"Line {err.line}, column {err.col}: {err}")
        for raw in steps:
            self.session.run_step(raw)
        cut = len(self.buf) if keep_from is None else keep_from
        self.line += self.buf[:cut].count("\n")
        self.buf = self.buf[cut:]
        if final:
            self.buf = ""
