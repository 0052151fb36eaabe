"""How every `mesh` command refuses: one line on stderr, and an exit code."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

BAD_INPUT, DENIED = 2, 3
_stderr = Console(stderr=True, soft_wrap=True)  # one line whatever the width: people grep it


def fail(message: str, code: int = BAD_INPUT) -> typer.Exit:
    """Prints `message` (never read as markup) and returns the Exit to raise."""
    _stderr.print(f"[red]{'denied' if code == DENIED else 'error'}:[/red] {escape(message)}", soft_wrap=True)  # one line
    return typer.Exit(code)
