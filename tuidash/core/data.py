"""Read tabular files (CSV/TSV, Excel, Parquet, JSON) into a ``LoadedData``.

Every file a person points at either becomes a ``LoadedData`` or raises ``DataError`` with
one sentence that says what is wrong and, where possible, what to do. Bytes become text in
``decoding``; decimal-comma numbers are read in ``numeric_text``; what is in the table
(column profiles, problems, the default target) is ``profiling``, whose names this module
also offers. pandas is imported inside the functions so that importing this module costs
nothing at start-up.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuidash.core.decoding import ascii_compatible, decode, decode_note
from tuidash.core.errors import DataEncodingError, DataError
from tuidash.core.numeric_text import fix_decimal_commas
from tuidash.core.profiling import (
    SAMPLE_ROWS,
    ColumnProfile,
    column_kind,
    data_problems,
    default_target,
    odd_values,
    profile_columns,
    target_problems,
)
from tuidash.core.text import size_text

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DELIMITERS",
    "FORMATS",
    "SAMPLE_ROWS",
    "SAMPLE_SOURCE",
    "SAMPLE_TARGET",
    "ColumnProfile",
    "DataEncodingError",
    "DataError",
    "LoadedData",
    "Progress",
    "column_kind",
    "data_problems",
    "default_target",
    "file_sha256",
    "odd_values",
    "profile_columns",
    "read_table",
    "sample_dataset",
    "target_problems",
]

DEFAULT_MAX_BYTES = 1024**3
"""Files larger than this (1 GiB) are refused before reading; a frame needs several times it."""

SAMPLE_SOURCE = "sample:diabetes"
"""The ``source`` of the bundled sample data set."""

SAMPLE_TARGET = "target"
"""The target column of the bundled sample (disease progression one year later)."""

DELIMITERS = (",", ";", "\t", "|")
"""Delimiters sniffed in delimited text files, in order of preference on a tie."""

FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
"""File extensions tuidash reads, and the format each one is read as."""

_SNIFF_CHARS = 64 * 1024
_HASH_CHUNK = 1024 * 1024
_PROGRESS_STEP = 4 * 1024 * 1024
# Where each pass over a delimited text file starts and ends on the progress scale (fractions
# of the file size), so the bar moves through the whole read instead of filling during the
# first pass and then standing still. Measured on a 200 MB CSV: reading and hashing ~30% of
# the time, checking the rows ~15% (much more when fields are quoted), pandas ~55% of which
# the last part (converting columns) reports nothing.
_READ_PHASE = (0.0, 0.4)
_CHECK_PHASE = (0.4, 0.6)
_PARSE_PHASE = (0.6, 0.9)

Progress = Callable[[int, int], None]
"""A progress callback: ``progress(done, total)`` in bytes of the file."""
_ONE_COLUMN_SEP = "\x1f"  # ASCII unit separator: never in real text, so nothing is split


@dataclass
class LoadedData:
    """A table read from a file, with where it came from and what was noticed on the way."""

    frame: pd.DataFrame
    source: str
    """Absolute path of the file, or ``sample:diabetes`` for the bundled sample."""
    sha256: str | None
    """Hex sha256 of the file's bytes (None for a frame that came from no file)."""
    format: str
    """One of csv, tsv, xlsx, parquet, json, jsonl."""
    notes: list[str] = field(default_factory=list)
    """Things a person should know about how the file was read (one sentence each)."""
    encoding: str | None = None
    """The text encoding used (text formats only)."""
    delimiter: str | None = None
    """The delimiter used (delimited text only; None for a one-column file)."""
    size_bytes: int = 0
    """Size of the file on disk."""

    @property
    def rows(self) -> int:
        """Number of data rows."""
        return len(self.frame)

    @property
    def name(self) -> str:
        """A short name for titles: the file name, or the sample's name."""
        if self.source == SAMPLE_SOURCE:
            return "diabetes (sample)"
        return Path(self.source).name


