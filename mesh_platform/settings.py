"""Platform settings read from the environment, in one place.

| variable             | default       | meaning                                                   |
|----------------------|---------------|-----------------------------------------------------------|
| MESH_ROOT            | (search)      | the mesh repository (mesh.yaml); default: the nearest above the current folder |
| MESH_LAKE_ROOT       | mesh.yaml lake | root folder (or URI) of the lake (else ./.lake outside a mesh) |
| MESH_SPARK_ENGINE    | sail          | sail (Sail, started on loopback) or jvm (Spark's own engine: the reference, clusters) |
| MESH_SPARK_REMOTE    | (unset)       | Spark Connect URL, e.g. sc://127.0.0.1:15002 (also Sail)  |
| MESH_SPARK_MASTER    | local[*]      | classic Spark master URL, e.g. spark://host:7077          |
| MESH_AS_OF           | mesh.yaml as_of | default as-of date of product builds (else the UTC date) |
| MESH_EXECUTOR        | in_process    | in_process (one Spark session per run) or multiprocess    |
| MESH_SENSOR_INTERVAL | 30            | seconds between evaluations of the platform's sensors (sources, propagation, alerts) |
| MESH_AUTOMATION      | on            | paused: the domains' automation sensors start stopped (Automation page starts them) |
| MESH_DOMAIN_GROUPS   | (own group)   | domain=group,...: the OS group that may read a domain's tables |
| MESH_WRITE_PATH      | auto          | arrow, spark (executors write Parquet) or auto: by size |
| MESH_ARROW_WRITE_MAX_MB | 64         | auto: largest DataFrame (plan size) published through Arrow |
| MESH_MONITORING      | on            | off: no OpenLineage events or cost metadata (e.g. to measure them) |
| MESH_OPENLINEAGE_FILE | <lake>/_platform/openlineage.jsonl | OpenLineage events appended as JSON lines |
| MESH_OPENLINEAGE_URL | (unset)       | also POST each OpenLineage event to this endpoint          |
| MESH_ALERT_LOG       | <lake>/_platform/alerts.jsonl | every freshness alert appended as a JSON line |
| MESH_ALERT_WEBHOOK   | (unset)       | URL each freshness alert is POSTed to                      |
| MESH_SOURCES_PROFILE | (unset)       | e.g. postgres: each domain's sources.<profile>.yaml replaces same-named sources |
| DAGSTER_HOME         | ./.dagster    | Dagster instance folder (run history, event log)          |
| MESH_TOKEN           | (unset)       | the credential a client presents (`mesh identity issue`)  |
| MESH_CREDENTIALS_FILE | ~/.config/mesh/credentials | credentials, one a line; must be mode 0600 |
| MESH_IDENTITY        | auto          | auto: enforced once `mesh identity init` ran; enforce: never local mode |
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

from mesh_platform.config import current_mesh

COST_WINDOW_DAYS = 30  # `mesh cost` and the governance/cost asset sum the publishes of this many days
VACUUM_RETENTION_HOURS = 24.0  # `mesh vacuum`, publishes and the daily vacuum keep unreferenced files this long


def lake_root() -> Path:
    if value := os.environ.get("MESH_LAKE_ROOT"):
        return Path(value).expanduser().resolve()
    mesh = current_mesh(required=False)
    return mesh.lake_root if mesh is not None else Path(".lake").resolve()


def default_as_of() -> date:
    """A run's as-of date unless it sets one: MESH_AS_OF, else mesh.yaml's `as_of`, else today (UTC) as the run
    starts; the run records it, so a build never reads the clock."""
    if value := os.environ.get("MESH_AS_OF"):
        return date.fromisoformat(value)
    mesh = current_mesh(required=False)
    return mesh.as_of if mesh is not None and mesh.as_of else datetime.now(UTC).date()


def fixed_as_of() -> date | None:
    """The mesh's as-of date when one is set (MESH_AS_OF, else mesh.yaml's `as_of`), None when builds follow
    the clock: it bounds the partitions of partitioned products (product/partitions.py)."""
    if value := os.environ.get("MESH_AS_OF"):
        return date.fromisoformat(value)
    mesh = current_mesh(required=False)
    return mesh.as_of if mesh is not None else None


def spark_remote() -> str | None:
    return os.environ.get("MESH_SPARK_REMOTE") or None


ENGINES = ("jvm", "sail")
# The local default: Sail runs the sample mesh 3.6x faster than the JVM in 40 % of the memory, with the same
# values (CI runs the whole suite on both; BENCHMARKS.md, "The default engine"). The JVM stays the reference
# engine and the path to a cluster (MESH_SPARK_MASTER, MESH_SPARK_REMOTE).
DEFAULT_ENGINE = "sail"


def spark_engine() -> str:
    """MESH_SPARK_ENGINE; unset, the JVM when a classic master URL is configured (a cluster), else the default."""
    value = os.environ.get("MESH_SPARK_ENGINE") or ("jvm" if os.environ.get("MESH_SPARK_MASTER") else DEFAULT_ENGINE)
    if value not in ENGINES:
        raise ValueError(f"MESH_SPARK_ENGINE={value!r}: expected {' or '.join(ENGINES)}")
    return value


def sail_log() -> Path:
    return lake_root() / "_platform" / "sail.log"


def sources_profile() -> str | None:
    value = os.environ.get("MESH_SOURCES_PROFILE") or None
    if value is not None and not value.replace("_", "").isalnum():
        raise ValueError(f"MESH_SOURCES_PROFILE={value!r}: expected a name such as postgres (sources.<name>.yaml)")
    return value


def spark_master() -> str:
    return os.environ.get("MESH_SPARK_MASTER", "local[*]")


def executor_name() -> str:
    value = os.environ.get("MESH_EXECUTOR", "in_process")
    if value not in {"in_process", "multiprocess"}:
        raise ValueError(f"MESH_EXECUTOR={value!r}: expected in_process or multiprocess")
    return value


def sensor_interval() -> int:
    """Every domain has a propagation sensor: at hundreds of products their ticks compete with the UI."""
    value = os.environ.get("MESH_SENSOR_INTERVAL", "30")
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"MESH_SENSOR_INTERVAL={value!r}: expected a whole number of seconds, at least 1")
    return int(value)


def automation_paused() -> bool:
    """On a fresh instance the domains' sources, propagation and mesh-refresh sensors start running, unless
    MESH_AUTOMATION=paused (e.g. to look at a lake without rebuilding it); a toggle on the Automation page wins."""
    value = os.environ.get("MESH_AUTOMATION", "on")
    if value not in {"on", "paused"}:
        raise ValueError(f"MESH_AUTOMATION={value!r}: expected on or paused")
    return value == "paused"


def domain_groups() -> dict[str, str]:
    """MESH_DOMAIN_GROUPS=sales=mesh-sales,finance=mesh-finance; a domain not listed: the platform user's group."""
    value = os.environ.get("MESH_DOMAIN_GROUPS", "")
    pairs = [item.strip() for item in value.split(",") if item.strip()]
    bad = [p for p in pairs if p.count("=") != 1 or not all(part.strip() for part in p.split("="))]
    if bad:
        raise ValueError(f"MESH_DOMAIN_GROUPS={value!r}: {bad[0]!r} is not domain=group; "
                         "write e.g. sales=mesh-sales,finance=mesh-finance")
    return {d.strip(): g.strip() for d, g in (p.split("=") for p in pairs)}


