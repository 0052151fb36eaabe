"""`mesh init DIR`: a new mesh repository, with the council's default policies and no domain yet."""

from __future__ import annotations

import re
from pathlib import Path

from mesh_platform.dg import PROJECT_TOML, workspace_toml
from mesh_platform.scaffold import ScaffoldError, platform_version, render, write_new

PROJECT_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")  # a Python package (PEP 508) name

# Template -> path in the new mesh; `{domains}` is mesh.yaml's domains folder.
FILES = {
    "mesh/mesh.yaml": "mesh.yaml",
    "mesh/pyproject.toml": "pyproject.toml",
    "mesh/README.md": "README.md",
    "mesh/workspace.yaml": "workspace.yaml",
    "mesh/dagster.yaml": "dagster.yaml",
    "mesh/gitignore": ".gitignore",
    "mesh/ci_run": "ci/run",
    "mesh/policies.yaml": "governance/policies.yaml",
    "mesh/governance_init.py": "governance/__init__.py",
    "mesh/governance_definitions.py": "governance/definitions.py",
    "mesh/domains_init.py": "{domains}/__init__.py",
}


def init_mesh(folder: Path, name: str | None = None, domains: str = "domains") -> list[Path]:
    """Writes the mesh into `folder` (created if missing, refused if it holds anything); the files written."""
    folder = Path(folder).resolve()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ScaffoldError(f"{folder} is not an empty folder: `mesh init` a new or empty folder, "
                            "or add domains to an existing mesh there with `mesh new domain NAME`")
    name = name or folder.name
    if not PROJECT_NAME.match(name):
        raise ScaffoldError(f"mesh name {name!r} is not a package name (letters, digits, -, _ and .): "
                            "pass --name, e.g. --name acme-mesh")
    if not all(part.isidentifier() for part in Path(domains).parts):
        raise ScaffoldError(f"--domains {domains!r} is not a folder importable as a package, e.g. domains")
    values = {"name": name, "domains": domains, "domains_package": ".".join(Path(domains).parts),
              "platform_version": platform_version()}
    planned = {folder / path.format(domains=domains): render(template, **values) for template, path in FILES.items()}
    # Also a dg workspace (README, "The `dg` workflow"): each code location's folder is a dg project.
    planned |= {folder / "dg.toml": workspace_toml(["governance"]), folder / "governance" / "dg.toml": PROJECT_TOML}
    return write_new(planned, executable=(folder / "ci" / "run",))
