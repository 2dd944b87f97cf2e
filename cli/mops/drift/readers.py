"""Streaming readers for prediction logs: the only IO of the drift core.

Supported formats, chosen by file name: CSV (``.csv``), gzip CSV (``.csv.gz``),
Parquet (``.parquet``, ``.pq``) and JSON Lines (``.jsonl``, ``.ndjson``, either
of them ``.gz``). Only the requested columns are converted, in record batches,
so memory stays bounded whatever the size of the file.

Every problem with a file (missing, empty, no rows, a missing or ambiguous column,
unreadable content) is raised as :class:`~mops.errors.UsageError` naming the file,
and the column when there is one.

CSV values may hold quoted newlines. A line (a CSV header or row, a JSON object)
longer than a read block is read with larger blocks: :func:`inspect_file` finds the
block size the header and first rows need, and :func:`iter_batches` raises
:class:`BlockTooSmall` (with the block size to retry with) when a longer line
turns up further on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import pyarrow as pa
import pyarrow.compute as pc

from mops.errors import UsageError

#: Called with (bytes done, bytes total) of the file being read.
Progress = Callable[[int, int], None]

CSV, PARQUET, JSONL = "csv", "parquet", "jsonl"

_SUFFIXES = (
    (".csv.gz", CSV, "gzip"),
    (".csv", CSV, None),
    (".parquet", PARQUET, None),
    (".pq", PARQUET, None),
    (".jsonl.gz", JSONL, "gzip"),
    (".ndjson.gz", JSONL, "gzip"),
    (".jsonl", JSONL, None),
    (".ndjson", JSONL, None),
)

# Arrow's streaming CSV and JSON readers hold some forty blocks in flight
# (measured with pyarrow 26: 8 MB blocks peak at ~330 MB); 1 MB blocks parse
# just as fast in bounded memory.
CSV_BLOCK_BYTES = 1 << 20
JSON_BLOCK_BYTES = 1 << 20
#: Blocks grow (x8) up to this when a line does not fit; a longer line is refused.
MAX_BLOCK_BYTES = 1 << 30
PARQUET_BATCH_ROWS = 32 * 1024
PARQUET_BUFFER_BYTES = 1 << 20

FLOAT64 = pa.float64()
STRING = pa.string()


@dataclass(frozen=True)
class FileInfo:
    """What :func:`inspect_file` learns about a file without reading it all."""

    path: str
    format: str
    compression: str | None
    size: int
    #: Arrow type of each requested column as the file stores it (Parquet) or
    #: as the parser infers it from the first block (CSV, JSON Lines).
    types: dict[str, pa.DataType]
    #: Every column name of the file, in file order (to name a column in errors).
    all_columns: tuple[str, ...] = ()
    #: Read block size for CSV and JSON Lines: large enough for the header and first rows.
    block_size: int = CSV_BLOCK_BYTES
    #: Rows of the file when its metadata says (Parquet), else None.
    rows: int | None = None


class BlockTooSmall(UsageError):
    """A line longer than the read block turned up: read the file again with ``info``."""

    def __init__(self, message: str, info: FileInfo) -> None:
        super().__init__(message)
        self.info = info


def file_format(path: str) -> tuple[str, str | None]:
    """Return ``(format, compression)`` for *path* from its name."""
    name = os.fspath(path).lower()
    for suffix, fmt, compression in _SUFFIXES:
        if name.endswith(suffix):
            return fmt, compression
    supported = ", ".join(s for s, _, _ in _SUFFIXES)
    raise UsageError(f"{path}: unsupported file type (expected one of {supported})")


def inspect_file(path: str, columns: Sequence[str]) -> FileInfo:
    """Check that *path* is readable, has rows and has every one of *columns*, once.

    Returns the Arrow type of each column. Reads at most the first blocks of a
    CSV or JSON Lines file (more than one only when the header or the first row
    is longer than a block).
    """
    path = os.fspath(path)
    size = _file_size(path)
    fmt, compression = file_format(path)
    block = CSV_BLOCK_BYTES
    while True:
        try:
            if fmt == PARQUET:
                names, types, rows = _inspect_parquet(path)
            elif fmt == CSV:
                names, types, rows = _inspect_text(path, compression, _open_csv_inferring, block)
            else:
                names, types, rows = _inspect_text(path, compression, _open_json_inferring, block)
            break
        except UsageError:
            raise
        except (pa.ArrowException, OSError, ValueError) as exc:
            if fmt != PARQUET and _block_too_small(exc, path, compression):
                block = _larger_block(path, block)
                continue
            raise _unreadable(path, exc) from exc
    missing = [c for c in columns if c not in types]
    if missing:
        listed = ", ".join(repr(c) for c in missing)
        shown = [repr(c) for c in types if _NAME_LIKE.fullmatch(c)]
        hidden = len(types) - len(shown)
        found = ", ".join(shown + ([f"{hidden} not shown"] if hidden else [])) or "none"
        noun = "column" if len(missing) == 1 else "columns"
        raise UsageError(f"{path}: missing {noun} {listed} (columns found: {found})")
    for column in columns:
        times = names.count(column)
        if times > 1:
            raise UsageError(f"{path}: column {column!r} appears {times} times in the header, so "
                             f"mops cannot tell which one to read: rename or drop the others")
    if rows == 0:
        raise UsageError(f"{path}: has a header but no rows")
    return FileInfo(path, fmt, compression, size, {c: types[c] for c in columns}, tuple(names), block,
                    rows if fmt == PARQUET else None)


def iter_batches(
    info: FileInfo,
    targets: Mapping[str, pa.DataType],
    *,
    progress: Progress | None = None,
) -> Iterator[pa.RecordBatch]:
    """Yield record batches holding only the *targets* columns, cast to their types.

    *info* comes from :func:`inspect_file`. A target type is ``float64`` (numeric
    columns and labels) or ``string`` (categorical columns; from Parquet, which
    stores strings dictionary-encoded, a ``dictionary<string>`` array). Float NaN in
    a column read as string becomes null, so it counts as missing.
    """
    names = list(targets)
    try:
        if info.format == PARQUET:
            # Parquet keeps strings dictionary-encoded: read them so, and count codes.
            encoded = [n for n, t in targets.items() if t == STRING and _is_string(info.types[n])]
            batches = _parquet_batches(info, names, progress, encoded)
        elif info.format == CSV:
            batches = _csv_batches(info, targets, progress)
        else:
            batches = _json_batches(info, targets, progress)
        for batch in batches:
            yield _cast_batch(info.path, batch, targets)
    except UsageError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        if info.format != PARQUET and _block_too_small(exc, info.path, info.compression):
            retry = replace(info, block_size=_larger_block(info.path, info.block_size))
            raise BlockTooSmall(f"{info.path}: a line is longer than {info.block_size:,} bytes; "
                                f"read again with blocks of {retry.block_size:,}", retry) from exc
        raise _unreadable(info.path, exc, info.all_columns) from exc


# -- inspection ---------------------------------------------------------------


def _file_size(path: str) -> int:
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if os.path.isdir(path):
        raise UsageError(f"{path}: is a directory, not a file")
    if size == 0:
        raise UsageError(f"{path}: file is empty")
    return size


def _block_too_small(exc: BaseException, path: str, compression: str | None) -> bool:
    """Whether Arrow failed because a line did not fit in one read block."""
    text = str(exc)
    if "straddling object straddles" in text:
        return True
    # A header longer than the block reads as "Empty CSV file or block"; tell it
    # apart from a file that really holds nothing (e.g. the gzip of nothing).
    return "Empty CSV file" in text and _has_content(path, compression)


def _has_content(path: str, compression: str | None) -> bool:
    raw, stream = _open_stream(path, compression)
    try:
        while True:
            chunk = stream.read(1 << 16)
            if not chunk:
                return False
            if chunk.strip():
                return True
    finally:
        stream.close()
        raw.close()


def _larger_block(path: str, block: int) -> int:
    if block >= MAX_BLOCK_BYTES:
        raise UsageError(f"{path}: a line (the header, a row or a JSON object) is longer than "
                         f"{MAX_BLOCK_BYTES >> 20:,} MiB; mops does not read lines that long")
    return min(block * 8, MAX_BLOCK_BYTES)


#: A column name that may be shown in a message. Anything else in a header (a line of some
#: other file, a secret) is counted, never quoted: errors end up in CI logs.
_NAME_LIKE = re.compile(r"[\w .-]{1,64}")


def _no_content(text: str) -> str:
    """Arrow's message without what it quotes of the file: the row after "Expected N
    columns, got M:", and any quoted value."""
    text = re.sub(r"(Expected \d+ columns?, got \d+).*", r"\1", text)
    return re.sub(r"'[^']*'?|\"[^\"]*\"?", "(value not shown)", text)


