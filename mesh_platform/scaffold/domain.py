"""`mesh new domain NAME`: a domain folder that loads as a code location, and its workspace.yaml entry."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from mesh_platform.config import MeshConfig
from mesh_platform.dg import PROJECT_TOML, add_to_workspace
from mesh_platform.scaffold import ScaffoldError, check_name, render, write_new

WORKSPACE = "workspace.yaml"
GOVERNANCE_LOCATION = "governance"

FILES = {
    "domain/__init__.py": "__init__.py",
    "domain/definitions.py": "definitions.py",
    "domain/transforms.py": "transforms.py",
    "domain/policies.yaml": "policies.yaml",
    "domain/sources.yaml": "sources.yaml",
    "domain/contracts_readme.md": "contracts/README.md",  # contracts/ is what makes a folder a domain
}


def _yaml() -> YAML:
    yaml = YAML()  # round trip: the file's comments and flow-style entries stay as they are
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 120
    return yaml


def workspace_with(mesh: MeshConfig, location: str, module: str) -> str:
    """workspace.yaml's text with a `python_module` entry for `module`, before the governance entry."""
    path = mesh.root / WORKSPACE
    if not path.is_file():
        raise ScaffoldError(f"{path}: missing; `mesh init` writes it, or create it with `load_from: []`")
    yaml = _yaml()
    workspace = yaml.load(path.read_text()) or CommentedMap()
    entries = workspace.setdefault("load_from", [])
    names = [(e.get("python_module") or {}).get("location_name") for e in entries if isinstance(e, dict)]
    if location in names:
        raise ScaffoldError(f"{path}: a code location named {location!r} is already listed: choose another name")
    entry = CommentedMap(module_name=module, location_name=location)
    entry.fa.set_flow_style()
    at = names.index(GOVERNANCE_LOCATION) if GOVERNANCE_LOCATION in names else len(entries)
    entries.insert(at, CommentedMap(python_module=entry))
    text = StringIO()
    yaml.dump(workspace, text)
    return text.getvalue()


def new_domain(mesh: MeshConfig, name: str) -> list[Path]:
    """Writes the domain `name` into `mesh`; the files written (workspace.yaml last)."""
    check_name(name, "domain")
    if name == GOVERNANCE_LOCATION:
        raise ScaffoldError(f"{name!r} is the governance code location's name: choose another domain name")
    folder = mesh.domains_dir / name
    if folder.exists():
        raise ScaffoldError(f"domain {name!r} already exists ({folder}): choose another name")
    values = {"domain": name, "domains_package": mesh.domains_package}
    workspace = workspace_with(mesh, name, f"{mesh.domains_package}.{name}.definitions")
    planned = {folder / path: render(template, **values) for template, path in FILES.items()}
    written = write_new(planned | {folder / "dg.toml": PROJECT_TOML})
    (mesh.root / WORKSPACE).write_text(workspace)
    written.append(mesh.root / WORKSPACE)
    if (mesh.root / "dg.toml").exists():  # the mesh is a dg workspace: list the new project there too
        written.append(add_to_workspace(mesh.root, Path(mesh.domains, name).as_posix()))
    return written
