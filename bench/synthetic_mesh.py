"""A synthetic mesh at the scale of the reference text (500 products, 20 domains), and how the platform copes.

    .venv/bin/python bench/synthetic_mesh.py generate OUT --products 500 --domains 20
    .venv/bin/python bench/synthetic_mesh.py bench --runs 3

`generate` writes a project folder: `domains/<d>/` (contracts, trivial transforms, sources.yaml, definitions.py),
`workspace.yaml` (a location per domain + governance), `dagster.yaml`, and `manifest.json` (what each location
must hold), plus `mesh.yaml` and the governance location beside its policies: a mesh repository of its own.
Run it from OUT: `cd OUT && .../mesh lint`, or `cd OUT && DAGSTER_HOME=... .../dagster dev -w workspace.yaml`.

`bench` generates into a temporary folder and measures, medians over --runs: each location's load in a fresh
process next to the `import dagster` + platform baseline (target 5 s), `mesh lint` (5 s), and the Dagster UI's
asset graph queries against a real `dagster dev` once every location is loaded (2 s).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parent.parent / "tests")]
from dagster_dev import DagsterDev, free_port, stop  # noqa: E402  (the tests' real `dagster dev` driver)
from harness import BIN, ROOT, PeakMemory  # noqa: E402

DOMAINS = ("sales", "marketing", "finance", "supply_chain", "billing", "crm", "customer_support", "fulfillment",
           "hr", "inventory", "logistics", "loyalty", "payments", "pricing", "procurement", "catalog", "returns",
           "risk", "shipping", "web_analytics")
ENTITIES = ("order", "customer", "invoice", "shipment", "ticket", "campaign", "payment", "product", "account",
            "session", "contract", "supplier", "employee", "visit", "claim", "refund", "quote", "lead")
SUFFIXES = {"source-aligned": ("events", "snapshot", "ledger", "history", "status"),
            "aggregate": ("daily", "weekly", "monthly", "by_region", "by_channel", "summary", "trend", "cohort"),
            "composed": ("enriched", "unified", "joined", "overview")}
# Every product's core columns ({e}: its entity), each compliant with the council's INTEROP rules.
COLUMNS = (("{e}_id", "string", False, "Identifier of the {e} (decimal text of its source key)"),
           ("{e}_date", "date", False, "Business date of the {e}"),
           ("status", "string", False, "Lifecycle state: active, pending or closed"),
           ("item_count", "int", False, "Items involved"),
           ("net_amount", "decimal(18,2)", False, "Net amount in the reporting currency"),
           ("score", "double", True, "Model score between 0 and 1; null until scored"),
           ("updated_at", "timestamp", False, "UTC time of the latest change in the source"))
# Every bronze table's columns: what the transforms below read.
BRONZE_COLUMNS = {"id": "bigint", "day": "date", "state": "string", "qty": "int", "amount": "double",
                  "score": "double", "ts": "timestamp", "email": "string"}
SLA_HOURS = (4, 8, 12, 24, 48)
TIGHTENING_EVERY = 5  # every 5th domain tightens the council's SLA maximum (48 h) to 24 h in its policies.yaml
GOVERNANCE_ASSETS = ("compliance", "mesh_health", "cost", "lake_vacuum")
PLATFORM_CHECKS = 7  # contract_schema, _row_count, _nullability, _primary_key, governance_report, drift_schema, _distribution


@dataclass(eq=False)
class Product:
    domain: str
    name: str
    entity: str
    kind: str
    k: int  # index in its domain: drives the deterministic variety of its contract
    sources: list[str] = field(default_factory=list)
    deps: list[Product] = field(default_factory=list)
    consumers: set[str] = field(default_factory=set)
    consumed: bool = False  # some product reads it

    @property
    def key(self) -> str:
        return f"{self.domain}.{self.name}"


def plan(products: int, domains: int, seed: int = 7) -> tuple[dict[str, list[str]], dict[str, list[Product]]]:
    """Bronze tables and products by domain. A domain's first ~40 % products are source-aligned over its
    bronze tables, ~16 % (none in the first domain) are composed from earlier domains' products (so the
    global graph stays acyclic), the rest aggregate its own earlier products."""
    rng = random.Random(seed)
    names = [DOMAINS[i] if i < len(DOMAINS) else f"domain_{i:02d}" for i in range(domains)]
    tables, planned = {}, {}
    for i, domain in enumerate(names):
        count = products // domains + (i < products % domains)
        tables[domain] = own_tables = [f"{ENTITIES[(i + t) % len(ENTITIES)]}_feed" for t in range(3 + i % 3)]
        n_source = max(1, round(count * 0.4))
        n_cross = min(round(count * 0.16), count - n_source) if i else 0
        own, earlier = [], [p for d in names[:i] for p in planned[d]]
        for k in range(count):
            kind = "source-aligned" if k < n_source else "composed" if k >= count - n_cross else "aggregate"
            entity, suffixes = ENTITIES[(i * 7 + k) % len(ENTITIES)], SUFFIXES[kind]
            name = f"{entity}_{suffixes[k % len(suffixes)]}"
            product = Product(domain, name if all(p.name != name for p in own) else f"{name}_{k}", entity, kind, k)
            if kind == "source-aligned":
                product.sources = [own_tables[(k + j) % len(own_tables)] for j in range(1 + (k % 3 == 0))]
            elif kind == "aggregate":
                product.deps = rng.sample(own, min(len(own), 1 + k % 2))
            else:
                product.deps = rng.sample(earlier, min(len(earlier), 1 + k % 2)) + [rng.choice(own)] * (k % 3 == 0)
            own.append(product)
        planned[domain] = own
    for product in (p for own in planned.values() for p in own):
        for dep in product.deps:
            dep.consumed = True
            if dep.domain != product.domain:
                dep.consumers.add(product.domain)  # the owners allow what is consumed: ACCESS-001 passes
        if product.k % 3 == 1:  # and some allow a domain that does not (yet) consume them
            product.consumers.add(rng.choice([d for d in names if d != product.domain]))
    return tables, planned


def _column(name: str, type_: str, nullable: bool, description: str, **extra) -> dict:
    return {"name": name, "type": type_, "nullable": nullable, "description": description, **extra}


def sla_hours(p: Product, tightened: bool, known: dict[int, float] | None = None) -> float:
    """A feasible SLA (SLA-001): never tighter than its inputs'. A product that others read promises at most
    24 h (so a consumer in a domain that tightens the maximum to 24 h can keep its own); only products
    nobody reads may promise 48 h, outside those domains."""
    known = {} if known is None else known
    if id(p) not in known:
        own = SLA_HOURS[p.k % (4 if tightened or p.consumed else 5)]
        known[id(p)] = max([own, *(sla_hours(d, False, known) for d in p.deps)])
    return known[id(p)]


def contract(p: Product, tightened: bool) -> dict:
    e = p.entity
    columns = [_column(n.format(e=e), t, null, d.format(e=e)) for n, t, null, d in COLUMNS]
    columns += [_column(f"metric_{j}", "double", True, f"Auxiliary measure {j}") for j in range(p.k % 4)]
    access: dict = {"consumers": sorted(p.consumers) + ["executive"] * (p.k % 4 == 0)}
    if p.kind == "source-aligned" and p.k % 3 == 0:
        columns.append(_column("contact_email", "string", True, "Contact e-mail address", pii=True,
                               classification="confidential"))
        access["masking"] = {"contact_email": "hash"}
    if p.consumers and p.k % 5 == 0:
        access["row_filters"] = {sorted(p.consumers)[0]: "status <> 'closed'"}
    quality = [{"rule": "unique", "column": f"{e}_id"},
               {"rule": "allowed_values", "column": "status", "values": ["active", "pending", "closed"]},
               {"rule": "min", "column": "item_count", "value": 0}, {"rule": "min", "column": "net_amount", "value": 0},
               {"rule": "max", "column": "score", "value": 1},
               {"rule": "not_null", "column": "score", "threshold": 0.99, "severity": "warning"}][: 3 + p.k % 4]
    hours = sla_hours(p, tightened)
    inputs = ", ".join(p.sources or [d.key for d in p.deps])
    body = {
        "name": p.name, "domain": p.domain, "version": f"1.{p.k % 3}.{p.k % 2}",
        "owner": f"team:{p.domain.replace('_', '-')}", "kind": p.kind,
        "description": f"{p.kind.capitalize()} {e} data of {p.domain}, one row per {e}, from {inputs}. "
                       "Synthetic: generated by bench/synthetic_mesh.py.",
        "tags": [p.domain, e, p.kind.replace("-", "_")], "primary_key": [f"{e}_id"],
    }
    if p.sources:
        body["sources"] = p.sources
    if p.deps:
        stale = "use_last_good" if p.kind == "composed" else "fail"
        body["dependencies"] = [{"product": d.key, "on_stale": stale} for d in p.deps]
        body.update({"refresh": "manual"} if p.k % 7 == 0 else {})
    body["sla"] = {"freshness_hours": hours, **({"warn_after_hours": hours / 2} if p.k % 2 == 0 else {})}
    return {**body, "schema": columns, "quality": quality, "access": access}


def transform(p: Product) -> str:
    """A trivial transform: the first input's columns renamed to the contract's (others only filter)."""
    e, extras = p.entity, [f'F.col("score").alias("metric_{j}")' for j in range(p.k % 4)]
    if p.sources:
        lines = [f'df = ctx.source("{p.sources[0]}")']
        lines += [f'df = df.join(ctx.source("{t}").select("id"), "id", "left_semi")' for t in p.sources[1:]]
        selected = [f'identifier("id").alias("{e}_id")', f'F.col("day").alias("{e}_date")',
                    'F.col("state").alias("status")', 'F.col("qty").cast("int").alias("item_count")',
                    'money("amount").alias("net_amount")', 'F.col("score").cast("double").alias("score")',
                    'F.col("ts").alias("updated_at")', *extras]
        selected += ['F.col("email").alias("contact_email")'] * (p.k % 3 == 0)  # the PII column, as in the contract
    else:
        u = p.deps[0].entity
        lines = [f'df = ctx.product("{p.deps[0].key}")']
        lines += [f'df = df.join(ctx.product("{d.key}").select(F.col("{d.entity}_id").alias("{u}_id")), "{u}_id", '
                  '"left_semi")' for d in p.deps[1:]]
        selected = [f'F.col("{u}_id").alias("{e}_id")', f'F.col("{u}_date").alias("{e}_date")', '"status"',
                    '"item_count"', '"net_amount"', '"score"', '"updated_at"', *extras]
    body, columns = "".join(f"    {line}\n" for line in lines), "".join(f"\n        {c}," for c in selected)
    return f"\n\ndef {p.name}(ctx: BuildContext) -> DataFrame:\n{body}    return df.select({columns}\n    )\n"


TRANSFORMS_HEADER = '''"""{domain} products (synthetic): a trivial select/rename per contract, named after the product."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mesh_platform.columns import identifier, money
from mesh_platform.product import BuildContext
'''
DEFINITIONS = '''"""The {domain} domain (synthetic)."""
from pathlib import Path

