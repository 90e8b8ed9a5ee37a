"""What the commands share: consoles and the user-error type."""

from __future__ import annotations

from rich.console import Console

# soft_wrap: long messages stay on one line, so they can be grepped and copied.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


class UserError(Exception):
    """A problem the user can fix; printed without a traceback."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code
