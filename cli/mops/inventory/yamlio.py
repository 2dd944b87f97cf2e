"""Safe YAML reading with ``file:line`` errors, and stable YAML writing.

Loading uses libyaml's C safe loader when it is there (fast on large inventories);
only on a validation failure is the document composed again to find the line of
the offending key, so the fast path stays fast.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.representer import SafeRepresenter

from mops.errors import RecordError

if TYPE_CHECKING:  # the stubs declare libyaml's classes; they share the pure-Python API
    _Loader = yaml.CSafeLoader
    _Dumper = yaml.CSafeDumper
else:  # pragma: no cover - depends on how PyYAML was built
    _Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    _Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

#: Records are small; anything larger is refused before parsing.
MAX_RECORD_BYTES = 1024 * 1024
#: Deeper nesting than this is refused (a hostile document, not a record).
MAX_DEPTH = 32


def decode(path: str, data: bytes) -> str:
    """Decode UTF-8 text of a record, naming the file and line on failure."""
    if len(data) > MAX_RECORD_BYTES:
        raise RecordError(path, f"file is {len(data):,} bytes; records may be at most "
                                f"{MAX_RECORD_BYTES:,} bytes")
    if b"\x00" in data:
        raise RecordError(path, "binary file (contains NUL bytes), expected UTF-8 text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RecordError(path, f"not valid UTF-8 (byte {data[exc.start]:#04x})", line=line) from None


def _check_depth(value: Any, path: str, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise RecordError(path, f"nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict):
        for item in value.values():
            _check_depth(item, path, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_depth(item, path, depth + 1)


def _reject_hostile(text: str, path: str, line_offset: int) -> None:
    """Refuse aliases and deep nesting from libyaml's events, before anything is built.

    Aliases are never needed in a record, and are how "billion laughs" bombs work.
    Depth must be refused *before* ``yaml.load``: composing a 100,000-deep document
    recurses in C and crashes the interpreter (SIGSEGV), and takes seconds long before.
    """
    _scan_events(text, path, line_offset, _Loader)


def _scan_events(text: str, path: str, line_offset: int, loader: Any) -> None:
    def refuse(event: yaml.Event, message: str) -> RecordError:
        mark = event.start_mark  # the parsers always set it; the stubs allow None
        if mark is None:
            return RecordError(path, message)
        return RecordError(path, message, line=mark.line + 1 + line_offset, column=mark.column + 1)

    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.AliasEvent):
            raise refuse(event, "YAML aliases (*name) are not allowed in records")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise refuse(event, f"nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _may_be_hostile(text: str) -> bool:
    # Flow and block-sequence nesting need one of these characters per level, and every
    # alias a '*'. Deep block mappings need only indentation; libyaml refuses them past
    # its own limit, and ``_parse`` turns that refusal into ours.
    return "*" in text or sum(text.count(c) for c in "[{-?") > MAX_DEPTH


class ParseCache:
    """Parsed records by content hash, kept in ``path`` (``.git/mops/records.pickle``).

    PyYAML builds Python objects in Python even with libyaml's parser; on an
    inventory of thousands of records that is most of a command's time. Only
    documents that parsed and validated are cached, so a cached value is exactly
    what parsing would give. The unpickler admits only ``datetime`` types.

    The ``Inventory`` holds one (``record_cache``) and passes it to the loaders; whoever
    opened the inventory saves it (``Inventory.close``). Nothing is cached unless a
    cache is passed.
    """

    MAX_ENTRIES = 100_000

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.entries: dict[bytes, Any] = {}
        self.dirty = False
        if path is None:
            return
        try:
            with open(path, "rb") as fh:
                loaded = _SafeUnpickler(fh).load()
            if isinstance(loaded, dict):
                self.entries = loaded
        except Exception:  # a missing or damaged cache only costs time
            self.entries = {}

    def save(self) -> None:
        if not self.dirty or self.path is None:
            return
        if len(self.entries) > self.MAX_ENTRIES:
            self.entries = dict(list(self.entries.items())[-self.MAX_ENTRIES // 2:])
        try:
            self.path.parent.mkdir(exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            with open(tmp, "wb") as fh:
                pickle.dump(self.entries, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.path)
        except OSError:
            pass
        self.dirty = False


class _SafeUnpickler(pickle.Unpickler):
    _ALLOWED = {("datetime", "date"), ("datetime", "datetime"), ("datetime", "timezone"),
                ("datetime", "timedelta")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in the record cache")


class _ImpossibleDate(yaml.MarkedYAMLError):
    """A scalar that YAML reads as a date or timestamp, but no such day or time exists."""


def _construct_timestamp(loader: Any, node: yaml.ScalarNode) -> Any:
    # PyYAML matches ``2026-02-30`` as a timestamp and then lets ``datetime.date`` raise
    # ValueError, which is no YAMLError: every command that read the record crashed (exit 3).
    try:
        return SafeConstructor.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError) as exc:
        raise _ImpossibleDate(None, None, f"{node.value!r} is not a real date or time ({exc})",
                              node.start_mark) from None


class _RecordLoader(_Loader):
    pass


_RecordLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)

def _copy(value: Any) -> Any:
    # Callers may mutate what they get; the cache must not change with them.
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def load_yaml(path: str, text: str, *, line_offset: int = 0,
              cache: ParseCache | None = None) -> Any:
    """Parse YAML text safely; errors name ``path:line:column``. ``cache`` saves time."""
    key = None
    if cache is not None:
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        if key in cache.entries:
            return _copy(cache.entries[key])
    value = _parse(path, text, line_offset)
    if cache is not None and key is not None:
        cache.entries[key] = _copy(value)
        cache.dirty = True
    return value


def _parse(path: str, text: str, line_offset: int) -> Any:
    try:
        try:
            if _may_be_hostile(text):
                _reject_hostile(text, path, line_offset)
            value = yaml.load(text, Loader=_RecordLoader)  # noqa: S506 - a *safe* loader
        except yaml.YAMLError:
            # libyaml (PyYAML >= 6.0.4) refuses deep nesting itself, in a scanner that
            # looks ahead, so its error can come before our depth count reaches 33, and
            # in its own words. Re-scan with the pure-Python parser (no limit of its own,
            # iterative, stops at our depth) so that the refusal is ours; else re-raise.
            _scan_events(text, path, line_offset, yaml.SafeLoader)
            raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if not isinstance(exc, _ImpossibleDate):
            problem = f"invalid YAML: {problem}"
        if mark is not None:
            raise RecordError(path, problem, line=mark.line + 1 + line_offset,
                              column=mark.column + 1) from None
        raise RecordError(path, problem) from None
    except yaml.YAMLError as exc:
        raise RecordError(path, f"invalid YAML: {exc}") from None
    _check_depth(value, path)
    return value


def load_mapping(path: str, data: bytes, *, line_offset: int = 0,
                 cache: ParseCache | None = None) -> dict[str, Any]:
    """Read a YAML record that must be a mapping."""
    value = load_yaml(path, decode(path, data), line_offset=line_offset, cache=cache)
    if value is None:
        raise RecordError(path, "empty file, expected a YAML mapping")
    if not isinstance(value, dict):
        raise RecordError(path, f"expected a YAML mapping, found {type(value).__name__}",
                          line=1 + line_offset)
    return value


def key_line(text: str, keys: Sequence[str | int]) -> int | None:
    """The 1-based line of the node at ``keys`` in YAML ``text``, if it can be found."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return None
    line = None
    for key in keys:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == key:
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _represent_str(dumper: SafeRepresenter, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


class _RecordDumper(_Dumper):
    pass


_RecordDumper.add_representer(str, _represent_str)


def dump_yaml(value: Any) -> str:
    """Serialise a record as stable, diff-friendly YAML (keys in insertion order)."""
    return yaml.dump(value, Dumper=_RecordDumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=100)
