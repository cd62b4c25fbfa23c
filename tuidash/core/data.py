"""Read tabular files (CSV/TSV, Excel, Parquet, JSON) and profile their columns.

Every file a person points at either becomes a ``LoadedData`` or raises ``DataError`` with
one sentence that says what is wrong and, where possible, what to do. pandas is imported
inside the functions so that importing this module costs nothing at start-up.
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

from tuidash.core.errors import TuidashError
from tuidash.core.text import size_text

if TYPE_CHECKING:
    import pandas as pd

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
# A number written with a decimal comma in any notation pandas reads with a point, optionally
# with '.' thousands groups: 1,5  -2,75  1.234,5  ,5  5,  7,91e-05  -1,2E+03  inf. Plain
# integers also match so that a column mixing "2" and "2,5" converts.
_DECIMAL_COMMA = re.compile(
    r"^\s*[+-]?("
    r"(\d+(,\d*)?|,\d+|\d{1,3}(\.\d{3})+(,\d*)?)([eE][+-]?\d+)?"
    r"|inf|infinity"
    r")\s*$|^\s*nan\s*$",
    re.IGNORECASE,
)
_ONE_COLUMN_SEP = "\x1f"  # ASCII unit separator: never in real text, so nothing is split


class DataError(TuidashError, ValueError):
    """A data file that cannot be read; the message is one sentence for a person."""


class DataEncodingError(DataError):
    """A text file that is not in the encoding tried; ``suggestion`` is one to try next."""

    def __init__(self, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.suggestion = suggestion


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


@dataclass(frozen=True)
class ColumnProfile:
    """What the Data screen shows about one column."""

    name: str
    dtype: str
    """pandas dtype as text, e.g. int64, float64, str, object, bool, datetime64[ns]."""
    missing: int
    unique: int
    """Distinct non-missing values."""
    minimum: float | None
    mean: float | None
    maximum: float | None
    """min/mean/max for numeric columns (None for text or an all-missing column)."""
    examples: list[str]
    """A few distinct values as text (at most 3, each at most 40 characters)."""
    kind: str = "text"
    """numeric, text, boolean or datetime: how training will treat the column."""


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


_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
# Encodings preferred when the detector finds several that fit (nearly) equally well:
# Western Windows/ISO first, then the other Windows code pages, since spreadsheets exported
# on Windows are the usual non-UTF-8 files (on a short file the detector may otherwise pick
# mac_cyrillic for cp1251 text, or cp1250 for cp1252).
_PREFERRED_ENCODINGS = ("cp1252", "latin_1", "iso8859_15")
_COHERENCE_TIE = 0.05
_DETECT_BYTES = 512 * 1024


def _decode(raw: bytes, shown: str, encoding: str | None) -> tuple[str, str, bool]:
    """Decode file bytes: the given encoding, or UTF-8 first and then a detected one.

    Without an explicit encoding: a BOM decides (UTF-8/16/32); NUL bytes mean UTF-16
    without a BOM or a binary file (refused as such); otherwise UTF-8, and when that does
    not fit, the encoding charset-normalizer finds (``_detect_encoding``). Returns the text,
    the encoding used and whether it was detected (rather than given, BOM or UTF-8).
    """
    if encoding is None:
        for bom, name in _BOMS:
            if raw.startswith(bom):
                return (*_decode_with(raw, shown, name), False)
        if b"\x00" in raw:
            wide = _utf16_without_bom(raw)
            if wide is None:
                raise _binary(shown)
            return (*_decode_with(raw, shown, wide), True)
        try:
            return raw.decode("utf-8-sig"), "utf-8", False
        except UnicodeDecodeError as error:
            detected = _detect_encoding(raw, error.start)
            if detected is not None:
                return (*detected, True)
            line = raw.count(b"\n", 0, error.start) + 1
            byte = raw[error.start : error.start + 1].hex()
            # Neutral wording: the UI offers a choice, the CLI appends its --encoding flag.
            raise DataEncodingError(
                f"{shown} is not UTF-8 text (byte 0x{byte} on line {line}) and its encoding "
                "could not be recognised; choose its encoding, e.g. latin-1 or cp1252.",
                suggestion="latin-1",
            ) from None
    if _ascii_compatible(encoding) and b"\x00" in raw:
        raise _binary(shown)
    return (*_decode_with(raw, shown, encoding), False)


def _decode_with(raw: bytes, shown: str, encoding: str) -> tuple[str, str]:
    try:
        text = raw.decode(encoding)
    except LookupError:
        raise DataEncodingError(
            f"{encoding!r} is not a known text encoding; try utf-8, latin-1 or cp1252."
        ) from None
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise DataEncodingError(
            f"{shown} is not valid {encoding} text (line {line}); choose another encoding, "
            "e.g. latin-1 or cp1252."
        ) from None
    return text.removeprefix("\ufeff"), encoding


def _decode_note(used: str, requested: str | None, detected: bool) -> str | None:
    """The note that says which encoding was used, when it is not plain UTF-8 by default."""
    if requested is not None:
        return f"Read as {used} text."
    if detected:
        return (
            f"Read as {used} text (the file is not UTF-8; {used} was detected); if letters "
            "look wrong, choose its encoding."
        )
    if used != "utf-8":
        return f"Read as {used} text (its byte order mark says so)."
    return None


def _binary(shown: str) -> DataError:
    return DataError(
        f"{shown} is not a text file (it looks binary: it has NUL bytes, like a picture, a "
        "pickle or a compressed file); choose a CSV, TSV, JSON, Excel or Parquet file."
    )


def _utf16_without_bom(raw: bytes) -> str | None:
    """utf-16-le or utf-16-be when the NUL bytes sit where UTF-16 text puts them, else None."""
    head = raw[: 64 * 1024]
    half = len(head) // 2
    if half == 0:
        return None
    even = head[0::2].count(0) / half
    odd = head[1::2].count(0) / half
    # Mostly ASCII text in UTF-16: every other byte is NUL, the bytes between are not.
    if odd >= 0.3 and even <= 0.05:
        return "utf-16-le"
    if even >= 0.3 and odd <= 0.05:
        return "utf-16-be"
    return None


def _detect_encoding(raw: bytes, first_error: int) -> tuple[str, str] | None:
    """The text and encoding charset-normalizer finds for bytes that are not UTF-8, or None.

    It looks at the start of the file and at the bytes around the first one that is not
    UTF-8 (cut at line ends), so a large file is detected in the same time as a small one.
    Among the encodings that fit best, Western and then Windows ones are preferred; the
    whole file must then decode with the choice, else the next candidate is tried.
    """
    from charset_normalizer import from_bytes

    sample = _cut_lines(raw[:_DETECT_BYTES])
    if first_error >= len(sample):
        around = raw[max(0, first_error - _DETECT_BYTES // 2) : first_error + _DETECT_BYTES // 2]
        sample += b"\n" + _cut_lines(around[around.find(b"\n") + 1 :])
    matches = [m for m in from_bytes(sample) if _ascii_compatible(m.encoding)]
    if not matches:
        return None
    best_chaos = min(m.chaos for m in matches)
    fitting = [m for m in matches if m.chaos <= best_chaos + 0.01]
    best_coherence = max(m.coherence for m in fitting)
    candidates: list[str] = []
    for match in fitting:
        if match.coherence >= best_coherence - _COHERENCE_TIE:
            for name in [match.encoding, *match.could_be_from_charset]:
                if name not in candidates and _ascii_compatible(name):
                    candidates.append(name)

    def rank(name: str) -> int:
        if name in _PREFERRED_ENCODINGS:
            return _PREFERRED_ENCODINGS.index(name)
        return len(_PREFERRED_ENCODINGS) + (0 if name.startswith("cp125") else 1)

    for name in sorted(candidates, key=rank):  # stable: the detector's order within a rank
        try:
            text = raw.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
        return text.removeprefix("\ufeff"), name.replace("_", "-")
    return None


def _cut_lines(chunk: bytes) -> bytes:
    """A chunk without its last, possibly cut, line (a multi-byte character may be cut)."""
    end = chunk.rfind(b"\n")
    return chunk[: end + 1] if end > 0 else chunk


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
    text, used_encoding, detected = _decode(raw, shown, encoding)
    if not text or text.isspace():
        raise DataError(f"{shown} is empty (it has no text).")
    if _ascii_compatible(used_encoding):
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
    frame = _fix_decimal_commas(frame, delimiter, notes)
    note = _decode_note(used_encoding, encoding, detected)
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


def _ascii_compatible(encoding: str) -> bool:
    """Whether delimiters, quotes and newlines are the same single bytes as in ASCII."""
    probe = 'a,;\t|\n"\x1f'
    try:
        return probe.encode(encoding) == probe.encode("ascii")
    except (LookupError, UnicodeError):
        return False


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


def _fix_decimal_commas(frame: pd.DataFrame, delimiter: str | None, notes: list[str]) -> Any:
    """Turn text columns of decimal-comma numbers ("1,5") into numbers, or report them."""
    import pandas as pd

    converted: list[str] = []
    kept: list[str] = []
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        values = series.dropna()
        if values.empty:
            continue
        texts = values.astype(str).str.strip()
        if not texts.str.contains(",", regex=False).any():
            continue
        if not texts.str.fullmatch(_DECIMAL_COMMA).all():
            continue
        if delimiter == ",":
            # In a comma-separated file a quoted "1,500" is more likely a thousands separator.
            kept.append(str(column))
            continue
        numbers = texts.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        frame[column] = pd.to_numeric(numbers, errors="coerce").reindex(frame.index)
        converted.append(str(column))
    if converted:
        names = ", ".join(repr(c) for c in converted)
        notes.append(f"Read decimal commas (e.g. '1,5' as 1.5) in {names}.")
    if kept:
        names = ", ".join(repr(c) for c in kept)
        notes.append(
            f"{names} hold numbers written with commas (e.g. '1,500'); they were kept as text "
            "because the file is comma-separated."
        )
    return frame


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
    text, used_encoding, detected = _decode(raw, shown, encoding)
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
    note = _decode_note(used_encoding, encoding, detected)
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


# --------------------------------------------------------------------------- profiling


def column_kind(series: pd.Series) -> str:
    """How training treats a column: numeric, boolean, datetime or text."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_timedelta64_dtype(series):
        return "datetime"
    return "text"


