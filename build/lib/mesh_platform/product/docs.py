"""The markdown a product shows as its description in the Dagster UI."""

from __future__ import annotations

from mesh_platform.checks.specs import contract_checks
from mesh_platform.contracts.lifecycle import deprecation_notice
from mesh_platform.contracts.model import Contract


def product_markdown(contract: Contract) -> str:
    notice = deprecation_notice(contract)
    lines = [f"**Deprecated.** {notice}.", ""] if notice else []
    lines += [
        contract.description.strip(),
        "",
        f"**Owner** {contract.owner} · **Version** {contract.version} · **Kind** {contract.kind} · "
        f"**Freshness SLA** {contract.sla.freshness_hours:g} h",
        "",
        "| column | type | nullable | PII | description |",
        "|---|---|---|---|---|",
    ]
    masking = contract.consumer_masking
    lines += [
        f"| `{c.name}` | {c.type} | {'yes' if c.nullable else 'no'} | {masking.get(c.name, '')} | {c.description} |"
        for c in contract.columns
    ]
    lines += ["", "**Checks**", ""]
    lines += [
        f"- `{c.name}` ({'blocks publication' if c.critical else 'warns'}): {c.description}"
        for c in contract_checks(contract)
    ]
    consumers = ", ".join(contract.access.consumers) or "owner only"
    lines += ["", f"**Consumers** {consumers} (PII masked for them as shown; ask with `mesh access request`)"]
    lines += [f"- rows {consumer} sees: `{predicate}`" for consumer, predicate in contract.access.row_filters.items()]
    if contract.dependencies:
        lines += ["", "**Consumes** " + ", ".join(d.product for d in contract.dependencies)]
    return "\n".join(lines)
