"""A CSV file's encoding: a BOM, UTF-16 by its NUL bytes, UTF-8 if the whole file is, else
cp1252; and the codecs the reader uses: cp1252 with its 5 undefined bytes read as latin-1,
and :data:`MIXED_ENCODING` for a UTF-8 file with a few rows in cp1252.

A CSV file that is UTF-8 but for a few rows in cp1252 is read as both, and
:attr:`~funnelcli.readers.tabular.table.Table.encoding_note` says which rows.
"""

from __future__ import annotations

import codecs
import os
import threading
from dataclasses import dataclass
from typing import Any

from funnelcli.errors import ExportError, shown

_CHUNK = 1024 * 1024
_FALLBACK_ERRORS = "funnelcli-latin-1"
_CP1252_ERRORS = "funnelcli-cp1252"
_SCAN_ERRORS = "funnelcli-scan-utf-8"

MIXED_ENCODING = "utf-8+cp1252"
"""The encoding of a CSV file that is UTF-8 but for a few rows in cp1252: UTF-8, with
each byte that is not UTF-8 read as cp1252. A registered codec, so the name can be given
as an encoding again when the file is read a second time."""


def _decode_undefined_as_latin1(error: UnicodeError) -> tuple[str, int]:
    """Decode the 5 bytes cp1252 leaves undefined (81 8D 8F 90 9D) as latin-1 does."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error(_FALLBACK_ERRORS, _decode_undefined_as_latin1)


def _decode_as_cp1252(error: UnicodeError) -> tuple[str, int]:
    """Decode the bytes the UTF-8 decoder refused as cp1252 (its 5 undefined as latin-1)."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("cp1252", _FALLBACK_ERRORS), error.end


codecs.register_error(_CP1252_ERRORS, _decode_as_cp1252)

_refused = threading.local()
"""Where :func:`_record_refused` notes the bytes the UTF-8 decoder refused: ``runs``, a
list of (start, end) the scan sets before each chunk."""


def _record_refused(error: UnicodeError) -> tuple[str, int]:
    """Note where the UTF-8 decoder refused bytes, and drop them."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    _refused.runs.append((error.start, error.end))
    return "", error.end


codecs.register_error(_SCAN_ERRORS, _record_refused)


def _decode_mixed(data: Any, errors: str = "strict", /) -> tuple[str, int]:
    return codecs.utf_8_decode(data, _CP1252_ERRORS, True)


class _MixedDecoder(codecs.BufferedIncrementalDecoder):
    """UTF-8 with the bytes that are not UTF-8 read as cp1252; it never fails."""

    def _buffer_decode(self, data: Any, errors: str, final: bool) -> tuple[str, int]:
        return codecs.utf_8_decode(data, _CP1252_ERRORS, final)


def _find_mixed_codec(name: str) -> codecs.CodecInfo | None:
    """The codec of :data:`MIXED_ENCODING`, a name codecs.lookup gives as 'utf_8_cp1252'."""
    if name.replace("-", "_").replace("+", "_") != "utf_8_cp1252":
        return None
    return codecs.CodecInfo(
        codecs.utf_8_encode,
        _decode_mixed,
        incrementalencoder=codecs.getincrementalencoder("utf-8"),
        incrementaldecoder=_MixedDecoder,
        name=MIXED_ENCODING,
    )


codecs.register(_find_mixed_codec)


def bom_encoding(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def utf16_without_bom(head: bytes) -> str | None:
    """Recognise UTF-16 text by its NUL bytes: ASCII is every other byte zero."""
    sample = head[: len(head[:1024]) // 2 * 2]
    pairs = len(sample) // 2
    if pairs == 0:
        return None
    even_nuls, odd_nuls = sample[0::2].count(0), sample[1::2].count(0)
    if odd_nuls * 10 >= pairs * 3 and even_nuls * 20 <= pairs:
        return "utf-16-le"
    if even_nuls * 10 >= pairs * 3 and odd_nuls * 20 <= pairs:
        return "utf-16-be"
    return None


@dataclass(frozen=True)
class DetectedEncoding:
    """How a CSV file without a given encoding is to be decoded."""

    encoding: str
    errors: str
    has_nul: bool
    note: str | None = None


def detect_encoding(path: str | os.PathLike[str], source: str, head: bytes) -> DetectedEncoding:
    """A BOM, else UTF-16 by its NULs, else UTF-8 if the whole file is, else cp1252.

    A file that is not UTF-8 but holds valid multi-byte UTF-8 characters is UTF-8 with
    some rows in cp1252 (pasted from another system): it is read as
    :data:`MIXED_ENCODING`, which gives both kinds of rows right, with a note naming the
    rows. A file without them reads the same either way, as cp1252, without a word.
    """
    found = bom_encoding(head) or utf16_without_bom(head)
    if found is not None:
        return DetectedEncoding(found, "strict", has_nul=False)
    is_utf8, has_nul = _scan_utf8(path)
    if is_utf8:
        return DetectedEncoding("utf-8", "strict", has_nul)
    scan = _scan_not_utf8(path)
    if not scan.multibyte:
        return DetectedEncoding("cp1252", _FALLBACK_ERRORS, scan.has_nul)
    return DetectedEncoding(MIXED_ENCODING, "strict", scan.has_nul, _mixed_note(source, scan))


def _scan_utf8(path: str | os.PathLike[str]) -> tuple[bool, bool]:
    """Whether the whole file is valid UTF-8, and whether it holds a NUL byte.

    Reads 1 MiB at a time, so memory stays small however large the file. Stops at the
    first byte that is not UTF-8 (the NUL answer is then for the bytes before it).
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    has_nul = False
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            has_nul = has_nul or b"\x00" in chunk
            if not (chunk.isascii() and not decoder.getstate()[0]):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    return False, has_nul
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False, has_nul
    return True, has_nul


