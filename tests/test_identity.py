"""Identities: credentials the platform issues and verifies decide who may act as a domain or team.

Each test has a lake of its own (enforcement turned on there must not reach the shared test lake), with
one product written into it, read by real Spark and reported into a real Dagster instance.
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from dagster import AssetKey, DagsterInstance
from dagster._core.instance.ref import InstanceRef
from typer.testing import CliRunner

from mesh_platform.access import AccessDenied, IdentityError, read_product
from mesh_platform.access import identity as registry
from mesh_platform.access.audit import reads
from mesh_platform.access.credentials import LocalIdentityWarning
from mesh_platform.cli import app
from mesh_platform.mesh import domains_dir
from mesh_platform.storage import product_path, write_arrow

REVENUE = "finance.revenue_by_nation"
REGIONS = ["EUROPE", "ASIA", "EUROPE", "AMERICA"]


@pytest.fixture
def lake(tmp_path, monkeypatch) -> Path:
    """A lake of this test's own holding finance.revenue_by_nation; no credential presented yet."""
    root = tmp_path / "lake"
    monkeypatch.setenv("MESH_LAKE_ROOT", str(root))
    credentials = tmp_path / "credentials"  # never the user's own
    credentials.touch(mode=0o600)
    monkeypatch.setenv("MESH_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.delenv("MESH_TOKEN", raising=False)
    monkeypatch.delenv("MESH_IDENTITY", raising=False)
    write_arrow(pa.table({
        "nation_name": ["FRANCE", "JAPAN", "GERMANY", "BRAZIL"], "region_name": REGIONS,
        "order_year": pa.array([1995, 1995, 1996, 1996], pa.int32()), "order_count": [3, 5, 7, 11],
    }), product_path(root, "finance", "revenue_by_nation"))
    return root


@pytest.fixture
def cli():
    runner = CliRunner()

    def mesh(*args: str, token: str | None = None):
        return runner.invoke(app, list(args), env={"MESH_TOKEN": token})

    return mesh


def admin_token(lake: Path) -> str:
    return registry.init(lake, timedelta(days=1))[1]


def issued(lake: Path, principal: str, expires: timedelta | None = timedelta(days=1)) -> tuple[str, str]:
    """(id, token) of a fresh credential for `principal`, issued by the lake's first admin."""
    admin = next(c for c in registry.credentials(lake) if c.principal == registry.ADMIN)
    record, token = registry.issue(lake, principal, expires, admin)
    return record.id, token


def one_line_refusal(result, code: int = 3) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr.strip()


def test_issue_verify_expire_and_revoke(lake):
    admin = registry.require_admin(lake, [admin_token(lake)])
    short, short_token = registry.issue(lake, "domain:marketing", timedelta(seconds=1), admin)
    lasting, lasting_token = registry.issue(lake, "domain:marketing", None, admin)
    assert registry.verify(lake, short_token) == short and short.principal == "domain:marketing"
    assert registry.verify(lake, lasting_token).expires_at is None

    forged = lasting_token[:-4] + ("AAAA" if not lasting_token.endswith("AAAA") else "BBBB")
    with pytest.raises(IdentityError, match=f"credential {lasting.id} is not known to .* \\(wrong secret"):
        registry.verify(lake, forged)
    with pytest.raises(IdentityError, match="not a mesh credential"):
        registry.verify(lake, "let-me-in")
    with pytest.raises(IdentityError, match="this needs an admin credential"):
        registry.issue(lake, "admin", None, registry.require_admin(lake, [lasting_token]))

    revoked = registry.revoke(lake, lasting.id, admin)
    assert revoked.revoked_by == "admin"
    with pytest.raises(IdentityError, match=f"credential {lasting.id} for domain:marketing was revoked at "):
        registry.verify(lake, lasting_token)
    time.sleep(1.2)
    with pytest.raises(IdentityError, match=f"credential {short.id} for domain:marketing expired at "):
        registry.verify(lake, short_token)
    states = {c.id: c.state(datetime.now(UTC)) for c in registry.credentials(lake)}
    assert states == {admin.id: "active", short.id: "expired", lasting.id: "revoked"}
    with pytest.raises(IdentityError, match="enforcement is on already"):
        registry.init(lake, None)


def test_the_registry_stores_only_hashes_in_a_private_file(lake):
    admin = admin_token(lake)
    _, token = issued(lake, "team:finance")
    path = registry.registry_path(lake)
    assert path == lake / "_platform" / "identities.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    for secret in (admin, token):
        assert secret not in text and secret.split("_", 2)[2] not in text
        assert registry.digest(secret) in text
    assert [r["principal"] for r in json.loads(text)["credentials"]] == ["admin", "team:finance"]
    path.chmod(0o666)  # a registry others can write could gain credentials: refused, not trusted
    with pytest.raises(IdentityError, match=r"is writable by others \(mode 0666\): run chmod 600"):
        registry.verify(lake, token)


def test_concurrent_issues_all_land_in_the_registry(lake):
    from concurrent.futures import ThreadPoolExecutor

    admin_token(lake)
    with ThreadPoolExecutor(8) as pool:
        tokens = list(pool.map(lambda i: issued(lake, f"domain:d{i}")[1], range(16)))
    assert sorted(registry.verify(lake, t).principal for t in tokens) == sorted(f"domain:d{i}" for i in range(16))
    assert len(registry.credentials(lake)) == 17
    assert sorted(p.name for p in registry.registry_path(lake).parent.iterdir()) == ["identities.json", "identities.lock"]


def test_local_mode_works_and_says_so(lake, cli, spark):
    read = cli("read", REVENUE, "--as", "marketing", "--format", "json")
    assert read.exit_code == 0, read.output
    assert [r["region_name"] for r in json.loads(read.stdout)] == ["EUROPE", "EUROPE"]
    assert read.stderr.strip() == (
        f"identity: local mode (no registry in {lake}/_platform): acting as domain:marketing unverified; "
        "run mesh identity init to enforce"
    )
    with pytest.warns(LocalIdentityWarning, match="acting as domain:executive unverified"):
        assert read_product(REVENUE, "executive", spark=spark).count() == len(REGIONS)
    assert reads(lake, REVENUE)[-1].credential is None
    assert cli("identity", "whoami").stdout.startswith("local mode: no identity registry")


def test_enforce_setting_refuses_local_mode(lake, cli, monkeypatch):
    monkeypatch.setenv("MESH_IDENTITY", "enforce")
    line = one_line_refusal(cli("read", REVENUE, "--as", "marketing"))
    assert line == f"denied: MESH_IDENTITY=enforce, but {lake}/_platform has no identity registry: run mesh identity init"


def test_claiming_a_domain_needs_its_credential_on_the_cli(lake, cli, spark):
    admin = admin_token(lake)
    sales_id, sales = issued(lake, "domain:sales")
    marketing_id, marketing = issued(lake, "domain:marketing")
    _, finance_team = issued(lake, "team:finance")

    assert one_line_refusal(cli("read", REVENUE, "--as", "marketing")) == (
        "denied: acting as domain:marketing needs a credential for domain:marketing or team:marketing: set "
        f"MESH_TOKEN or add it to {lake.parent}/credentials "
        "(an admin issues one: mesh identity issue --principal domain:marketing)"
    )
    assert one_line_refusal(cli("read", REVENUE, "--as", "marketing", token=sales)) == (
        f"denied: the credentials presented are for domain:sales ({sales_id}), not domain:marketing or "
        "team:marketing: acting as domain:marketing needs a credential issued for it"
    )
    assert "admin (" in one_line_refusal(cli("read", REVENUE, "--as", "marketing", token=admin))

    ok = cli("read", REVENUE, "--as", "marketing", "--format", "json", token=marketing)
    assert ok.exit_code == 0 and ok.stderr == "", ok.output
    assert [r["region_name"] for r in json.loads(ok.stdout)] == ["EUROPE", "EUROPE"]
    event = reads(lake, REVENUE)[-1]
    assert (event.consumer, event.via, event.credential) == ("marketing", "cli", marketing_id)
    owner = cli("read", REVENUE, "--as", "finance", "--format", "json", token=finance_team)
    assert owner.exit_code == 0 and len(json.loads(owner.stdout)) == len(REGIONS)

    # A verified identity still gets only what the contract allows it.
    assert "denied: sales may not read" in one_line_refusal(cli("read", REVENUE, "--as", "sales", token=sales))

    assert cli("identity", "revoke", marketing_id, token=admin).exit_code == 0
    revoked = one_line_refusal(cli("read", REVENUE, "--as", "marketing", token=marketing))
    assert f"credential {marketing_id} for domain:marketing was revoked at " in revoked
    _, brief = issued(lake, "domain:marketing", timedelta(seconds=1))
    time.sleep(1.2)
    assert "for domain:marketing expired at " in one_line_refusal(cli("read", REVENUE, "--as", "marketing", token=brief))


def test_claiming_a_domain_needs_its_credential_in_the_api(lake, spark, monkeypatch):
    admin_token(lake)
    sales_id, sales = issued(lake, "domain:sales")
    marketing_id, marketing = issued(lake, "domain:marketing")
    with pytest.raises(IdentityError, match="acting as domain:marketing needs a credential"):
        read_product(REVENUE, "marketing", spark=spark)
    with pytest.raises(IdentityError, match=rf"are for domain:sales \({sales_id}\), not domain:marketing"):
        read_product(REVENUE, "marketing", spark=spark, credential=sales)
    before = len(reads(lake, REVENUE))
    assert read_product(REVENUE, "marketing", spark=spark, credential=marketing).count() == REGIONS.count("EUROPE")
    monkeypatch.setenv("MESH_TOKEN", marketing)
    assert read_product(REVENUE, "marketing", spark=spark).count() == REGIONS.count("EUROPE")
    assert [e.credential for e in reads(lake, REVENUE)[before:]] == [marketing_id, marketing_id]
    with pytest.raises(AccessDenied):  # identity proves who reads; the contract still says what they may read
        read_product(REVENUE, "sales", spark=spark, credential=sales)


def test_the_credentials_file_must_be_private(lake, cli):
    admin_token(lake)
    _, marketing = issued(lake, "domain:marketing")
    credentials = lake.parent / "credentials"
    credentials.write_text(f"# mesh credentials\n{marketing}\n")
    credentials.chmod(0o644)
    assert one_line_refusal(cli("read", REVENUE, "--as", "marketing")) == (
        f"denied: {credentials} is accessible by others (mode 0644): its credentials are refused; "
        f"run chmod 600 {credentials}"
    )
    credentials.chmod(0o600)
    assert cli("read", REVENUE, "--as", "marketing").exit_code == 0
    whoami = cli("identity", "whoami")
    assert whoami.exit_code == 0 and whoami.stdout.startswith("domain:marketing (credential ")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def test_only_the_owners_credential_decides_a_request(lake, cli, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(domains_dir(), repo / "domains", ignore=shutil.ignore_patterns("__pycache__"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-q", "-m", "mesh")
    admin_token(lake)
    _, sales = issued(lake, "domain:sales")
    _, sales_team = issued(lake, "team:sales")
    _, finance_team = issued(lake, "team:finance")

    as_other = cli("access", "request", REVENUE, "--as", "supply_chain", "--reason", "x", token=sales)
    assert "not domain:supply_chain or team:supply_chain" in one_line_refusal(as_other)
    asked = cli("access", "request", REVENUE, "--as", "sales", "--reason", "sales reviews", token=sales)
    assert asked.exit_code == 0, asked.output
    rid = re.search(r"request (\w+):", asked.stdout).group(1)

    grant = ("access", "grant", rid, "--by", "team:finance", "--domains-dir", str(repo / "domains"))
    assert "acting as team:finance needs a credential for team:finance" in one_line_refusal(cli(*grant))
    assert "are for team:sales" in one_line_refusal(cli(*grant, token=sales_team))
    assert "are for domain:sales" in one_line_refusal(cli("access", "deny", rid, "--by", "team:finance",
                                                          "--reason", "no", token=sales))
    other_owner = cli("access", "grant", rid, "--by", "team:sales", token=sales_team)
    assert f"only team:finance, the owner of {REVENUE}, decides" in one_line_refusal(other_owner, code=2)

    granted = cli(*grant, token=finance_team)
    assert granted.exit_code == 0 and f"branch access/{REVENUE}-sales-{rid}" in granted.stdout, granted.output
    listed = cli("access", "list", "--status", "granted")
    assert rid in listed.stdout and "team:finance" in git(repo, "log", "-1", "--format=%an", f"access/{REVENUE}-sales-{rid}")


def test_the_secret_never_reaches_outputs_the_registry_or_the_event_log(lake, cli, tmp_path):
    initialised = cli("identity", "init")
    assert initialised.exit_code == 0, initialised.output
    admin = re.search(r"^mesh_\w+_\S+$", initialised.stdout, re.M).group(0)
    made = cli("identity", "issue", "--principal", "domain:marketing", "--expires", "30d", token=admin)
    assert made.exit_code == 0, made.output
    token = re.search(r"^mesh_\w+_\S+$", made.stdout, re.M).group(0)  # shown once, here
    credential_id = registry.token_id(token)
    secrets_ = [token, token.split("_", 2)[2], admin, admin.split("_", 2)[2]]

    outputs = [
        cli("read", REVENUE, "--as", "marketing", "--limit", "2", token=token),
        cli("read", REVENUE, "--as", "marketing", "--format", "json", token=token),
        cli("read", REVENUE, "--as", "sales", token=token),
        cli("identity", "whoami", token=token),
        cli("identity", "list", token=admin),
        cli("identity", "list", "--format", "json", token=admin),
        cli("usage", "--reads", "5", "--format", "json"),
        cli("identity", "revoke", credential_id, token=token),  # a holder revokes its own leaked credential
        cli("read", REVENUE, "--as", "marketing", token=token),
    ]
    assert [o.exit_code for o in outputs] == [0, 0, 3, 0, 0, 0, 0, 0, 3]
    assert {c["id"]: c["state"] for c in json.loads(outputs[5].stdout)}[credential_id] == "active"
    for result in outputs:
        assert not any(s in result.output for s in secrets_), result.output

    home = tmp_path / "dagster_home"
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        observed = instance.fetch_observations(AssetKey(["finance", "revenue_by_nation"]), limit=10).records
        assert len(observed) == 2  # the two reads reported their usage into this event log
        assert all(s not in repr(o.asset_observation.metadata) for o in observed for s in secrets_)
    files = [p for p in [*lake.rglob("*"), *home.rglob("*")] if p.is_file()]
    assert registry.registry_path(lake) in files and any(p.suffix == ".db" for p in files)
    for path in files:
        data = path.read_bytes()
        assert not any(s.encode() in data for s in secrets_), path


def test_only_an_admin_issues_and_lists_and_save_keeps_the_secret_off_the_screen(lake, cli):
    assert "no identity registry in" in one_line_refusal(cli("identity", "issue", "--principal", "domain:sales"))
    saved = cli("identity", "init", "--save")
    credentials = lake.parent / "credentials"
    assert saved.exit_code == 0 and f"saved to {credentials}" in saved.stdout, saved.output
    admin = credentials.read_text().strip()
    assert registry.token_id(admin) and admin not in saved.output and stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert cli("identity", "whoami").stdout.startswith(f"admin (credential {registry.token_id(admin)}")
    assert "enforcement is on already" in one_line_refusal(cli("identity", "init"))

    _, marketing = issued(lake, "domain:marketing")
    for command in (("identity", "issue", "--principal", "admin"), ("identity", "list")):
        assert "this needs an admin credential" in one_line_refusal(cli(*command, token=marketing))
    assert one_line_refusal(cli("identity", "issue", "--principal", "sales", token=admin), code=2) == (
        "error: principal 'sales': expected admin, domain:<domain> or team:<domain> (e.g. domain:marketing)")
    assert "--expires '5 days'" in one_line_refusal(
        cli("identity", "issue", "--principal", "domain:sales", "--expires", "5 days", token=admin), code=2)
    issued_to_file = cli("identity", "issue", "--principal", "team:sales", "--save")  # the admin's file
    assert issued_to_file.exit_code == 0, issued_to_file.output
    assert [registry.verify(lake, t).principal for t in credentials.read_text().split()] == ["admin", "team:sales"]

    # An admin who lost their credential: the registry's owner gets a new one, the others stay valid.
    recovered = cli("identity", "init", "--recover")
    assert recovered.exit_code == 0, recovered.output
    assert [c.principal for c in registry.credentials(lake)] == ["admin", "domain:marketing", "team:sales", "admin"]
    assert registry.verify(lake, marketing).principal == "domain:marketing"
