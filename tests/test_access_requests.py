"""Access requests: a consumer asks, the owner grants (a contract change for review) or denies."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from mesh_platform.access import identity
from mesh_platform.access.change import propose_consumer
from mesh_platform.access.policy import AccessDenied, read_policy
from mesh_platform.cli import app
from mesh_platform.contracts import load_contract
from mesh_platform.mesh import domains_dir

PRODUCT = "finance.revenue_by_nation"
RELATIVE = "domains/finance/contracts/revenue_by_nation.yaml"


def git(repo, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path):
    """A checkout of the mesh's domains, as the owner team has it."""
    root = tmp_path / "repo"
    shutil.copytree(domains_dir(), root / "domains", ignore=shutil.ignore_patterns("__pycache__"))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-q", "-m", "mesh")
    return root


# The principal each command acts as: --as D needs domain:D's credential, --by team:X team:X's.
PRINCIPALS = ("domain:sales", "domain:supply_chain", "domain:marketing", "team:sales", "team:finance")


@pytest.fixture
def mesh(tmp_path, monkeypatch):
    """The CLI on a lake that enforces identity, presenting the credential of whom each command acts as."""
    lake = tmp_path / "lake"
    monkeypatch.setenv("MESH_LAKE_ROOT", str(lake))
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.delenv("MESH_CREDENTIALS_FILE", raising=False)
    identity.init(lake, timedelta(hours=1))
    admin = identity.credentials(lake)[0]
    tokens = {p: identity.issue(lake, p, timedelta(hours=1), admin)[1] for p in PRINCIPALS}
    runner = CliRunner()

    def invoke(*args: str):
        acting = args[args.index("--as") + 1] if "--as" in args else None
        principal = f"domain:{acting}" if acting else args[args.index("--by") + 1] if "--by" in args else None
        return runner.invoke(app, list(args), env={"MESH_TOKEN": tokens.get(principal)})

    return invoke


def request_id(output: str) -> str:
    return re.search(r"request (\w+):", output).group(1)


def test_request_then_grant_proposes_a_reviewed_contract_change(mesh, repo):
    asked = mesh("access", "request", PRODUCT, "--as", "sales", "--reason", "revenue per nation in sales reviews")
    assert asked.exit_code == 0, asked.output
    rid = request_id(asked.output)
    assert f"sales asks team:finance to read {PRODUCT}" in asked.output

    pending = mesh("access", "list", "--owner", "team:finance")
    assert rid in pending.output and "pending" in pending.output and "revenue per nation" in pending.output
    assert "no pending access requests" in mesh("access", "list", "--owner", "team:sales").output

    wrong_owner = mesh("access", "grant", rid, "--by", "team:sales", "--domains-dir", str(repo / "domains"))
    assert wrong_owner.exit_code == 2 and f"only team:finance, the owner of {PRODUCT}, decides" in wrong_owner.output

    granted = mesh("access", "grant", rid, "--by", "team:finance", "--domains-dir", str(repo / "domains"))
    assert granted.exit_code == 0, granted.output
    branch = f"access/{PRODUCT}-sales-{rid}"
    assert f"branch {branch}" in granted.output
    # Nothing changes until the change is reviewed and merged: main still denies sales.
    with pytest.raises(AccessDenied):
        read_policy(load_contract(repo / RELATIVE), "sales")
    diff = git(repo, "diff", f"main...{branch}")
    assert "-  consumers: [executive, marketing]\n+  consumers: [executive, marketing, sales]" in diff
    assert diff.count("\n+") == 1 + 1  # the +++ header and the one changed line: comments and layout kept
    assert "team:finance" in git(repo, "log", "-1", "--format=%an", branch)

    git(repo, "merge", "-q", branch)
    merged = load_contract(repo / RELATIVE)
    assert read_policy(merged, "sales").row_filter is None  # sales reads, unfiltered
    assert merged.access.row_filters == {"marketing": "region_name = 'EUROPE'"}

    decided = mesh("access", "list", "--status", "granted")
    assert rid in decided.output and branch in decided.output
    again = mesh("access", "grant", rid, "--by", "team:finance", "--domains-dir", str(repo / "domains"))
    assert again.exit_code == 2 and f"request {rid} is already granted" in again.output


def test_deny_records_the_reason_and_bad_requests_are_refused(mesh):
    rid = request_id(mesh("access", "request", PRODUCT, "--as", "supply_chain", "--reason", "capacity plans").output)
    duplicate = mesh("access", "request", PRODUCT, "--as", "supply_chain", "--reason", "again")
    assert duplicate.exit_code == 2 and f"already has a pending request for {PRODUCT}: {rid}" in duplicate.output
    assert mesh("access", "request", PRODUCT, "--as", "marketing", "--reason", "x").exit_code == 2  # already reads
    blank = mesh("access", "request", PRODUCT, "--as", "sales", "--reason", " ")
    assert blank.exit_code == 2 and "say why the access is needed" in blank.output
    assert mesh("access", "request", "finance.nope", "--as", "sales", "--reason", "x").exit_code == 2

    denied = mesh("access", "deny", rid, "--by", "team:finance", "--reason", "use revenue_by_region instead")
    assert denied.exit_code == 0, denied.output
    listed = mesh("access", "list", "--status", "denied")
    assert rid in listed.output and "use revenue_by_region instead" in listed.output
    assert rid not in mesh("access", "list").output  # no longer pending
    assert mesh("access", "deny", "nosuchid", "--by", "team:finance", "--reason", "x").exit_code == 2


def test_outside_git_a_grant_writes_a_patch_for_review(tmp_path):
    contract = tmp_path / "finance" / "contracts" / "revenue_by_nation.yaml"
    contract.parent.mkdir(parents=True)
    shutil.copyfile(domains_dir() / "finance" / "contracts" / "revenue_by_nation.yaml", contract)
    where = propose_consumer(contract, "sales", "abc123", "team:finance")
    patch = contract.with_name("revenue_by_nation.access-abc123.patch")
    assert where.startswith(f"patch {patch}") and "+  consumers: [executive, marketing, sales]" in patch.read_text()
    assert "sales" not in load_contract(contract).access.consumers  # the contract itself is untouched
