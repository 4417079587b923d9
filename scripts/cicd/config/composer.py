"""Composing the events of PyYAML's C parser into plain data plus the marks of every key and value.

Done here rather than by yaml.compose for three reasons: the walk is iterative, so deep nesting cannot
blow the stack; aliases are never expanded (an alias shares the anchored object and only adds its size
to a running count, so an alias bomb is refused from that count before anything expands it); and
duplicate keys are reported instead of silently overwritten. Mapping keys stay the text written in the
file, so `on:` or `yes:` are keys, not booleans.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.resolver import Resolver

from cicd.config.document import Document, Mark, Path_, SourceError, describe, format_path
from cicd.errors import Location, Problem

MAX_DEPTH = 64
MAX_NODES = 20_000  # values after alias expansion: what validation must walk (200 jobs are ~2,000)

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_resolver = Resolver()
_constructor = SafeConstructor()
_RESOLVED_FIRST = frozenset(key for key in Resolver.yaml_implicit_resolvers if key)


def compose(text: str, doc: Document) -> Any:
    """The data of `text`; marks and non-fatal problems go into `doc`. Raises SourceError or YAMLError."""
    return _Composer(doc).run(text)


def _short_tag(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:") :] if tag.startswith("tag:yaml.org,2002:") else tag


def _mark(event: Any) -> Mark:
    return (event.start_mark.line + 1, event.start_mark.column + 1)


@dataclass(slots=True)
class _Node:
    """A finished node: its data, where it starts, and its size and height once aliases expand."""

    data: Any
    mark: Mark
    size: int = 1
    height: int = 0
    text: str | None = None  # the source text of a scalar, used for mapping keys


@dataclass(slots=True)
class _Frame:
    """An open mapping or sequence on the composer's stack."""

    data: Any
    path: Path_ | None  # None inside a complex key: no marks are recorded there
    mark: Mark
    anchor: str | None
    size: int = 1
    height: int = 0
    key: _Node | None = None  # mapping: the key waiting for its value
    first_line: dict[str, int] = field(default_factory=dict)
    merges: list[tuple[Any, Mark]] = field(default_factory=list)

    def child_path(self) -> Path_ | None:
        if self.path is None:
            return None
        if isinstance(self.data, list):
            return (*self.path, len(self.data))
        if self.key is not None and self.key.text is not None:
            return (*self.path, self.key.text)
        return None


