"""The `mesh` command line.

Commands that need Dagster or Spark import them inside the command, so that `mesh --help` and `mesh lint`
(run on every commit, often in CI) do not pay for them.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys

import typer

from mesh_platform.cli import (
    access,
    audit,
    catalog,
    cost,
    diff,
    health,
    identity,
    lint,
    materialize,
    odcs,
    read,
    release,
    scaffold,
    seed,
    vacuum,
)
from mesh_platform.config import MeshConfigError

app = typer.Typer(
    help="Operate the data mesh: seed sources, lint contracts, materialize, read products and manage access.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("init")(scaffold.init_command)
app.add_typer(scaffold.app, name="new")
app.command("seed")(seed.seed_command)
app.command("materialize")(materialize.materialize_command)
app.command("lint")(lint.lint_command)
app.command("diff")(diff.diff_command)
app.command("release")(release.release_command)
app.command("export")(odcs.export_command)
app.command("import")(odcs.import_command)
app.command("read")(read.read_command)
app.command("usage")(read.usage_command)
app.command("health")(health.health_command)
app.command("cost")(cost.cost_command)
app.command("vacuum")(vacuum.vacuum_command)
app.add_typer(access.app, name="access")
app.add_typer(identity.app, name="identity")
app.add_typer(audit.app, name="audit")
app.add_typer(catalog.app, name="catalog")
app.add_typer(catalog.docs_app, name="docs")


def main() -> None:
    try:
        app()
    except MeshConfigError as exc:  # outside a mesh, or a malformed mesh.yaml: one line, not a trace
        typer.echo(f"mesh: {exc}", err=True)
        _exit(2)
    except SystemExit as done:  # click ends every command with SystemExit, success included
        _exit(done.code)
    _exit(0)


def _exit(code: int | str | None) -> None:
    """End the process once the command's work is flushed, skipping native teardown.

    Arrow's C++ thread pools (behind delta-rs and pyarrow reads) can abort the interpreter's shutdown with
    "terminate called without an active exception" (apache/arrow#34314), turning a command that printed
    its result into exit -6. Python's own exit handlers (Spark's session stop, Dagster's) still run first.
    """
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`mesh ... | head`) or stream: nothing left to say
            pass
    os._exit(code or 0)
