"""A real PostgreSQL 15 server for the tests: initdb in a temp folder, its own port on 127.0.0.1,
password (scram-sha-256) authentication for a test user, stopped by its pid.

PostgreSQL refuses to run as root, so the server runs as a system user made for it (`useradd --system`)
that owns the data folder. Without the binaries the tests that need a server skip with one line; in CI
(MESH_REQUIRE_POSTGRES=1) they fail instead.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")
OS_USER = "mesh-pgtest"
DATABASE = "operations"
USER = "mesh_sales"


class PostgresMissing(RuntimeError):
    """No PostgreSQL binaries on this machine (one line, with the install command)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", OS_USER, "--", *args], check=True, capture_output=True, text=True,
                          **kwargs)


def _server_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(OS_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OS_USER],
                       check=True, capture_output=True)
        return pwd.getpwnam(OS_USER)


@dataclass
class PostgresServer:
    folder: Path
    port: int
    password: str
    host: str = "127.0.0.1"
    database: str = DATABASE
    user: str = USER
    pid: int | None = None

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def url(self) -> str:
        return f"postgresql://{self.host}:{self.port}/{self.database}"

    def env(self, prefix: str = "MESH_SALES_PG") -> dict[str, str]:
        """The environment variables a source declaration names (`<prefix>_URL`, `_USER`, `_PASSWORD`)."""
        return {f"{prefix}_URL": self.url, f"{prefix}_USER": self.user, f"{prefix}_PASSWORD": self.password}

    def start(self) -> None:
        _as_server_user(str(BIN / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.folder / "server.log"), "-w",
                        "-o", f"-p {self.port} -k {self.folder} -c listen_addresses={self.host} -c log_statement=all",
                        "start")
        self.pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        """Fast shutdown (SIGINT) of the postmaster by its pid; waits until it has gone."""
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and Path(f"/proc/{self.pid}").exists():
            time.sleep(0.1)
        self.pid = None

    def log(self) -> str:
        """The server's log: every statement clients ran (log_statement=all), to tell what they read."""
        return (self.folder / "server.log").read_text(errors="replace")

    def sql(self, statement: str) -> list[tuple]:
        """Run one statement as the test user over TCP (what a source does) and return its rows."""
        import adbc_driver_postgresql.dbapi as pg

        with pg.connect(f"host={self.host} port={self.port} dbname={self.database} user={self.user} "
                        f"password={self.password}") as conn, conn.cursor() as cursor:
            cursor.execute(statement)
            rows = cursor.fetchall() if cursor.description else []
            conn.commit()
            return rows


def start_postgres() -> PostgresServer:
    """A fresh server with database `operations` owned by the password-authenticated user `mesh_sales`."""
    if not (BIN / "initdb").is_file():
        raise PostgresMissing(f"PostgreSQL 15 not found at {BIN} (apt-get install postgresql)")
    user = _server_user()
    folder = Path(tempfile.mkdtemp(prefix="mesh-pg-"))
    os.chown(folder, user.pw_uid, user.pw_gid)
    # A password no log line would contain by chance: the tests search logs and events for it.
    server = PostgresServer(folder, _free_port(), f"pw-{secrets.token_hex(12)}")
    # The socket lives in the server user's private folder (0700): only it sets up through it; every TCP
    # login needs a password.
    _as_server_user(str(BIN / "initdb"), "-D", str(server.data_dir), "-U", "postgres", "--auth-local=trust",
                    "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C")
    server.start()
    _as_server_user(str(BIN / "psql"), "-h", str(folder), "-p", str(server.port), "-U", "postgres", "-d", "postgres",
                    "-v", "ON_ERROR_STOP=1", "-q",
                    "-c", f"CREATE ROLE {server.user} LOGIN PASSWORD '{server.password}'",
                    "-c", f"CREATE DATABASE {server.database} OWNER {server.user}")
    return server


def remove(server: PostgresServer) -> None:
    server.stop()
    shutil.rmtree(server.folder, ignore_errors=True)
