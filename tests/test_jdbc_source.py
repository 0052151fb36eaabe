"""`jdbc` sources against a real PostgreSQL 15 (tests/postgres.py): observation, reading on the configured
engine (Spark's JDBC reader on the JVM, ADBC on Sail), one-line errors, and a password that never shows."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import oracle
from compare import assert_same_rows
from conftest import ON_JVM, TEST_SCALE
from mesh_platform.mesh import domains_dir
from mesh_platform.sources import SourceError, jdbc, parse_sources
from mesh_platform.sources.loader import load_domain_sources
from mesh_platform.sources.observe import SourceDrift
from mesh_platform.sources.postgres import SourceUnavailable

ROOT = Path(__file__).resolve().parent.parent
PROFILE = load_domain_sources(domains_dir() / "sales", "postgres")
ORDERS, CUSTOMER = PROFILE["orders"], PROFILE["customer"]


def _source(**overrides):
    """A jdbc source like the sample's orders, with `overrides` in its jdbc block (or top level)."""
    top = {k: overrides.pop(k) for k in ("columns", "freshness", "name") if k in overrides}
    declared = {"name": "orders", "kind": "jdbc", "columns": dict(ORDERS.columns),
                "jdbc": {**ORDERS.jdbc.model_dump(exclude_none=True), **overrides}, **top}
    if "query" in overrides:
        declared["jdbc"].pop("table", None)
    return next(iter(parse_sources({"sources": [declared]}, "test").values()))


def test_profile_replaces_sources_by_name():
    assert {n: s.kind for n, s in PROFILE.items()} == {"orders": "jdbc", "customer": "jdbc", "order_lines": "delta"}
    assert {s.kind for s in load_domain_sources(domains_dir() / "sales").values()} == {"delta"}
    assert ORDERS.columns == load_domain_sources(domains_dir() / "sales")["orders"].columns  # same contract


def test_profile_naming_an_undeclared_source_fails_in_one_line(tmp_path):
    shutil.copyfile(domains_dir() / "sales" / "sources.yaml", tmp_path / "sources.yaml")
    overlay = (domains_dir() / "sales" / "sources.postgres.yaml").read_text().replace("name: orders", "name: order")
    (tmp_path / "sources.postgres.yaml").write_text(overlay)
    with pytest.raises(SourceError) as raised:
        load_domain_sources(tmp_path, "postgres")
    assert str(raised.value) == (f"{tmp_path / 'sources.postgres.yaml'}: source 'order' replaces no source of "
                                 "sources.yaml (it has: orders, customer, order_lines); a profile only swaps "
                                 "declared sources")
    assert set(load_domain_sources(tmp_path, "files")) == {"orders", "customer", "order_lines"}  # no such file


@pytest.fixture(scope="module")
def pg_env(postgres_server):
    saved = {k: os.environ.get(k) for k in postgres_server.env()}
    os.environ.update(postgres_server.env())
    yield postgres_server
    for key, value in saved.items():
        os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)


@pytest.fixture(scope="module")
def pg_sales(pg_env, seeded_lake):
    """Sales' orders and customer loaded into the server, as `mesh seed --target postgres` does."""
    from domains.seeding.postgres import seed_postgres

    results = seed_postgres(seeded_lake, TEST_SCALE, "postgres", force=True)
    assert {(r.table, r.written) for r in results} == {("orders", True), ("customer", True)}
    return pg_env


def test_observation_changes_with_the_data_and_reads_no_rows(pg_sales, lake_root):
    before_log = len(pg_sales.log())
    first = jdbc.observe(ORDERS, "sales", lake_root)
    assert jdbc.observe(ORDERS, "sales", lake_root) == first  # nothing changed: same version
    statements = pg_sales.log()[before_log:]
    assert "count(*) || '@' || coalesce(max(updated_at)::text, '')" in statements  # the change probe ran
    assert '"o_comment"' not in statements  # ... and no statement selected the rows
    assert first.row_count == 15_000 * TEST_SCALE / 0.01  # pg_class estimate (the seed analyzes)
    assert first.columns["o_totalprice"] == "decimal(15,2)" and first.columns["o_shippriority"] == "int"
    assert first.problems == [] and first.newest_data_time is None  # no freshness declared

    pg_sales.sql("UPDATE orders SET o_comment = o_comment || '.' WHERE o_orderkey = 1")
    updated = jdbc.observe(ORDERS, "sales", lake_root)
    assert updated.data_version != first.data_version
    pg_sales.sql("INSERT INTO orders (o_orderkey, o_custkey, o_orderstatus, o_totalprice, o_orderdate) "
                 "VALUES (-1, 1, 'O', 1.00, '1998-08-01')")
    inserted = jdbc.observe(ORDERS, "sales", lake_root)
    assert inserted.data_version not in {first.data_version, updated.data_version}
    pg_sales.sql("DELETE FROM orders WHERE o_orderkey = -1")
    assert jdbc.observe(ORDERS, "sales", lake_root).data_version != inserted.data_version