def profile_columns(frame: pd.DataFrame) -> list[ColumnProfile]:
    """A profile of every column: dtype, missing, unique, min/mean/max, a few examples."""
    profiles: list[ColumnProfile] = []
    for position, name in enumerate(frame.columns):
        series = frame.iloc[:, position]
        kind = column_kind(series)
        missing = int(series.isna().sum())
        present = series.dropna()
        unique = _unique_count(present)
        minimum = mean = maximum = None
        if kind == "numeric" and not present.empty:
            values = present.astype("float64")
            finite = values[values.abs() != math.inf]
            if not finite.empty:
                minimum = float(finite.min())
                mean = _finite(float(finite.mean()))
                maximum = float(finite.max())
        profiles.append(
            ColumnProfile(
                name=str(name),
                dtype=str(series.dtype),
                missing=missing,
                unique=unique,
                minimum=minimum,
                mean=mean,
                maximum=maximum,
                examples=_examples(present),
                kind=kind,
            )
        )
    return profiles


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _unique_count(values: pd.Series) -> int:
    try:
        return int(values.nunique(dropna=True))
    except TypeError:  # unhashable cells, e.g. nested JSON objects
        return int(values.astype(str).nunique(dropna=True))


def _examples(values: pd.Series, count: int = 3, width: int = 40) -> list[str]:
    examples: list[str] = []
    seen: set[str] = set()
    for value in values.head(200).tolist():
        text = str(value)
        if text in seen:
            continue
        seen.add(text)
        examples.append(text if len(text) <= width else text[: width - 1] + "…")
        if len(examples) == count:
            break
    return examples


