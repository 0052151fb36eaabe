"""Shared fixtures: a real lake seeded from TPC-H, one real Spark session, a real Dagster instance.

The lake root is fixed before any domain definitions are imported, because code locations bind the
platform resources (and so the lake root) when they load.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ["MESH_LAKE_ROOT"] = tempfile.mkdtemp(prefix="mesh-test-lake-")
TEST_SCALE = float(os.environ.get("MESH_TEST_SCALE", "0.01"))
# The suite runs on the engine configured as for users: Sail (the default), the JVM (MESH_SPARK_ENGINE=jvm)
# or any Spark Connect server (MESH_SPARK_REMOTE). CI runs it on Sail and on the JVM.
ON_JVM = not os.environ.get("MESH_SPARK_REMOTE") and os.environ.get("MESH_SPARK_ENGINE", "sail") == "jvm"


def jvm_only(why: str):
    """For the few tests of what only a classic (JVM) session has; `why` names it."""
    return pytest.mark.skipif(not ON_JVM, reason=f"JVM engine only: {why}")


@pytest.fixture(scope="session")
def lake_root() -> Path:
    return Path(os.environ["MESH_LAKE_ROOT"])


@pytest.fixture(scope="session")
def seeded_lake(lake_root: Path) -> Path:
    from domains.seeding.bronze import seed

    seed(lake_root, TEST_SCALE)
    return lake_root


@pytest.fixture(scope="session")
def tpch_dir(seeded_lake: Path) -> Path:
    return seeded_lake / "_tpch" / f"sf{TEST_SCALE:g}"


@pytest.fixture(scope="session")
def spark():
    from mesh_platform.spark import SparkResource

    return SparkResource.from_env().spark_session


@pytest.fixture(scope="session")
def dagster_home(tmp_path_factory) -> Path:
    """A persistent instance folder, shared by in-process runs and the `dagster dev` tests."""
    import shutil

    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copyfile(Path(__file__).parent.parent / "dagster.yaml", home / "dagster.yaml")
    return home


@pytest.fixture(scope="session")
def instance(dagster_home: Path):
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    with DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as dagster_instance:
        yield dagster_instance


@pytest.fixture(scope="session")
def mesh_published(seeded_lake, instance, spark):
    """The whole mesh materialized once, through Dagster (one run per domain), for tests to read."""
    from mesh_platform import runner

    results = runner.materialize(instance=instance)
    assert all(r.ok for r in results), results
    return {r.product: r for r in results}


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL 15 on 127.0.0.1 (tests/postgres.py), stopped at the end; skips without the
    binaries, except in CI (MESH_REQUIRE_POSTGRES=1), where that is a failure."""
    import postgres

    try:
        server = postgres.start_postgres()
    except postgres.PostgresMissing as exc:
        if os.environ.get("MESH_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"MESH_REQUIRE_POSTGRES=1: {exc}")
        pytest.skip(str(exc))
    yield server
    postgres.remove(server)


@pytest.fixture
def webhook():
    """A real HTTP endpoint on loopback that keeps every JSON body POSTed to it."""
    received: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/alerts", received
    server.shutdown()
