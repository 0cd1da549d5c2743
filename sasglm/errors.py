"""Exceptions that carry a SAS log message.  Anything raised inside a step that is not one of these
is reported as an internal ERROR by the session (never a traceback)."""


class SasError(Exception):
    """An ERROR the step reports; the step stops, the session goes on."""

    def __init__(self, message: str, line: int | None = None, col: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message, self.line, self.col, self.code = message, line, col, code


class SasWarning(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