SAMPLE_ROWS = 100_000
"""Above this many rows, "numbers mixed with text" is judged on a fixed sample of this size."""
_SAMPLE_SEED = 0


def data_problems(
    frame: pd.DataFrame,
    profile: list[ColumnProfile] | None = None,
    target: str | None = None,
) -> list[str]:
    """Plain-word problems a person should see before training (one sentence each).

    ``profile`` is ``profile_columns(frame)`` when the caller has it already (it is computed
    here otherwise). Missing and unique counts and duplicate rows are exact; whether a text
    column is "mostly numbers" is judged on its distinct values, or on a fixed sample of
    ``SAMPLE_ROWS`` values when a long column has more distinct values than that. With a
    ``target``, the problems of that target (``target_problems``) come last.
    """
    problems: list[str] = []
    rows = len(frame)
    if rows == 0:
        return ["The data has no rows."]
    if rows < 20:
        problems.append(f"Only {rows} rows: metrics on so little data will be unreliable.")
    profiles = profile_columns(frame) if profile is None else profile
    for position, column in enumerate(profiles):
        name = column.name
        if column.missing == rows:
            problems.append(f"Column {name!r} is empty (every value is missing).")
            continue
        if column.unique == 1:
            problems.append(
                f"Column {name!r} has the same value in every row; it cannot help a model."
            )
        if column.missing and column.missing >= rows / 2:
            share = round(100 * column.missing / rows)
            problems.append(f"Column {name!r} is {share}% missing.")
        if column.kind == "text":
            present = rows - column.missing
            # By position: names are text in a profile but may not be in the frame.
            same = position < frame.shape[1] and str(frame.columns[position]) == name
            series = frame.iloc[:, position] if same else frame[name]
            numbers = _numeric_share(series, column.unique)
            if 0.9 <= numbers < 1.0:
                odd = ", ".join(repr(v) for v in odd_values(series))
                problems.append(
                    f"Column {name!r} is mostly numbers but has some text (such as {odd}), so it "
                    "is treated as text; fix the odd values to use it as a number."
                )
            elif column.unique == present and present > 20:
                problems.append(
                    f"Column {name!r} has a different value in every row (an identifier?); "
                    "it will not help a model."
                )
            elif column.unique > 100:
                problems.append(
                    f"Column {name!r} has {column.unique} different text values; one-hot "
                    "encoding it makes a very wide table."
                )
    duplicates = _duplicate_rows(frame)
    if duplicates:
        problems.append(f"{duplicates} rows are exact copies of an earlier row.")
    if target is not None:
        problems.extend(target_problems(frame, target))
    return problems


