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
from spark_servers import connect_server, master_state, standalone_cluster

pytestmark = jvm_only("starts its own JVM cluster whatever the engine under test, so it runs once, in the JVM pass")
MESH = str(Path(sys.executable).parent / "mesh")
DAGSTER = str(Path(sys.executable).parent / "dagster")
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


def _check_sales(lake: Path) -> None:
    tpch = lake / "_tpch" / f"sf{TEST_SCALE:g}"
    for product, key in SALES.items():
        assert_same_rows(oracle.published(lake, "sales", product), getattr(oracle, f"sales_{product}")(tpch), key)


def _materialize_sales(env: dict[str, str]) -> Path:
    lake = Path(env["MESH_LAKE_ROOT"])
    subprocess.run([MESH, "seed", "--scale", f"{TEST_SCALE:g}"], env=env, check=True, capture_output=True)
    done = subprocess.run([MESH, "materialize", "--select", "sales"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    _check_sales(lake)
    return lake


def _application_names(web_port: int) -> set[str]:
    state = master_state(web_port)
    return {app["name"] for app in state["activeapps"] + state["completedapps"]}


def _multiprocess_runs(home: Path) -> list[str]:
    """Ids of runs whose steps ran in processes of their own (the multiprocess executor's engine event)."""
    from dagster import DagsterEventType, DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        return [run.run_id for run in instance.get_runs() if any(
            "using multiprocess executor" in (r.event_log_entry.dagster_event.message or "")
            for r in instance.get_records_for_run(run.run_id, of_type=DagsterEventType.ENGINE_EVENT).records)]


def test_a_domain_materializes_through_spark_connect_on_the_cluster(cluster, tmp_path):
    master, web_port = cluster
    with connect_server(master=master) as url:
        env = _environment(tmp_path, MESH_SPARK_REMOTE=url)
        lake = _materialize_sales(env)
        # as a UI-launched run does: each step in its own process, every one a client of the one server (the
        # unpartitioned products: a partition-less run cannot hold the monthly sales.orders)
        done = subprocess.run([DAGSTER, "asset", "materialize", "-m", "domains.sales.definitions", "--select",
                               "sales/customer_lifetime_value,sales/order_analytics"],
                              env={**env, "MESH_EXECUTOR": "multiprocess"}, capture_output=True, text=True,
                              cwd=Path(__file__).parent.parent)
        assert done.returncode == 0, done.stderr[-3000:]
        executors = master_state(web_port)["activeapps"]
    assert len(_multiprocess_runs(Path(env["DAGSTER_HOME"]))) == 1
    _check_sales(lake)
    # the work ran on the cluster's worker: the Connect server is the master's application, with cores
    assert [(app["name"], app["cores"] > 0) for app in executors] == [
        ("org.apache.spark.sql.connect.service.SparkConnectServer", True)]


def test_a_domain_materializes_with_the_cluster_as_master(cluster, tmp_path):
    master, web_port = cluster
    _materialize_sales(_environment(tmp_path, MESH_SPARK_MASTER=master))
    assert "mesh-platform" in _application_names(web_port)
