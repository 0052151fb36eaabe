"""datacontract-cli (the ODCS reference client) tests the published sample lake from `mesh export` as exported.

The tool lives in its own venv (scripts/datacontract-venv: its pins clash with ours), which the first test run
creates. A contract must pass every check on the table it describes, and fail exactly the checks a broken copy
of that table breaks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from deltalake import DeltaTable, write_deltalake

ROOT = Path(__file__).resolve().parent.parent
MESH = str(Path(sys.executable).parent / "mesh")
DATACONTRACT = ROOT / ".venv-datacontract" / "bin" / "datacontract"
DATACONTRACT_CLI = "1.2.8"  # the pin in scripts/datacontract-venv

# Reads the published lake as exported; CI runs it once, in the default-engine (Sail) pass.
pytestmark = [pytest.mark.slow, pytest.mark.engine_independent]


@pytest.fixture(scope="module")
def datacontract() -> Path:
    setup = subprocess.run([str(ROOT / "scripts" / "datacontract-venv")], capture_output=True, text=True, timeout=900)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    return DATACONTRACT


@pytest.fixture(scope="module")
def exported(mesh_published, lake_root, tmp_path_factory) -> dict[str, Path]:
    """`mesh export` of every product, as a user runs it against the published lake."""
    out = tmp_path_factory.mktemp("odcs")
    result = subprocess.run([MESH, "export", "--out", str(out)], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "MESH_LAKE_ROOT": str(lake_root)}, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    return {path.name.removesuffix(".odcs.yaml"): path for path in sorted(out.glob("*.odcs.yaml"))}


def run_datacontract(datacontract: Path, document: Path, tmp_path: Path) -> dict[str, str]:
    """`datacontract test` on one document, as a user runs it: each check's key and result (passed, failed, ...),
    with the tool's reason after any other result than passed."""
    report = tmp_path / f"{document.stem}.json"
    result = subprocess.run(
        [str(datacontract), "test", str(document), "--output-format", "json", "--output", str(report)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        # without our PYTHONPATH: the tool's venv must not import this repository's packages
        env={**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "DATACONTRACT_CLI_TELEMETRY_DISABLED": "1"},
    )
    assert report.exists(), result.stdout + result.stderr
    checks = {check["key"]: check["result"] if check["result"] == "passed" else f"{check['result']}: {check.get('reason')}"
              for check in json.loads(report.read_text())["checks"]}
    assert checks, result.stdout
    assert (result.returncode == 0) == all(r == "passed" for r in checks.values()), result.stdout
    return checks


def _lake_server(document: dict) -> str:
    (server,) = document["servers"]
    assert (server["type"], server["format"]) == ("local", "delta"), server
    return server["path"]


def test_every_check_of_every_exported_contract_passes_on_the_published_lake(datacontract, exported, mesh_published,
                                                                             lake_root, tmp_path):
    assert sorted(exported) == sorted(mesh_published) and len(exported) == 11
    passed = total = 0
    not_passed = {}
    for product, document in exported.items():
        domain, name = product.split(".")
        contract = yaml.safe_load(document.read_text())
        assert contract["schema"][0]["physicalName"] == name
        assert _lake_server(contract) == str(lake_root.resolve() / domain / "gold" / name)
        checks = run_datacontract(datacontract, document, tmp_path)
        bad = {key: result for key, result in checks.items() if result != "passed"}
        if bad:
            not_passed[product] = bad
        passed, total = passed + len(checks) - len(bad), total + len(checks)
        print(f"{product}: {len(checks) - len(bad)}/{len(checks)} checks passed")
    print(f"datacontract-cli {DATACONTRACT_CLI}: {passed}/{total} checks passed over {len(exported)} products")
    assert not_passed == {}
    assert total > 300  # columns (presence, type, required), keys, quality rules, row counts, freshness


def test_a_broken_copy_of_a_table_fails_exactly_the_checks_it_breaks(datacontract, exported, tmp_path):
    document = yaml.safe_load(exported["sales.orders"].read_text())
    published = DeltaTable(_lake_server(document)).to_pyarrow_table()
    # A null in a required column, one order twice, a column dropped.
    customers = published.column("customer_id").to_pylist()
    customers[1] = None
    broken = published.set_column(published.schema.get_field_index("customer_id"),
                                  pa.field("customer_id", pa.string()), pa.array(customers, pa.string()))
    broken = pa.concat_tables([broken, published.slice(0, 1).cast(broken.schema)]).drop_columns(["line_count"])
    copy = tmp_path / "orders"
    write_deltalake(str(copy), broken)
    document["servers"][0]["path"] = str(copy)
    broken_document = tmp_path / "broken" / "sales.orders.odcs.yaml"
    broken_document.parent.mkdir()
    broken_document.write_text(yaml.safe_dump(document, sort_keys=False))

    intact = run_datacontract(datacontract, exported["sales.orders"], tmp_path)
    checks = run_datacontract(datacontract, broken_document, tmp_path)

    assert set(checks) == set(intact) and set(intact.values()) == {"passed"}
    failed = sorted(key for key, result in checks.items() if result != "passed")
    print(f"broken sales.orders: {len(failed)}/{len(checks)} checks fail: {failed}")
    assert failed == sorted([
        "orders__customer_id__field_required",  # the null
        "orders__order_id__field_primary_key_unique", "orders__order_id__field_duplicate_values",  # the duplicate
        # the dropped column: its presence, type, required check and both quality rules (min, max)
        "orders__line_count__field_is_present", "orders__line_count__field_type", "orders__line_count__field_required",
        "orders__line_count__quality_sql_0", "orders__line_count__quality_sql_1",
    ])
    assert {checks[key].split(":")[0] for key in failed} == {"failed"}