class _Composer:
    def __init__(self, doc: Document):
        self.doc = doc
        self.anchors: dict[str, _Node] = {}
        self.open_anchors: set[str] = set()
        self.stack: list[_Frame] = []
        self.root: _Node | None = None
        self.documents = 0
        self.aliases = 0

    def run(self, text: str) -> Any:
        handlers = {
            yaml.ScalarEvent: self._scalar,
            yaml.AliasEvent: self._alias,
            yaml.MappingStartEvent: self._open_mapping,
            yaml.SequenceStartEvent: self._open_sequence,
            yaml.MappingEndEvent: self._close,
            yaml.SequenceEndEvent: self._close,
            yaml.DocumentStartEvent: self._document,
        }
        parser = yaml.CSafeLoader(text)
        try:
            while (event := parser.get_event()) is not None and type(event) is not yaml.StreamEndEvent:
                handler = handlers.get(type(event))
                if handler is not None:
                    handler(event)
        finally:
            parser.dispose()
        return None if self.root is None else self.root.data

    def _fail(self, mark: Mark, message: str, hint: str | None = None) -> None:
        raise SourceError(Problem(Location(self.doc.file, *mark), message, hint))

    def _document(self, event: Any) -> None:
        self.documents += 1
        if self.documents > 1:
            self._fail(_mark(event), "more than one YAML document in the file", "remove the '---' line")

    def _open_mapping(self, event: Any) -> None:
        self._open(event, {})

    def _open_sequence(self, event: Any) -> None:
        self._open(event, [])

    def _open(self, event: Any, data: Any) -> None:
        if len(self.stack) >= MAX_DEPTH:
            self._fail(_mark(event), f"nesting is deeper than {MAX_DEPTH} levels")
        tag = event.tag
        expected = _MAP_TAG if isinstance(data, dict) else _SEQ_TAG
        if tag not in (None, "!", expected):
            self._problem(_mark(event), f"unsupported YAML tag '{_short_tag(tag)}'", "remove the tag")
        path = self.stack[-1].child_path() if self.stack else ()
        if self.stack and isinstance(self.stack[-1].data, dict) and self.stack[-1].key is None:
            path = None  # a mapping or list used as a key; reported when it completes
        if event.anchor:
            self.open_anchors.add(event.anchor)
        self.stack.append(_Frame(data, path, _mark(event), event.anchor))

    def _close(self, event: Any = None) -> None:
        frame = self.stack.pop()
        if frame.merges:
            _apply_merges(frame, self.doc)
        node = _Node(frame.data, frame.mark, frame.size, frame.height)
        if frame.anchor:
            self.open_anchors.discard(frame.anchor)
        self._finish(node, frame.anchor)

    def _scalar(self, event: Any) -> None:
        self._finish(self._scalar_node(event), event.anchor)

    def _scalar_node(self, event: Any) -> _Node:
        value, tag = event.value, event.tag
        if tag is None and (not event.implicit[0] or (value and value[0] not in _RESOLVED_FIRST)):
            tag = _STR_TAG  # quoted, or plain text no implicit type (number, bool, null, ...) can start with
        elif tag is None or tag == "!":
            tag = _STR_TAG if tag == "!" else _resolver.resolve(yaml.ScalarNode, value, event.implicit)
        node = _Node(value, _mark(event), text=value)
        if tag in (_STR_TAG, _MERGE_TAG):
            return node
        construct = _constructor.yaml_constructors.get(tag)
        if construct is None:
            self._problem(node.mark, f"unsupported YAML tag '{_short_tag(tag)}'", "remove the tag")
            return node
        try:
            node.data = construct(_constructor, yaml.ScalarNode(tag, value, event.start_mark, event.end_mark))
        except (ConstructorError, ValueError, TypeError) as err:
            self._problem(node.mark, f"invalid {tag.rsplit(':', 1)[-1]} value {describe(value)}: {err}")
        return node

    def _alias(self, event: Any) -> None:
        self.aliases += 1
        self._finish(self._alias_node(event), None)

    def _alias_node(self, event: Any) -> _Node:
        name = event.anchor
        if name in self.open_anchors:
            self._fail(_mark(event), f"recursive alias '*{name}' refers to a node that contains it")
        target = self.anchors.get(name)
        if target is None:
            self._fail(_mark(event), f"undefined alias '*{name}'", f"define it first with '&{name}'")
        assert target is not None
        if len(self.stack) + target.height >= MAX_DEPTH:
            self._fail(_mark(event), f"alias '*{name}' nests deeper than {MAX_DEPTH} levels")
        return _Node(target.data, _mark(event), target.size, target.height, target.text)

    def _finish(self, node: _Node, anchor: str | None) -> None:
        if anchor:
            self.anchors[anchor] = node
        if not self.stack:
            self.root = node
            return
        frame = self.stack[-1]
        frame.size += node.size
        if node.height >= frame.height:
            frame.height = node.height + 1
        if frame.size > MAX_NODES:
            if self.aliases:
                self._fail(node.mark, f"aliases expand to more than {MAX_NODES} values", "use fewer aliases")
            self._fail(node.mark, f"more than {MAX_NODES} values; a config file is far smaller than that")
        if isinstance(frame.data, list):
            if frame.path is not None:
                self.doc.value_marks[(*frame.path, len(frame.data))] = node.mark
            frame.data.append(node.data)
        elif frame.key is None:
            frame.key = node
        else:
            self._pair(frame, frame.key, node)
            frame.key = None

    def _pair(self, frame: _Frame, key: _Node, value: _Node) -> None:
        if key.text is None:
            self._problem(key.mark, f"a key must be plain text, got {describe(key.data)}")
            return
        name = key.text
        if name == "<<" and key.data == "<<":
            frame.merges.append((value.data, value.mark))
            return
        if name in frame.first_line:
            self._problem(
                key.mark,
                f"duplicate key '{name}' (first defined at line {frame.first_line[name]})",
                "remove one of them",
                frame.path,
            )
        frame.first_line[name] = key.mark[0]
        frame.data[name] = value.data
        if frame.path is not None:
            self.doc.key_marks[(*frame.path, name)] = key.mark
            self.doc.value_marks[(*frame.path, name)] = value.mark

    def _problem(self, mark: Mark, message: str, hint: str | None = None, path: Path_ | None = None) -> None:
        shown = format_path(path) if path else None
        self.doc.problems.append(Problem(Location(self.doc.file, *mark, shown or None), message, hint))


def _apply_merges(frame: _Frame, doc: Document) -> None:
    """YAML merge keys (`<<: *defaults`): explicit keys win, earlier merges win over later ones."""
    for source, mark in frame.merges:
        sources = source if isinstance(source, list) else [source]
        for item in sources:
            if not isinstance(item, dict):
                shown = format_path(frame.path) if frame.path else None
                doc.problems.append(Problem(Location(doc.file, *mark, shown), "'<<' must merge a mapping"))
                continue
            for name, value in item.items():
                if name in frame.data:
                    continue
                frame.data[name] = value
                if frame.path is not None:
                    doc.key_marks[(*frame.path, name)] = mark
                    doc.value_marks[(*frame.path, name)] = mark
