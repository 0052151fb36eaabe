"""The read audit's integrity: a hash chain over concurrent appenders, tampering detected by
`mesh usage --verify`, compaction by the platform only, and a broken audit failing reads closed.

The chain tests run on their own lake (no Spark); the read tests on the session's published mesh.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from typer.testing import CliRunner

from mesh_platform.access.audit import (
    DENIED,
    SCHEMA,
    ReadEvent,
    Verification,
    audit_path,
    compact,
    entries,
    reads,
    record,
    record_all,
    verify,
)
from mesh_platform.access.audit_chain import CHAIN_COLUMNS, AuditUnreadable, head_path
from mesh_platform.cli import app

ROOT = Path(__file__).parent.parent
CLV, REVENUE = "sales.customer_lifetime_value", "finance.revenue_by_nation"


def event(consumer: str = "marketing", product: str = "sales.orders") -> ReadEvent:
    return ReadEvent(product=product, version=1, consumer=consumer, read_at=datetime.now(UTC),
                     columns=["order_id"], rows=10)


@pytest.fixture
def own_lake(tmp_path, monkeypatch) -> Path:
    """A lake of its own, five reads in its audit, the CLI pointed at it."""
    monkeypatch.setenv("MESH_LAKE_ROOT", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    for consumer in ("marketing", "finance", "marketing", "executive", "finance"):
        record(tmp_path, event(consumer))
    return tmp_path


def verify_cli() -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["usage", "--verify"])
    return result.exit_code, result.output.strip().splitlines()


def test_an_intact_chain_verifies_and_a_batch_is_one_commit(own_lake):
    before = DeltaTable(str(audit_path(own_lake))).version()
    record_all(own_lake, [event("executive"), event("finance"), event("marketing")])
    assert DeltaTable(str(audit_path(own_lake))).version() == before + 1  # the batch: one append commit
    rows = sorted(entries(own_lake), key=lambda r: r["seq"])
    assert [r["seq"] for r in rows] == list(range(8))
    assert all(r["prev_hash"] == p["entry_hash"] for p, r in zip(rows, rows[1:], strict=False))
    assert [r["consumer"] for r in rows[5:]] == ["executive", "finance", "marketing"]  # the batch's order kept
    code, lines = verify_cli()
    assert (code, lines) == (0, ["read audit intact: 8 entries, hash chain verified"])


def _forged_row(**chain) -> pa.Table:
    row = {**vars(event("supply_chain")), "outcome": "read", **chain}
    return pa.Table.from_pylist([row], schema=SCHEMA)


TAMPERING = {
    "modified row": (lambda t: t.update({"consumer": "'finance'"}, predicate="seq = 2"),
                     "entry 2 (sales.orders read by finance at", "does not match its hash: modified"),
    "deleted row": (lambda t: t.delete("seq = 2"), "entry 2 missing before entry 3", "deleted"),
    "deleted last row": (lambda t: t.delete("seq = 4"), "entry 4 missing at the end", "the head records 5"),
    "overwrite": (lambda t: write_deltalake(t, pa.Table.from_pylist([], schema=SCHEMA), mode="overwrite"),
                  "entries 0 to 4 missing at the end", "deleted or overwritten"),
    "forged append without the chain": (lambda t: write_deltalake(t, _forged_row(), mode="append"),
                                        "an entry without a chain position (sales.orders read by supply_chain",
                                        "forged"),
    "forged append with a made-up link": (
        lambda t: write_deltalake(t, _forged_row(seq=5, prev_hash="f" * 64, entry_hash="e" * 64), mode="append"),
        "entry 5 (sales.orders read by supply_chain", "does not link to entry 4"),
}


@pytest.mark.parametrize("case", TAMPERING, ids=list(TAMPERING))
def test_tampering_is_detected_naming_the_first_broken_entry(own_lake, case):
    tamper, first, cause = TAMPERING[case]
    tamper(DeltaTable(str(audit_path(own_lake))))
    code, lines = verify_cli()
    assert code == 1
    assert lines[0].startswith(f"broken: {first}") and cause in lines[0], lines
    if not case.startswith("forged"):  # appends are allowed commits; the rest is named as well
        assert any("of the read audit is a" in line and "append-only" in line for line in lines), lines


def test_verify_names_a_garbage_commit_and_usage_refuses_in_one_line(own_lake):
    garbage = audit_path(own_lake) / "_delta_log" / f"{5:020d}.json"
    garbage.write_text("not json\n")
    code, lines = verify_cli()
    assert code == 1 and len(lines) == 1
    assert f"is unreadable (Delta commit 5 ({garbage}) does not parse:" in lines[0]
    usage = CliRunner().invoke(app, ["usage"])
    assert usage.exit_code == 2 and len(usage.output.strip().splitlines()) == 1
    assert usage.output.startswith("error: the read audit at") and "reads are refused until it is repaired" in usage.output
    with pytest.raises(AuditUnreadable):
        record(own_lake, event())


def test_a_read_after_a_forged_append_still_chains_and_only_the_forgery_is_named(own_lake):
    write_deltalake(str(audit_path(own_lake)), _forged_row(), mode="append")
    record(own_lake, event("executive"))
    problems = verify(own_lake).problems
    assert len(problems) == 1 and problems[0].startswith("an entry without a chain position")
    assert max(r["seq"] for r in entries(own_lake) if r["seq"] is not None) == 5


def test_an_audit_from_before_the_chain_is_chained_once_and_a_later_unchained_entry_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("MESH_LAKE_ROOT", str(tmp_path))
    legacy_schema = pa.schema([f for f in SCHEMA if f.name not in ("outcome", "reason", *CHAIN_COLUMNS)])
    old = [{k: v for k, v in vars(event(c)).items() if k in legacy_schema.names} for c in ("finance", "executive")]
    write_deltalake(str(audit_path(tmp_path)), pa.Table.from_pylist(old, schema=legacy_schema), mode="append")
    record(tmp_path, event("marketing"))  # the upgraded platform appends to the old table
    code, lines = verify_cli()
    assert code == 1 and len(lines) == 2 and all("`mesh audit chain-legacy` chains those once" in li for li in lines)

    result = CliRunner().invoke(app, ["audit", "chain-legacy"])
    assert result.exit_code == 0 and "2 older entries chained" in result.output
    assert verify_cli() == (0, ["read audit intact: 3 entries, hash chain verified"])
    assert [e.consumer for e in sorted(reads(tmp_path), key=lambda e: e.read_at)] == ["finance", "executive", "marketing"]
    assert len(list(tmp_path.glob("_platform/read_audit.pre-chain-*"))) == 1  # the old table kept as evidence

    write_deltalake(str(audit_path(tmp_path)), _forged_row(), mode="append")  # unchained, but newer than the chain
    refused = CliRunner().invoke(app, ["audit", "chain-legacy"])
    assert refused.exit_code == 2 and "is newer than the chain: forged" in refused.output


WORKER = textwrap.dedent("""
    import sys, time
    from datetime import UTC, datetime
    from pathlib import Path
    from mesh_platform.access.audit import ReadEvent, compact, record
    lake, role, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    if role == "compactor":  # compacts until the readers are done, as the schedule would meanwhile
        removed = 0
        while not (lake / "readers_done").exists():
            removed += compact(lake)
            time.sleep(0.05)
        print(removed)
    else:
        for i in range(count):
            record(lake, ReadEvent(product="sales.orders", version=1, consumer=role, read_at=datetime.now(UTC),
                                   columns=["order_id"], rows=i))
    sys.stdout.flush()
