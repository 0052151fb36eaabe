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
_MERGE_TAG, _STR_TAG, _SEQ_TAG, _MAP_TAG = (f"tag:yaml.org,2002:{kind}" for kind in ("merge", "str", "seq", "map"))
_SCALAR_TAGS = {f"tag:yaml.org,2002:{kind}" for kind in ("str", "int", "float", "bool", "null", "timestamp", "binary")}


class YamlFileError(ValueError):
    """A YAML file that cannot be read as written; the message is one line per problem, for its author."""


def _key_text(node: Node) -> str:
    return node.value if isinstance(node, ScalarNode) else f"<{node.tag.rsplit(':', 1)[-1]}>"


def _repeated(source: str, field: str, line: int, key: str, first: int) -> str:
    return (f"{source}: {field}: line {line} repeats key {key!r} of line {first}, "
            "and YAML would silently keep only the last one: keep one and merge their entries")


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
                    problems.append((line, _repeated(source, field, line, key, first_line[key_node.tag, key])))
                else:
                    first_line[key_node.tag, key] = line
                pending.append((value_node, field))
    return [problem for _, problem in sorted(problems)]


class _Unusual(Exception):
    """A node the fast build leaves to PyYAML's constructor: merge keys, a non-scalar key, an explicit tag."""


class _Build:
    """The document's data and its repeated keys in one walk of the node tree.

    PyYAML's generic constructor was most of a location's load in a mesh of 2,000 contracts (each scalar
    through its dispatch; 300,000 of them): here a plain string is taken as it is, and only typed
    scalars (numbers, booleans, dates) go through the constructor. Anything unusual falls back to it.
    """

    def __init__(self, loader, source: str):
        self.loader, self.source = loader, source
        self.problems: list[tuple[int, str]] = []
        self.built: dict[int, object] = {}  # by node: an alias is the same object, and is checked once

    def __call__(self, node: Node, path: str) -> object:
        if id(node) in self.built:
            return self.built[id(node)]
        if isinstance(node, ScalarNode):
            if node.tag not in _SCALAR_TAGS:  # a collection tag on a scalar, a custom tag: PyYAML says what is wrong
                raise _Unusual
            value = node.value if node.tag == _STR_TAG else self.loader.construct_object(node)
        elif isinstance(node, SequenceNode) and node.tag == _SEQ_TAG:
            value = self.built[id(node)] = []
            value.extend(self(item, f"{path}[{i}]") for i, item in enumerate(node.value))
        elif isinstance(node, MappingNode) and node.tag == _MAP_TAG:
            value = self.built[id(node)] = {}
            first_line: dict[tuple[str, str], int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
                    raise _Unusual
                key, text, line = self(key_node, path), key_node.value, key_node.start_mark.line + 1
                field = f"{path}.{text}" if path else text
                if (key_node.tag, text) in first_line:
                    self.problems.append((line, _repeated(self.source, field, line, text,
                                                          first_line[key_node.tag, text])))
                else:
                    first_line[key_node.tag, text] = line
                value[key] = self(value_node, field)
        else:
            raise _Unusual
        self.built[id(node)] = value
        return value


def yaml_from_text(text: str, source: str) -> object:
    """The data of one YAML document; YamlFileError naming `source` for bad syntax or a repeated key."""
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        build = _Build(loader, source)
        try:
            data = build(node, "")
        except (_Unusual, yaml.YAMLError, TypeError, ValueError, RecursionError):  # PyYAML's way, and its errors
            loader.constructed_objects, loader.recursive_objects = {}, {}
            problems = _duplicate_keys(node, source)
            if problems:
                raise YamlFileError("\n".join(problems)) from None
            return loader.construct_document(node)
        if build.problems:
            raise YamlFileError("\n".join(problem for _, problem in sorted(build.problems)))
        return data
    except yaml.MarkedYAMLError as exc:
        where = exc.problem_mark
        line = f" line {where.line + 1}" if where else ""
        raise YamlFileError(f"{source}:{line} is not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:  # the reader's errors (a control character, ...) carry no mark
        raise YamlFileError(f"{source}: is not valid YAML: {str(exc).splitlines()[0]}") from None
    except YamlFileError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # PyYAML's constructor on a bad value
        raise YamlFileError(f"{source}: a value is not valid YAML ({type(exc).__name__}: {exc})") from None
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
