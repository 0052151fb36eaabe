"""Static enforcement of the policies on contracts, without Spark: `mesh lint` and code-location load."""

from __future__ import annotations

import re
from pathlib import Path

from mesh_platform.access.policy import request_hint
from mesh_platform.contracts import Contract, ContractError, load_contract
from mesh_platform.contracts.lifecycle import deprecation_notice, lineup_problems
from mesh_platform.contracts.partitioning import mapping_problem
from mesh_platform.contracts.revisions import git_revision
from mesh_platform.contracts.row_filters import always_true
from mesh_platform.governance.cycles import dependency_cycle
from mesh_platform.governance.policies import LOOSENING_RULE, Policies, PolicyError, domain_policies
from mesh_platform.governance.rules import KNOWN_RULES, RULES
from mesh_platform.governance.sla import infeasible_slas
from mesh_platform.governance.versioning import version_violations
from mesh_platform.governance.violations import Violation  # critical: compliance.py imports it from here
from mesh_platform.sources import Source, SourceError, load_domain_sources


def lint_contract(contract: Contract, policies: Policies, file: str) -> list[Violation]:
    found = []
    for rule_id, policy in policies.rules.items():
        check = RULES.get(rule_id)
        if check is None or not policy.enabled:
            continue
        for field, message in check(contract, policy):
            found.append(Violation(rule_id, policy.severity, contract.key, file, field, message, policy.remediation))
    return found


def _readable_contracts(domain_dir: Path) -> dict[str, Contract]:
    """A domain's contracts by key, skipping files that do not parse (its own lint reports them)."""
    found = {}
    for path in sorted((domain_dir / "contracts").glob("*.yaml")):
        try:
            contract = load_contract(path)
        except ContractError:
            continue
        found[contract.key] = contract
    return found


def _upstream_lookup(domains_root: Path, seen: dict[str, dict[str, Contract]]):
    """`domain.product` -> its contract (None if unreadable), reading each domain once into `seen`."""
    def upstream_of(product: str) -> Contract | None:
        domain = product.split(".", 1)[0]
        if domain not in seen:
            seen[domain] = _readable_contracts(domains_root / domain)
        return seen[domain].get(product)
    return upstream_of


def sla_violations(
    contract: Contract, file: str, domains_root: Path, seen: dict[str, dict[str, Contract]] | None = None,
    sources_seen: dict[str, dict[str, Source]] | None = None,
) -> list[Violation]:
    """SLA-001: an SLA tighter than a promise upstream of it (an input product's SLA or an input source's
    max_age_hours, directly or through a chain, in any domain) can never be kept (governance/sla.py).
    Not a configurable policy: no refresh cadence can make it feasible."""
    sources_seen = {} if sources_seen is None else sources_seen

    def sources_of(domain: str) -> dict[str, Source]:
        if domain not in sources_seen:
            try:
                sources_seen[domain] = load_domain_sources(domains_root / domain)
            except SourceError:  # a malformed sources.yaml fails its own location's load with its lines
                sources_seen[domain] = {}
        return sources_seen[domain]

    upstream_of = _upstream_lookup(domains_root, {} if seen is None else seen)
    return [
        Violation("SLA-001", "CRITICAL", contract.key, file, f.field, f.message(contract),
                  f"set sla.freshness_hours to at least {f.needed_hours:g} h, or make the inputs of the chain "
                  "promise fresher data first (an input's SLA or freshness.max_age_hours)")
        for f in infeasible_slas(contract, upstream_of, sources_of)
    ]


def dependency_violations(
    contract: Contract, file: str, domains_root: Path, seen: dict[str, dict[str, Contract]] | None = None
) -> list[Violation]:
    """ACCESS-001: a product may consume only products whose contracts list its domain as a consumer.
    Not a configurable policy: it is the owners' decision, enforced again on every read.
    DEPRECATION-001 (warning): it consumes a deprecated or retired major version.
    DEPENDENCY-001: it consumes itself, directly or through products of any domain (governance/cycles.py).
    PARTITION-001: it maps an upstream's partitions in a way that cannot work (contracts/partitioning.py).
    `seen`: contracts already read, by domain (one read per domain across a lint run)."""
    upstream_of = _upstream_lookup(domains_root, {} if seen is None else seen)
    found = []
    cycle = dependency_cycle(contract, upstream_of)
    if cycle:
        first, chain = cycle
        found.append(Violation(
            "DEPENDENCY-001", "CRITICAL", contract.key, file, f"dependencies[{first}].product",
            f"dependency cycle {' -> '.join(chain)}: no product of it can be built before the others",
            "remove one dependency of the cycle; a product cannot consume itself, even through other products",
        ))
    for i, dep in enumerate(contract.dependencies):
        upstream = upstream_of(dep.product)
        if upstream is None:
            continue  # unknown products are reported at load
        problem = mapping_problem(contract.key, contract.partitioning, dep.partition_mapping, upstream.key,
                                  upstream.partitioning)
        if problem:
            found.append(Violation(
                "PARTITION-001", "CRITICAL", contract.key, file, f"dependencies[{i}].partition_mapping",
                problem, "declare a partition_mapping that fits both partitionings (same, window or all), or change "
                "a partitioning",
            ))
        notice = deprecation_notice(upstream)
        if notice:
            found.append(Violation(
                "DEPRECATION-001", "WARNING", contract.key, file, f"dependencies[{i}].product", notice,
                f"consume {upstream.deprecation.successor} instead (`mesh diff` on its contract lists what changed)"
                if upstream.deprecation.successor else f"stop consuming it, or ask its owner {upstream.owner}",
            ))
        if dep.domain == contract.domain:
            continue  # own products are always readable
        if contract.domain not in upstream.access.consumers:
            allowed = ", ".join(upstream.access.consumers) or "no other domain"
            found.append(Violation(
                "ACCESS-001", "CRITICAL", contract.key, file, f"dependencies[{i}].product",
                f"{contract.key} consumes {dep.product}, whose contract does not allow {contract.domain} "
                f"(it allows {allowed})",
                f"ask its owner {upstream.owner}: {request_hint(dep.product, contract.domain)}",
            ))
    return found