""")


def test_concurrent_appends_meeting_compactions_lose_and_duplicate_nothing(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    spawn = lambda *args: subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), *args],  # noqa: E731
                                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    record(tmp_path, event("finance"))  # the table exists before the compactor starts
    compactor = spawn("compactor", "0")
    readers = [spawn(f"reader{i}", "25") for i in range(4)]
    for reader in readers:
        assert reader.wait(timeout=300) == 0, reader.stderr.read()
    (tmp_path / "readers_done").touch()
    out, err = compactor.communicate(timeout=120)
    assert compactor.returncode == 0, err
    assert int(out) > 0  # compactions really ran among the appends

    rows = entries(tmp_path)
    assert len(rows) == 101
    assert sorted(r["seq"] for r in rows) == list(range(101))  # no loss, no duplicate
    for i in range(4):
        assert sorted(r["rows"] for r in rows if r["consumer"] == f"reader{i}") == list(range(25))
    assert verify(tmp_path).problems == []
    operations = [c["operation"] for c in DeltaTable(str(audit_path(tmp_path))).history()]
    assert "OPTIMIZE" in operations


def test_the_governance_schedule_compacts_the_audit_and_keeps_the_chain(own_lake):
    from governance.definitions import defs

    assert defs.resolve_schedule_def("read_audit_compaction_schedule").job_name == "read_audit_compaction"
    result = defs.resolve_job_def("read_audit_compaction").execute_in_process()
    assert result.success
    table = DeltaTable(str(audit_path(own_lake)))
    assert table.history(1)[0]["operation"] == "OPTIMIZE" and len(table.file_uris()) == 1
    assert verify(own_lake) == Verification(5, [])
    assert compact(own_lake) == 0  # already compact: nothing rewritten


# The read path, on the session's published mesh.

def test_open_product_records_the_read_once_and_returns_its_usage(mesh_published, spark, lake_root):
    from mesh_platform.access.reader import open_product
    from mesh_platform.mesh import find_contract

    before = reads(lake_root, CLV)
    read = open_product(spark, find_contract(CLV), "marketing", lake_root, columns=["customer_id"])
    after = reads(lake_root, CLV)
    assert len(after) == len(before) + 1
    assert (after[-1].consumer, after[-1].via, after[-1].columns) == ("marketing", "api", ["customer_id"])
    assert read.observation.metadata["usage/read_count"].value == len(after)
    assert verify(lake_root).problems == []


def test_denied_reads_are_recorded_once_with_consumer_and_reason(mesh_published, spark, instance, lake_root):
    from mesh_platform.access import AccessDenied, read_product

    before = reads(lake_root, REVENUE, outcome=DENIED)
    with pytest.raises(AccessDenied) as error:
        read_product(REVENUE, "sales", spark=spark, instance=instance)
    cli = CliRunner().invoke(app, ["read", REVENUE, "--as", "supply_chain"])
    assert cli.exit_code == 3
    denied = reads(lake_root, REVENUE, outcome=DENIED)[len(before):]
    assert [(e.consumer, e.via, e.rows) for e in denied] == [("sales", "api", 0), ("supply_chain", "cli", 0)]
    assert denied[0].reason == str(error.value)
    assert denied[1].reason.startswith("supply_chain may not read finance.revenue_by_nation: its contract allows")
    usage = CliRunner().invoke(app, ["usage", "--product", REVENUE, "--format", "json"])
    assert [d["consumer"] for d in json.loads(usage.stdout)["denied"]][-2:] == ["sales", "supply_chain"]


@dataclass
class BrokenAudit:
    """The session's audit, to be damaged by a test and restored (by the test or afterwards)."""

    path: Path
    lake_root: Path
    saved: Path

    def restore(self) -> None:
        if self.saved.exists():
            shutil.rmtree(self.path)
            shutil.copytree(self.saved / "table", self.path)
            shutil.copyfile(self.saved / "head", head_path(self.lake_root))
            shutil.rmtree(self.saved)


