"""The Dagster instance the CLI and `dagster dev` share: $DAGSTER_HOME, ./.dagster by default."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from dagster import DagsterInstance

from mesh_platform.config import current_mesh


def ensure_dagster_home() -> Path:
    """Sets DAGSTER_HOME (default ./.dagster) and gives it the mesh's dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or Path.cwd() / ".dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    mesh = current_mesh(required=False)
    config = home / "dagster.yaml"
    project_config = mesh.root / "dagster.yaml" if mesh is not None else config
    if not config.exists() and project_config.exists():
        shutil.copyfile(project_config, config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def get_instance() -> DagsterInstance:
    ensure_dagster_home()
    return DagsterInstance.get()
