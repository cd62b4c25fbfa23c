"""Bytes to text: the encoding a data file is written in, from its byte order mark, UTF-8,
or detection (charset-normalizer), and a sentence when it cannot be read as text.

Pure Python; charset-normalizer is imported only when UTF-8 does not fit.
"""

from __future__ import annotations

from tuidash.core.errors import DataEncodingError, DataError

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


def decode(raw: bytes, shown: str, encoding: str | None) -> tuple[str, str, bool]:
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
    if ascii_compatible(encoding) and b"\x00" in raw:
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


def decode_note(used: str, requested: str | None, detected: bool) -> str | None:
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
    matches = [m for m in from_bytes(sample) if ascii_compatible(m.encoding)]
    if not matches:
        return None
    best_chaos = min(m.chaos for m in matches)
    fitting = [m for m in matches if m.chaos <= best_chaos + 0.01]
    best_coherence = max(m.coherence for m in fitting)
    candidates: list[str] = []
    for match in fitting:
        if match.coherence >= best_coherence - _COHERENCE_TIE:
            for name in [match.encoding, *match.could_be_from_charset]:
                if name not in candidates and ascii_compatible(name):
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


def ascii_compatible(encoding: str) -> bool:
    """Whether delimiters, quotes and newlines are the same single bytes as in ASCII."""
    probe = 'a,;\t|\n"\x1f'
    try:
        return probe.encode(encoding) == probe.encode("ascii")
    except (LookupError, UnicodeError):
        return False