@pytest.fixture
def broken_audit(mesh_published, lake_root):
    saved = lake_root.parent / f"{lake_root.name}-audit-saved"
    shutil.copytree(audit_path(lake_root), saved / "table")
    shutil.copyfile(head_path(lake_root), saved / "head")
    audit = BrokenAudit(audit_path(lake_root), lake_root, saved)
    yield audit
    audit.restore()


def assert_one_line_unreadable(message: str):
    assert "\n" not in message.strip()
    assert "the read audit at" in message and "is unreadable" in message and "mesh usage --verify" in message


def test_a_garbage_commit_fails_consumer_reads_closed_but_not_own_domain_builds(
        broken_audit, spark, instance, lake_root, monkeypatch):
    from mesh_platform import runner
    from mesh_platform.access import read_product

    version = DeltaTable(str(broken_audit.path)).version()
    garbage = broken_audit.path / "_delta_log" / f"{version + 1:020d}.json"
    garbage.write_text('{"add": {"path": "x.parquet", ')
    with pytest.raises(AuditUnreadable) as error:
        read_product(CLV, "finance", spark=spark, instance=instance)
    assert_one_line_unreadable(str(error.value))
    assert f"(Delta commit {version + 1} ({garbage}) does not parse:" in str(error.value)
    monkeypatch.setenv("COLUMNS", "400")
    cli = CliRunner().invoke(app, ["read", CLV, "--as", "marketing", "--limit", "2"])
    # after the identity line (local mode here), exactly one error line
    (notice, refusal) = cli.output.strip().splitlines()
    assert cli.exit_code == 2 and notice.startswith("identity: local mode") and refusal.startswith("error: the read audit at")
    assert_one_line_unreadable(refusal)
    assert verify_cli()[0] == 1

    consumer_build, own_source, own_product = (
        runner.materialize([p], instance=instance)[0]
        for p in ("marketing.campaign_attribution", "finance.pricing_summary", "sales.order_analytics"))
    assert consumer_build.status == "failed"
    failure = next(r for r in instance.get_records_for_run(consumer_build.run_id).records
                   if r.event_log_entry.dagster_event and r.event_log_entry.dagster_event.is_step_failure)
    assert "the read audit at" in str(failure.event_log_entry.dagster_event.event_specific_data.error.cause)
    assert own_source.status == "published"  # a source-aligned build reads no product: the audit is not needed
    assert own_product.status == "published"  # reading its own domain: unrecorded, with a warning in its run
    warnings = [r.event_log_entry.user_message for r in instance.get_records_for_run(own_product.run_id).records
                if "not recorded: the read audit at" in (r.event_log_entry.user_message or "")]
    assert warnings and warnings[0].startswith("sales.orders read by sales.order_analytics not recorded")

    broken_audit.restore()  # repaired: the consumer builds again (and its governance report is current again)
    assert verify_cli()[0] == 0
    assert runner.materialize(["marketing.campaign_attribution"], instance=instance)[0].status == "published"


def test_a_parquet_file_that_does_not_parse_fails_consumer_reads_closed(broken_audit, spark, instance, lake_root):
    from mesh_platform.access import read_product

    read_product(CLV, "finance", spark=spark, instance=instance)  # the newest audit file holds a CLV read
    files = [Path(uri.removeprefix("file://")) for uri in DeltaTable(str(broken_audit.path)).file_uris()]
    newest = max(files, key=lambda f: f.stat().st_mtime)
    newest.write_bytes(b"not a parquet file")
    with pytest.raises(AuditUnreadable) as error:
        read_product(CLV, "finance", spark=spark, instance=instance)
    assert_one_line_unreadable(str(error.value))
    assert f"{newest.name} does not parse: Parquet magic bytes not found" in str(error.value)
