"""The `mesh` command line."""

from __future__ import annotations

import typer

from mesh_platform.cli import lint, materialize, seed

app = typer.Typer(
    help="Operate the data mesh: seed sources, lint contracts against policies, materialize products.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("seed")(seed.seed_command)
app.command("materialize")(materialize.materialize_command)
app.command("lint")(lint.lint_command)


def main() -> None:
    app()
