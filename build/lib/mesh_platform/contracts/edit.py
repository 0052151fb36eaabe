"""Machine edits of contract files that keep the author's formatting and comments (ruamel round trip)."""

from __future__ import annotations

import io
from collections.abc import Callable

from ruamel.yaml import YAML

from mesh_platform.contracts.loader import parse_contract_text
from mesh_platform.contracts.model import Contract


def edit_contract(text: str, change: Callable[[dict], None], source: str) -> tuple[str, Contract]:
    """`text` after `change` edited its parsed mapping in place; ContractError if the result is not a
    valid contract (so that no tool ever writes one)."""
    round_trip = YAML()
    round_trip.preserve_quotes = True
    round_trip.width = 4096  # never re-wrap the author's lines
    round_trip.indent(mapping=2, sequence=4, offset=2)  # the style of our contract files
    data = round_trip.load(text)
    change(data)
    out = io.StringIO()
    round_trip.dump(data, out)
    return out.getvalue(), parse_contract_text(out.getvalue(), source)