def test_query_source_with_count_probe_and_freshness(pg_sales, lake_root):
    pg_sales.sql("CREATE TABLE IF NOT EXISTS shipments (id bigint, shipped_at timestamptz)")
    pg_sales.sql("TRUNCATE shipments")
    pg_sales.sql("INSERT INTO shipments VALUES (1, '2026-11-30 10:00:00+00'), (2, '2026-11-30 12:30:00+00')")
    declared = {"columns": {"id": "bigint", "shipped_at": "timestamp"}, "name": "shipments"}
    by_field = _source(query="SELECT id, shipped_at FROM shipments", change_probe="count(*)", **declared,
                       freshness={"max_age_hours": 24, "loaded_at_field": "shipped_at"})
    seen = jdbc.observe(by_field, "sales", lake_root)
    assert seen.row_count == 2 and seen.data_version == "2"
    assert seen.newest_data_time == pytest.approx(1796041800.0)  # 2026-11-30T12:30:00Z
    assert seen.columns == {"id": "bigint", "shipped_at": "timestamp"}
    by_query = _source(table="shipments", change_probe="max(shipped_at)", **declared,
                       freshness={"max_age_hours": 24, "loaded_at_query": "SELECT min(shipped_at) FROM shipments"})
    seen = jdbc.observe(by_query, "sales", lake_root)
    assert seen.newest_data_time == pytest.approx(1796032800.0) and seen.row_count is None  # never analyzed


def test_reader_of_the_engine_gives_the_delta_rows(pg_sales, spark, seeded_lake):
    """On the JVM Spark's JDBC reader, on Sail ADBC: the same rows, types and values as the Delta source."""
    from mesh_platform.storage.delta import read_delta

    assert jdbc.reader(spark) == ("spark-jdbc" if ON_JVM else "adbc")
    pg_sales.sql("UPDATE customer SET c_comment = c_comment WHERE c_custkey = 1")  # touched, not changed
    read = jdbc.read(spark, CUSTOMER, "sales", seeded_lake)
    delta = read_delta(spark, seeded_lake / "sales" / "bronze" / "customer")
    def types(df):
        return [(f.name, f.dataType) for f in df.schema.fields]  # nullability is the engine's own

    assert types(read) == types(delta.select(*CUSTOMER.columns))
    assert read.subtract(delta.select(*CUSTOMER.columns)).count() == 0
    assert read.count() == delta.count()
    plan = io.StringIO()
    with contextlib.redirect_stdout(plan):
        read.explain(mode="extended")  # what Spark logs of a query, and the platform's plan metadata is made of
    assert plan.getvalue() and pg_sales.password not in plan.getvalue()


def test_schema_drift_is_a_problem_and_fails_the_read(pg_sales, spark, lake_root):
    pg_sales.sql("DROP TABLE IF EXISTS drifted")
    pg_sales.sql("CREATE TABLE drifted AS SELECT * FROM orders LIMIT 5")
    pg_sales.sql("ALTER TABLE drifted ALTER o_totalprice TYPE text, DROP COLUMN o_clerk")
    source = _source(table="drifted")
    assert jdbc.observe(source, "sales", lake_root).problems == [
        "column o_totalprice is string, declared decimal(15,2)", "column o_clerk is missing (declared string)"]
    with pytest.raises(SourceDrift) as raised:
        jdbc.read(spark, source, "sales", lake_root)
    assert str(raised.value) == (
        "source sales.orders no longer fits its declaration in sources.yaml: column o_totalprice is string, declared "
        "decimal(15,2); column o_clerk is missing (declared string) (fix the source's data or declare what it "
        "provides now)")


