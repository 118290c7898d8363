"""The kind of file from its first bytes: CSV, XLSX, or something funnel cannot read.

It reads no file itself (it is given the bytes), so readers/sources.py can refuse a stream
that is no export from its first chunk, before copying it.
"""

from __future__ import annotations

from funnelcli.errors import ExportError
from funnelcli.readers.tabular.encoding import bom_encoding, utf16_without_bom

HEAD_BYTES = 64 * 1024  # the first bytes, that tell the kind of file (and binary data)
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0"
_OTHER_FORMATS = (
    (b"\x89PNG", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"{\\rtf", "an RTF document"),
)
_CONTROL_BYTES = bytes(range(0x00, 0x09)) + bytes(range(0x0E, 0x20))


def sniff_kind(source: str, head: bytes) -> str:
    """Return "xlsx" or "csv" from the first bytes (up to 64 KiB), or raise for anything
    else; a stream is checked so before it is copied (readers/sources.py)."""
    if not head:
        raise ExportError(f"{source}: the file is empty; export the deals with a header row")
    if head.startswith(_ZIP_SIGNATURES):
        if b"mimetypeapplication/vnd.oasis.opendocument" in head[:128]:
            raise ExportError(
                f"{source}: an OpenDocument spreadsheet (.ods), which cannot be read; "
                "save it as .xlsx or CSV"
            )
        return "xlsx"
    if head.startswith(_OLE_SIGNATURE):
        raise ExportError(
            f"{source}: an old Excel 97-2003 .xls workbook, which cannot be read; "
            "open it in Excel and save it as .xlsx or CSV"
        )
    for signature, what in _OTHER_FORMATS:
        if head.startswith(signature):
            raise ExportError(_not_tabular(source, head, what))
    if bom_encoding(head) is None and utf16_without_bom(head) is None and _is_binary(head):
        raise ExportError(_not_tabular(source, head, "binary data"))
    return "csv"


def _not_tabular(source: str, head: bytes, what: str) -> str:
    first = " ".join(f"{byte:02X}" for byte in head[:4])
    return (
        f"{source}: not a CSV or XLSX file (starts with bytes {first}, {what}); "
        "export the deals as CSV or XLSX"
    )


_BINARY_CONTROLS = 8
"""Fewer control bytes than this are CRM text (an ESC or BEL pasted into a deal name,
which the outputs strip), however short the file."""


def _is_binary(head: bytes) -> bool:
    """Whether more than 1% of the first 64 KiB, and at least 8 bytes, are control bytes
    no text file has.

    Text in any 8-bit encoding has none of them, or a few pasted into a field (tab, line
    ends, the vertical tab and form feed are not counted); random or compressed bytes
    have about 10%.
    """
    sample = head[:HEAD_BYTES]
    # NUL is left out: stray NULs in a text export are stripped, not refused.
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES[1:]))
    return controls >= _BINARY_CONTROLS and controls * 100 > len(sample)


# --- CSV: encoding -----------------------------------------------------------
