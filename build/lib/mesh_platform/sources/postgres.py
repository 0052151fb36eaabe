"""Connections to a jdbc source's PostgreSQL: credentials from the environment, errors as one line.

The declaration names environment variables, never values. Whatever goes wrong is one line naming the
source and the variable or host:port, and no text that leaves this module carries the password: the
driver's messages are scrubbed, and the connection's repr hides it.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlparse

from mesh_platform.sources.model import Source

URL = re.compile(r"^postgresql://[^/@\s]+/\w+$")


class SourceUnavailable(RuntimeError):
    """A jdbc source cannot be reached or logged into; one line naming the source and what to fix."""


@dataclass(frozen=True)
class Connection:
    source: str  # domain.name, for messages
    host: str
    port: int
    database: str
    user: str
    password: str = field(repr=False)
    user_env: str = ""
    password_env: str = ""
    url_from: str = ""  # where the URL came from: jdbc.url or the variable jdbc.url_env names

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def jdbc_url(self) -> str:
        """Spark's JDBC URL: no credentials (they go as reader options, which nothing logs)."""
        return f"jdbc:postgresql://{self.host}:{self.port}/{self.database}"

    def libpq(self) -> str:
        def quoted(value: str | int) -> str:
            return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"

        return (f"host={quoted(self.host)} port={self.port} dbname={quoted(self.database)} "
                f"user={quoted(self.user)} password={quoted(self.password)} connect_timeout=10")

    def scrub(self, text: str) -> str:
        return text.replace(self.password, "***") if self.password else text


def _variable(source: str, block_field: str, name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SourceUnavailable(
            f"source {source}: environment variable {name} (named by jdbc.{block_field}) is not set; export it"
        )
    return value


def connection(source: Source, domain: str) -> Connection:
    """The source's connection settings, read from the environment variables its declaration names."""
    label, jdbc = f"{domain}.{source.name}", source.jdbc
    assert jdbc is not None, f"{label} is a {source.kind} source"
    url = jdbc.url or _variable(label, "url_env", jdbc.url_env)
    url_from = "jdbc.url" if jdbc.url else jdbc.url_env
    if not URL.match(url):  # never echo a URL from the environment: it might hold a password
        raise SourceUnavailable(
            f"source {label}: {url_from} is not postgresql://host:port/database (credentials go in "
            f"{jdbc.user_env} and {jdbc.password_env}, not the URL)"
        )
    parsed = urlparse(url)
    return Connection(
        label, parsed.hostname or "127.0.0.1", parsed.port or 5432, parsed.path.lstrip("/"),
        _variable(label, "user_env", jdbc.user_env), _variable(label, "password_env", jdbc.password_env),
        jdbc.user_env, jdbc.password_env, url_from,
    )


def _explain(conn: Connection, exc: Exception) -> SourceUnavailable:
    text = conn.scrub(str(exc))
    if "password authentication failed" in text or "no password supplied" in text:
        return SourceUnavailable(
            f"source {conn.source}: PostgreSQL at {conn.where} refused the login of user {conn.user!r} "
            f"(password authentication failed); check {conn.user_env} and {conn.password_env}"
        )
    if "Failed to connect" in text or "could not connect" in text or "timeout expired" in text:
        reason = "connection refused" if "refused" in text else "no answer"
        if "does not exist" in text:
            reason = next((line.split("FATAL:", 1)[-1].strip() for line in text.splitlines() if "FATAL" in line),
                          "database does not exist")
        return SourceUnavailable(
            f"source {conn.source}: PostgreSQL at {conn.where} is unreachable ({reason}); start it or fix {conn.url_from}"
        )
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__)
    if "ERROR:" in first:  # a statement the declaration wrote (its table, query, probe or freshness) failed
        return SourceUnavailable(
            f"source {conn.source}: PostgreSQL at {conn.where} refused a statement of the declaration: "
            f"{' '.join(first.split('ERROR:', 1)[1].split())} (check jdbc.table or jdbc.query, jdbc.change_probe "
            "and freshness)"
        )
    return SourceUnavailable(f"source {conn.source}: PostgreSQL at {conn.where}: {first}")


@contextmanager
def connect(conn: Connection):
    """An ADBC (libpq) connection; SourceUnavailable (one line, no secret) when it cannot be made or used."""
    import adbc_driver_manager
    import adbc_driver_postgresql.dbapi as pg

    try:
        db = pg.connect(conn.libpq())
    except adbc_driver_manager.Error as exc:
        raise _explain(conn, exc) from None
    try:
        yield db
    except adbc_driver_manager.Error as exc:
        raise _explain(conn, exc) from None
    finally:
        db.close()


def rows(db, statement: str, parameters: tuple = ()) -> list[tuple]:
    with db.cursor() as cursor:
        cursor.execute(statement, parameters or None)
        return cursor.fetchall()


def fetch_arrow(db, statement: str):
    with db.cursor() as cursor:
        cursor.execute(statement)
        return cursor.fetch_arrow_table()