def test_connection_problems_are_one_line_without_the_password(pg_sales, lake_root, monkeypatch):
    def problem(source=ORDERS) -> str:
        with pytest.raises(SourceUnavailable) as raised:
            jdbc.observe(source, "sales", lake_root)
        text = str(raised.value)
        assert "\n" not in text and pg_sales.password not in text
        return text

    where = f"127.0.0.1:{pg_sales.port}"
    monkeypatch.delenv("MESH_SALES_PG_PASSWORD")
    assert problem() == ("source sales.orders: environment variable MESH_SALES_PG_PASSWORD "
                         "(named by jdbc.password_env) is not set; export it")
    monkeypatch.setenv("MESH_SALES_PG_PASSWORD", pg_sales.password + "-wrong")
    assert problem() == (f"source sales.orders: PostgreSQL at {where} refused the login of user 'mesh_sales' "
                         "(password authentication failed); check MESH_SALES_PG_USER and MESH_SALES_PG_PASSWORD")
    monkeypatch.setenv("MESH_SALES_PG_PASSWORD", pg_sales.password)
    monkeypatch.setenv("MESH_SALES_PG_URL", f"postgresql://mesh_sales:{pg_sales.password}@127.0.0.1/operations")
    assert problem() == ("source sales.orders: MESH_SALES_PG_URL is not postgresql://host:port/database "
                         "(credentials go in MESH_SALES_PG_USER and MESH_SALES_PG_PASSWORD, not the URL)")
    monkeypatch.setenv("MESH_SALES_PG_URL", pg_sales.url)
    pg_sales.stop()
    try:
        assert problem() == (f"source sales.orders: PostgreSQL at {where} is unreachable (connection refused); "
                             "start it or fix MESH_SALES_PG_URL")
    finally:
        pg_sales.start()
    assert jdbc.observe(ORDERS, "sales", lake_root).problems == []


