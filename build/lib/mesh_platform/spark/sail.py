"""Sail, a Rust engine behind the Spark Connect protocol, started on loopback for one Python process.

`MESH_SPARK_ENGINE=sail` (without `MESH_SPARK_REMOTE`) makes the Spark resource call `local_server_url()`:
a child process runs a Sail server on a free loopback port and the session connects to it. The child
watches its parent and stops when the parent is gone, even after a SIGKILL, so no server outlives the
run that started it. Sail starts in well under a second, so each run (or each step of a multiprocess
run) paying one start is cheaper than sharing a server whose lifetime nobody owns.

Run as a module, this file is that child: `python -m mesh_platform.spark.sail <parent pid>`.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

_STARTED: dict[int, tuple[subprocess.Popen, str]] = {}  # by pid: a fork must not reuse its parent's server


class SailUnavailable(RuntimeError):
    """Sail cannot start; the message says why in one line."""


def local_server_url(log_file: Path) -> str:
    """The `sc://` URL of this process's Sail server, started on first call."""
    started = _STARTED.get(os.getpid())
    if started and started[0].poll() is None:
        return started[1]
    if importlib.util.find_spec("pysail") is None:
        raise SailUnavailable("Sail is not installed: pip install pysail, or set MESH_SPARK_ENGINE=jvm")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(os.getpid())],
            stdout=subprocess.PIPE, stderr=log, start_new_session=True,  # Ctrl-C is the parent's to handle
        )
    line = process.stdout.readline().decode().strip()  # the child prints its port once it listens
    if not line.isdigit():  # it exited (empty line) or failed to start
        process.kill()
        raise SailUnavailable(f"the Sail server did not start (see {log_file})")
    url = f"sc://127.0.0.1:{line}"
    _STARTED[os.getpid()] = (process, url)
    atexit.register(_stop, process)
    return url


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _serve(parent: int) -> None:
    from pysail.spark import SparkConnectServer

    server = SparkConnectServer("127.0.0.1", 0)
    server.start(background=True)
    print(server.listening_address[1], flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while os.getppid() == parent:  # re-parented: the process that started us is gone
            time.sleep(0.5)
    finally:
        server.stop()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
