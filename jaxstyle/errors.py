"""The error types for user mistakes. The CLI turns each into a one-line message and an exit code.

Exit codes, the same in every command: 0 done, 1 runtime failure (bad file contents, out of
memory, an internal error), 2 usage (bad flag or value, an output that exists without
``--force``), 130 interrupted.
"""
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


class OutputExistsError(UsageError):
    """An output file or folder is already there and ``--force`` was not given (exit code 2)."""

    def __init__(self, path, what: str = "exists"):
        super().__init__(f"{path}: {what}; pass --force to overwrite")


class NotFoundError(JaxstyleError):
    """The photo holds no object of the asked class (exit code 1): nothing is restyled or written."""