from domains.{domain} import transforms
from mesh_platform.product import domain_definitions

defs = domain_definitions(Path(__file__).parent, transforms)
'''


def expected_checks(p: Product) -> int:
    return PLATFORM_CHECKS + len(contract(p, False)["quality"]) + bool(p.deps)  # + upstream_health


def generate(out: Path, products: int = 500, domains: int = 20, seed: int = 7) -> dict:
    """Writes the project folder `out` and returns its manifest (also written to out/manifest.json)."""
    out = Path(out)
    tables, planned = plan(products, domains, seed)
    (out / "domains").mkdir(parents=True, exist_ok=True)
    (out / "domains" / "__init__.py").write_text('"""A synthetic mesh, written by bench/synthetic_mesh.py."""\n')
    locations = {}
    for i, (domain, own) in enumerate(planned.items()):
        folder = out / "domains" / domain
        (folder / "contracts").mkdir(parents=True, exist_ok=True)
        tightened = i % TIGHTENING_EVERY == 0
        if tightened:  # a domain may tighten the council's policies, never loosen them
            (folder / "policies.yaml").write_text("rules:\n  QUALITY-002: {params: {max_freshness_hours: 24}}\n")
        for p in own:
            (folder / "contracts" / f"{p.name}.yaml").write_text(
                yaml.safe_dump(contract(p, tightened), sort_keys=False, width=120, default_flow_style=None))
        (folder / "__init__.py").write_text(f'"""The {domain} domain (synthetic)."""\n')
        (folder / "sources.yaml").write_text(yaml.safe_dump(  # seeded by bench/synthetic_refresh.py only
            {"sources": [{"name": t, "kind": "delta", "columns": BRONZE_COLUMNS} for t in tables[domain]]},
            sort_keys=False))
        (folder / "transforms.py").write_text(TRANSFORMS_HEADER.format(domain=domain) + "".join(map(transform, own)))
        (folder / "definitions.py").write_text(DEFINITIONS.format(domain=domain))
        bronze = {t for p in own for t in p.sources}
        foreign = {d.key for p in own for d in p.deps if d.domain != domain}  # stubs in this location
        declared = set(tables[domain])  # every declared source is an observed asset with its source_columns check
        locations[domain] = {"products": len(own), "bronze": len(bronze), "assets": len(declared | foreign) + len(own),
                             "checks": sum(map(expected_checks, own)) + len(declared)}
    every = [p for own in planned.values() for p in own]
    # The council's location holds its own assets only: no product stubs, no lineage edge under every product.
    locations["governance"] = {"products": 0, "assets": len(GOVERNANCE_ASSETS), "checks": 0}
    entries = [{"python_module": {"module_name": f"domains.{d}.definitions", "location_name": d}} for d in planned]
    entries.append({"python_module": {"module_name": "governance.definitions", "location_name": "governance"}})
    # A mesh repository of its own: mesh.yaml, and the council's location beside its policies.
    (out / "mesh.yaml").write_text(yaml.safe_dump({"name": "synthetic", "domains": "domains",
                                                   "policies": "governance/policies.yaml", "as_of": "1998-08-02"}))
    (out / "governance").mkdir(exist_ok=True)
    (out / "governance" / "__init__.py").write_text("")
    (out / "governance" / "definitions.py").write_text(
        "from mesh_platform.governance.location import governance_definitions\n\ndefs = governance_definitions()\n")
    shutil.copyfile(ROOT / "governance" / "policies.yaml", out / "governance" / "policies.yaml")
    (out / "workspace.yaml").write_text("# One code location per synthetic domain, plus the governance location.\n"
                                        + yaml.safe_dump({"load_from": entries}, sort_keys=False))
    shutil.copyfile(ROOT / "dagster.yaml", out / "dagster.yaml")
    manifest = {"products": len(every), "domains": list(planned), "locations": locations, "tables": tables,
                "product_keys": sorted(p.key for p in every),
                "cross_domain_products": sum(any(d.domain != p.domain for d in p.deps) for p in every)}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


# --- measurements ----------------------------------------------------------------------------------------

def mesh_env(out: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", **extra}  # run from `out`: its mesh.yaml is the mesh


# What a code server does for a location, in a fresh interpreter: import the module, build the repository,
# serialize its snapshot for the webserver (defer_snapshots=True, as dagster's gRPC code locations ask).
# An empty module name measures the baseline every location pays: dagster + the platform's imports.
LOAD = """
import importlib, json, sys, time
started = time.perf_counter()
import dagster, mesh_platform.product
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._serdes import serialize_value
imported = defined = snapped = time.perf_counter()
if sys.argv[1]:
    repo = importlib.import_module(sys.argv[1]).defs.get_repository_def()
    defined = time.perf_counter()
    serialize_value(RepositorySnap.from_def(repo, defer_snapshots=True))
    snapped = time.perf_counter()
print(json.dumps({"import": imported - started, "definitions": defined - imported, "snapshot": snapped - defined}))
"""


def timed(command: list[str], out: Path, env: dict | None = None) -> tuple[float, str]:
    """Wall seconds of a fresh process (interpreter start included) and its stdout; raises on failure."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=out, env=env or mesh_env(out), capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    return time.perf_counter() - started, done.stdout


def measure_loads(out: Path, runs: int) -> dict[str, list[dict]]:
    """Per location (and the baseline, key ""): a fresh process's wall seconds and its inner split, run
    after run, interleaved so that a noisy neighbour weighs on all alike."""
    entries = [e["python_module"] for e in yaml.safe_load((out / "workspace.yaml").read_text())["load_from"]]
    modules = {"": "", **{e["location_name"]: e["module_name"] for e in entries}}
    found: dict[str, list[dict]] = {}
    for _ in range(runs):
        for location, module in modules.items():
            wall, stdout = timed([sys.executable, "-c", LOAD, module], out)
            found.setdefault(location, []).append({"wall": wall, **json.loads(stdout)})
    return found


def measure_lint(out: Path, runs: int, domains: int) -> tuple[list[float], list[float]]:
    """`mesh lint` over the mesh, and `mesh --help` (the command's own start-up and imports)."""
    lint, start = [], []
    for _ in range(runs):
        wall, stdout = timed([str(BIN / "mesh"), "lint"], out, mesh_env(out, COLUMNS="200"))
        assert f"{domains} domains comply" in stdout, stdout  # the synthetic package, not the repo's 4 domains
        lint.append(wall)
        start.append(timed([str(BIN / "mesh"), "--help"], out)[0])
    return lint, start


# The UI's asset graph (dagster-webserver 1.13, ui-core WorkspaceQueries.tsx): the WorkspaceContext issues
# LocationWorkspaceAssetsQuery for every location at once and the graph draws when all have answered.
ASSET_FIELDS = """
  fragment RepositoryAsset on AssetNode { id changedReasons groupName opNames isMaterializable isObservable
    isExecutable isPartitioned isAutoCreatedStub hasAssetChecks computeKind hasMaterializePermission
    hasWipePermission hasReportRunlessAssetEventPermission assetKey { path }
    internalFreshnessPolicy { ... on TimeWindowFreshnessPolicy { failWindowSeconds warnWindowSeconds }
      ... on CronFreshnessPolicy { deadlineCron lowerBoundDeltaSeconds timezone } }
    partitionDefinition { dimensionTypes { type dynamicPartitionsDefinitionName } }
    automationCondition { __typename } description(characterLimit: 240)
    owners { ... on UserAssetOwner { email } ... on TeamAssetOwner { team } }
    tags { key value } storageAddress { storageKind tableName } jobNames kinds graphName dependencyKeys { path } }
"""
LOCATION_ASSETS = """query LocationWorkspaceAssetsQuery($name: String!) {
  workspaceLocationEntryOrError(name: $name) { __typename
    ... on WorkspaceLocationEntry { id name loadStatus updatedTimestamp versionKey locationOrLoadError {
      ... on RepositoryLocation { id name repositories { id name assetNodes { id ...RepositoryAsset }
        assetGroups { id groupName } } }
      ...PythonErrorFragment } }
    ...PythonErrorFragment } }
  fragment PythonErrorFragment on PythonError { message stack errorChain { isExplicitLink error { message stack } } }
""" + ASSET_FIELDS
# The one global query the brief names (what the UI issued before its per-location fetch), same fields.
GLOBAL_ASSETS = "{ assetNodes { ...RepositoryAsset repository { location { name } } } }" + ASSET_FIELDS
BROWSER_CONNECTIONS = 6  # what a browser opens per host over HTTP/1.1


def ui_asset_graph(server: DagsterDev, locations: list[str]) -> list[dict]:
    """Every location's asset nodes, fetched as the UI does: all at once, over a browser's connections."""
    def fetch(name: str) -> list[dict]:
        entry = server.graphql(LOCATION_ASSETS, {"name": name})["workspaceLocationEntryOrError"]
        return [node for repo in entry["locationOrLoadError"]["repositories"] for node in repo["assetNodes"]]
    with ThreadPoolExecutor(BROWSER_CONNECTIONS) as pool:
        return [node for nodes in pool.map(fetch, locations) for node in nodes]


def measure_asset_graph(out: Path, manifest: dict, queries: int) -> dict:
    """`dagster dev` as scripts/dev runs it, from the generated folder, in its own process group."""
    home, port, started = Path(tempfile.mkdtemp(prefix="synthetic-mesh-home-")), free_port(), time.perf_counter()
    shutil.copyfile(out / "dagster.yaml", home / "dagster.yaml")
    with open(home / "dagster-dev.log", "w") as log:
        process = subprocess.Popen(
            [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)], cwd=out,
            env=mesh_env(out, DAGSTER_HOME=str(home), MESH_LAKE_ROOT=str(home / "lake")), stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
    server = DagsterDev(f"http://127.0.0.1:{port}", process, home / "dagster-dev.log")
    try:
        with PeakMemory(process.pid, interval=1) as memory:
            for _ in range(300):  # until the webserver listens, then until every location has loaded
                try:
                    locations = server.wait_for_locations(timeout=900)  # fails on a location's load error
                    break
                except requests.ConnectionError:
                    time.sleep(1)
            else:
                raise RuntimeError(f"dagster dev did not listen; see {server.log}")
            loaded = time.perf_counter() - started
            nodes = ui_asset_graph(server, locations)  # warms up, and is the answer checked
            keys = {"/".join(n["assetKey"]["path"]) for n in nodes if n["isMaterializable"]}
            wanted = {k.replace(".", "/") for k in manifest["product_keys"]}
            wanted |= {f"governance/{name}" for name in GOVERNANCE_ASSETS}
            bronze = {"/".join(n["assetKey"]["path"]) for n in nodes if n["assetKey"]["path"][1] == "bronze"}
            assert wanted <= keys, sorted(wanted - keys)[:5]
            assert len(bronze) == sum(v.get("bronze", 0) for v in manifest["locations"].values()), len(bronze)
            ui, single = [], []
            for _ in range(queries):
                began = time.perf_counter()
                ui_asset_graph(server, locations)
                ui.append(time.perf_counter() - began)
                began = time.perf_counter()
                assert len(server.graphql(GLOBAL_ASSETS)["assetNodes"]) >= len(wanted) + len(bronze)
                single.append(time.perf_counter() - began)
    finally:
        stop(process)  # the group this script started: webserver, daemon and code servers
        shutil.rmtree(home, ignore_errors=True)
    return {"ui": ui, "single": single, "loaded": loaded, "peak_rss": memory.peak, "nodes": len(nodes),
            "bronze": len(bronze), "locations": len(locations)}


def report(manifest: dict, loads: dict[str, list[dict]], lint: tuple[list[float], list[float]], graph: dict,
           runs: int) -> list[dict]:
    med = statistics.median
    split = {name: {part: med(r[part] for r in rs) for part in rs[0]} for name, rs in loads.items()}
    walls = {name: parts["wall"] for name, parts in split.items() if name}
    worst, typical, base = max(walls, key=walls.get), med(walls.values()), split[""]["wall"]
    rows = [(f"location load, worst ({worst})", walls[worst], 5.0),
            ("location load, median of locations", typical, 5.0), ("mesh lint", med(lint[0]), 5.0),
            (f"UI asset graph ({graph['locations']} location queries)", med(graph["ui"]), 2.0),
            ("global assetNodes query", med(graph["single"]), 2.0)]
    print(f"\nsynthetic mesh: {manifest['products']} products ({manifest['cross_domain_products']} cross-domain), "
          f"{len(manifest['domains'])} domains, {graph['bronze']} bronze tables; {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} (other jobs share the machine); medians of {runs} runs, fresh processes")
    print(f"{'measure':48} {'median':>9} {'target':>8}  verdict")
    for label, value, target in rows:
        print(f"{label:48} {value:8.2f}s {target:7.1f}s  {'PASS' if value <= target else 'FAIL'}")
    w = split[worst]
    print(f"\nbaseline (python + import dagster, mesh_platform.product): {base:.2f} s; own cost of a location "
          f"(load - baseline): worst {walls[worst] - base:.2f} s, median {typical - base:.2f} s; {worst} inside: "
          f"imports {w['import']:.2f} s, Definitions {w['definitions']:.2f} s, snapshot {w['snapshot']:.2f} s")
    print(f"mesh --help (the CLI's own start-up): {med(lint[1]):.2f} s of lint's {med(lint[0]):.2f} s")
    print(f"dagster dev: every location loaded {graph['loaded']:.0f} s after start; peak RSS of its process tree "
          f"{graph['peak_rss'] / 2**30:.1f} GiB; the graph holds {graph['nodes']} nodes: all "
          f"{manifest['products']} products, {graph['bronze']} bronze tables and the governance assets")
    print("per location, median wall s: " + ", ".join(f"{n} {v:.2f}" for n, v in sorted(walls.items())))
    size = f"{manifest['products']}-product mesh"
    return [{"name": f"{size}: {label}", "median_s": round(value, 3), "target": f"<= {target:g} s",
             "pass": value <= target} for label, value, target in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["generate", "bench"], help="write a mesh to OUT, or generate and measure")
    parser.add_argument("out", type=Path, nargs="?", help="generate: the project folder to write")
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--domains", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3, help="bench: runs per measurement; medians are reported")
    parser.add_argument("--queries", type=int, default=9, help="bench: asset graph fetches measured")
    parser.add_argument("--json", type=Path, default=None, help="bench: also write the result rows here")
    args = parser.parse_args()
    if args.products < args.domains or (args.command == "generate") != (args.out is not None):
        parser.error("generate needs OUT (bench does not), and --products at least --domains (each domain needs one)")
    if args.command == "generate":
        manifest = generate(args.out, args.products, args.domains, args.seed)
        print(f"{args.out}: {manifest['products']} products in {len(manifest['domains'])} domains")
        return
    out = Path(tempfile.mkdtemp(prefix="synthetic-mesh-"))
    try:
        manifest = generate(out, args.products, args.domains, args.seed)
        print(f"generated {manifest['products']} products in {out}; each location loads {args.runs} times ...",
              flush=True)
        loads = measure_loads(out, args.runs)
        lint = measure_lint(out, args.runs, len(manifest["domains"]))
        print("starting dagster dev on the synthetic workspace ...", flush=True)
        graph = measure_asset_graph(out, manifest, args.queries)
        rows = report(manifest, loads, lint, graph, args.runs)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(rows))
    sys.exit(0 if all(r["pass"] for r in rows) else 1)


if __name__ == "__main__":
    main()
