"""Read `<domain>/sources.yaml` with errors that name the file, the field and the fix."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from mesh_platform.contracts.loader import ContractError, _field_path
from mesh_platform.contracts.yaml_text import YamlFileError, read_yaml_file
from mesh_platform.sources.model import Source, SourcesFile

SOURCES_FILE = "sources.yaml"


class SourceError(ContractError):
    """A source declaration that cannot be used; one line per problem, for its author."""


def _explain(error: dict) -> str:
    if error["type"] == "missing":
        return "is required but missing"
    if error["type"] == "extra_forbidden":
        return "is not a source field (check its spelling and indentation)"
    if error["type"] == "literal_error" and error["loc"][-1] == "kind":
        return f"{error['input']!r} is not a source kind; use delta, files or jdbc"
    return error["msg"].removeprefix("Value error, ")


def parse_sources(data: object, where: str) -> dict[str, Source]:
    if data is None:
        return {}
    if not isinstance(data, dict) or "sources" not in data:
        raise SourceError(f"{where}: expected `sources:` with a list of source declarations at the top level")
    try:
        parsed = SourcesFile.model_validate(data)
    except ValidationError as exc:
        raise SourceError("\n".join(
            f"{where}: {_field_path(e['loc'])}: {_explain(e)}" if e["loc"] else f"{where}: {_explain(e)}"
            for e in exc.errors()
        )) from None
    return {s.name: s for s in parsed.sources}


def _read(path: Path) -> dict[str, Source]:
    try:
        data = read_yaml_file(path)
    except YamlFileError as exc:
        raise SourceError(str(exc)) from None
    return parse_sources(data, str(path))


def load_domain_sources(domain_dir: Path, profile: str | None = None) -> dict[str, Source]:
    """The sources a domain declares, by name (none without a sources.yaml); SourceError otherwise.

    A profile (MESH_SOURCES_PROFILE) overlays `sources.<profile>.yaml` by source name: each source it
    declares replaces the same-named one, e.g. to read sales' orders from PostgreSQL instead of Delta.
    """
    path = Path(domain_dir) / SOURCES_FILE
    sources = _read(path) if path.is_file() else {}
    overlay = Path(domain_dir) / f"sources.{profile}.yaml"
    if profile and overlay.is_file():
        replacing = _read(overlay)
        unknown = sorted(set(replacing) - set(sources))
        if unknown:
            raise SourceError(f"{overlay}: source {unknown[0]!r} replaces no source of {path.name} "
                              f"(it has: {', '.join(sources) or 'none'}); a profile only swaps declared sources")
        sources = {name: replacing.get(name, source) for name, source in sources.items()}
    return sources
