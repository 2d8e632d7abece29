"""The one error type for user mistakes. The CLI turns it into a one-line message."""
from __future__ import annotations


class JaxstyleError(Exception):
    """A problem the user can fix (bad file, bad flag). ``exit_code`` 2 = usage, 1 = runtime."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


class UsageError(JaxstyleError):
    """A bad flag or argument value (exit code 2)."""

    def __init__(self, message: str):
        super().__init__(message, exit_code=2)