@dataclass(frozen=True)
class _NotUtf8:
    """What a file that is not UTF-8 holds, for choosing how to read it."""

    has_nul: bool
    multibyte: bool
    """Whether valid multi-byte UTF-8 characters appear."""
    bad_lines: int
    """How many lines hold bytes that are not UTF-8."""
    first_bad_line: int
    """The first of them, 1-based; the note calls it a row, as it is unless a quoted field
    spans several lines (then it is a line of that row)."""
    first_bad_bytes: bytes
    """The first bytes the UTF-8 decoder refused, as one error (1 to 3 bytes)."""


def _scan_not_utf8(path: str | os.PathLike[str]) -> _NotUtf8:
    """Whether a file that is not UTF-8 holds valid multi-byte UTF-8 characters; if so,
    where its bytes that are not UTF-8 are."""
    has_nul = False
    decoder = codecs.getincrementaldecoder("utf-8")("ignore")
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            has_nul = has_nul or b"\x00" in chunk
            if not decoder.decode(chunk).isascii():
                return _count_not_utf8(path)
    return _NotUtf8(has_nul, multibyte=False, bad_lines=0, first_bad_line=0, first_bad_bytes=b"")


def _count_not_utf8(path: str | os.PathLike[str]) -> _NotUtf8:
    """Decode the whole file as UTF-8, 1 MiB at a time, noting the bytes that are not UTF-8;
    for a file known to hold valid multi-byte UTF-8 characters.

    The decoding and the line counting run in C; Python only sees each refused byte, via
    the error handler, and each line holding one.
    """
    has_nul = after_cr = False
    line, bad_lines, last_bad, first_line, first_bytes = 1, 0, 0, 0, b""
    tail = b""  # a character cut by the end of the previous chunk
    with open(path, "rb") as file:
        while True:
            chunk = file.read(_CHUNK)
            has_nul = has_nul or b"\x00" in chunk
            data = tail + chunk
            refused: list[tuple[int, int]] = []
            _refused.runs = refused
            consumed = codecs.utf_8_decode(data, _SCAN_ERRORS, not chunk)[1]
            position = 0
            for start, end in refused:
                line += count_byte_line_breaks(data, position, start, after_cr)
                position, after_cr = start, False  # a refused byte is no line break
                if line == last_bad:
                    continue
                if not bad_lines:
                    first_line, first_bytes = line, data[start:end]
                bad_lines, last_bad = bad_lines + 1, line
            line += count_byte_line_breaks(data, position, consumed, after_cr)
            after_cr = data[consumed - 1 : consumed] == b"\r" if consumed > position else after_cr
            tail = data[consumed:]
            if not chunk:
                return _NotUtf8(has_nul, True, bad_lines, first_line, first_bytes)


def count_byte_line_breaks(data: bytes, start: int, end: int, after_cr: bool) -> int:
    """:func:`_count_line_breaks` for ``data[start:end]``, without copying it."""
    breaks = data.count(b"\n", start, end)
    if data.find(b"\r", start, end) >= 0:  # counting \r and \r\n costs more than finding one
        breaks += data.count(b"\r", start, end) - data.count(b"\r\n", start, end)
    return breaks - 1 if after_cr and data.startswith(b"\n", start, end) else breaks


def _mixed_note(source: str, scan: _NotUtf8) -> str:
    """The warning for a UTF-8 file with rows in cp1252, which says how it was read."""
    if scan.bad_lines == 1:
        rows = f"row {scan.first_bad_line} is not UTF-8"
    else:
        rows = f"{scan.bad_lines:,} rows are not UTF-8 (the first is row {scan.first_bad_line})"
    first = scan.first_bad_bytes
    example = shown(first.decode("cp1252", _FALLBACK_ERRORS))
    return (
        f"{source}: {rows} though the rest of the file is; read the bytes that are not "
        f"UTF-8 as cp1252 ({first.hex(' ').upper()} as '{example}') and the rest as UTF-8; "
        "pass --encoding utf-8 or --encoding cp1252 to choose"
    )


def check_encoding(source: str, encoding: str) -> None:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise unknown_encoding(source, encoding) from None


def unknown_encoding(source: str, encoding: str) -> ExportError:
    return ExportError(
        f"{source}: unknown encoding {encoding!r}; use one such as utf-8, cp1252 or utf-16"
    )


def find_undecodable(path: str | os.PathLike[str], encoding: str) -> tuple[int, bytes]:
    """The 1-based line of the first bytes ``encoding`` cannot decode, and those bytes.

    Only called after a decoding error: the text layer decodes 8 KB at a time,
    so the row being parsed when it fails is not where the bad byte is.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    line, after_cr = 1, False
    with open(path, "rb") as file:
        while True:
            chunk = file.read(_CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                decoded = bytes(error.object[: error.start]).decode(encoding, "replace")
                line += _count_line_breaks(decoded, after_cr)
                return line, bytes(error.object[error.start : error.end])
            if not chunk:
                return line, b""
            line += _count_line_breaks(text, after_cr)
            after_cr = text.endswith("\r")


def _count_line_breaks(text: str, after_cr: bool) -> int:
    """Count \\r\\n, \\n and \\r line ends, as csv's line_num does."""
    breaks = text.count("\n") + text.count("\r") - text.count("\r\n")
    return breaks - 1 if after_cr and text.startswith("\n") else breaks
