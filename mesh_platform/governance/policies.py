"""Governance policies: the council's global file, and per-domain files that may only tighten it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from mesh_platform.config import current_mesh, find_mesh
from mesh_platform.contracts.yaml_text import YamlFileError, read_yaml_file

Severity = Literal["CRITICAL", "WARNING"]
LOOSENING_RULE = "GOVERNANCE-001"
# How each tunable parameter tightens: a domain may only move it this way.
TIGHTER = {"min_completeness": "higher", "max_freshness_hours": "lower",
           "min_matches": "lower", "min_share": "lower", "name_min_share": "lower"}  # SECURITY-002


class RulePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    severity: Severity = "CRITICAL"
    description: str = ""
    remediation: str = ""
    enabled: bool = True
    params: dict[str, Any] = {}


class PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str = "1.0.0"
    rules: dict[str, RulePolicy] = {}


@dataclass
class Policies:
    rules: dict[str, RulePolicy]
    loosened: list[str] = field(default_factory=list)  # what a domain file tried to loosen


class PolicyError(ValueError):
    """A policy file that cannot be used: one line per problem, naming the file and the field."""

    def __init__(self, message: str, path: Path):
        super().__init__(message)
        self.path = Path(path)


def load_policy_file(path: Path) -> PolicyFile:
    try:
        return PolicyFile.model_validate(read_yaml_file(path) or {})
    except YamlFileError as exc:
        raise PolicyError(str(exc), path) from None
    except ValidationError as exc:
        raise PolicyError("\n".join(
            f"{path}: {'.'.join(map(str, e['loc'])) or '(top level)'}: {e['msg']}" for e in exc.errors()
        ), path) from None


def _merge(base: RulePolicy, override: dict, rule_id: str, where: Path) -> tuple[RulePolicy, list[str]]:
    problems = []
    merged = base.model_copy(deep=True)
    if "severity" in override and override["severity"] != base.severity:
        if base.severity == "CRITICAL":
            problems.append(f"{where}: {rule_id} severity lowered from CRITICAL to {override['severity']}")
        else:
            merged.severity = override["severity"]
    if override.get("enabled") is False and base.enabled:
        problems.append(f"{where}: {rule_id} disabled, but the council enables it")
    elif override.get("enabled") is True:
        merged.enabled = True
    for name, value in (override.get("params") or {}).items():
        current = base.params.get(name)
        direction = TIGHTER.get(name)
        looser = direction and current is not None and (
            (direction == "higher" and value < current) or (direction == "lower" and value > current))
        if looser:
            problems.append(f"{where}: {rule_id} {name} loosened from {current} to {value}")
        elif isinstance(current, dict):
            merged.params[name] = {**current, **value}  # a domain may add prefixes, not drop the council's
        elif isinstance(current, list):
            merged.params[name] = [*current, *[v for v in value if v not in current]]
        else:
            merged.params[name] = value
    return merged, problems


def council_policies_file(domain_dir: Path | None = None) -> Path:
    """The council's policies of the mesh a domain folder belongs to (else the mesh in use): mesh.yaml `policies`."""
    mesh = (find_mesh(domain_dir) if domain_dir is not None else None) or current_mesh()
    return mesh.policies_file


def domain_policies(domain_dir: Path, global_file: Path | None = None) -> Policies:
    rules = dict(load_policy_file(global_file or council_policies_file(domain_dir)).rules)
    local = Path(domain_dir) / "policies.yaml"
    if not local.exists():
        return Policies(rules)
    loosened: list[str] = []
    for rule_id, override in load_policy_file(local).rules.items():  # validated like the council's file
        if rule_id in rules:
            # only the keys the domain wrote: an unset severity must not read as a lowered one
            rules[rule_id], problems = _merge(rules[rule_id], override.model_dump(exclude_unset=True), rule_id, local)
            loosened += problems
        else:
            rules[rule_id] = override
    return Policies(rules, loosened)
