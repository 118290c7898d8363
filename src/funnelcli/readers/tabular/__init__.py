"""Turn a CSV or XLSX file into a header and a stream of rows.

This package knows files, not CRMs: it finds the header row, the encoding and
the delimiter, and hands the data rows on one at a time, so a 100 MB export
never sits in memory. It skips blank rows and the footer rows some CRMs write
below the data (``Total``, ``Confidential Information ...``, ``Copyright ...``)
and counts what it skipped in :class:`ReadStats`.

Row numbers are physical: the 1-based line of a CSV file on which a row starts
(a quoted field can hold line breaks, so a row can span several lines), or the
1-based row of the worksheet. They are what the user sees in an editor or in
Excel, so messages can point at them.

Standard input (``-``), a pipe or any other file that is not a regular one is read once,
into a temporary copy the reader can open again (readers/sources.py). A CSV line is read
with a bound (:data:`RECORD_SIZE_LIMIT`), so a file of megabytes without a line break is
refused before it fills the memory.

A CSV file that is UTF-8 but for a few rows in cp1252 is read as both
(:data:`MIXED_ENCODING`), and :attr:`Table.encoding_note` says which rows.

A large CSV file's rows can be shared between processes by byte ranges
(:func:`split_rows`, :func:`read_csv_range`): each range is decoded and parsed as the
whole file would be, its rows keep their line numbers, and its skipped rows are counted
in its own :class:`ReadStats`, which :meth:`ReadStats.merge` adds up.

An XLSX file is first checked for parts that would inflate like a zip bomb (only the
ZIP's directory is read; see :data:`XLSX_MAX_RATIO`), then for a sheet whose cells would
blow up memory once read (:mod:`~funnelcli.readers.tabular.xlsx_guard`, which also picks the sheet:
the active one when visible, else the first visible one). It is read with python-calamine
when it is installed, else with openpyxl; see :data:`USE_CALAMINE` for what differs.
calamine, a Rust parser, is about ten times faster on a large export, but it holds the
sheet's values in memory (the Python rows are still made one at a time); openpyxl
streams. Either is imported only when an XLSX file is read: openpyxl's import alone
costs about 130 ms, which a CSV report should not pay.

The modules, in the order a file meets them (import each name from the module that
defines it; this package's ``__init__`` imports nothing, so that readers/sources.py can
use :mod:`.kind` without importing the readers, which import it):

* :mod:`.read`: :func:`read_table`, the entry: the kind of file picks the reader.
* :mod:`.kind`: CSV, XLSX or neither, from the first bytes.
* :mod:`.table`: :class:`Table`, :class:`ReadStats` and :data:`Cell`, what a read returns.
* :mod:`.encoding`: a CSV file's encoding, and the codecs it is read with.
* :mod:`.csv_rows`: a CSV file's delimiter and rows, and its errors in one line.
* :mod:`.byte_ranges`: a CSV file's rows in byte ranges, for other processes.
* :mod:`.xlsx_guard`: an XLSX file checked before it is read: zip bombs, the sheet.
* :mod:`.xlsx_scan`: the scan of a sheet's cells and shared strings for the guard.
* :mod:`.xlsx`: an XLSX sheet's rows, by python-calamine or openpyxl.
* :mod:`.header`: the header row, and the blank and footer rows below it.
"""
