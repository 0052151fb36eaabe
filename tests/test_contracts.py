"""Contract parsing: the shipped contracts load; each kind of malformed contract gets a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mesh_platform.contracts import ContractError, load_contract
from mesh_platform.mesh import all_contracts

pytestmark = pytest.mark.engine_independent  # no Spark: CI runs it once, in the default-engine (Sail) pass

ORDERS = Path(__file__).parent.parent / "domains" / "sales" / "contracts" / "orders.yaml"


def test_shipped_contracts_load_with_their_declared_rules():
    contracts = all_contracts()
    assert {"sales.orders", "sales.customer_lifetime_value", "sales.order_analytics"} <= set(contracts)
    clv = contracts["sales.customer_lifetime_value"]
    assert clv.sla.freshness_hours == 4
    assert clv.column("customer_name").pii and clv.access.masking["customer_name"] == "partial_mask"
    assert [d.product for d in clv.dependencies] == ["sales.orders"]
    assert list(clv.published_columns)[-2:] == ["_computed_at", "_product_version"]


def _write(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(ORDERS.read_text())
    mutate(data)
    path = tmp_path / "sales" / "contracts" / "orders.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


def _error(tmp_path: Path, mutate) -> str:
    path = _write(tmp_path, mutate)
    with pytest.raises(ContractError) as caught:
        load_contract(path)
    message = str(caught.value)
    assert str(path) in message, message  # every error names the file
    return message


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.pop("owner"), "owner: is required but missing"),
        (lambda d: d.update(ownr="team:sales"), "ownr: is not a contract field"),
        (lambda d: d.update(version="1.0"), "version: '1.0' is not a semantic version"),
        (lambda d: d.update(owner="sales"), "owner: 'sales' must name a team"),
        (lambda d: d["schema"][0].update(type="strng"), "schema[0].type: type 'strng' is not supported"),
        (lambda d: d["schema"][1].update(name="customer id"), "schema[1].name: column name 'customer id' must be a letter"),
        (lambda d: d["quality"].append({"rule": "regex", "column": "order_id"}), "rule 'regex' is unknown"),
        (lambda d: d["quality"].append({"column": "order_id"}), "needs a 'rule' key"),
        (lambda d: d["quality"].append({"rule": "min", "column": "nope", "value": 0}), "quality names columns not in the schema: nope"),
        (lambda d: d["quality"].append({"rule": "not_null", "column": "order_id", "threshold": 1.5}), "threshold"),
        (lambda d: d["access"].update(masking={"customer_ref": "hash"}), "access.masking.customer_ref: names a column not in the schema"),
        (lambda d: d["sla"].update(freshness_hours=-1), "sla.freshness_hours"),
        (lambda d: d.update(dependencies=[{"product": "orders"}]), "must name a product as 'domain.product'"),
        (lambda d: d.update(primary_key=["order_key"]), "primary_key names columns not in the schema: order_key"),
        (lambda d: d["schema"].append(dict(d["schema"][0])), "schema declares columns more than once: order_id"),
        (lambda d: d.update(name="sales_orders"), "must match the file name 'orders'"),
        (lambda d: d.update(domain="supply_chain"), "must match the domain folder 'sales'"),
    ],
)
def test_malformed_contract_names_file_field_and_fix(tmp_path, mutate, expected):
    assert expected in _error(tmp_path, mutate)


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "sales" / "contracts" / "orders.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("name: orders\nschema: [\n  - {name: a\n")
    with pytest.raises(ContractError, match=r"orders\.yaml: line \d+ is not valid YAML"):
        load_contract(path)


def test_several_problems_are_reported_together(tmp_path):
    message = _error(tmp_path, lambda d: (d.pop("owner"), d.update(version="x")))
    assert "owner: is required" in message and "version: 'x'" in message