def _unreadable(path: str, exc: BaseException, names: Sequence[str] = ()) -> UsageError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "Empty CSV file" in text or "Empty JSON" in text:
        return UsageError(f"{path}: file is empty")
    text = _no_content(text)
    # Arrow's CSV errors number columns from 0; users think in names.
    match = re.search(r"CSV column #(\d+)", text)
    if match and int(match.group(1)) < len(names) and _NAME_LIKE.fullmatch(names[int(match.group(1))]):
        column = names[int(match.group(1))]
        return UsageError(f"{path}: column {column!r}: cannot read value: {text}")
    return UsageError(f"{path}: cannot read file: {text}")


def _first_types(schema: pa.Schema) -> dict[str, pa.DataType]:
    """Each column's type, in file order (a duplicated name is refused later)."""
    types: dict[str, pa.DataType] = {}
    for field in schema:
        types.setdefault(field.name, field.type)
    return types


def _inspect_parquet(path: str) -> tuple[list[str], dict[str, pa.DataType], int]:
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as handle:
        schema = handle.schema_arrow
        types = _first_types(schema)
        return list(schema.names), types, handle.metadata.num_rows


def _inspect_text(path, compression, opener, block_size) -> tuple[list[str], dict[str, pa.DataType], int]:
    raw, stream = _open_stream(path, compression)
    try:
        reader = opener(stream, block_size)
        names = list(reader.schema.names)
        types = _first_types(reader.schema)
        rows = 0
        # The first block may hold no complete row only in odd files; read on
        # until a row turns up so "header only" is told apart from "big header".
        for batch in reader:
            rows += batch.num_rows
            if rows:
                break
        return names, types, rows
    finally:
        stream.close()
        raw.close()