def target_problems(frame: pd.DataFrame, target: str | None) -> list[str]:
    """Why ``target`` cannot be predicted (text, dates, true/false, empty); empty when it can.

    Training predicts numbers, so a target that is not numbers is named here, on the Data
    screen, before a training is started.
    """
    import pandas as pd

    if target is None:
        return ["No target is chosen; choose the column to predict."]
    if target not in [str(c) for c in frame.columns]:
        return [f"There is no column {target!r} to predict."]
    series = frame.loc[:, [str(c) == target for c in frame.columns]].iloc[:, 0]
    kind = column_kind(series)
    fix = "choose a column of numbers as the target."
    if series.isna().all():
        return [f"The target {target!r} is empty (every value is missing); {fix}"]
    if kind == "boolean":
        return [f"The target {target!r} holds true/false values, not numbers; {fix}"]
    if kind == "datetime":
        return [f"The target {target!r} holds dates, not numbers; {fix}"]
    if kind == "text":
        present = series.dropna()
        if len(present) > SAMPLE_ROWS:  # bounded: this runs when a person picks a target
            half = SAMPLE_ROWS // 2
            tail = present.iloc[half:].sample(n=half, random_state=_SAMPLE_SEED)
            present = pd.concat([present.head(half), tail])
        # Strictly as training reads a target: a decimal comma left as text is text.
        odd = odd_values(present, decimal_comma=False)
        if odd:
            share = 1 - _odd_share(present)
            what = "mostly numbers but also text" if share >= 0.9 else "text"
            examples = ", ".join(repr(v) for v in odd)
            return [
                f"The target {target!r} holds {what} (such as {examples}); tuidash predicts "
                f"numbers, so {fix}"
            ]
    return []


def default_target(frame: pd.DataFrame) -> str | None:
    """The column predicted by default: the last numeric column that is not an identifier.

    A numeric identifier is a column of whole numbers, a different one in every row, that is
    named like one ("id", "customer_id", "row", "index", "No.", pandas' "Unnamed: 0") or
    numbers the rows (0, 1, 2, ... or 1, 2, 3, ...).
    Without such a column the last numeric one is chosen, and without any the last column
    (which ``target_problems`` then reports).
    """
    import pandas as pd

    columns = list(frame.columns)
    if not columns:
        return None
    numeric: list[str] = []
    for position in range(len(columns) - 1, -1, -1):
        series = frame.iloc[:, position]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            continue
        if series.isna().all():
            continue
        name = str(columns[position])
        numeric.append(name)
        if not _numeric_identifier(name, series):
            return name
    return numeric[0] if numeric else str(columns[-1])


_ID_NAME = re.compile(
    r"^(id|ids|index|idx|row|rows|row_?id|row_?number|no\.?|nr\.?|number|key|uuid|unnamed: \d+"
    r"|.*[_ .-]id)$",
    re.IGNORECASE,
)
_CAMEL_ID = re.compile(r"^.*([a-z]Id|[a-z]ID)$")  # customerId, CustomerID (not "valid", "paid")


