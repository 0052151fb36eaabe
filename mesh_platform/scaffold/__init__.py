"""Starting a mesh of one's own: `mesh init DIR`, `mesh new domain NAME`, `mesh new product DOMAIN.NAME`.

Every command first decides everything it will write, and refuses (ScaffoldError: one line naming what
and the fix) before writing anything: a refused command leaves the mesh as it was.
"""

from __future__ import annotations

import keyword
import re
from importlib import metadata
from importlib.resources import files
from pathlib import Path

NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")  # lower_snake_case, as the council's NAMING-001
_PLACEHOLDER = re.compile(r"\{\{ (\w+) \}\}")


class ScaffoldError(ValueError):
    """A refused scaffold command: one line naming what is wrong and the fix; nothing was written."""


def check_name(name: str, what: str) -> str:
    if not NAME.match(name) or keyword.iskeyword(name):
        raise ScaffoldError(
            f"{what} name {name!r} is not a lower_snake_case identifier (a letter, then letters, digits and "
            f"single underscores, not a Python keyword): use e.g. {_suggest(name)!r}")
    return name


def _suggest(name: str) -> str:
    text = snake_case(name) or "billing"
    return text if text[0].isalpha() and not keyword.iskeyword(text) else f"x_{text}"


def platform_version() -> str:
    """The installed platform's version: what a new mesh pins."""
    try:
        return metadata.version("mesh-platform")
    except metadata.PackageNotFoundError:  # run from a source checkout that was never installed
        raise ScaffoldError("mesh-platform is not installed (no package metadata): `pip install` it, "
                            "e.g. a wheel built with `python -m pip wheel . --no-deps`") from None


def render(template: str, **values: str) -> str:
    """templates/<template>.tmpl with every `{{ key }}` replaced; KeyError for a key not given."""
    text = files("mesh_platform.scaffold").joinpath("templates", f"{template}.tmpl").read_text()
    return _PLACEHOLDER.sub(lambda m: values[m[1]], text)


def write_new(planned: dict[Path, str], executable: tuple[Path, ...] = ()) -> list[Path]:
    """Writes files that do not exist yet; ScaffoldError naming the first that does, before writing any."""
    existing = [path for path in planned if path.exists()]
    if existing:
        raise ScaffoldError(f"{existing[0]} already exists: remove it or choose another name")
    for path, text in planned.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if path in executable:
            path.chmod(0o755)
    return list(planned)


def snake_case(name: str) -> str:
    """A column or product name as lower_snake_case: CustomerName -> customer_name, issued-on -> issued_on."""
    return "_".join(re.findall(r"[a-z0-9]+", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()))
