"""Every YAML file the platform reads (contracts, policies): UTF-8 text, no key given twice.

Plain PyYAML keeps the last of two equal keys without a word, so a second `quality: []` silently
drops every rule written above it; and a file in another encoding surfaces as a UnicodeDecodeError
traceback. Both are refused here with one line naming the file, the line and the field.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

# libyaml's parser is ~6x faster than PyYAML's pure-Python one: it matters for a mesh of hundreds of contracts.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlFileError(ValueError):
    """A YAML file that cannot be read as written; the message is one line per problem, for its author."""


def _key_text(node: Node) -> str:
    return node.value if isinstance(node, ScalarNode) else f"<{node.tag.rsplit(':', 1)[-1]}>"


def _duplicate_keys(root: Node, source: str) -> list[str]:
    """One line per key repeated in a mapping, at any depth, naming its field path and both lines."""
    problems: list[tuple[int, str]] = []
    seen: set[int] = set()  # anchors make the node tree a graph: visit each node once
    pending: list[tuple[Node, str]] = [(root, "")]
    while pending:
        node, path = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            pending += [(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
        elif isinstance(node, MappingNode):
            first_line: dict[tuple[str, str], int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue  # `<<: *anchor` merges; keys written next to it override on purpose
                key = _key_text(key_node)
                field = f"{path}.{key}" if path else key
                line = key_node.start_mark.line + 1
                if (key_node.tag, key) in first_line:
                    problems.append((line,
                        f"{source}: {field}: line {line} repeats key {key!r} of line {first_line[key_node.tag, key]}, "
                        "and YAML would silently keep only the last one: keep one and merge their entries"
                    ))
                else:
                    first_line[key_node.tag, key] = line
                pending.append((value_node, field))
    return [problem for _, problem in sorted(problems)]


def yaml_from_text(text: str, source: str) -> object:
    """The data of one YAML document; YamlFileError naming `source` for bad syntax or a repeated key."""
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        problems = _duplicate_keys(node, source)
        if problems:
            raise YamlFileError("\n".join(problems))
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        where = exc.problem_mark
        line = f" line {where.line + 1}" if where else ""
        raise YamlFileError(f"{source}:{line} is not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:  # the reader's errors (a control character, ...) carry no mark
        raise YamlFileError(f"{source}: is not valid YAML: {str(exc).splitlines()[0]}") from None
    finally:
        loader.dispose()


def yaml_text(data: bytes, source: str) -> str:
    """`data` as text; YamlFileError when it is not UTF-8 text (another encoding, or a binary file)."""
    if b"\x00" in data:
        raise YamlFileError(f"{source}: is not UTF-8 text YAML (it holds NUL bytes: a binary file?); "
                            "write the file as UTF-8 YAML text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise YamlFileError(
            f"{source}: is not UTF-8 text YAML (byte 0x{data[exc.start]:02x} on line {line} is not UTF-8); "
            "save the file as UTF-8"
        ) from None


def read_yaml_file(path: Path) -> object:
    """The data of the YAML file at `path`, refusing what plain PyYAML would misread (see module doc)."""
    return yaml_from_text(yaml_text(Path(path).read_bytes(), str(path)), str(path))
