"""Start and stop a real `dagster dev` on loopback for tests, and talk to its GraphQL API."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DagsterDev:
    def __init__(self, url: str, process: subprocess.Popen, log: Path):
        self.url, self.process, self.log = url, process, log

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = requests.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60)
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def wait_for_locations(self, timeout: float = 180) -> list[str]:
        query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            entries = self.graphql(query)["workspaceOrError"]["locationEntries"]
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                errors = [e for e in entries if e["locationOrLoadError"]["__typename"] == "PythonError"]
                assert not errors, errors
                return [e["name"] for e in entries]
            time.sleep(1)
        raise TimeoutError(f"code locations did not load; see {self.log}")

    def wait_for_run(self, run_id: str, timeout: float = 600) -> str:
        query = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.graphql(query, {"id": run_id})["runOrError"]["status"]
            if status in {"SUCCESS", "FAILURE", "CANCELED"}:
                return status
            time.sleep(2)
        raise TimeoutError(f"run {run_id} did not finish; see {self.log}")

    def wait_for_freshness(self, key: str, status: str, timeout: float = 120) -> None:
        """Until the freshness daemon has judged asset `key` (e.g. "sales/orders") as `status` (e.g. DEGRADED)."""
        query = """query($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) {
            ... on AssetNode { freshnessStatusInfo { freshnessStatus } } } }"""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            node = self.graphql(query, {"key": {"path": key.split("/")}})["assetNodeOrError"]
            if (node.get("freshnessStatusInfo") or {}).get("freshnessStatus") == status:
                return
            time.sleep(2)
        raise TimeoutError(f"{key} did not become {status} within {timeout:.0f} s; see {self.log}")


def wait_until_serving(server: DagsterDev, timeout: float = 180) -> None:
    """Until the webserver (of `dagster dev` or `dg dev`) answers; RuntimeError with its log if it exits first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(f"{server.url}/server_info", timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        if server.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the webserver did not start:\n{server.log.read_text()[-3000:]}")
        time.sleep(1)


@contextmanager
def dagster_dev(home: Path, lake_root: Path, extra_env: dict | None = None):
    """`dagster dev -w workspace.yaml` in its own process group, stopped by group id afterwards."""
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    port = free_port()
    log = home / "dagster-dev.log"
    env = {**os.environ, "DAGSTER_HOME": str(home), "MESH_LAKE_ROOT": str(lake_root),
           "SPARK_LOCAL_IP": "127.0.0.1", **(extra_env or {})}
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster"), "dev", "-w", "workspace.yaml",
             "-h", "127.0.0.1", "-p", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    server = DagsterDev(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_until_serving(server)
        yield server
    finally:
        stop(process)


def stop(process: subprocess.Popen, grace: float = 20) -> int:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    try:  # children (code servers, daemon, run workers) go with the group
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return process.returncode


# Launches an asset run the way the UI's Materialize button does.
LAUNCH = """
mutation($location: String!, $keys: [AssetKeyInput!]) {
  launchPipelineExecution(executionParams: {
      selector: {repositoryLocationName: $location, repositoryName: "__repository__",
                 pipelineName: "__ASSET_JOB", assetSelection: $keys},
      mode: "default"}) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}"""
