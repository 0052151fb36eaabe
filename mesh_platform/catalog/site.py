"""A static documentation site: one page per product (its data dictionary) and a searchable index."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from mesh_platform.catalog.entries import CatalogEntry
from mesh_platform.checks.specs import contract_checks
from mesh_platform.contracts.model import Contract

STYLE = """body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left}
code{background:#f4f4f4;padding:0 .2rem}.pii{color:#a33}.notice{background:#fff3cd;padding:.5rem}
input{font-size:1rem;width:100%;padding:.4rem}"""


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>")


def _link(product: str) -> str:
    return f'<a href="{escape(product)}.html">{escape(product)}</a>'


def product_page(contract: Contract, entry: CatalogEntry) -> str:
    masking = contract.consumer_masking
    rows = "".join(
        f"<tr><td><code>{escape(c.name)}</code></td><td>{escape(c.type)}</td><td>{'yes' if c.nullable else 'no'}</td>"
        f"<td class=pii>{escape(masking.get(c.name, ''))}</td>"
        f"<td>{escape(c.classification)}</td><td>{escape(c.description)}</td></tr>"
        for c in contract.columns
    )
    checks = "".join(
        f"<li><code>{escape(c.name)}</code> ({'blocks publication' if c.critical else 'warns'}): "
        f"{escape(c.description)}</li>" for c in contract_checks(contract)
    )
    filters = "".join(f"<li>{escape(k)} sees rows where <code>{escape(v)}</code></li>"
                      for k, v in contract.access.row_filters.items())
    body = (
        f'<p><a href="index.html">All products</a></p><h1>{escape(contract.key)} <small>v{contract.version}</small></h1>'
        + (f"<p class=notice><b>{entry.lifecycle.capitalize()}.</b> {escape(entry.notice)}</p>" if entry.notice else "")
        + f"<p>{escape(contract.description)}</p>"
        f"<p><b>Owner</b> {escape(contract.owner)} · <b>Kind</b> {contract.kind} · <b>Freshness SLA</b> "
        f"{contract.sla.freshness_hours:g} h · <b>State</b> {escape(entry.freshness)} · <b>Reads</b> {entry.reads}"
        f" · <b>Tags</b> {escape(', '.join(contract.tags))}</p>"
        "<h2>Columns</h2><table><tr><th>column</th><th>type</th><th>nullable</th><th>PII masking</th>"
        f"<th>classification</th><th>description</th></tr>{rows}</table>"
        f"<h2>Checks</h2><ul>{checks}</ul>"
        f"<h2>Access</h2><p>Consumers: {escape(', '.join(contract.access.consumers) or 'owner only')}</p><ul>{filters}</ul>"
        f"<h2>Lineage</h2><p>Consumes: {', '.join(map(_link, entry.depends_on)) or 'its own sources'}</p>"
        f"<p>Consumed by: {', '.join(map(_link, entry.used_by)) or 'no product yet'}</p>"
    )
    return _page(contract.key, body)


def index_page(entries: list[CatalogEntry]) -> str:
    def line(e: CatalogEntry) -> str:
        lifecycle = "" if e.lifecycle == "active" else f" ({e.lifecycle})"
        return f"v{e.version}{lifecycle} · {e.owner} · {e.freshness} · {e.description}"

    records = [{"product": e.product, "text": " ".join([e.product, e.description, *e.tags, *e.columns]).lower(),
                "line": line(e)} for e in entries]
    script = (
        f"const products={json.dumps(records)};const list=document.getElementById('list');"
        "function show(q){const words=q.toLowerCase().split(/\\s+/).filter(Boolean);list.innerHTML='';"
        "for(const p of products){if(words.every(w=>p.text.includes(w))){const li=document.createElement('li');"
        "const a=document.createElement('a');a.href=p.product+'.html';a.textContent=p.product;li.append(a,' ',p.line);"
        "list.append(li);}}}document.getElementById('q').oninput=e=>show(e.target.value);show('');"
    )
    body = ("<h1>Data products</h1><input id=q placeholder='search names, descriptions, tags, columns' autofocus>"
            f"<ul id=list></ul><script>{script}</script>")
    return _page("Data products", body)


def build_site(contracts: dict[str, Contract], entries: list[CatalogEntry], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "index.html"]
    written[0].write_text(index_page(entries))
    for entry in entries:
        page = out / f"{entry.product}.html"
        page.write_text(product_page(contracts[entry.product], entry))
        written.append(page)
    return written
