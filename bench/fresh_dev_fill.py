"""From `./scripts/dev` on a fresh clone to a fully materialized mesh, with no click.

    python3 bench/fresh_dev_fill.py [--branch BRANCH] [--scale 0.1] [--keep]

Clones this repository (the given branch, default the checked-out one) into a temporary folder and runs
its `./scripts/dev` exactly as a newcomer would (its own .venv, .lake and .dagster; MESH_SCALE as given),
in its own process group. Polls the UI's GraphQL API until every product has a materialization by a
successful run, prints the time of each phase (set-up and seed until the UI answers, code locations
loaded, first and last product built), then stops the process group. Nothing is clicked or launched.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTS_QUERY = """{ assetNodes { assetKey { path } isMaterializable groupName
    assetMaterializations(limit: 1) { runId timestamp } } }"""
LOCATIONS_QUERY = "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }"
RUNS_QUERY = "{ runsOrError { ... on Runs { results { runId status } } } }"


def _graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(f"{url}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)["data"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            continue


def measure(branch: str, scale: float, timeout: float, keep: bool) -> dict[str, float]:
    clone = Path(tempfile.mkdtemp(prefix="mesh-fresh-clone-"))
    subprocess.run(["git", "clone", "--quiet", "--branch", branch, str(ROOT), str(clone)], check=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MESH_", "DAGSTER_"))}
    env |= {"PORT": str(port), "MESH_SCALE": f"{scale:g}"}
    log = open(clone / "dev.log", "w")
    started = time.monotonic()
    process = subprocess.Popen(["./scripts/dev"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    phases: dict[str, float] = {}
    try:
        while time.monotonic() - started < timeout:
            if process.poll() is not None:
                raise RuntimeError(f"scripts/dev exited with {process.returncode}; see {clone / 'dev.log'}")
            try:
                if "ui_answers" not in phases:
                    _graphql(url, "{ version }")
                    phases["ui_answers"] = time.monotonic() - started
                if "locations_loaded" not in phases:
                    entries = _graphql(url, LOCATIONS_QUERY)["workspaceOrError"]["locationEntries"]
                    if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                        phases["locations_loaded"] = time.monotonic() - started
                nodes = _graphql(url, PRODUCTS_QUERY)["assetNodes"]
                runs = {r["runId"]: r["status"] for r in _graphql(url, RUNS_QUERY)["runsOrError"]["results"]}
            except OSError:
                time.sleep(2)
                continue
            failed = [r for r, status in runs.items() if status == "FAILURE"]
            if failed:
                raise RuntimeError(f"runs failed: {failed}; see {clone / 'dev.log'}")
            products = [n for n in nodes if n["isMaterializable"] and n["groupName"] != "governance"]
            built = [n for n in products if n["assetMaterializations"]
                     and runs.get(n["assetMaterializations"][0]["runId"]) == "SUCCESS"]
            if built and "first_product" not in phases:
                phases["first_product"] = time.monotonic() - started
            if products and len(built) == len(products):
                phases["mesh_materialized"] = time.monotonic() - started
                phases["products"] = len(products)
                return phases
            time.sleep(3)
        raise TimeoutError(f"mesh not materialized within {timeout:.0f} s: {phases}; see {clone / 'dev.log'}")
    finally:
        _stop(process)
        log.close()
        print(f"clone: {clone}" + ("" if keep else " (removed)"))
        if not keep:
            subprocess.run(["rm", "-rf", str(clone)], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    current = subprocess.run(["git", "branch", "--show-current"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    parser.add_argument("--branch", default=current)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--keep", action="store_true", help="keep the clone (its dev.log, .lake, .dagster)")
    args = parser.parse_args()
    phases = measure(args.branch, args.scale, args.timeout, args.keep)
    for name, seconds in phases.items():
        print(f"{name:>18}: {seconds:7.0f}" + ("" if name == "products" else " s"))


if __name__ == "__main__":
    main()
