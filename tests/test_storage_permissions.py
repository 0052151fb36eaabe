"""The lake's files as other OS users see them: a domain's tables for its group only, the audit for the platform.

Two real users are created: an outsider, and an insider in the sales domain's group (MESH_DOMAIN_GROUPS).
Tables are written under umask 000, through Arrow and through Spark's executors, then opened as each user
with `runuser` and the system Python.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from mesh_platform.access.audit import ReadEvent, audit_path, record
from mesh_platform.storage import product_path, write_arrow, write_delta

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("runuser") or not shutil.which("useradd"),
    reason="needs root (useradd, runuser) to create the OS users whose access is tested",
)
PYTHON = "/usr/bin/python3"  # readable by every user, unlike the project's interpreter under /root


@pytest.fixture
def os_users():
    tag = f"m{os.getpid() % 100000}"
    group, outsider, insider = f"{tag}sales", f"{tag}out", f"{tag}in"
    subprocess.run(["groupadd", group], check=True)
    subprocess.run(["useradd", "-M", "-N", "-s", "/bin/sh", outsider], check=True)
    subprocess.run(["useradd", "-M", "-N", "-s", "/bin/sh", "-G", group, insider], check=True)
    try:
        yield group, outsider, insider
    finally:
        for user in (outsider, insider):
            subprocess.run(["userdel", user], check=False)
        subprocess.run(["groupdel", group], check=False)


@pytest.fixture
def open_lake(monkeypatch):
    """A lake every user can traverse (the suite's temporary one is 0700), configured as the platform's."""
    root = Path(tempfile.mkdtemp(prefix="mesh-perm-lake-"))
    root.chmod(0o755)
    monkeypatch.setenv("MESH_LAKE_ROOT", str(root))
    yield root
    shutil.rmtree(root, ignore_errors=True)


def as_user(user: str, code: str) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", user, "--", PYTHON, "-c", code], capture_output=True, text=True,
                          timeout=30)


def reads(user: str, path: Path) -> str:
    """'ok' if `user` can read the file's first bytes, else the error's class."""
    result = as_user(user, f"""
try:
    open({str(path)!r}, 'rb').read(4); print('ok')
except OSError as e:
    print(type(e).__name__)""")
    return result.stdout.strip()


def writes(user: str, path: Path) -> str:
    """'ok' if `user` can create `path` (e.g. forge a Delta log entry), else the error's class."""
    result = as_user(user, f"""
try:
    open({str(path)!r}, 'x').write('{{}}'); print('ok')
except OSError as e:
    print(type(e).__name__)""")
    return result.stdout.strip()


def modes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): stat.filemode(p.stat().st_mode) for p in [root, *root.rglob("*")]}


def test_products_are_for_their_domains_group_and_the_audit_for_the_platform(
    os_users, open_lake, monkeypatch, spark
):
    group, outsider, insider = os_users
    monkeypatch.setenv("MESH_DOMAIN_GROUPS", f"sales={group}")
    previous = os.umask(0o000)  # the worst case: every file delta-rs and Spark create would be 0666
    try:
        arrow = product_path(open_lake, "sales", "orders")
        write_arrow(pa.table({"customer_name": ["Customer#1"], "phone": ["25-989-741-2988"]}), arrow)
        write_arrow(pa.table({"customer_name": ["Customer#2"], "phone": ["11-719-748-3364"]}), arrow)
        monkeypatch.setenv("MESH_WRITE_PATH", "spark")
        executors = product_path(open_lake, "sales", "customers")
        write_delta(spark.createDataFrame([("Customer#3", "33-555-1234")], "customer_name string, phone string"),
                    executors)
        record(open_lake, ReadEvent("sales.orders", 1, "marketing", datetime.now(UTC), ["customer_name"], 1))
    finally:
        os.umask(previous)

    for table in (arrow, executors):
        table_modes = modes(table)
        assert any(".parquet" in name for name in table_modes) and any(".json" in name for name in table_modes)
        assert all(m[-3:] == "---" for m in table_modes.values()), table_modes  # nothing for others
        assert all(m in ("-rw-r-----", "drwxr-s---") for m in table_modes.values()), table_modes
        data = next(table.rglob("*.parquet"))
        log = table / "_delta_log" / "00000000000000000000.json"
        assert reads(outsider, data) == reads(outsider, log) == "PermissionError"
        assert reads(insider, data) == reads(insider, log) == "ok"  # the domain's group reads its tables
    assert {stat.filemode((open_lake / d).stat().st_mode) for d in ("sales", "sales/gold")} == {"drwxr-s---"}
    assert stat.filemode(open_lake.stat().st_mode) == "drwxr-xr-x"  # nobody else can add a domain folder

    audit = audit_path(open_lake)
    audit_modes = modes(audit.parent)
    assert all(m in ("-rw-------", "drwx------") for m in audit_modes.values()), audit_modes
    forged = audit / "_delta_log" / "00000000000000000001.json"
    for user in (outsider, insider):  # the audit is the platform's: no domain user forges or reads it
        assert writes(user, forged) == "PermissionError"
        assert reads(user, audit / "_delta_log" / "00000000000000000000.json") == "PermissionError"
    assert not forged.exists()


def test_a_domain_group_that_does_not_exist_is_one_line(monkeypatch, open_lake):
    monkeypatch.setenv("MESH_DOMAIN_GROUPS", "sales=no-such-group-here")
    with pytest.raises(ValueError) as error:
        write_arrow(pa.table({"a": [1]}), product_path(open_lake, "sales", "orders"))
    assert str(error.value) == ("MESH_DOMAIN_GROUPS: sales=no-such-group-here: no OS group 'no-such-group-here'; "
                                "create it (groupadd no-such-group-here) or map sales to an existing group")
    monkeypatch.setenv("MESH_DOMAIN_GROUPS", "sales")
    with pytest.raises(ValueError, match=r"^MESH_DOMAIN_GROUPS='sales': 'sales' is not domain=group"):
        write_arrow(pa.table({"a": [1]}), product_path(open_lake, "sales", "orders"))