def _open_stream(path: str, compression: str | None):
    raw = pa.OSFile(path, "r")
    if compression:
        return raw, pa.CompressedInputStream(raw, compression)
    return raw, raw


def _csv_parse_options():
    import pyarrow.csv as pcsv

    # Quoted values may span lines. Arrow's streaming reader parses no slower for it
    # (measured with pyarrow 26 on a 295 MB log), and without it a quoted newline
    # across a block boundary fails with "CSV parser got out of sync with chunker".
    return pcsv.ParseOptions(newlines_in_values=True)


def _open_csv_inferring(stream, block_size: int = CSV_BLOCK_BYTES):
    import pyarrow.csv as pcsv

    return pcsv.open_csv(
        stream,
        read_options=pcsv.ReadOptions(block_size=block_size),
        parse_options=_csv_parse_options(),
        convert_options=pcsv.ConvertOptions(strings_can_be_null=True),
    )


def _open_json_inferring(stream, block_size: int = JSON_BLOCK_BYTES):
    import pyarrow.json as pjson

    return pjson.open_json(stream, read_options=pjson.ReadOptions(block_size=block_size))


# -- reading ------------------------------------------------------------------


def _read_type(source: pa.DataType, target: pa.DataType) -> pa.DataType:
    """Type to ask a text parser for, given the inferred and the wanted type.

    Numbers are parsed straight to float64 so that an integer column whose first
    block happened to hold only integers still reads "1.5" later on. Booleans
    are kept as booleans and cast to string afterwards, so "True" in a CSV and a
    Parquet boolean both become "true".
    """
    if target == FLOAT64:
        return FLOAT64 if not pa.types.is_boolean(source) else source
    if pa.types.is_boolean(source):
        return source
    return STRING


