"""The interactive REPL: a second driver of the same Session as `sasglm run`.

Input is collected until it forms complete steps (a DATA or PROC step ended by RUN; or QUIT;, or
global statements only), then submitted.  WORK persists across inputs; errors are reported and the
session goes on; Ctrl-C interrupts a running step (or clears the input) without losing WORK; Ctrl-D
exits.  Commands outside SAS syntax start with a dot: .help .datasets .head .include .quit
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from .lexer import split_statements
from .log import Log
from .parser import group_steps
from .session import Session

KEYWORDS = sorted({
    "data", "set", "merge", "by", "if", "then", "else", "do", "end", "output", "retain", "length", "drop", "keep",
    "rename", "format", "label", "array", "input", "infile", "datalines", "run", "quit", "proc", "class", "model",
    "repeated", "random", "lsmeans", "estimate", "contrast", "store", "score", "where", "title", "footnote",
    "libname", "options", "ods", "sort", "print", "means", "freq", "contents", "transpose", "genmod", "glimmix",
    "plm", "sgplot", "compare", "series", "scatter", "var", "tables", "output", "descending", "dist=", "link=", "subject=",
    "type=", "method=", "solution", "empirical", "%let", "%put", "select", "when", "otherwise", "delete", "stop",
})

HELP = """sasglm REPL: type SAS statements; a step runs when it is complete (RUN; or QUIT;).
Commands (not SAS syntax):
  .help              this text
  .datasets          list the WORK data sets
  .head NAME [N]     print the first N (default 10) rows of a data set
  .include FILE      run a .sas file in this session
  .quit              leave (Ctrl-D works too)
"""


def is_complete(text: str) -> bool:
    """True when the buffer holds only complete steps and global statements."""
    stripped = text.strip()
    if not stripped:
        return False
    stmts, errors = split_statements(text)
    if errors:
        # an unterminated string or comment: keep reading
        return False
    if getattr(stmts[-1], "unterminated", False) if stmts else False:
        return False
    steps = group_steps(stmts)
    if not steps:
        return False
    last = steps[-1]
    if last.kind in ("global", "stray"):
        return True
    return last.ended


class Repl:
    def __init__(self, session: Session | None = None, stdin=None, stdout=None):
        self.out = stdout or sys.stdout
        self.session = session or Session(log=Log(self.out, echo_source=False), out=self.out,
                                          rich=self.out.isatty())
        self.session.assign_override_libs()

    # ------------------------------------------------------------------ commands
    def command(self, line: str) -> bool:
        """Handle a dot-command; returns False to quit."""
        parts = line.strip().split()
        cmd = parts[0].lower()
        s = self.session
        if cmd in (".quit", ".exit", ".q"):
            return False
        if cmd == ".help":
            self.out.write(HELP)
        elif cmd == ".datasets":
            names = s.libraries["work"].names()
            if not names:
                self.out.write("(WORK is empty)\n")
            for n in names:
                ds = s.libraries["work"].get(n)
                self.out.write(f"WORK.{n}: {ds.nobs} observations, {len(ds.columns)} variables\n")
        elif cmd == ".head" and len(parts) >= 2:
            n = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 10
            s.submit(f"proc print data={parts[1]}(obs={n}); run;")
        elif cmd == ".include" and len(parts) >= 2:
            try:
                s.submit(Path(parts[1]).read_text())
            except OSError as e:
                self.out.write(f"ERROR: cannot read {parts[1]}: {e.strerror}\n")
        else:
            self.out.write(f"Unknown command {cmd}; .help lists the commands.\n")
        return True

    # ------------------------------------------------------------------ loop
    def run(self) -> int:
        if sys.stdin.isatty() and self.out.isatty():
            return self._run_prompt_toolkit()
        return self._run_plain()

    def _submit(self, text: str) -> None:
        try:
            self.session.submit(text)
        except KeyboardInterrupt:
            self.out.write("\nInterrupted; WORK data sets are unchanged.\n")
        self.session.close_destinations() if False else None

    def _run_plain(self) -> int:
        buf = []
        prompt = "sasglm> "
        while True:
            try:
                self.out.write(prompt)
                self.out.flush()
                line = sys.stdin.readline()
            except KeyboardInterrupt:
                buf = []
                prompt = "sasglm> "
                continue
            if not line:
                break
            if not buf and line.strip().startswith("."):
                if not self.command(line):
                    break
                continue
            buf.append(line)
            text = "".join(buf)
            if is_complete(text):
                self._submit(text)
                buf = []
                prompt = "sasglm> "
            else:
                prompt = "   ...> "
        self.session.close_destinations()
        return self.session.log.exit_status

    def _run_prompt_toolkit(self) -> int:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.completion import Completer, Completion
        from prompt_toolkit.history import FileHistory
        from prompt_toolkit.key_binding import KeyBindings
        from prompt_toolkit.lexers import PygmentsLexer
        from pygments.lexers.sas import SASLexer

        repl = self

        class SasCompleter(Completer):
            def get_completions(self, document, complete_event):
                word = document.get_word_before_cursor(WORD=True).lower()
                if not word:
                    return
                cands = list(KEYWORDS)
                work = repl.session.libraries["work"]
                for n in work.names():
                    cands.append(n.lower())
                    try:
                        cands.extend(c for c in work.get(n).columns)
                    except Exception:
                        pass
                seen = set()
                for c in cands:
                    if c.lower().startswith(word) and c not in seen:
                        seen.add(c)
                        yield Completion(c, start_position=-len(word))

        kb = KeyBindings()

        @kb.add("enter")
        def _(event):
            buf = event.current_buffer
            text = buf.text
            if text.strip().startswith(".") or is_complete(text) or not text.strip():
                buf.validate_and_handle()
            else:
                buf.insert_text("\n")

        hist = Path(os.environ.get("SASGLM_HISTORY", Path.home() / ".sasglm_history"))
        try:
            hist.parent.mkdir(parents=True, exist_ok=True)
            history = FileHistory(str(hist))
        except OSError:
            history = None
        ps = PromptSession(history=history, lexer=PygmentsLexer(SASLexer), completer=SasCompleter(),
                           multiline=True, key_bindings=kb, prompt_continuation="   ...> ")
        self.out.write("sasglm interactive session; .help for commands, Ctrl-D to quit.\n")
        while True:
            try:
                text = ps.prompt("sasglm> ")
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            if not text.strip():
                continue
            if text.strip().startswith("."):
                if not self.command(text.strip()):
                    break
                continue
            self._submit(text + "\n")
        self.session.close_destinations()
        return self.session.log.exit_status


def main() -> int:
    return Repl().run()
