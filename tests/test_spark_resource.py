"""The Spark resource picks its engine from configuration and fails in one line when it cannot start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import jvm_only
from mesh_platform.spark import SparkResource, SparkUnavailable, create_session


def test_engine_is_chosen_by_environment(monkeypatch):
    monkeypatch.setenv("MESH_SPARK_REMOTE", "sc://127.0.0.1:15002")
    assert SparkResource.from_env().remote == "sc://127.0.0.1:15002"
    monkeypatch.delenv("MESH_SPARK_REMOTE")
    monkeypatch.setenv("MESH_SPARK_MASTER", "spark://127.0.0.1:7077")
    resource = SparkResource.from_env()
    assert (resource.remote, resource.master) == (None, "spark://127.0.0.1:7077")


def test_missing_java_is_one_clear_line(monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SparkUnavailable) as caught:
        create_session(None, "local[1]", {})
    assert str(caught.value).startswith("Java not found: install Java 17") and "\n" not in str(caught.value)


def test_unreachable_spark_connect_server_is_one_clear_line():
    with pytest.raises(SparkUnavailable, match=r"^no Spark Connect server answers at sc://127\.0\.0\.1:9 "):
        create_session("sc://127.0.0.1:9", "local[*]", {})


@jvm_only("the local JVM session's own settings")
def test_local_session_is_laptop_sized(spark):
    conf = spark.conf
    assert conf.get("spark.sql.session.timeZone") == "UTC"
    assert conf.get("spark.ui.enabled") == "false" and conf.get("spark.driver.bindAddress") == "127.0.0.1"
    assert int(conf.get("spark.sql.shuffle.partitions")) <= 16


SAIL_CLIENT = """
import os, sys
from mesh_platform.spark import SparkResource
spark = SparkResource.from_env().spark_session
url = SparkResource.from_env()._remote_url()  # this process's server, already started
host, port = url.removeprefix("sc://").split(":")
print(spark.range(1000).selectExpr("sum(id) AS s").first().s, host, port, flush=True)
sys.stdin.readline()  # stay alive until the test kills us
"""


def test_sail_engine_starts_on_loopback_and_stops_with_the_process_that_started_it(tmp_path):
    env = {**os.environ, "MESH_SPARK_ENGINE": "sail", "MESH_LAKE_ROOT": str(tmp_path),
           "PYTHONPATH": str(Path(__file__).parent.parent)}
    env.pop("MESH_SPARK_REMOTE", None)
    client = subprocess.Popen([sys.executable, "-c", SAIL_CLIENT], env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    total, host, port = client.stdout.readline().split()
    assert (total, host) == ("499500", "127.0.0.1")
    socket.create_connection((host, int(port)), timeout=5).close()  # a server of its own, on loopback
    client.kill()  # SIGKILL: no atexit; the server notices its parent is gone
    client.wait()
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
        except OSError:
            break
        assert time.monotonic() < deadline, "the Sail server outlived the process that started it"
        time.sleep(0.2)
    assert "Starting the Spark Connect server" in (tmp_path / "_platform" / "sail.log").read_text()


def test_unknown_engine_is_refused(monkeypatch):
    monkeypatch.setenv("MESH_SPARK_ENGINE", "duckdb")
    with pytest.raises(ValueError, match="MESH_SPARK_ENGINE='duckdb': expected jvm or sail"):
        SparkResource.from_env()
