"""A mesh repository's configuration: `mesh.yaml` (or `[tool.mesh]` in pyproject.toml) at its root.

```yaml
name: acme-mesh
domains: domains                  # the folder of domain folders (an importable package from the root)
policies: governance/policies.yaml
lake: .lake                       # MESH_LAKE_ROOT overrides it
as_of: 2026-12-01                 # optional default as-of date of builds; without it, the run's UTC date
seed: mymesh.seed:seed            # optional: what `mesh seed` runs (module:function)
```

The platform knows no mesh of its own: the mesh in use is MESH_ROOT's, else the nearest one above the current
folder, else the one above the domain folder a code location loads (`use_mesh_of`).
"""

from __future__ import annotations

import os
import sys
import tomllib
from datetime import date
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mesh_platform.contracts.yaml_text import YamlFileError, read_yaml_file

CONFIG_FILE = "mesh.yaml"


class MeshConfigError(ValueError):
    """A missing or malformed mesh configuration, as one line naming the file, the field and the fix."""


class MeshConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    domains: str = "domains"
    policies: str = "governance/policies.yaml"
    lake: str = ".lake"
    as_of: date | None = None
    seed: str | None = None
    root: Path = Field(exclude=True)
    file: Path = Field(exclude=True)

    @field_validator("seed")
    @classmethod
    def _entry_point(cls, value: str | None) -> str | None:
        if value is not None and (value.count(":") != 1 or not all(value.split(":"))):
            raise ValueError(f"{value!r} is not module:function, e.g. mymesh.seed:seed")
        return value

    @field_validator("domains")
    @classmethod
    def _relative_package(cls, value: str) -> str:
        parts = Path(value).parts
        if Path(value).is_absolute() or not parts or not all(p.isidentifier() for p in parts):
            raise ValueError(f"{value!r} is not a folder of the mesh importable as a package, e.g. domains")
        return value

    @property
    def domains_dir(self) -> Path:
        return self.root / self.domains

    @property
    def domains_package(self) -> str:
        """The dotted name domain modules are imported under: `domains` -> `domains.sales.transforms`."""
        return ".".join(Path(self.domains).parts)

    @property
    def policies_file(self) -> Path:
        return self.root / self.policies

    @property
    def lake_root(self) -> Path:
        return (self.root / Path(self.lake).expanduser()).resolve()

    def importable(self) -> MeshConfig:
        """Puts the mesh root on sys.path, so that its domain packages import (as `dagster dev` does)."""
        if str(self.root) not in sys.path:
            sys.path.insert(0, str(self.root))
        return self


def _read(folder: Path) -> MeshConfig | None:
    """The configuration in `folder` (mesh.yaml first, then pyproject's [tool.mesh]); None if it has neither."""
    config_file, pyproject = folder / CONFIG_FILE, folder / "pyproject.toml"
    if config_file.is_file():
        try:
            data = read_yaml_file(config_file)
        except YamlFileError as exc:
            raise MeshConfigError(str(exc)) from None
        where = str(config_file)
    elif pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text()).get("tool", {}).get("mesh")
        except tomllib.TOMLDecodeError as exc:
            raise MeshConfigError(f"{pyproject}: not valid TOML ({exc})") from None
        if data is None:
            return None
        where = f"{pyproject} [tool.mesh]"
    else:
        return None
    if not isinstance(data, dict):
        raise MeshConfigError(f"{where}: expected a mapping with at least `name:`")
    try:
        return MeshConfig(**data, root=folder.resolve(), file=config_file if config_file.is_file() else pyproject)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or "(top level)"
        fix = {"extra_forbidden": "remove it; known fields: name, domains, policies, lake, as_of, seed",
               "missing": "add it"}.get(error["type"], error["msg"])
        raise MeshConfigError(f"{where}: {field}: {fix}") from None


def find_mesh(start: Path) -> MeshConfig | None:
    """The configuration of the nearest mesh at or above `start`."""
    start = Path(start).resolve()
    for folder in (start, *start.parents):
        if (config := _read(folder)) is not None:
            return config
    return None


_used: list[MeshConfig] = []  # the mesh a code location declared it belongs to (use_mesh_of)


@cache
def _mesh_at(root: str | None, cwd: str) -> MeshConfig | None:
    if root:
        config = _read(Path(root))
        if config is None:
            raise MeshConfigError(f"MESH_ROOT={root}: no {CONFIG_FILE} (or [tool.mesh] in pyproject.toml) there")
        return config
    return find_mesh(Path(cwd))


def current_mesh(required: bool = True) -> MeshConfig | None:
    """The mesh in use: MESH_ROOT's, else the nearest above the current folder, else the one a code location
    declared (`use_mesh_of`: `dagster dev -w` started outside the mesh); MeshConfigError (one line) when there is
    none and `required`."""
    root = os.environ.get("MESH_ROOT") or None
    config = _mesh_at(root, os.getcwd()) or (_used[-1] if _used and not root else None)
    if config is None and required:
        raise MeshConfigError(
            f"no {CONFIG_FILE} (or [tool.mesh] in pyproject.toml) in {os.getcwd()} or a folder above it: "
            "run the command inside a mesh repository, set MESH_ROOT, or start one with `mesh init DIR`")
    return config.importable() if config is not None else None


def use_mesh_of(path: Path) -> MeshConfig | None:
    """Declares that code under `path` (a domain folder) belongs to the mesh above it: a code location finds its
    mesh even when `dagster dev` was started outside every mesh."""
    config = find_mesh(path)
    if config is not None and config not in _used:
        _used.append(config)
    return config
