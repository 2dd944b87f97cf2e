"""Safe YAML reading with ``file:line`` errors, and stable YAML writing.

Loading uses libyaml's C safe loader when it is there (fast on large inventories);
only on a validation failure is the document composed again to find the line of
the offending key, so the fast path stays fast.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
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
    """Parsed records by the git blob id of their text, kept in ``folder`` (``.git/mops/records/``).

    PyYAML builds Python objects in Python even with libyaml's parser; on an inventory
    of thousands of records that is most of a command's time. The key is the id git
    gives the text as a blob (a record's own blob id when the text is the whole file),
    so a run re-parses only what changed. Only documents that parsed and validated are
    cached, so a cached value is exactly what parsing would give.

    Entries live in 256 shard files by the key's first byte, each loaded only when a key
    in it is asked for: a command about one model reads a few small files, never the
    cache of the whole inventory. Each shard is sealed (:mod:`mops.inventory.sealed`):
    one this user's mops did not write, or a damaged one, is ignored. Each entry is kept
    pickled and unpickled on every use (so a caller that changes what it got cannot
    change the cache); the unpickler admits only ``datetime`` types, and an entry that is
    not plain YAML data (mappings, lists, text, numbers, booleans, null, dates and
    times) is dropped and the record parsed again.

    The ``Inventory`` holds one (``record_cache``) and passes it to the loaders; whoever
    opened the inventory saves it (``Inventory.close``). Nothing is cached unless a
    cache is passed; ``ParseCache()`` keeps entries in memory only.
    """

    FORMAT = "records-1"

    def __init__(self, folder: Path | None = None) -> None:
        from mops.inventory import sealed

        self._store = sealed.Shards(folder, self.FORMAT)

    def get(self, key: bytes) -> Any:
        """The value cached for ``key``, or :data:`MISSING`."""
        blob = self._store.get(key)
        if blob is None:
            return MISSING
        try:
            value = _SafeUnpickler(io.BytesIO(blob)).load()
            if _plain(value, 0):
                return value
        except Exception:
            pass
        self._store.drop(key)  # damaged: parse again, and forget it
        return MISSING

    def put(self, key: bytes, value: Any) -> None:
        self._store.put(key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))

    def save(self) -> None:
        self._store.save()


#: What :meth:`ParseCache.get` returns for a key it does not hold.
MISSING: Any = object()


def _plain(value: Any, depth: int) -> bool:
    """Whether ``value`` is plain YAML data as the safe loader makes it."""
    if depth > MAX_DEPTH + 1:
        return False
    kind = type(value)
    if kind is dict:
        return all(type(k) in _KEYS and _plain(v, depth + 1) for k, v in value.items())
    if kind is list:
        return all(_plain(v, depth + 1) for v in value)
    if isinstance(value, dt.datetime):
        return kind is dt.datetime and (value.tzinfo is None or type(value.tzinfo) is dt.timezone)
    return kind in _KEYS


_KEYS = {str, int, float, bool, type(None), dt.date, dt.datetime}


class _SafeUnpickler(pickle.Unpickler):
    _ALLOWED = {("datetime", "date"), ("datetime", "datetime"), ("datetime", "timezone"),
                ("datetime", "timedelta")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in the record cache")


def blob_id(data: bytes) -> bytes:
    """The id git gives ``data`` as a blob (SHA-1 object format), as 20 bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).digest()


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

def load_yaml(path: str, text: str, *, line_offset: int = 0,
              cache: ParseCache | None = None) -> Any:
    """Parse YAML text safely; errors name ``path:line:column``. ``cache`` saves time."""
    if cache is None:
        return _parse(path, text, line_offset)
    key = blob_id(text.encode("utf-8", "surrogatepass"))
    value = cache.get(key)
    if value is MISSING:
        value = _parse(path, text, line_offset)
        cache.put(key, value)
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
