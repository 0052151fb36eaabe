"""A static documentation site: one page per product (its data dictionary) and a searchable index.

Contract text is foreign input (`mesh import` takes contracts from elsewhere), so every value is escaped
where it lands: HTML-escaped in text and in double-quoted attributes, and the index's search records
are JSON with `<`, `>` and `&` written as \\u escapes, so no `</script>` or `<!--` in a description can
end or change the script that embeds them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from mesh_platform.catalog.entries import CatalogEntry
from mesh_platform.checks.specs import contract_checks
from mesh_platform.contracts.model import Contract

STYLE = """body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left}
code,pre{background:#f4f4f4;padding:0 .2rem}pre{padding:.5rem;overflow-x:auto}.pii{color:#a33}
.notice{background:#fff3cd;padding:.5rem}.FAILED{color:#a33;font-weight:bold}.SUCCEEDED{color:#276b2e}
input{font-size:1rem;width:100%;padding:.4rem}footer{margin-top:2rem;color:#666;font-size:.9rem}"""
CHECK_RESULT = {"SUCCEEDED": "passed", "FAILED": "failed", "PLANNED": "running"}
SEARCH_HINT = "search names, owners, descriptions, columns and their descriptions, tags, PII (try: pii)"
# JSON inside <script>: these characters never appear raw, so the HTML parser cannot see a tag or comment.
_SCRIPT_SAFE = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
                0x2028: "\\u2028", 0x2029: "\\u2029"}


def script_json(value: object) -> str:
    """`value` as JSON that is safe to embed in an HTML <script> element."""
    return json.dumps(value).translate(_SCRIPT_SAFE)


def _when(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC") if epoch is not None else "never"


def _page(title: str, body: str, built_at: datetime | None) -> str:
    built = (built_at or datetime.now(UTC)).astimezone(UTC)
    footer = (f'<footer>Site built <time datetime="{built.isoformat(timespec="seconds")}">'
              f'{built.strftime("%Y-%m-%d %H:%M UTC")}</time> by <code>mesh docs build</code>.</footer>')
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{body}{footer}</body></html>")


def _link(product: str) -> str:
    return f'<a href="{escape(product)}.html">{escape(product)}</a>'


def _reader_domain(contract: Contract) -> str:
    """The domain the read examples use: the first consumer the contract allows, else the owning domain."""
    return contract.access.consumers[0] if contract.access.consumers else contract.domain


def _how_to_read(contract: Contract, entry: CatalogEntry) -> str:
    domain = _reader_domain(contract)
    cli = f"mesh read {contract.key} --as {domain} --limit 20"
    python = (f"from mesh_platform.access import read_product\n"
              f"df = read_product({contract.key!r}, as_domain={domain!r})")
    return (f"<h2>Where it is and how to read it</h2><p><b>Location</b> <code>{escape(entry.location)}</code>"
            " (a Delta table; read it through the platform so masking, row filters and the audit apply)</p>"
            f"<p>From the command line:</p><pre><code>{escape(cli)}</code></pre>"
            f"<p>From Python (PySpark):</p><pre><code>{escape(python)}</code></pre>"
            f"<p>Replace <code>{escape(domain)}</code> by your domain; domains allowed: "
            f"{escape(', '.join(contract.access.consumers) or 'the owner only')}.</p>")


def _state(contract: Contract, entry: CatalogEntry) -> str:
    rows = f"{entry.row_count:,}" if entry.row_count is not None else "not recorded"
    age = f"{entry.data_age_hours:g} h old" if entry.data_age_hours is not None else "no data yet"
    return (f"<h2>State</h2><p><b>Rows</b> <span id=rows>{rows}</span> · <b>Last published</b> "
            f"<span id=published>{_when(entry.last_published_at)}</span> · <b>Data</b> {age} "
            f"({escape(entry.freshness)}, SLA {contract.sla.freshness_hours:g} h) · <b>Reads</b> {entry.reads}</p>")


def _checks(contract: Contract, entry: CatalogEntry) -> str:
    def result(check: str) -> str:  # the latest execution's status (Dagster's AssetCheckExecutionRecordStatus)
        status = entry.checks.get(check)
        return f'<td class="{escape(status or "none")}">{escape(CHECK_RESULT.get(status, status or "not run yet"))}</td>'

    rows = "".join(
        f"<tr><td><code>{escape(c.name)}</code></td><td>{'blocks publication' if c.critical else 'warns'}</td>"
        f"{result(c.name)}<td>{escape(c.description)}</td></tr>" for c in contract_checks(contract)
    )
    return ("<h2>Checks</h2><table id=checks><tr><th>check</th><th>on failure</th><th>latest result</th>"
            f"<th>what it checks</th></tr>{rows}</table>")


def product_page(contract: Contract, entry: CatalogEntry, built_at: datetime | None = None) -> str:
    masking = contract.consumer_masking
    rows = "".join(
        f"<tr><td><code>{escape(c.name)}</code></td><td>{escape(c.type)}</td><td>{'yes' if c.nullable else 'no'}</td>"
        f"<td class=pii>{escape(masking.get(c.name, ''))}</td>"
        f"<td>{escape(c.classification)}</td><td>{escape(c.description)}</td></tr>"
        for c in contract.columns
    )
    filters = "".join(f"<li>{escape(k)} sees rows where <code>{escape(v)}</code></li>"
                      for k, v in contract.access.row_filters.items())
    body = (
        f'<p><a href="index.html">All products</a></p><h1>{escape(contract.key)} <small>v{escape(contract.version)}'
        "</small></h1>"
        + (f"<p class=notice><b>{escape(entry.lifecycle.capitalize())}.</b> {escape(entry.notice)}</p>"
           if entry.notice else "")
        + f"<p>{escape(contract.description)}</p>"
        f"<p><b>Owner</b> {escape(contract.owner)} · <b>Kind</b> {escape(contract.kind)} · <b>Freshness SLA</b> "
        f"{contract.sla.freshness_hours:g} h · <b>State</b> {escape(entry.freshness)}"
        f" · <b>Tags</b> {escape(', '.join(contract.tags))}</p>"
        + _how_to_read(contract, entry) + _state(contract, entry)
        + "<h2>Columns</h2><table><tr><th>column</th><th>type</th><th>nullable</th><th>PII masking</th>"
        f"<th>classification</th><th>description</th></tr>{rows}</table>"
        + _checks(contract, entry)
        + f"<h2>Access</h2><p>Consumers: {escape(', '.join(contract.access.consumers) or 'owner only')}</p>"
        f"<ul>{filters}</ul>"
        f"<h2>Lineage</h2><p>Consumes: {', '.join(map(_link, entry.depends_on)) or 'its own sources'}</p>"
        f"<p>Consumed by: {', '.join(map(_link, entry.used_by)) or 'no product yet'}</p>"
    )
    return _page(contract.key, body, built_at)


def search_text(contract: Contract, entry: CatalogEntry) -> str:
    """Everything the index search matches a product on, lower-cased."""
    pii = [w for c in contract.columns if c.pii for w in ("pii", c.name, c.classification)]
    words = [entry.product, entry.domain, entry.owner, entry.description, entry.lifecycle, *entry.tags, *pii,
             *(f"{c.name} {c.description}" for c in contract.columns)]
    return " ".join(" ".join(words).split()).lower()


def index_page(contracts: dict[str, Contract], entries: list[CatalogEntry], built_at: datetime | None = None) -> str:
    def line(e: CatalogEntry) -> str:
        lifecycle = "" if e.lifecycle == "active" else f" ({e.lifecycle})"
        pii = f" · PII: {', '.join(e.pii_columns)}" if e.pii_columns else ""
        return f"v{e.version}{lifecycle} · {e.owner} · {e.freshness}{pii} · {e.description}"

    records = [{"product": e.product, "text": search_text(contracts[e.product], e), "line": line(e)} for e in entries]
    # textContent and setAttribute only: record values never become markup in the browser either.
    script = (
        f"const products={script_json(records)};const list=document.getElementById('list');"
        "const empty=document.getElementById('empty');const count=document.getElementById('count');"
        "function show(q){const words=q.toLowerCase().split(/\\s+/).filter(Boolean);list.replaceChildren();let n=0;"
        "for(const p of products){if(words.every(w=>p.text.includes(w))){const li=document.createElement('li');"
        "const a=document.createElement('a');a.setAttribute('href',encodeURIComponent(p.product)+'.html');"
        "a.textContent=p.product;li.append(a,' ',p.line);list.append(li);n++;}}"
        "count.textContent=n+' of '+products.length+' products';empty.hidden=n>0;"
        "empty.textContent=n?'':'No product matches \"'+q.trim()+'\". The search looks in names, owners, "
        "descriptions, columns and their descriptions, tags and PII; every word must match.';}"
        "document.getElementById('q').oninput=e=>show(e.target.value);show('');"
    )
    body = (f'<h1>Data products</h1><input id=q type=search placeholder="{escape(SEARCH_HINT)}" '
            f'aria-label="{escape(SEARCH_HINT)}" autofocus><p id=count></p><p id=empty role=status hidden></p>'
            f"<ul id=list></ul><script>{script}</script>")
    return _page("Data products", body, built_at)


def build_site(contracts: dict[str, Contract], entries: list[CatalogEntry], out: Path,
               built_at: datetime | None = None) -> list[Path]:
    built_at = built_at or datetime.now(UTC)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "index.html"]
    written[0].write_text(index_page(contracts, entries, built_at))
    for entry in entries:
        page = out / f"{entry.product}.html"
        page.write_text(product_page(contracts[entry.product], entry, built_at))
        written.append(page)
    return written
