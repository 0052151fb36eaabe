"""The mesh as seen by `dg` (dagster-dg-cli): each code location's folder is a dg project, the mesh
root a dg workspace listing them, so `dg list defs`, `dg check defs` and `dg dev` load the very
definitions.py that workspace.yaml names. Nothing here defines products: contracts + transforms do.

dg requires a project's root Python module to sit inside the project folder (it looks for
`<folder>/<root_module>`). A domain is a subpackage of the mesh's `domains` package, so its project's
root module is its own definitions.py, imported as `definitions` from the domain folder; the mesh's
packages (`domains`, `mesh_platform`) come from the environment the mesh is installed in.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path

import yaml

# A domain folder's dg.toml. The code location's name is the folder's name (dg's default), which is
# the domain's name everywhere else. `defs_module` is the same file: a domain has no defs/ folder of
# component YAML, so `dg check yaml` (which `dg check defs` and `dg dev` run first) finds nothing to check.
PROJECT_TOML = """\
# This folder as a `dg` project (dagster-dg-cli): `dg list defs`, `dg check defs`, `dg dev` run here.
# It loads definitions.py, the code location workspace.yaml names; products come from contracts/ and
# transforms.py only. See the README, "The `dg` workflow".
directory_type = "project"

[project]
root_module = "definitions"
code_location_target_module = "definitions"
defs_module = "definitions"
"""

PLATFORM_PACKAGE = "mesh_platform."  # locations the platform ships (not folders of the mesh) are no dg projects


def workspace_toml(project_dirs: Sequence[str]) -> str:
    """The mesh root's dg.toml: a dg workspace of the given project folders (relative to the root)."""
    projects = "\n".join(f'    {{ path = "{d}" }},' for d in project_dirs)
    return f"""\
# The mesh as a `dg` workspace: one project per code location of workspace.yaml (keep both in step;
# `mesh_platform.dg.dg_config_errors` compares them). At this root: `dg check defs --use-active-venv`,
# `dg dev --use-active-venv`; in a project folder: `dg list defs`, `dg check defs`, `dg dev`.
directory_type = "workspace"

[workspace]
projects = [
{projects}
]

# Like dagster.yaml: no usage statistics leave the machine.
[cli.telemetry]
enabled = false
"""


def write_project(project_dir: Path) -> Path:
    """Make a code location's folder a dg project (`mesh new domain` does this for a new domain)."""
    path = Path(project_dir) / "dg.toml"
    path.write_text(PROJECT_TOML)
    return path


def add_to_workspace(root: Path, project_dir: str) -> Path:
    """List `project_dir` (relative to the mesh root) in the root's dg.toml, writing it if absent."""
    path = Path(root) / "dg.toml"
    listed = workspace_projects(root) if path.exists() else []
    if project_dir not in listed:
        path.write_text(workspace_toml([*listed, project_dir]))
    return path


def workspace_projects(root: Path) -> list[str]:
    """The project folders the root's dg.toml lists, as written there."""
    with open(Path(root) / "dg.toml", "rb") as f:
        config = tomllib.load(f)
    return [spec["path"] for spec in config.get("workspace", {}).get("projects", [])]


def _mesh_locations(root: Path) -> dict[str, str]:
    """Folder (relative to the root) of each code location of workspace.yaml defined in the mesh."""
    entries = yaml.safe_load((Path(root) / "workspace.yaml").read_text())["load_from"]
    modules = [entry["python_module"] for entry in entries if "python_module" in entry]
    folders = {}
    for module in modules:
        name = module["module_name"] if isinstance(module, dict) else module
        if not name.startswith(PLATFORM_PACKAGE):
            folders[name.rpartition(".")[0].replace(".", "/")] = name
    return folders


def dg_config_errors(root: Path) -> list[str]:
    """One line per way in which `dg` would not see the code locations workspace.yaml lists."""
    root = Path(root)
    if not (root / "dg.toml").exists():
        return [f"{root / 'dg.toml'}: missing; write it with mesh_platform.dg.workspace_toml(<project folders>)"]
    locations, listed = _mesh_locations(root), workspace_projects(root)
    errors = [
        f"{root / 'dg.toml'}: workspace.yaml loads {module} but [workspace] projects lacks it; "
        f'add {{ path = "{folder}" }}'
        for folder, module in locations.items() if folder not in listed
    ]
    errors += [
        f"{root / 'dg.toml'}: project {folder} is no code location of workspace.yaml; "
        f"remove it or add its definitions module to workspace.yaml"
        for folder in listed if folder not in locations
    ]
    errors += [
        f"{root / folder / 'dg.toml'}: missing, so dg cannot load {module}; "
        f"write it with mesh_platform.dg.write_project"
        for folder, module in locations.items() if not (root / folder / "dg.toml").exists()
    ]
    return errors
