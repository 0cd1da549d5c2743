"""Macro variables: the text-level stage between the source and the parser.

Implemented: %LET, %PUT (with _USER_/_ALL_/_AUTOMATIC_), %GLOBAL/%LOCAL (accepted), and resolution of
&name, &name. and && (multiple ampersands) outside single quotes, comments and DATALINES; the
automatic variables SYSDATE9, SYSDATE, SYSDAY, SYSTIME, SYSLAST, SYSERR, SYSCC, SYSVER.  The output has
the same number of lines as the input, so messages keep pointing at the user's source.
Everything else that starts with % (%MACRO, %IF, %DO, %SYSFUNC, ...) is left in place for the
session to report as not supported.
"""
from __future__ import annotations

import datetime as _dt
import re

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DATALINES = re.compile(r"\b(datalines4|cards4|lines4|datalines|cards|lines)\s*;", re.I)


class MacroProcessor:
    def __init__(self, session):
        self.session = session
        now = _dt.datetime.now()
        self.automatic = {
            "sysdate9": now.strftime("%d%b%Y").upper(), "sysdate": now.strftime("%d%b%y").upper(),
            "sysday": now.strftime("%A"), "systime": now.strftime("%H:%M"), "sysver": "9.4",
            "sysscp": "LIN X64", "sysuserid": "sasglm",
        }

    def lookup(self, name: str) -> str | None:
        key = name.lower()
        v = self.session.macro_vars.get(key)
        if v is not None:
            return v
        if key == "syslast":
            return self.session.last_dataset or "_NULL_"
        if key == "syserr":
            return "0" if self.session.log.errors == 0 else "3000"
        if key == "syscc":
            return str(self.session.syscc)
        return self.automatic.get(key)

    # ------------------------------------------------------------------ resolution
    def resolve(self, text: str, line: int | None = None) -> str:
        """Resolve &references in ``text`` (repeatedly, for &&x&i style indirection)."""
        for _ in range(20):
            out, changed = self._resolve_once(text, line)
            if not changed:
                return out
            text = out
        self.session.log.error("Macro variable resolution exceeded 20 levels (recursive reference?).")
        return text

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
                    # && -> & (resolved again on the next pass)
                    out.append("&" * (amps // 2))
                    if amps % 2:
                        val = self.lookup(name)
                        out.append(val if val is not None else "&" + name)
                    else:
                        out.append(name)
                    if end < n and text[end] == "." and amps % 2:
                        end += 1
                    i = end
                    changed = True
                    continue
                val = self.lookup(name)
                if val is None:
                    self.session.log.warning(f"Apparent symbolic reference {name.upper()} not resolved.")
                    out.append(text[i:end])
                    i = end
                    continue
                if end < n and text[end] == ".":
                    end += 1
                out.append(val)
                i = end
                changed = True
                continue
            out.append(c)
            i += 1
        return "".join(out), changed

    # ------------------------------------------------------------------ the pre-pass
    def process(self, source: str) -> str:
        """Run %LET/%PUT and resolve references, keeping the line structure."""
        out = []
        i, n = 0, len(source)
        stmt_start = True
        in_datalines = False
        while i < n:
            if in_datalines:
                # copy raw lines up to and including the terminating line with ';'
                j = source.find("\n", i)
                j = n if j < 0 else j + 1
                line_text = source[i:j]
                out.append(line_text)
                i = j
                if ";" in line_text:
                    in_datalines = False
                    stmt_start = True
                continue
            c = source[i]
            if source.startswith("/*", i):
                j = source.find("*/", i + 2)
                j = n if j < 0 else j + 2
                out.append(source[i:j])
                i = j
                continue
            if c == "'":
                j = i + 1
                while j < n:
                    if source[j] == "'":
                        if j + 1 < n and source[j + 1] == "'":
                            j += 2
                            continue
                        break
                    j += 1
                out.append(source[i:j + 1])
                i = j + 1
                stmt_start = False
                continue
            if stmt_start and c == "*":
                j = source.find(";", i)
                j = n if j < 0 else j + 1
                out.append(source[i:j])
                i = j
                continue
            if stmt_start and c == "%":
                m = re.match(r"%(let|put|global|local)\b", source[i:i + 8], re.I)
                if m:
                    j = source.find(";", i)
                    j = n if j < 0 else j
                    body = source[i:j]
                    self._statement(m.group(1).lower(), body[len(m.group(0)):], source.count("\n", 0, i) + 1)
                    out.append(re.sub(r"[^\n]", " ", source[i:j + 1]))
                    i = j + 1
                    continue
            if c == ";":
                out.append(c)
                i += 1
                stmt_start = True
                # DATALINES: the data start on the next line and are not resolved
                tail = "".join(out[-40:])[-60:]
                if _DATALINES.search(tail) and re.search(r"(^|[;\s])(datalines4|cards4|lines4|datalines|cards|lines)\s*;$",
                                                         tail, re.I):
                    nl = source.find("\n", i)
                    if nl >= 0:
                        out.append(source[i:nl + 1])
                        i = nl + 1
                    in_datalines = True
                continue
            if c == "&":
                # resolve up to the end of this token run
                j = i
                while j < n and (source[j] in "&." or source[j].isalnum() or source[j] == "_"):
                    j += 1
                out.append(self.resolve(source[i:j], source.count("\n", 0, i) + 1))
                i = j
                stmt_start = False
                continue
            if c == '"':
                j = i + 1
                while j < n:
                    if source[j] == '"':
                        if j + 1 < n and source[j + 1] == '"':
                            j += 2
                            continue
                        break
                    j += 1
                out.append(self.resolve(source[i:j + 1], source.count("\n", 0, i) + 1))
                i = j + 1
                stmt_start = False
                continue
            if not c.isspace():
                stmt_start = False
            out.append(c)
            i += 1
        return "".join(out)

    def _statement(self, kind: str, body: str, line: int):
        log = self.session.log
        if kind == "let":
            m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$", body, re.S)
            if not m:
                log.error(f"Line {line}: Expecting a variable name after %LET.", "1-185")
                return
            value = self.resolve(m.group(2).strip(), line)
            self.session.set_macro_var(m.group(1), value)
            if self.session.options.get("symbolgen"):
                pass
        elif kind == "put":
            text = body.strip()
            low = text.lower()
            if low in ("_user_", "_global_", "_all_"):
                for k, v in sorted(self.session.macro_vars.items()):
                    log.write(f"GLOBAL {k.upper()} {v}")
                if low == "_all_":
                    for k in sorted(self.automatic):
                        log.write(f"AUTOMATIC {k.upper()} {self.lookup(k)}")
                return
            if low == "_automatic_":
                for k in sorted(self.automatic):
                    log.write(f"AUTOMATIC {k.upper()} {self.lookup(k)}")
                return
            log.write(self.resolve(text, line))
        # %GLOBAL / %LOCAL: all variables are global here
