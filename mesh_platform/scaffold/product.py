"""`mesh new product DOMAIN.NAME [--from-source SOURCE]`: a contract skeleton and its transform stub.

The skeleton's columns are the source's declared columns (sources.yaml: a source always declares the
columns its products may rely on), renamed and typed the way the council's policies want them (`id` ->
`<entity>_id` as string, `*_at` timestamps, `*_date` dates, money columns decimal(18,2)); the stub selects
exactly those columns from the source, so the product lints, loads and builds as written. Before anything
is written the skeleton is judged by the domain's policies (the council's, tightened by the domain's): a
skeleton that would not lint is refused with the rule's own line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from mesh_platform.config import MeshConfig
from mesh_platform.contracts import ContractError
from mesh_platform.contracts.loader import parse_contract_text
from mesh_platform.governance import critical, domain_policies
from mesh_platform.governance.lint import lint_contract, sla_violations
from mesh_platform.governance.policies import Policies, PolicyError
from mesh_platform.scaffold import ScaffoldError, check_name, snake_case, write_new
from mesh_platform.sources import Source, load_domain_sources

DEFAULT_SLA_HOURS = 24
MONEY, ID_TYPE = "decimal(18,2)", "string"
# The transform stub's names, and the import that brings each one into transforms.py if it lacks it.
STUB_IMPORTS = {
    "DataFrame": "from pyspark.sql import DataFrame",
    "F": "from pyspark.sql import functions as F",
    "identifier": "from mesh_platform.columns import identifier",
    "money": "from mesh_platform.columns import money",
    "BuildContext": "from mesh_platform.product import BuildContext",
}


@dataclass(frozen=True)
class ProductColumn:
    name: str
    type: str
    source_column: str | None  # the source's column it is read from
    source_type: str | None

    def expression(self) -> str:
        """The stub's Spark expression for this column, from the source column."""
        if self.type == ID_TYPE and self.name.endswith("_id"):
            value = f'identifier("{self.source_column}")'
        elif self.type == MONEY:
            value = f'money("{self.source_column}")'
        elif self.type == self.source_type:
            value = f'F.col("{self.source_column}")'
        else:
            value = f'F.col("{self.source_column}").cast("{self.type}")'
        plain = value == f'F.col("{self.name}")'  # only a column read as it is keeps its name unaliased
        return value if plain else f'{value}.alias("{self.name}")'


@dataclass(frozen=True)
class NewProduct:
    key: str
    contract_file: Path
    transforms_file: Path
    written: list[Path]


def entity(name: str) -> str:
    """What one row of `name` is: invoices -> invoice (a naive singular, for identifier names)."""
    return name[:-1] if name.endswith("s") and not name.endswith("ss") and len(name) > 3 else name


def _money_patterns(policies: Policies) -> list[str]:
    rule = policies.rules.get("INTEROP-003")
    return list(rule.params.get("money_columns", [])) if rule is not None and rule.enabled else []


def product_columns(source: Source, policies: Policies) -> list[ProductColumn]:
    """The source's columns as the council's interoperability rules want them named and typed."""
    money_patterns = _money_patterns(policies)
    columns = []
    for original, type_ in source.columns.items():
        name = snake_case(original)
        if name in {"id", "key"}:
            name = f"{entity(source.name)}_id"
        elif name.endswith("_key"):
            name = name.removesuffix("_key") + "_id"
        if name.endswith("_id"):
            wanted = ID_TYPE
        elif name.endswith("_at"):
            wanted = "timestamp"
        elif name.endswith("_date"):
            wanted = "date"
        elif any(fnmatch(name, p) for p in money_patterns):
            wanted = MONEY
        else:
            wanted = type_
        columns.append(ProductColumn(name, wanted, original, type_))
    return columns


def _quoted(text: str) -> str:
    return json.dumps(text)  # a JSON string is a YAML string: any description, type or name stays itself


def contract_text(domain: str, name: str, source: Source | None, columns: list[ProductColumn]) -> str:
    key = next((c.name for c in columns if c.name.endswith("_id")), columns[0].name)
    sla = max(DEFAULT_SLA_HOURS, source.freshness.max_age_hours if source and source.freshness else 0)
    origin = f"the {source.name} source" if source else "its inputs"
    lines = [
        f"# {domain}.{name}: a skeleton `mesh new product` wrote from {origin}. Edit the description, each",
        "# column's description, the SLA and the quality rules; `mesh lint` judges it against the policies.",
        f"name: {name}",
        f"domain: {domain}",
        "version: 0.1.0",
        f"owner: team:{domain}",
        f"kind: {'source-aligned' if source else 'aggregate'}",
        "description: >",
        f"  {name.replace('_', ' ').capitalize()} of the {domain} domain, "
        f"one row per {entity(name).replace('_', ' ')},",
        f"  built from {origin}. Say what a row means, what it is for and who should read it.",
        f"primary_key: [{key}]",
        f"sources: [{source.name}]" if source else "sources: []  # the domain's sources it reads (sources.yaml)",
        "sla:",
        f"  freshness_hours: {sla:g}  # how old the published data may be before the product is late",
        "schema:",
    ]
    for column in columns:
        described = (f"From {source.name}.{column.source_column} ({column.source_type})" if source
                     else f"The {entity(name).replace('_', ' ')}'s identifier")
        nullable = "false" if column.name == key else "true"
        lines.append(f"  - {{name: {column.name}, type: {_quoted(column.type)}, nullable: {nullable}, "
                     f"description: {_quoted(described)}}}")
    lines += [
        "# Rules checked on every build, e.g. {rule: not_null, column: c, threshold: 0.99}, {rule: min, column: c,",
        "# value: 0}, {rule: allowed_values, column: c, values: [a, b]}; the primary key is checked unique.",
        "quality: []",
        "access:",
        "  consumers: []  # the other domains that may read it",
        "",
    ]
    return "\n".join(lines)


