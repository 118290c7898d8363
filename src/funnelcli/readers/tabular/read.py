"""Open a CSV or XLSX file: its first bytes say which, and which reader reads it."""

from __future__ import annotations

import os

from funnelcli.readers.sources import local_path, unreadable
from funnelcli.readers.tabular.csv_rows import read_csv
from funnelcli.readers.tabular.kind import HEAD_BYTES, sniff_kind
from funnelcli.readers.tabular.table import HeaderScore, Table
from funnelcli.readers.tabular.xlsx import read_xlsx


def read_table(
    path: str | os.PathLike[str],
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    header_score: HeaderScore | None = None,
) -> Table:
    """Open a CSV or XLSX file, find its header row, and stream its data rows.

    The kind of file is decided by its first bytes, not its name. ``sheet``
    (XLSX only) picks a worksheet by name, case-insensitively; the first
    worksheet otherwise. ``encoding`` (CSV only) overrides the detection.
    ``header_score`` returns how many cells of a row the caller recognises as
    column names. Within the first 50 non-blank rows, the header is the first row
    of at least two cells, all text (no number, date or amount), that scores above
    zero or has at least half as many cells as the widest row below it; a later such
    row replaces it only when it is clearly a better header (a title or notes above
    the table; see :func:`_choose_header`). A row of data is never preferred over an
    earlier row of text.
    With no such row, the first row with the highest score above zero, else the
    first of at least two cells, none a plain number, as wide as half the widest below.

    Raises :class:`ExportError` with a one-line message for every problem of
    the file, including a decoding error found while ``rows`` is consumed.
    """
    source = os.fspath(path)
    # A stream (standard input, a pipe) is read once, into a file that can be read again.
    path = local_path(source)
    head = _read_head(path, source)
    if sniff_kind(source, head) == "xlsx":
        return read_xlsx(path, source, sheet, header_score)
    return read_csv(path, source, head, encoding, header_score)


# --- kind of file ------------------------------------------------------------


def _read_head(path: str | os.PathLike[str], source: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read(HEAD_BYTES)
    except OSError as error:
        raise unreadable(source, error) from None