def _reported(reader, raw, info: FileInfo, progress) -> Iterator[pa.RecordBatch]:
    """The reader's batches, reporting how far into the (compressed) file ``raw`` is."""
    for batch in reader:
        if progress is not None:
            progress(min(raw.tell(), info.size), info.size)
        yield batch
    if progress is not None:
        progress(info.size, info.size)


def _csv_batches(info: FileInfo, targets, progress) -> Iterator[pa.RecordBatch]:
    import pyarrow.csv as pcsv

    raw, stream = _open_stream(info.path, info.compression)
    try:
        reader = pcsv.open_csv(
            stream,
            read_options=pcsv.ReadOptions(block_size=info.block_size),
            parse_options=_csv_parse_options(),
            convert_options=pcsv.ConvertOptions(
                include_columns=list(targets),
                column_types={c: _read_type(info.types[c], t) for c, t in targets.items()},
                strings_can_be_null=True,
            ),
        )
        yield from _reported(reader, raw, info, progress)
    finally:
        stream.close()
        raw.close()


def _json_batches(info: FileInfo, targets, progress) -> Iterator[pa.RecordBatch]:
    import pyarrow.json as pjson

    fields = []
    for name, target in targets.items():
        source = info.types[name]
        if pa.types.is_null(source):
            kind = target
        elif target == FLOAT64:
            kind = source if pa.types.is_boolean(source) else FLOAT64
        else:
            # JSON values keep their own type (a number stays a number) and are
            # cast to string afterwards; the parser refuses to read 1 as "1".
            kind = source
        fields.append(pa.field(name, kind))
    raw, stream = _open_stream(info.path, info.compression)
    try:
        reader = pjson.open_json(
            stream,
            read_options=pjson.ReadOptions(block_size=info.block_size),
            parse_options=pjson.ParseOptions(explicit_schema=pa.schema(fields), unexpected_field_behavior="ignore"),
        )
        for batch in _reported(reader, raw, info, progress):
            yield batch.select(list(targets))
    finally:
        stream.close()
        raw.close()


def _parquet_batches(info: FileInfo, names, progress, encoded=()) -> Iterator[pa.RecordBatch]:
    import pyarrow.parquet as pq

    # Stream each column chunk through a small buffer: by default (pre-buffering,
    # or buffer_size=0) a whole row group, often a million rows, is held at once.
    with pq.ParquetFile(info.path, pre_buffer=False, buffer_size=PARQUET_BUFFER_BYTES,
                        read_dictionary=list(encoded) or None) as handle:
        total = max(handle.metadata.num_rows, 1)
        done = 0
        for batch in handle.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=names):
            done += batch.num_rows
            if progress is not None:
                # Parquet pages are compressed unevenly; rows read is the honest proxy.
                progress(int(info.size * done / total), info.size)
            yield batch.select(names)


def _is_string(data_type: pa.DataType) -> bool:
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    return bool(pa.types.is_string(data_type) or pa.types.is_large_string(data_type))


def _cast_batch(path: str, batch: pa.RecordBatch, targets) -> pa.RecordBatch:
    arrays = []
    for name, target in targets.items():
        array = batch.column(name)
        if pa.types.is_dictionary(array.type):
            if target == STRING and array.type.value_type == STRING:
                arrays.append(array)  # strings, dictionary-encoded: counted by code
                continue
            array = array.dictionary_decode()
        if array.type != target:
            if target == STRING and pa.types.is_floating(array.type):
                array = pc.if_else(pc.is_nan(array), pa.scalar(None, array.type), array)
            try:
                array = pc.cast(array, target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                what = "numbers" if target == FLOAT64 else "text"
                raise UsageError(
                    f"{path}: column {name!r} of type {array.type} cannot be read as {what}: "
                    f"{_no_content(str(exc).splitlines()[0])}"
                ) from exc
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=list(targets))
