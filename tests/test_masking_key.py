"""`hash` masking is HMAC-SHA256 under a lake key that never shows: not in plans, the audit or Dagster's event log."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import io
import stat

from dagster import materialize
from deltalake import DeltaTable
from pyspark.sql import DataFrame

from conftest import ON_JVM
from mesh_platform.access.audit import audit_path
from mesh_platform.access.masking import _pads, masking_key, masking_key_file
from mesh_platform.access.reader import open_product
from mesh_platform.contracts.loader import parse_contract
from mesh_platform.mesh import find_contract
from mesh_platform.product.domain import upstream_stub
from mesh_platform.product.factory import product_asset
from mesh_platform.product.resources import platform_resources
from mesh_platform.storage import product_path

CLV = "sales.customer_lifetime_value"
HASHED = {"customer_id": "hash", "customer_name": "hash"}


def hashed_clv():
    data = find_contract(CLV).model_dump(by_alias=True, mode="json")
    return parse_contract({**data, "access": {"consumers": ["finance", "marketing"], "masking": HASHED}}, "clv.yaml")


def key_spellings(lake_root) -> list[str]:
    """Every way the key (or a pad, which gives it away) could be printed."""
    key = masking_key(lake_root)
    out = []
    for secret in (key, *_pads(key)):
        out += [secret.hex(), secret.hex().upper(), base64.b64encode(secret).decode(), repr(secret)[2:-1]]
    return out


def explained(df: DataFrame) -> str:
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        for mode in ("simple", "extended", "codegen", "cost", "formatted"):
            df.explain(mode=mode)
    return text.getvalue()


def test_hash_masking_is_a_deterministic_hmac_that_joins_across_reads(mesh_published, spark, lake_root):
    clear = DeltaTable(str(product_path(lake_root, "sales", "customer_lifetime_value"))).to_pyarrow_table()
    key = masking_key(lake_root)
    first = dict(r for r in open_product(spark, hashed_clv(), "marketing", lake_root).df
                 .select("customer_id", "customer_name").collect())
    second = open_product(spark, hashed_clv(), "finance", lake_root).df.select("customer_id", "customer_name")
    assert dict(r for r in second.collect()) == first  # the same key for every read and consumer
    mac = {v: hmac.new(key, v.encode(), hashlib.sha256).hexdigest() for v in clear["customer_id"].to_pylist()}
    assert set(first) == set(mac.values()) and len(first) == clear.num_rows
    joined = open_product(spark, hashed_clv(), "marketing", lake_root).df.join(second, "customer_id")
    assert joined.count() == clear.num_rows


def test_the_key_is_in_no_plan_audit_or_event_log_of_a_masked_build(mesh_published, spark, instance, lake_root):
    watch = parse_contract({
        "name": "hashed_watch", "domain": "finance", "version": "1.0.0", "owner": "team:finance",
        "description": "customers by hashed id", "primary_key": ["customer_id"],
        "dependencies": [{"product": CLV}], "sla": {"freshness_hours": 24},
        "schema": [{"name": "customer_id", "type": "string", "nullable": False},
                   {"name": "customer_name", "type": "string"}],
    }, "hashed_watch.yaml")
    built = product_asset(watch, lambda ctx: ctx.product(CLV).select("customer_id", "customer_name"),
                          {CLV: hashed_clv()})
    result = materialize([upstream_stub(CLV), built], resources=platform_resources("finance"), instance=instance)
    assert result.success
    spellings = key_spellings(lake_root)
    key = masking_key(lake_root)
    published = DeltaTable(str(product_path(lake_root, "finance", "hashed_watch"))).to_pyarrow_table()
    clear = DeltaTable(str(product_path(lake_root, "sales", "customer_lifetime_value"))).to_pyarrow_table()
    assert set(published["customer_name"].to_pylist()) == {  # the build saw HMACs, not names
        hmac.new(key, name.encode(), hashlib.sha256).hexdigest() for name in clear["customer_name"].to_pylist()}

    plan = explained(open_product(spark, hashed_clv(), "finance", lake_root).df)
    if ON_JVM:  # Sail's physical plan is abbreviated: it names neither
        assert "sha2" in plan and str(masking_key_file(lake_root)) in plan  # the plan names the file, not its bytes
    events = "\n".join(str(record) for record in instance.all_logs(result.run_id))
    assert "hashed_watch" in events
    audit = str(DeltaTable(str(audit_path(lake_root))).to_pyarrow_table().to_pylist())
    delta_log = "".join(p.read_text() for p in (product_path(lake_root, "finance", "hashed_watch") / "_delta_log")
                        .glob("*.json"))
    for where, text in {"explain": plan, "event log": events, "audit": audit, "delta log": delta_log}.items():
        assert not [s for s in spellings if s in text], where


def test_the_key_file_is_the_platforms_alone(lake_root):
    path = masking_key_file(lake_root)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert masking_key_file(lake_root) == path and len(masking_key(lake_root)) == 32  # created once, kept
