"""The SAS log: source echo with line numbers, NOTE/WARNING/ERROR lines, counts for the exit code."""
from __future__ import annotations

import sys
from typing import TextIO


class Log:
    def __init__(self, stream: TextIO | None = None, echo_source: bool = True):
        self.stream = stream if stream is not None else sys.stderr
        self.echo_source = echo_source
        self.errors = 0
        self.warnings = 0
        self.lines: list[str] = []      # kept for tests and the REPL
        self.said: set[str] | None = None   # during BY-group runs: "ignored" warnings already given

    def write(self, text: str = "") -> None:
        for line in text.split("\n"):
            self.lines.append(line)
            try:
                self.stream.write(line + "\n")
            except (ValueError, OSError):
                pass
        try:
            self.stream.flush()
        except (ValueError, OSError):
            pass

    def source(self, lineno: int, text: str) -> None:
        if self.echo_source:
            self.write(f"{lineno:<10} {text}".rstrip())

    def note(self, msg: str) -> None:
        self.write("NOTE: " + msg)

    def warning(self, msg: str) -> None:
        if self.said is not None and "ignored" in msg:
            # an ignored option is reported once for the step, not once per BY group
            if msg in self.said:
                return
            self.said.add(msg)
        self.warnings += 1
        self.write("WARNING: " + msg)

    def error(self, msg: str, code: str | None = None) -> None:
        self.errors += 1
        self.write(("ERROR " + code + ": " if code else "ERROR: ") + msg)

    @property
    def exit_status(self) -> int:
        return 2 if self.errors else (1 if self.warnings else 0)