def monitoring_enabled() -> bool:
    value = os.environ.get("MESH_MONITORING", "on")
    if value not in {"on", "off"}:
        raise ValueError(f"MESH_MONITORING={value!r}: expected on or off")
    return value == "on"


ARROW_WRITE_MAX_ROWS = 200_000  # Spark Connect, where the plan's size is not known without a job


def write_path() -> str:
    value = os.environ.get("MESH_WRITE_PATH", "auto")
    if value not in {"auto", "arrow", "spark"}:
        raise ValueError(f"MESH_WRITE_PATH={value!r}: expected auto, arrow or spark")
    return value


def arrow_write_max_bytes() -> int:
    return int(float(os.environ.get("MESH_ARROW_WRITE_MAX_MB", "64")) * 2**20)


def _platform_file(variable: str, name: str) -> Path:
    """A file of the platform's own state: `variable` if set, else `<lake>/_platform/<name>`."""
    return Path(os.environ.get(variable) or lake_root() / "_platform" / name)


def openlineage_file() -> Path:
    return _platform_file("MESH_OPENLINEAGE_FILE", "openlineage.jsonl")


def openlineage_url() -> str | None:
    return os.environ.get("MESH_OPENLINEAGE_URL") or None


def alert_log() -> Path:
    return _platform_file("MESH_ALERT_LOG", "alerts.jsonl")


def alert_webhook() -> str | None:
    return os.environ.get("MESH_ALERT_WEBHOOK") or None


def token() -> str | None:
    return os.environ.get("MESH_TOKEN") or None


def credentials_file() -> Path | None:
    value = os.environ.get("MESH_CREDENTIALS_FILE")
    return Path(value) if value else None


def identity_mode() -> str:
    value = os.environ.get("MESH_IDENTITY", "auto")
    if value not in {"auto", "enforce"}:
        raise ValueError(f"MESH_IDENTITY={value!r}: expected auto or enforce")
    return value