def transform_stub(domain: str, name: str, source: Source | None, columns: list[ProductColumn],
                   existing: str) -> str:
    """The function to append to transforms.py (with the imports the file lacks)."""
    if source:
        body = [f'    {source.name} = ctx.source("{source.name}")',
                f"    return {source.name}.select(",
                *[f"        {c.expression()}," for c in columns],
                "    )"]
        used = {"DataFrame", "BuildContext", *(["identifier"] * any("identifier(" in c.expression() for c in columns)),
                *(["money"] * any("money(" in c.expression() for c in columns)),
                *(["F"] * any("F." in c.expression() for c in columns))}
    else:
        body = [f'    raise NotImplementedError("{domain}.{name}: write its transform in {domain}/transforms.py")']
        used = {"DataFrame", "BuildContext"}
    imports = [STUB_IMPORTS[n] for n in sorted(used) if not re.search(rf"^(from|import) .*\b{n}\b", existing, re.M)]
    return "\n".join([
        "", "", *imports, *([""] * bool(imports)),
        f"def {name}(ctx: BuildContext) -> DataFrame:",
        f'    """{domain}.{name} (contracts/{name}.yaml): edit the filter, derivations and joins; return exactly',
        '    the contract\'s columns."""',
        *body, "",
    ])


def _refusal(problems: list[str]) -> ScaffoldError:
    return ScaffoldError(f"the skeleton would not comply: {problems[0]}" + (
        f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))


def new_product(mesh: MeshConfig, product: str, from_source: str | None = None) -> NewProduct:
    """Writes `domain.name`'s contract skeleton and appends its transform stub to the domain's transforms.py."""
    domain, dot, name = product.partition(".")
    if not dot:
        raise ScaffoldError(f"{product!r} is not DOMAIN.NAME: name the product with its domain, e.g. billing.invoices")
    check_name(domain, "domain")
    check_name(name, "product")
    folder = mesh.domains_dir / domain
    if not (folder / "definitions.py").is_file():
        known = sorted(p.parent.name for p in mesh.domains_dir.glob("*/definitions.py"))
        raise ScaffoldError(f"{domain!r} is not a domain of the mesh (domains: {', '.join(known) or 'none'}): "
                            f"create it with `mesh new domain {domain}`")
    contract_file, transforms_file = folder / "contracts" / f"{name}.yaml", folder / "transforms.py"
    existing = transforms_file.read_text() if transforms_file.is_file() else ""
    if contract_file.exists() or re.search(rf"^def {name}\(", existing, re.M):
        where = contract_file if contract_file.exists() else transforms_file
        raise ScaffoldError(f"product {domain}.{name} already exists ({where}): choose another name")
    try:
        sources, policies = load_domain_sources(folder), domain_policies(folder)
    except (ContractError, PolicyError) as exc:
        raise ScaffoldError(str(exc).splitlines()[0]) from None
    source = None
    if from_source is not None:
        if from_source not in sources:
            raise ScaffoldError(f"{from_source!r} is not a source of {domain} (its sources: "
                                f"{', '.join(sources) or 'none'}): declare it in {folder / 'sources.yaml'}")
        source = sources[from_source]
    columns = (product_columns(source, policies) if source
               else [ProductColumn(f"{entity(name)}_id", ID_TYPE, None, None)])
    text = contract_text(domain, name, source, columns)
    try:
        contract = parse_contract_text(text, str(contract_file))
    except ContractError as exc:
        raise _refusal(str(exc).splitlines()) from None
    blocking = critical(lint_contract(contract, policies, str(contract_file))
                        + sla_violations(contract, str(contract_file), mesh.domains_dir))
    if blocking:
        raise _refusal([v.line() for v in blocking])
    stub = transform_stub(domain, name, source, columns, existing)
    written = write_new({contract_file: text})
    with transforms_file.open("a") as out:
        out.write(stub)
    return NewProduct(contract.key, contract_file, transforms_file, [*written, transforms_file])