def _numeric_identifier(name: str, series: pd.Series) -> bool:
    """Whole numbers, all different, named like an id or numbering the rows from 0 or 1.

    Cheap checks first (this runs on the UI thread when a file is loaded): the name, then
    whole numbers, then increasing values (which are all different); a column named like an
    id in another order is judged on a fixed sample of ``SAMPLE_ROWS`` values.
    """
    import numpy as np

    present = series.dropna()
    if len(present) < 2:
        return False
    named = bool(_ID_NAME.match(name.strip()) or _CAMEL_ID.match(name.strip()))
    values = present.to_numpy(dtype=np.float64)
    if not named and (len(values) <= 20 or values[0] not in (0, 1)):
        return False
    if not np.isfinite(values).all() or not (values == np.round(values)).all():
        return False
    steps = np.diff(values)
    if not named:
        return bool((steps == 1).all())
    if (steps > 0).all():
        return True
    if len(values) > SAMPLE_ROWS:
        values = np.random.default_rng(_SAMPLE_SEED).choice(values, SAMPLE_ROWS, replace=False)
    return bool(len(np.unique(values)) == len(values))


def _numeric_share(series: pd.Series, unique: int | None = None) -> float:
    """The share of present values that read as numbers (a point or a decimal comma).

    Converting text to numbers holds the GIL for the whole column (0.6 s for 2.4 M values,
    freezing the UI), so at most ``SAMPLE_ROWS`` values are converted: each distinct value
    once, weighted by its count (exact), or a fixed sample when there are more distinct values.
    """
    import pandas as pd

    present = series.dropna()
    if present.empty:
        return 0.0
    if len(present) <= SAMPLE_ROWS:
        return float(_reads_as_number(present.astype(str)).mean())
    if unique is not None and unique <= SAMPLE_ROWS:
        try:
            counts = present.value_counts(sort=False)
        except TypeError:  # unhashable cells, e.g. nested JSON objects
            counts = None
        if counts is not None:
            texts = pd.Series(counts.index, dtype=object).astype(str)
            numeric = _reads_as_number(texts)
            return float(counts.to_numpy()[numeric].sum() / len(present))
    sample = present.sample(n=SAMPLE_ROWS, random_state=_SAMPLE_SEED)
    return float(_reads_as_number(sample.astype(str)).mean())


def _reads_as_number(texts: pd.Series, *, decimal_comma: bool = True) -> Any:
    """A boolean array: which texts are numbers, written with a point or a decimal comma."""
    import pandas as pd

    stripped = texts.str.strip()
    numbers = pd.to_numeric(stripped, errors="coerce").notna().to_numpy(dtype=bool)
    if decimal_comma and not numbers.all():
        comma = stripped.str.fullmatch(_DECIMAL_COMMA).fillna(False).to_numpy(dtype=bool)
        numbers = numbers | comma
    return numbers


def odd_values(
    series: pd.Series, count: int = 3, width: int = 20, *, decimal_comma: bool = True
) -> list[str]:
    """The first few distinct values (in row order) that do not read as numbers.

    At most the first ``SAMPLE_ROWS`` present values are looked at, so the answer is the
    same for a small and a long column and the conversion stays bounded. Without
    ``decimal_comma`` only numbers written with a point count (as pandas reads them).
    """
    present = series.dropna().head(SAMPLE_ROWS)
    if present.empty:
        return []
    texts = present.astype(str)
    odd = texts[~_reads_as_number(texts, decimal_comma=decimal_comma)]
    shown: list[str] = []
    for value in odd.drop_duplicates().head(count).tolist():
        shown.append(value if len(value) <= width else value[: width - 1] + "…")
    return shown


def _odd_share(present: pd.Series) -> float:
    """The share of (at most SAMPLE_ROWS) values pandas does not read as numbers."""
    texts = present.head(SAMPLE_ROWS).astype(str)
    return float((~_reads_as_number(texts, decimal_comma=False)).mean()) if len(texts) else 0.0


def _duplicate_rows(frame: pd.DataFrame) -> int:
    """Rows equal to an earlier row, exactly.

    ``frame.duplicated()`` takes 2 s on 2.4 M rows with text; hashing each row (vectorised)
    and comparing the rows whose hashes repeat gives the same count in a fraction of it.
    """
    import pandas as pd

    try:
        if len(frame) <= SAMPLE_ROWS or frame.shape[1] == 0:
            return int(frame.duplicated().sum())
        hashes = pd.util.hash_pandas_object(frame, index=False)
        candidates = hashes.duplicated(keep=False).to_numpy()
        if not candidates.any():
            return 0
        # Equal rows have equal hashes, so every copy and its original are candidates;
        # comparing only those (in their order) rules out hash collisions.
        return int(frame.loc[candidates].duplicated().sum())
    except TypeError:  # unhashable cells
        return 0
