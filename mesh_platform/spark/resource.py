"""The shared Spark session, as a Dagster resource.

The engine is chosen by configuration alone: a Spark Connect URL (`sc://...`: a Spark Connect server,
a cluster or a Sail server) wins; otherwise `engine="sail"` starts Sail on loopback for this process
(spark/sail.py), and `engine="jvm"` is a classic session on `master` (`local[*]` by default, or a
standalone master URL such as `spark://host:7077`).
The session is created on first use, so loading a code location never starts a JVM.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from typing import Any
from urllib.parse import urlparse

from dagster_pyspark import LazyPySparkResource
from pydantic import Field
from pyspark.sql import SparkSession

from mesh_platform import settings
from mesh_platform.spark import sail

# Sane for a laptop: few shuffle partitions, no UI, loopback only, UTC everywhere, Arrow transfers.
LOCAL_DEFAULTS: dict[str, str] = {
    "spark.sql.shuffle.partitions": "8",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.ansi.enabled": "false",
    "spark.driver.memory": "2g",
    # Parquet's vectored reads bypass the file-system statistics that Spark's input metrics (and cost
    # attribution's bytes read) are made of: ~100x too low. The classic read path is as fast locally.
    "spark.hadoop.parquet.hadoop.vectored.io.enabled": "false",
    # Executors write products' Parquet files for Delta, whose timestamps are microseconds (not INT96).
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}
# jdbc sources on the JVM engine: Debian's PostgreSQL driver (libpostgresql-jdbc-java), when installed.
POSTGRES_JDBC_JAR = "/usr/share/java/postgresql.jar"
if os.path.isfile(POSTGRES_JDBC_JAR):
    LOCAL_DEFAULTS["spark.jars"] = POSTGRES_JDBC_JAR
# Settings that also hold for a remote session (the rest belong to the server).
SESSION_DEFAULTS = {"spark.sql.session.timeZone": "UTC", "spark.sql.ansi.enabled": "false"}


class SparkUnavailable(RuntimeError):
    """Spark cannot be reached; the message says why in one line."""


def _check_remote_reachable(url: str) -> None:
    parsed = urlparse(url.replace("sc://", "http://", 1))
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 15002
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        raise SparkUnavailable(
            f"no Spark Connect server answers at {url} ({exc.strerror or exc}); start one or unset MESH_SPARK_REMOTE"
        ) from None


def _check_java() -> None:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.path.exists(os.path.join(java_home, "bin", "java")):
        return
    if shutil.which("java") is None:
        raise SparkUnavailable(
            "Java not found: install Java 17 (or set JAVA_HOME), or point MESH_SPARK_REMOTE at a Spark Connect server"
        )


def create_session(remote: str | None, master: str, conf: dict[str, Any]) -> SparkSession:
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Python UDFs run in worker processes: the platform's interpreter (with pyarrow), not the PATH's python3.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("mesh-platform")
    if remote:
        _check_remote_reachable(remote)
        builder = builder.remote(remote)
        options = {**SESSION_DEFAULTS, **conf}
    else:
        _check_java()
        # set by PySpark in a process that used Spark Connect, and inherited by its children; it would
        # turn this classic session (asked for by configuration) into a refused Connect one
        os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)
        builder = builder.master(master)
        options = {**LOCAL_DEFAULTS, **conf}
    for key, value in options.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM's own trace is hundreds of lines; keep the first one
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SparkUnavailable(f"Spark failed to start ({remote or master}): {first}") from None
    if remote:
        for key, value in SESSION_DEFAULTS.items():
            session.conf.set(key, value)
    else:
        session.sparkContext.setLogLevel("ERROR")  # keep run logs readable; failures still raise
    return session


class SparkResource(LazyPySparkResource):
    """A lazily created Spark session shared by every step of a run (and by the IO manager)."""

    remote: str | None = Field(default=None, description="Spark Connect URL; wins over engine and master.")
    engine: str = Field(default=settings.DEFAULT_ENGINE,
                        description="sail: a Sail server started on loopback; jvm: a classic session on master.")
    master: str = Field(default="local[*]", description="Classic Spark master URL.")
    spark_config: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def _is_dagster_maintained(cls) -> bool:
        return False

    @classmethod
    def from_env(cls, **overrides: Any) -> SparkResource:
        return cls(
            remote=settings.spark_remote(), engine=settings.spark_engine(), master=settings.spark_master(), **overrides
        )

    def _remote_url(self) -> str | None:
        if self.remote or self.engine != "sail":
            return self.remote
        try:
            return sail.local_server_url(settings.sail_log())
        except sail.SailUnavailable as exc:
            raise SparkUnavailable(str(exc)) from None

    def preflight(self) -> None:
        """Raises SparkUnavailable (one line) if the configured engine cannot be reached."""
        if self.remote:
            _check_remote_reachable(self.remote)
        elif self.engine == "sail":
            self._remote_url()
        else:
            _check_java()

    def _init_session(self) -> None:
        if self._spark_session is None:
            self._spark_session = create_session(self._remote_url(), self.master, self.spark_config)