def _mesh(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run([str(Path(sys.executable).parent / "mesh"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _events_text(dagster_home: Path) -> list[str]:
    """Every event of every run in the instance's event log, metadata included, as text."""
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef
    from dagster._serdes import serialize_value

    with DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as instance:
        runs = instance.get_runs()
        assert runs, "no run recorded"
        return [serialize_value(record) for run in runs for record in instance.all_logs(run.run_id)]


@pytest.fixture(scope="module")
def built_from_postgres(pg_sales, tmp_path_factory):
    """`mesh seed --target postgres` then `mesh materialize --select sales` with MESH_SOURCES_PROFILE=postgres,
    through a real Dagster instance, in a lake of its own."""
    folder = tmp_path_factory.mktemp("from_postgres")
    lake, home = folder / "lake", folder / "dagster_home"
    home.mkdir()
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, **pg_sales.env(), "MESH_LAKE_ROOT": str(lake), "DAGSTER_HOME": str(home),
           "MESH_SOURCES_PROFILE": "postgres", "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    started, log_before = time.monotonic(), len(pg_sales.log())
    seeded = _mesh("seed", "--target", "postgres", "--domain", "sales", "--scale", f"{TEST_SCALE:g}", "--force",
                   env=env)
    assert "sales.orders (PostgreSQL)" in seeded.stdout
    built = _mesh("materialize", "--select", "sales", env=env)
    print(f"seed + sales build from PostgreSQL: {time.monotonic() - started:.1f} s")
    statements = pg_sales.log()[log_before:]
    assert '"updated_at" FROM orders' in statements and '"c_comment" FROM customer' in statements  # read there
    printed = seeded.stdout + seeded.stderr + built.stdout + built.stderr
    return {"folder": folder, "lake": lake, "home": home, "env": env, "printed": printed}


def test_seed_without_the_connection_variables_is_one_line(seeded_lake, tmp_path):
    shutil.copytree(seeded_lake / "_tpch", tmp_path / "lake" / "_tpch")  # reuse the generated TPC-H files
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESH_SALES_PG_")}
    env.update(MESH_LAKE_ROOT=str(tmp_path / "lake"), PYTHONPATH=str(ROOT), COLUMNS="200")
    done = subprocess.run([str(Path(sys.executable).parent / "mesh"), "seed", "--target", "postgres", "--domain",
                           "sales", "--scale", f"{TEST_SCALE:g}"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stdout.strip().splitlines()[-1] == (
        "source sales.orders: environment variable MESH_SALES_PG_URL (named by jdbc.url_env) is not set; export it")


def _files_holding(secret: str, *folders: Path) -> tuple[list[Path], list[str]]:
    searched = [p for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()]
    return searched, [str(p) for p in searched if secret.encode() in p.read_bytes()]


def test_sales_from_postgres_equal_the_oracle_and_the_password_never_shows(pg_sales, built_from_postgres):
    lake, home = built_from_postgres["lake"], built_from_postgres["home"]
    tpch = lake / "_tpch" / f"sf{TEST_SCALE:g}"
    keys = {"orders": ["order_id"], "customer_lifetime_value": ["customer_id"],
            "order_analytics": ["order_month", "order_priority"]}
    for product, key in keys.items():
        assert_same_rows(oracle.published(lake, "sales", product), getattr(oracle, f"sales_{product}")(tpch), key)

    secret = pg_sales.password
    events = _events_text(home)
    assert any("ASSET_MATERIALIZATION" in e for e in events)
    assert not [e for e in events if secret in e][:1], "the password is in an event"
    # the whole instance (event log database, captured compute logs) and the lake's platform files
    # (Sail's log, OpenLineage events, the read audit), byte for byte, and what the commands printed
    searched, leaked = _files_holding(secret, home, lake / "_platform")
    print("searched:", *sorted(str(p.relative_to(built_from_postgres["folder"])) for p in searched), sep="\n  ")
    assert leaked == []
    assert any("compute_logs" in str(p) for p in searched) and any("openlineage" in str(p) for p in searched)
    assert secret not in built_from_postgres["printed"]


METADATA = """label description ... on TextMetadataEntry { text } ... on JsonMetadataEntry { jsonString }
  ... on PathMetadataEntry { path } ... on UrlMetadataEntry { url } ... on MarkdownMetadataEntry { mdStr }
  ... on TableSchemaMetadataEntry { schema { columns { name type description } } }"""
UI_QUERIES = {
    "assets": f"""{{ assetNodes {{ assetKey {{ path }} description opNames jobNames kinds
        metadataEntries {{ {METADATA} }} }} }}""",
    "runs": """{ runsOrError { ... on Runs { results { runId status runConfigYaml tags { key value } } } } }""",
    "events": f"""query($id: ID!) {{ logsForRun(runId: $id) {{ ... on EventConnection {{ events {{
        __typename ... on MessageEvent {{ message }} ... on DisplayableEvent {{ metadataEntries {{ {METADATA} }} }}
        ... on ErrorEvent {{ error {{ message stack causes {{ message stack }} }} }} }} }} }} }}""",
    "asset": f"""query($key: AssetKeyInput!) {{ assetOrError(assetKey: $key) {{ ... on Asset {{
        assetMaterializations(limit: 5) {{ runId metadataEntries {{ {METADATA} }} }}
        assetObservations(limit: 5) {{ runId metadataEntries {{ {METADATA} }} }} }} }} }}""",
}


@pytest.mark.slow
def test_the_ui_never_shows_the_password(pg_sales, built_from_postgres):
    """A run launched from `dagster dev` reads PostgreSQL in its run worker; every GraphQL answer the UI
    is built from (assets, runs, their events and metadata) and what the server logged lacks the password."""
    from dagster_dev import LAUNCH, dagster_dev

    secret, home, lake = pg_sales.password, built_from_postgres["home"], built_from_postgres["lake"]
    with dagster_dev(home, lake, built_from_postgres["env"]) as server:
        server.wait_for_locations()
        log_before = len(pg_sales.log())
        # customer_lifetime_value reads the customer table there (sales.orders is partitioned: a backfill)
        launched = server.graphql(LAUNCH, {"location": "sales",
                                           "keys": [{"path": ["sales", "customer_lifetime_value"]}]})
        run_id = launched["launchPipelineExecution"]["run"]["runId"]
        assert server.wait_for_run(run_id) == "SUCCESS", server.log.read_text()[-3000:]
        assert '"c_comment" FROM customer' in pg_sales.log()[log_before:]  # the run worker read PostgreSQL
        # the source observed as the UI's "Observe" does: its data version is the change probe's value
        launched = server.graphql(LAUNCH, {"location": "sales", "keys": [{"path": ["sales", "bronze", "orders"]}]})
        assert server.wait_for_run(launched["launchPipelineExecution"]["run"]["runId"]) == "SUCCESS"
        answers = [server.graphql(UI_QUERIES["assets"]), server.graphql(UI_QUERIES["runs"])]
        runs = answers[1]["runsOrError"]["results"]
        assert len(runs) >= 2  # the CLI's build and the UI's
        answers += [server.graphql(UI_QUERIES["events"], {"id": r["runId"]}) for r in runs]
        answers += [server.graphql(UI_QUERIES["asset"], {"key": {"path": key}})
                    for key in (["sales", "orders"], ["sales", "bronze", "orders"], ["sales", "customer_lifetime_value"])]
    text = json.dumps(answers)
    observed = answers[-2]["assetOrError"]["assetObservations"]
    assert observed and {"observed_columns", "dagster/row_count"} <= {e["label"] for e in observed[0]["metadataEntries"]}
    assert "MaterializationEvent" in text and "ObservationEvent" in text
    assert secret not in text
    _, leaked = _files_holding(secret, home, lake / "_platform")  # dagster dev's own log and the new run's
    assert leaked == []
