"""The partition benchmark's baseline is the same product unpartitioned, in a lake sharing only the sources.

bench/partitions.py compares the partitioned sales.orders with a copy of the mesh whose contract lacks
its `partitioning:` line; these tests hold that copy to being the same contract otherwise, and its lake
to sharing the seeded bronze tables without sharing gold ones. (The timed builds themselves run in
`bench/run.py --smoke`.)
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from mesh_platform.contracts.loader import load_contract

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import partitions  # noqa: E402

pytestmark = pytest.mark.engine_independent  # files only: one pass (Sail) runs it


def test_the_unpartitioned_copy_differs_from_the_mesh_only_by_the_partitioning():
    copy = partitions.unpartitioned_mesh()
    try:
        original = load_contract(ROOT / partitions.CONTRACT)
        unpartitioned = load_contract(copy / partitions.CONTRACT)
        assert original.partitioning is not None and unpartitioned.partitioning is None
        assert unpartitioned.model_dump(exclude={"partitioning"}) == original.model_dump(exclude={"partitioning"})
        assert (copy / "mesh.yaml").read_text() == (ROOT / "mesh.yaml").read_text()
        other = ROOT / "domains" / "finance" / "contracts" / "revenue_by_nation.yaml"
        assert (copy / other.relative_to(ROOT)).read_text() == other.read_text()  # other products as they are
    finally:
        shutil.rmtree(copy)


def test_the_baseline_lake_shares_bronze_tables_and_platform_state_but_not_gold(tmp_path):
    lake = tmp_path / "lake"
    (lake / "sales" / "bronze" / "orders").mkdir(parents=True)
    (lake / "sales" / "gold" / "orders").mkdir(parents=True)
    (lake / "_platform").mkdir()
    other = partitions.sibling_lake(lake)
    try:
        assert (other / "sales" / "bronze").resolve() == (lake / "sales" / "bronze").resolve()
        assert (other / "_platform").resolve() == (lake / "_platform").resolve()
        assert not (other / "sales" / "gold").exists()  # its build writes a table of its own
    finally:
        shutil.rmtree(other)
