"""The same mesh, unchanged, on a Spark standalone cluster: through a Spark Connect server and as a driver.

A master, a worker and a Spark Connect server are started on 127.0.0.1 from the pip-installed PySpark.
`mesh materialize` runs as a user runs it (a subprocess), configured only by environment variables, and
the published products equal the independent DuckDB computation.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import oracle
from compare import assert_same_rows
from conftest import TEST_SCALE, jvm_only
from mesh_platform.spark.servers import connect_server, master_state, standalone_cluster

pytestmark = jvm_only("starts its own JVM cluster whatever the engine under test, so it runs once, in the JVM pass")
MESH = str(Path(sys.executable).parent / "mesh")
SALES = {"orders": ["order_id"], "customer_lifetime_value": ["customer_id"],
         "order_analytics": ["order_month", "order_priority"]}


@pytest.fixture(scope="module")
def cluster():
    with standalone_cluster() as (master, web_port):
        yield master, web_port


def _environment(tmp_path: Path, **spark: str) -> dict[str, str]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(Path(__file__).parent.parent / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESH_SPARK_")}
    return {**env, "MESH_LAKE_ROOT": str(tmp_path / "lake"), "DAGSTER_HOME": str(home), **spark}


def _materialize_sales(env: dict[str, str]) -> Path:
    lake = Path(env["MESH_LAKE_ROOT"])
    subprocess.run([MESH, "seed", "--scale", f"{TEST_SCALE:g}"], env=env, check=True, capture_output=True)
    done = subprocess.run([MESH, "materialize", "--select", "sales"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    tpch = lake / "_tpch" / f"sf{TEST_SCALE:g}"
    for product, key in SALES.items():
        expected = getattr(oracle, f"sales_{product}")(tpch)
        assert_same_rows(oracle.published(lake, "sales", product), expected, key)
    return lake


def _application_names(web_port: int) -> set[str]:
    state = master_state(web_port)
    return {app["name"] for app in state["activeapps"] + state["completedapps"]}


def test_a_domain_materializes_through_spark_connect_on_the_cluster(cluster, tmp_path):
    master, web_port = cluster
    with connect_server(master=master) as url:
        _materialize_sales(_environment(tmp_path, MESH_SPARK_REMOTE=url))
        executors = master_state(web_port)["activeapps"]
    # the work ran on the cluster's worker: the Connect server is the master's application, with cores
    assert [(app["name"], app["cores"] > 0) for app in executors] == [
        ("org.apache.spark.sql.connect.service.SparkConnectServer", True)]


def test_a_domain_materializes_with_the_cluster_as_master(cluster, tmp_path):
    master, web_port = cluster
    _materialize_sales(_environment(tmp_path, MESH_SPARK_MASTER=master))
    assert "mesh-platform" in _application_names(web_port)
