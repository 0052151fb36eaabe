"""Spark servers on loopback: a Spark Connect server and a standalone cluster from the pip-installed
PySpark, and a shared Sail server.

For tests, benchmarks and trying the cluster configuration on a laptop. A real deployment points
`MESH_SPARK_REMOTE` or `MESH_SPARK_MASTER` at servers it runs itself (see the README).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pyspark

SPARK_HOME = Path(pyspark.__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start on 127.0.0.1:{port}") from None
            time.sleep(0.5)


@contextmanager
def _spark_process(args: list[str], port: int, what: str, timeout: float) -> Iterator[None]:
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1",
           "PYSPARK_PYTHON": sys.executable}  # executors' Python workers need the platform's pyarrow
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        _wait_for_port(port, process, what, timeout)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@contextmanager
def connect_server(master: str = "local[*]", port: int | None = None, timeout: float = 120) -> Iterator[str]:
    """A Spark Connect server whose driver runs here and whose executors run on `master`; yields its URL."""
    port = port or free_port()
    conf = {"spark.connect.grpc.binding.address": "127.0.0.1", "spark.connect.grpc.binding.port": str(port),
            "spark.ui.enabled": "false", "spark.sql.session.timeZone": "UTC", "spark.sql.shuffle.partitions": "8",
            "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS"}
    args = [str(SPARK_HOME / "bin" / "spark-submit"), "--master", master,
            "--class", "org.apache.spark.sql.connect.service.SparkConnectServer"]
    for key, value in conf.items():
        args += ["--conf", f"{key}={value}"]
    with _spark_process(args, port, "the Spark Connect server", timeout):
        yield f"sc://127.0.0.1:{port}"


@contextmanager
def sail_server(port: int | None = None, timeout: float = 60) -> Iterator[str]:
    """One Sail server for many clients (the engine `sail` starts one per run instead); yields its URL."""
    port = port or free_port()
    sail = Path(sys.executable).parent / "sail"
    with _spark_process([str(sail), "spark", "server", "--ip", "127.0.0.1", "--port", str(port)], port,
                        "the Sail server", timeout):
        yield f"sc://127.0.0.1:{port}"


def master_state(web_port: int) -> dict:
    """The standalone master's own JSON view: workers, active and completed applications."""
    with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/json/", timeout=5) as response:
        return json.load(response)


@contextmanager
def standalone_cluster(cores: int = 2, memory: str = "2g", timeout: float = 120) -> Iterator[tuple[str, int]]:
    """A standalone master and one worker; yields the master URL and the master's web UI port."""
    port, web_port = free_port(), free_port()
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    master = f"spark://127.0.0.1:{port}"
    with ExitStack() as stack:
        stack.enter_context(_spark_process(
            [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
             "--webui-port", str(web_port)], port, "the standalone master", timeout))
        worker_port = free_port()
        stack.enter_context(_spark_process(
            [spark_class, "org.apache.spark.deploy.worker.Worker", master, "--host", "127.0.0.1",
             "--port", str(worker_port), "--webui-port", str(free_port()), "--cores", str(cores),
             "--memory", memory], worker_port, "the standalone worker", timeout))
        deadline = time.monotonic() + timeout
        while master_state(web_port).get("aliveworkers", 0) < 1:  # the worker listens before it has registered
            if time.monotonic() > deadline:
                raise RuntimeError("the standalone worker did not register with its master")
            time.sleep(0.5)
        yield master, web_port
