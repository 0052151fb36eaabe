"""A generated mesh far larger than the shipped one (bench/synthetic_mesh.py) loads and lints for real:
every code location holds the assets and checks its contracts imply, and `mesh lint` judges every product.

The generated folder is a mesh repository of its own (its mesh.yaml): every command runs from it, exactly
as bench/synthetic_mesh.py and a user running `dagster dev` from that folder would.

Default size 120 products over 8 domains: `mesh lint` re-reads every consumed domain's contracts and
parses YAML in pure Python, so at 500 products one lint takes 25-50 s on 2 cores (see the bench).
MESH_SYNTHETIC_PRODUCTS=500 MESH_SYNTHETIC_DOMAINS=20 runs the full size.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine_independent  # no Spark: CI runs it once, in the default-engine (Sail) pass

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent
PRODUCTS = int(os.environ.get("MESH_SYNTHETIC_PRODUCTS", "120"))
DOMAINS = int(os.environ.get("MESH_SYNTHETIC_DOMAINS", "8"))

# Loads every location of the workspace in one interpreter (a code server loads one; the counts are
# the same) and reports what each holds, plus which `domains` package was imported.
LOAD_ALL = """
import importlib, json, sys
import domains

found = {"domains_package": domains.__file__}
for location, module in json.loads(sys.argv[1]).items():
    graph = importlib.import_module(module).defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    found[location] = {"assets": len(keys), "checks": len(graph.asset_check_keys),
                       "materializable": sum(graph.get(k).is_materializable for k in keys)}
print(json.dumps(found))
"""


def _env(folder: Path) -> dict[str, str]:
    return {**os.environ, "COLUMNS": "250"}  # run from the folder: its mesh.yaml is the mesh


def _run(folder: Path, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=folder, env=_env(folder), capture_output=True, text=True, timeout=600)


def _lint_json(folder: Path) -> tuple[int, dict]:
    result = _run(folder, str(BIN / "mesh"), "lint", "--format", "json")
    return result.returncode, json.loads(result.stdout)


@pytest.fixture(scope="module")
def mesh(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("synthetic_mesh")
    generated = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "synthetic_mesh.py"), "generate", str(folder),
         "--products", str(PRODUCTS), "--domains", str(DOMAINS)],
        capture_output=True, text=True, timeout=120,
    )
    assert generated.returncode == 0, generated.stderr
    return folder, json.loads((folder / "manifest.json").read_text())


def test_the_generated_workspace_has_one_location_per_domain_and_governance(mesh):
    folder, manifest = mesh
    assert manifest["products"] == PRODUCTS and len(manifest["domains"]) == DOMAINS
    assert manifest["cross_domain_products"] > 0  # lineage crosses code locations, as in the real mesh
    workspace = (folder / "workspace.yaml").read_text()
    assert workspace.count("python_module") == DOMAINS + 1 and "governance.definitions" in workspace
    assert len(list(folder.glob("domains/*/contracts/*.yaml"))) == PRODUCTS
    assert (folder / "dagster.yaml").read_text() == (ROOT / "dagster.yaml").read_text()


def test_every_code_location_loads_with_the_assets_and_checks_its_contracts_imply(mesh):
    folder, manifest = mesh
    modules = {d: f"domains.{d}.definitions" for d in manifest["domains"]}
    modules["governance"] = "governance.definitions"
    result = _run(folder, sys.executable, "-c", LOAD_ALL, json.dumps(modules))
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(found.pop("domains_package")) == folder / "domains" / "__init__.py"  # not the repo's domains
    for location, expected in manifest["locations"].items():
        materializable = expected["products"] if location != "governance" else 4  # its own four assets
        assert found[location] == {"assets": expected["assets"], "checks": expected["checks"],
                                   "materializable": materializable}, location
    # the governance location holds its own four assets only (it reads the products' state from the instance)
    assert found["governance"]["assets"] == 4


def test_mesh_lint_passes_over_the_whole_synthetic_mesh(mesh):
    folder, manifest = mesh
    human = _run(folder, str(BIN / "mesh"), "lint")
    assert human.returncode == 0, human.stdout + human.stderr
    assert f"{DOMAINS} domains comply with every policy" in human.stdout
    code, report = _lint_json(folder)
    assert code == 0 and report == {"violations": [], "critical": 0}


def test_mesh_lint_judges_every_product(mesh, tmp_path):
    """Lint reports domains, not products, when all comply: tighten one policy in every domain (domains
    may tighten) below every SLA, and each product must be reported exactly once."""
    folder, manifest = mesh
    copy = Path(shutil.copytree(folder, tmp_path / "mesh"))
    for domain in manifest["domains"]:
        (copy / "domains" / domain / "policies.yaml").write_text(
            "rules:\n  QUALITY-002: {params: {max_freshness_hours: 1}}\n")
    code, report = _lint_json(copy)
    assert code == 1 and report["critical"] == PRODUCTS
    assert {v["rule"] for v in report["violations"]} == {"QUALITY-002"}
    assert sorted(v["product"] for v in report["violations"]) == manifest["product_keys"]


def test_one_broken_contract_fails_lint_naming_its_file(mesh, tmp_path):
    folder, manifest = mesh
    copy = Path(shutil.copytree(folder, tmp_path / "mesh"))
    # a product another domain consumes: its consumers must not report a cascade, only the file itself
    texts = [(path.parent.parent.name, path.read_text()) for path in copy.glob("domains/*/contracts/*.yaml")]
    consumed = next(key for key in manifest["product_keys"]
                    if any(f"product: {key}," in text for d, text in texts if d != key.split(".")[0]))
    domain, name = consumed.split(".")
    broken = copy / "domains" / domain / "contracts" / f"{name}.yaml"
    broken.write_text(broken.read_text().replace("type: date", "type: dait", 1))
    code, report = _lint_json(copy)
    assert code == 1 and report["critical"] == 1
    (violation,) = report["violations"]
    assert violation["rule"] == "CONTRACT-001" and violation["file"] == str(broken)
    assert "type 'dait' is not supported" in violation["message"]
