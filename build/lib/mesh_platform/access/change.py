"""A granted access request becomes a contract change for review: a git branch (or a patch file).

The contract stays the single source of who may read a product, so granting never edits it in place:
the owner team reviews and merges the change like any other, and the new consumer can read from then on.
"""

from __future__ import annotations

import difflib
import subprocess
import tempfile
from pathlib import Path

from mesh_platform.contracts.edit import edit_contract


def with_consumer(text: str, consumer: str, source: str) -> str:
    """The contract YAML `text` with `consumer` added to access.consumers, formatting and comments kept."""
    def add(data: dict) -> None:
        consumers = data.setdefault("access", {}).setdefault("consumers", [])
        if consumer not in consumers:
            consumers.append(consumer)

    return edit_contract(text, add, source)[0]


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True).stdout.strip()


def _repository(path: Path) -> Path | None:
    try:
        return Path(_git(path.parent, "rev-parse", "--show-toplevel"))
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None


def propose_consumer(contract_file: Path, consumer: str, request_id: str, author: str) -> str:
    """Writes the change and returns where it waits for review."""
    contract_file = Path(contract_file).resolve()
    repo = _repository(contract_file)
    if repo is None:
        before = contract_file.read_text()
        after = with_consumer(before, consumer, str(contract_file))
        patch = contract_file.with_name(f"{contract_file.stem}.access-{request_id}.patch")
        patch.write_text("".join(difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True),
            f"a/{contract_file.name}", f"b/{contract_file.name}",
        )))
        return f"patch {patch}: review it, then apply it in {contract_file.parent}"
    relative = contract_file.relative_to(repo)
    branch = f"access/{contract_file.parent.parent.name}.{contract_file.stem}-{consumer}-{request_id}"
    with tempfile.TemporaryDirectory(prefix="mesh-access-") as tmp:
        tree = Path(tmp) / "tree"
        _git(repo, "worktree", "add", "-q", "-b", branch, str(tree), "HEAD")
        try:
            target = tree / relative
            target.write_text(with_consumer(target.read_text(), consumer, str(relative)))
            _git(tree, "add", str(relative))
            _git(tree, "-c", f"user.name={author}", "-c", "user.email=mesh-access@localhost", "commit", "-q",
                 "-m", f"Grant {consumer} read access to {relative.parent.parent.name}.{relative.stem} "
                 f"(access request {request_id})")
        finally:
            _git(repo, "worktree", "remove", "--force", str(tree))
    return f"branch {branch}: review and merge it (git diff HEAD...{branch})"
