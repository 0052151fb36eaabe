"""The `mesh` command line.

Commands that need Dagster or Spark import them inside the command, so that `mesh --help` and `mesh lint`
(run on every commit, often in CI) do not pay for them.
"""

from __future__ import annotations

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
        raise SystemExit(2) from None