class _ProgressReport:
    """Turns a read's passes into calls of a ``Progress`` callback: monotonic and not too often."""

    def __init__(self, callback: Progress | None, total: int) -> None:
        self.callback = callback
        self.total = total
        self.last = -1
        # A few MB, or 1% of a small file, between calls: enough for a smooth bar, few calls.
        self.step = min(_PROGRESS_STEP, max(64 * 1024, total // 100))

    def at(self, done: float) -> None:
        """Report ``done`` bytes unless it is too close to (or behind) the last report."""
        if self.callback is None:
            return
        position = min(max(int(done), 0), self.total)
        if position <= self.last:
            return
        if self.last < 0 or position == self.total or position - self.last >= self.step:
            self.last = position
            self.callback(position, self.total)

    def phase(self, span: tuple[float, float], length: int) -> Callable[[int], None]:
        """A reporter for one pass over ``length`` bytes, mapped onto ``span`` of the total."""
        start, end = span

        def report(count: int) -> None:
            fraction = count / length if length else 1.0
            self.at(self.total * (start + (end - start) * min(fraction, 1.0)))

        return report


class _CountingBytes(io.BytesIO):
    """An in-memory byte stream that reports how far it has been read (pandas, csv passes)."""

    def __init__(self, data: bytes, report: Callable[[int], None]) -> None:
        super().__init__(data)
        self._report = report

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self._report(self.tell())
        return chunk

    def read1(self, size: int | None = -1) -> bytes:
        chunk = super().read1(size)
        self._report(self.tell())
        return chunk


# --------------------------------------------------------------------------- reading


def read_table(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    progress: Progress | None = None,
) -> LoadedData:
    """Read a CSV/TSV, .xlsx, Parquet or JSON file into a frame; raise DataError saying why not.

    ``progress(done, total)`` is called from the reading thread with ``total`` the file's size
    in bytes: first with 0, last with ``total`` once the frame is ready, never backwards, a
    few MB apart. For CSV/TSV ``done`` moves through the reading, checking and parsing passes
    (an estimate of how far the whole read is, in bytes); Excel, Parquet and JSON report
    only the start and the end. An exception raised by ``progress`` stops the read and
    propagates unchanged, so a caller can use it to cancel.
    """
    file = Path(path).expanduser().absolute()
    shown = str(path)
    _check_file(file, shown)
    size = file.stat().st_size
    fmt = FORMATS.get(file.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        hint = " (save it as .xlsx)" if file.suffix.lower() == ".xls" else ""
        raise DataError(
            f"{shown} has an extension tuidash does not read ({file.suffix or 'none'}){hint}; "
            f"it reads {known}."
        )
    if size == 0:
        raise DataError(f"{shown} is empty (0 bytes).")
    if max_bytes is not None and size > max_bytes:
        raise DataError(
            f"{shown} is {size_text(size)}, more than the {size_text(max_bytes)} limit for "
            "reading a file into memory; use a smaller file or raise the limit (max_bytes)."
        )
    report = _ProgressReport(progress, size)
    report.at(0)
    try:
        if fmt in ("csv", "tsv"):
            loaded = _read_delimited(file, shown, fmt, encoding, report)
        elif fmt == "xlsx":
            loaded = _read_excel(file, shown)
        elif fmt == "parquet":
            loaded = _read_parquet(file, shown)
        else:
            loaded = _read_json(file, shown, fmt, encoding)
    except PermissionError:
        raise DataError(f"Cannot read {shown}: permission denied.") from None
    except MemoryError:
        raise DataError(f"{shown} does not fit in memory ({size_text(size)} on disk).") from None
    loaded.size_bytes = size
    report.at(size)
    return loaded


def sample_dataset(*, progress: Progress | None = None) -> LoadedData:
    """scikit-learn's diabetes data (442 patients, 10 measures), shipped inside the package.

    Efron et al. (2004), "Least Angle Regression"; the unscaled values as published, with
    ``target`` the disease progression one year after baseline.
    """
    from importlib import resources

    resource = resources.files("tuidash.data").joinpath("diabetes.csv")
    with resources.as_file(resource) as file:
        loaded = read_table(file, progress=progress)
    loaded.source = SAMPLE_SOURCE
    loaded.notes.insert(
        0,
        "The bundled diabetes sample: 442 patients, 10 baseline measures, and 'target', "
        "the disease progression one year later.",
    )
    return loaded


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_file(file: Path, shown: str) -> None:
    try:
        if not file.exists():
            raise DataError(f"There is no file at {shown}.")
        if file.is_dir():
            raise DataError(f"{shown} is a folder, not a data file; choose a file inside it.")
        if not file.is_file():
            raise DataError(f"{shown} is not a regular file.")
        with open(file, "rb"):
            pass
    except PermissionError:
        raise DataError(f"Cannot read {shown}: permission denied.") from None
    except OSError as error:
        raise DataError(f"Cannot read {shown}: {error.strerror or error}.") from None


# --------------------------------------------------------------------------- text


def _read_bytes(file: Path, report: Callable[[int], None] | None = None) -> tuple[bytes, str]:
    """The whole file and its sha256 (hashed while reading, so the file is read once)."""
    digest = hashlib.sha256()
    parts: list[bytes] = []
    done = 0
    with open(file, "rb") as stream:
        while chunk := stream.read(_HASH_CHUNK):
            digest.update(chunk)
            parts.append(chunk)
            done += len(chunk)
            if report is not None:
                report(done)
    return b"".join(parts), digest.hexdigest()


def _sniff_delimiter(sample: str, fmt: str, truncated: bool) -> str | None:
    """The delimiter that splits the header and most rows alike; None when none splits it."""
    if truncated and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # drop a row cut in half
    preferred = ("\t", ",", ";", "|") if fmt == "tsv" else DELIMITERS
    best: tuple[float, int, int] | None = None
    choice: str | None = None
    for rank, delimiter in enumerate(preferred):
        if delimiter not in sample:
            continue
        try:
            reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
            rows = [r for r in reader if r]
        except csv.Error:
            continue
        # Only a delimiter that splits the header counts: a one-column file whose values
        # contain commas (or decimal commas) stays one column.
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        body = rows[1:] or rows
        consistent = sum(1 for r in body if len(r) == width) / len(body)
        score = (consistent, width, -rank)
        if best is None or score > best:
            best, choice = score, delimiter
    return choice


def _read_delimited(
    file: Path, shown: str, fmt: str, encoding: str | None, report: _ProgressReport
) -> LoadedData:
    import pandas as pd

    raw, sha = _read_bytes(file, report.phase(_READ_PHASE, report.total))
    text, used_encoding, detected = decode(raw, shown, encoding)
    if not text or text.isspace():
        raise DataError(f"{shown} is empty (it has no text).")
    if ascii_compatible(used_encoding):
        parse_encoding = "utf-8-sig" if used_encoding == "utf-8" else used_encoding
    else:
        # UTF-16/32: hand pandas UTF-8 so the byte-level checks below stay simple.
        raw, parse_encoding = text.encode("utf-8"), "utf-8"
    sample = text[:_SNIFF_CHARS]
    truncated = len(text) > _SNIFF_CHARS
    del text  # the frame is built from the bytes; keep at most one full copy around
    delimiter = _sniff_delimiter(sample, fmt, truncated)
    sep = delimiter or _ONE_COLUMN_SEP
    header = _check_rows(
        raw, parse_encoding, sample, sep, shown, report.phase(_CHECK_PHASE, len(raw))
    )
    _check_header(header, shown)
    notes: list[str] = []
    if delimiter is None:
        notes.append(f"{file.name} was read as a single column (no , ; tab or | delimiter).")
    elif delimiter != {"csv": ",", "tsv": "\t"}[fmt]:
        notes.append(f"Columns are separated by {_delimiter_name(delimiter)}.")
    try:
        frame = pd.read_csv(
            _CountingBytes(raw, report.phase(_PARSE_PHASE, len(raw))),
            sep=sep,
            encoding=parse_encoding,
            engine="c",
            skip_blank_lines=True,
            low_memory=False,
        )
    except (pd.errors.ParserError, ValueError) as error:
        raise _parse_failure(raw, parse_encoding, sample, sep, shown, error) from None
    del raw
    if len(frame) == 0:
        raise DataError(f"{shown} has a header row but no data rows.")
    frame = fix_decimal_commas(frame, delimiter, notes)
    note = decode_note(used_encoding, encoding, detected)
    if note is not None:
        notes.append(note)
    return LoadedData(
        frame=frame,
        source=str(file),
        sha256=sha,
        format=fmt,
        notes=notes,
        encoding=used_encoding,
        delimiter=delimiter,
    )


def _parse_failure(
    raw: bytes, encoding: str, sample: str, sep: str, shown: str, error: BaseException
) -> DataError:
    """One sentence for a file pandas refused: the first ragged line, found row by row."""
    try:
        _check_rows(raw, encoding, sample, sep, shown, exact=True)
    except DataError as found:
        return found
    pandas_says = _PANDAS_FIELDS.search(str(error))
    if pandas_says is not None:
        expected, line, saw = pandas_says.groups()
        return _ragged(shown, int(line), int(saw), int(expected))
    return DataError(f"{shown} could not be read as a table ({_first_line(error)}).")


_PANDAS_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _ragged(shown: str, line: int, fields: int, width: int) -> DataError:
    return DataError(f"{shown} line {line} has {fields} fields but the header has {width}.")


def _check_rows(
    raw: bytes,
    encoding: str,
    sample: str,
    sep: str,
    shown: str,
    report: Callable[[int], None] | None = None,
    *,
    exact: bool = False,
) -> list[str]:
    """Return the header; raise on header-only files and rows with the wrong field count.

    ``exact`` skips the byte-count shortcut and walks every record.
    """
    records = csv.reader(io.StringIO(sample, newline=""), delimiter=sep)
    try:
        header = next((r for r in records if _has_text(r)), None)
    except csv.Error as error:
        raise DataError(f"{shown} is malformed near line {records.line_num}: {error}.") from None
    if header is None:
        raise DataError(f"{shown} is empty (it has only blank lines).")
    # Fast path (C-speed byte counts): without quotes, and when every line holds exactly
    # width-1 delimiters, no row can be ragged and there are no blank lines. (Counts that
    # balance out across lines slip through; pandas then refuses and _parse_failure looks
    # again with exact=True.)
    if b'"' not in raw and not exact:
        lines = raw.count(b"\n") + (0 if raw.endswith(b"\n") else 1)
        if raw.count(sep.encode("ascii")) == (len(header) - 1) * lines:
            if lines < 2:
                raise DataError(f"{shown} has a header row but no data rows.")
            if report is not None:
                report(len(raw))
            return header
    # Slow path: walk every record to name the first ragged line.
    source = io.BytesIO(raw) if report is None else _CountingBytes(raw, report)
    stream = io.TextIOWrapper(source, encoding=encoding, newline="")
    reader = csv.reader(stream, delimiter=sep)
    seen_header = False
    rows = 0
    try:
        for record in reader:
            if not _has_text(record):
                continue  # blank lines are skipped, as pandas does
            if not seen_header:
                seen_header = True
                continue
            rows += 1
            if len(record) != len(header):
                raise _ragged(shown, reader.line_num, len(record), len(header))
    except csv.Error as error:
        raise DataError(f"{shown} is malformed near line {reader.line_num}: {error}.") from None
    if rows == 0:
        raise DataError(f"{shown} has a header row but no data rows.")
    if report is not None:
        report(len(raw))
    return header


def _has_text(record: list[str]) -> bool:
    return bool(record) and not (len(record) == 1 and not record[0].strip())


def _check_header(names: Iterable[Any], shown: str) -> None:
    """Refuse duplicate column names (pandas would silently rename the second 'a' to 'a.1')."""
    seen: dict[str, int] = {}
    for position, raw in enumerate(names, start=1):
        if raw is None or (isinstance(raw, float) and math.isnan(raw)):
            continue
        name = str(raw).strip()
        if not name:
            continue
        if name in seen:
            raise DataError(
                f"{shown} has two columns named {name!r} (columns {seen[name]} and {position}); "
                "rename one so every column name is unique."
            )
        seen[name] = position


def _delimiter_name(delimiter: str) -> str:
    return {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}[delimiter]


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0].rstrip(".") if text else type(error).__name__


# --------------------------------------------------------------------------- binary


def _read_excel(file: Path, shown: str) -> LoadedData:
    import pandas as pd

    sha = file_sha256(file)
    notes: list[str] = []
    try:
        with pd.ExcelFile(file, engine="openpyxl") as book:
            sheets = list(book.sheet_names)
            if not sheets:
                raise DataError(f"{shown} has no worksheets.")
            # header=None: read the header row as data so duplicate names can be detected
            # before pandas renames them.
            raw = pd.read_excel(book, sheet_name=sheets[0], header=None)
    except DataError:
        raise
    except PermissionError:
        raise
    except Exception as error:
        raise DataError(
            f"{shown} is not a readable .xlsx workbook ({_first_line(error)})."
        ) from None
    if len(sheets) > 1:
        notes.append(f"Read the first of {len(sheets)} sheets, {sheets[0]!r}.")
    raw = raw.dropna(how="all").dropna(axis=1, how="all")
    if raw.empty:
        raise DataError(f"{shown} is empty (its first sheet has no cells).")
    header = list(raw.iloc[0])
    _check_header(header, shown)
    if len(raw) < 2:
        raise DataError(f"{shown} has a header row but no data rows.")
    names = [
        f"Unnamed: {i}" if _is_blank(name) else str(name).strip() for i, name in enumerate(header)
    ]
    frame = raw.iloc[1:].reset_index(drop=True)
    frame.columns = names
    frame = frame.infer_objects()
    for column in frame.columns:
        # A column of numbers with a few blanks comes back as object; make it numeric.
        if frame[column].dtype == object:
            numbers = pd.to_numeric(frame[column], errors="coerce")
            if numbers.notna().sum() == frame[column].notna().sum():
                frame[column] = numbers
    return LoadedData(frame=frame, source=str(file), sha256=sha, format="xlsx", notes=notes)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or not str(value)


def _read_parquet(file: Path, shown: str) -> LoadedData:
    import pyarrow.parquet as pq

    sha = file_sha256(file)
    try:
        schema = pq.read_schema(file)
        _check_header(schema.names, shown)
        table = pq.read_table(file)
    except DataError:
        raise
    except PermissionError:
        raise
    except Exception as error:
        raise DataError(f"{shown} is not a readable Parquet file ({_first_line(error)}).") from None
    if table.num_columns == 0:
        raise DataError(f"{shown} has no columns.")
    if table.num_rows == 0:
        raise DataError(f"{shown} has columns but no rows.")
    frame = table.to_pandas()
    return LoadedData(frame=frame, source=str(file), sha256=sha, format="parquet")


def _read_json(file: Path, shown: str, fmt: str, encoding: str | None) -> LoadedData:
    import pandas as pd

    raw, sha = _read_bytes(file)
    text, used_encoding, detected = decode(raw, shown, encoding)
    del raw
    if not text.strip():
        raise DataError(f"{shown} is empty (it has no text).")
    records: list[Any]
    if fmt == "json":
        try:
            document = json.loads(text, object_pairs_hook=_unique_keys(shown))
        except json.JSONDecodeError as error:
            if error.msg == "Extra data":
                fmt = "jsonl"  # several documents, one per line: JSON lines in a .json file
            else:
                raise DataError(
                    f"{shown} is not valid JSON ({error.msg} on line {error.lineno})."
                ) from None
        else:
            records = _records_from_document(document, shown)
    if fmt == "jsonl":
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line, object_pairs_hook=_unique_keys(shown)))
            except json.JSONDecodeError as error:
                raise DataError(
                    f"{shown} has invalid JSON on line {number} ({error.msg})."
                ) from None
            if not isinstance(records[-1], dict):
                raise DataError(
                    f"{shown} line {number} is not a JSON object; each line must be one record "
                    'like {"column": value}.'
                )
    if not records:
        raise DataError(f"{shown} has no records.")
    frame = pd.DataFrame.from_records(records)
    if frame.shape[1] == 0:
        raise DataError(f"{shown} has records but no fields in them.")
    note = decode_note(used_encoding, encoding, detected)
    return LoadedData(
        frame=frame,
        source=str(file),
        sha256=sha,
        format=fmt,
        notes=[note] if note is not None else [],
        encoding=used_encoding,
    )


def _records_from_document(document: Any, shown: str) -> list[Any]:
    """Records from a JSON document: a list of objects, or an object of equal-length lists."""
    if isinstance(document, list):
        for number, item in enumerate(document, start=1):
            if not isinstance(item, dict):
                raise DataError(
                    f"{shown} item {number} is not a JSON object; tuidash reads a list of "
                    'records like [{"column": value}, ...].'
                )
        return document
    if isinstance(document, dict) and document:
        columns = list(document.values())
        if all(isinstance(c, list) for c in columns):
            lengths = {len(c) for c in columns}
            if len(lengths) != 1:
                raise DataError(f"{shown} has column lists of different lengths.")
            keys = list(document)
            return [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)]
        return [document]
    raise DataError(
        f"{shown} is not a list of records (it holds a single {type(document).__name__})."
    )


def _unique_keys(shown: str) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise DataError(
                    f"{shown} has a record with the key {key!r} twice; every field name must "
                    "be unique."
                )
            result[key] = value
        return result

    return hook