def row_filter_violations(contract: Contract, file: str) -> list[Violation]:
    """ACCESS-002 (warning): a row filter that is always true shows its consumer every row."""
    return [
        Violation("ACCESS-002", "WARNING", contract.key, file, f"access.row_filters.{consumer}",
                  f"{predicate!r} is always true, so {consumer} sees every row",
                  f"write a condition that restricts the rows, or drop the filter if {consumer} may see them all")
        for consumer, predicate in contract.access.row_filters.items() if always_true(predicate)
    ]


# "<file>: <field>: <problem>": a field path as contract errors write it, e.g. access.row_filters.sales
_FIELD_LINE = re.compile(r"^(?P<field>[A-Za-z_][\w.\[\]-]*): (?P<message>.+)$")


def unreadable_violations(rule: str, product: str, path: Path, error: Exception, fix: str) -> list[Violation]:
    """One violation per line of a file's load error, its field parsed out of the line when it has one."""
    found = []
    for line in str(error).splitlines():
        rest = line.removeprefix(f"{path}: ").removeprefix(f"{path}:")
        match = _FIELD_LINE.match(rest)
        field, message = (match["field"], match["message"]) if match else ("(file)", rest.strip())
        found.append(Violation(rule, "CRITICAL", product, str(path), field, message.rstrip("."), fix))
    return found


def lint_domain(domain_dir: Path, policies: Policies | None = None, base: str | None = None) -> list[Violation]:
    """`base`: a git revision to judge each contract's version against (VERSION-001)."""

    domain_dir = Path(domain_dir)
    policy_file = str(domain_dir / "policies.yaml")
    try:
        policies = policies or domain_policies(domain_dir)
    except PolicyError as exc:  # no policies to judge the contracts by: this is the domain's one problem
        return unreadable_violations("GOVERNANCE-003", domain_dir.name, exc.path, exc,
                                     "Fix the policy file as the message says.")
    violations = [
        Violation(LOOSENING_RULE, "CRITICAL", domain_dir.name, policy_file, "rules", problem.split(": ", 1)[1],
                  "Domains may add rules and tighten thresholds; ask the council to change a global policy.")
        for problem in policies.loosened
    ]
    violations += [
        Violation("GOVERNANCE-002", "WARNING", domain_dir.name, policy_file, f"rules.{rule_id}",
                  f"rule {rule_id} is not implemented by the platform", "Use one of: " + ", ".join(sorted(KNOWN_RULES)))
        for rule_id in policies.rules if rule_id not in KNOWN_RULES
    ]
    seen: dict[str, dict[str, Contract]] = {}
    sources_seen: dict[str, dict[str, Source]] = {}
    loaded = []
    for path in sorted((domain_dir / "contracts").glob("*.yaml")):
        try:
            contract = load_contract(path)
        except ContractError as exc:
            violations += unreadable_violations("CONTRACT-001", f"{domain_dir.name}.{path.stem}", path, exc,
                                                "Fix the contract file as the message says.")
            continue
        loaded.append(contract)
        violations += lint_contract(contract, policies, str(path))
        violations += row_filter_violations(contract, str(path))
        violations += dependency_violations(contract, str(path), domain_dir.parent, seen)
        violations += sla_violations(contract, str(path), domain_dir.parent, seen, sources_seen)
        if base:
            try:
                previous = git_revision(path, base)
            except ContractError as exc:
                violations.append(Violation("CONTRACT-001", "CRITICAL", contract.key, str(path), "(revision)",
                                            str(exc), "Compare with a revision where the contract is valid."))
                continue
            violations += version_violations(previous, contract, str(path), f"git {base}")
    violations += [
        Violation("VERSION-002", "CRITICAL", domain_dir.name, *problem.split(": ", 2),
                  "Keep one contract per major version; a superseded major names its successor.")
        for problem in lineup_problems(loaded, str(domain_dir / "contracts"))
    ]
    return violations
