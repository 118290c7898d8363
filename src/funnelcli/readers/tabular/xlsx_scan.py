"""The scan of an XLSX sheet's XML and of its shared strings, for the XLSX guard
(readers/tabular/xlsx_guard.py): 1 MiB at a time and without an XML parser, in C when
``_xlsx_scan.c`` was built, else with byte searches and one regular expression per chunk.
The caps it holds a sheet to are below; the guard's docstring says why they are needed.
"""

from __future__ import annotations

import html
import itertools
import os
import posixpath
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO

from funnelcli.errors import ExportError, shown

MAX_CELLS = 50_000_000
"""The most cells the grid from A1 to the last row and column referenced may hold.

calamine gives each 32 bytes, so this is 1.6 GB. A full Excel sheet of real data,
1,048,576 rows of 20 columns, is 21 million; 50 million leaves room for 47 such columns,
about as many as the 2 GiB of XML the zip-bomb check lets through."""

SPARSE_FLOOR = 4_194_304
"""A grid of up to this many cells (128 MiB in calamine) is read however sparse it is."""

SPARSE_RATIO = 64
"""Past :data:`SPARSE_FLOOR`, a grid more than this many times the cells the sheet holds
is refused. A real export fills most of its grid; one with 100 columns of which 5 are
filled is at 20."""

MAX_STRING = 32_767
"""Excel's limit on the characters of one cell; a longer string was not written by a
spreadsheet, and a shared one is copied into every cell that uses it."""

MAX_SHARED_COPIES = 500_000_000
"""The most characters of shared strings all the sheet's cells may copy, each cell its
string (500 MB of ASCII text in calamine, three times that for Chinese). A 1,048,576-row
sheet of 20 text columns averaging 20 characters copies 420 million."""

EXCEL_ROWS = 1_048_576
EXCEL_COLUMNS = 16_384

_CHUNK = 1024 * 1024
_WINDOW = 16 * 1024
"""A text run longer than MAX_STRING bytes covers a whole aligned window of this size."""
_LONGEST_RUN = 16 * MAX_STRING
"""Bytes of text past which a run is refused without counting its characters: even
written as ``&#x10FFFF;`` entities, it holds more than MAX_STRING characters."""
_REF = re.compile(rb"([A-Za-z]*)0*(\d+)")
_ROOT = re.compile(rb"<([\w.-]+:)?worksheet[\s>]")


@dataclass
class _Facts:
    """What the scan of one sheet found."""

    cells: int = 0
    last_row: int = 0
    last_column: int = 0
    irregular: bool = False
    """A cell without ``r="..."`` first (or in lower case): positions are worked out by
    a slower tokenizing pass over the whole sheet, as calamine works them out."""
    unsaved_formulas: Counter[int] = field(default_factory=Counter)
    prefix: bytes = b""
    """The namespace prefix of the sheet's elements, ``x:`` in ``<x:c>``; mostly none."""
    copies: int | None = None
    """The bytes of shared strings the cells copy (bytes bound characters from above), as
    the compiled scan counts them; None from the Python scan."""


def scan_sheet(
    archive: zipfile.ZipFile, part: str, source: str, title: str, shared: SharedStrings
) -> _Facts:
    """Refuse the sheet when its cells span too large a grid or hold too long a text."""
    where = f"{source}: sheet '{shown(title)}'"
    facts = _Facts()
    with archive.open(part) as stream:
        chunks = _whole_tags(stream, where)
        first = next(chunks, b"")
        root = _ROOT.search(first[:4096])
        prefix = (root[1] or b"") if root else b""
        patterns = _Patterns(prefix)
        compiled = _compiled_scan()
        lengths = bytes(shared.lengths)
        for data in itertools.chain((first,), chunks):
            _scan_chunk(data, patterns, facts, where, compiled, lengths)
    if facts.irregular:
        facts = _Facts(unsaved_formulas=facts.unsaved_formulas, copies=facts.copies)
        with archive.open(part) as stream:
            _positions(_whole_tags(stream, where), _Patterns(prefix), facts)
    facts.prefix = prefix
    _refuse_grid(facts, where)
    return facts


class _Patterns:
    """The byte patterns of one sheet, in the namespace prefix its root element uses."""

    def __init__(self, prefix: bytes) -> None:
        self.prefix = prefix
        self.cell_open = b"<" + prefix + b"c "
        self.cell_bare = b"<" + prefix + b"c>"
        self.cell_ref = b"<" + prefix + b'c r="'
        self.formula = b"<" + prefix + b"f"
        escaped = re.escape(prefix)
        self.unsaved = re.compile(
            rb"<" + escaped + rb'c r="([A-Z]+)\d+"[^>]*>'
            rb"<" + escaped + rb"f\b(?:[^>]*/>|[^>]*>[^<]*</" + escaped + rb"f>)"
            rb"(?:<" + escaped + rb"v\s*/>|<" + escaped + rb"v></" + escaped + rb"v>)?"
            rb"</" + escaped + rb"c>"
        )
        self.tag = re.compile(rb"<(/?)" + escaped + rb"(row|c)\b([^>]*?)(/?)>")
        # <c r="..."> is counted by byte searches; any other white space after <c goes the
        # slower way, or a tab before r="XFD20000" would hide the reference.
        self.cell_spaced = re.compile(rb"<" + escaped + rb"c[\t\r\n]")


_CELL_REACH = 64 * 1024
"""How far from a chunk's end its last ``</c>`` may be to end the chunk."""


def _whole_tags(stream: IO[bytes], where: str) -> Iterator[bytes]:
    """The part in chunks of about 1 MiB, each ending just after a ``</c>`` near its end, so
    no cell is cut in two; else (a long text, or rows without cells) after its last ``>``."""
    return _chunks_cut(
        stream,
        lambda data: _last_end(data, b"c>", _CELL_REACH) or data.rfind(b">") + 1,
        f"{where}: a cell holds over {_LONGEST_RUN:,} bytes of text, more than "
        f"the {MAX_STRING:,} characters a cell can hold; {_FIX}",
    )


_FIX = "refusing it, as reading it could exhaust memory; export the deals as CSV"


@dataclass(frozen=True)
class _Compiled:
    """The functions of ``_xlsx_scan.c`` (its comment says what they return)."""

    scan: Callable[[bytes, bytes, bytes], tuple[int, int, int, bool, bool, int]]
    string_lengths: Callable[[bytes], bytes]


def _compiled_scan() -> _Compiled | None:
    """The scan in C (``_xlsx_scan.c``), None without it or with ``FUNNEL_COMPILED=0``."""
    if os.environ.get("FUNNEL_COMPILED") == "0":
        return None
    try:
        from funnelcli._xlsx_scan import scan, string_lengths  # lazy: compiled, may be absent
    except ImportError:  # built without a C compiler: the Python scan does the same
        return None
    return _Compiled(scan, string_lengths)


def _scan_chunk(
    data: bytes,
    patterns: _Patterns,
    facts: _Facts,
    where: str,
    compiled: _Compiled | None,
    lengths: bytes,
) -> None:
    if compiled is not None:
        cells, last_row, last_column, irregular, formulas, copies = compiled.scan(
            data, patterns.prefix, lengths
        )
        facts.copies = (facts.copies or 0) + copies
        facts.cells += cells
        facts.last_row = max(facts.last_row, last_row)
        facts.last_column = max(facts.last_column, last_column)
        facts.irregular = facts.irregular or irregular
    else:
        _scan_chunk_in_python(data, patterns, facts)
        formulas = patterns.formula in data
    _refuse_long_text(data, where, facts)
    if formulas:
        for letters in patterns.unsaved.findall(data):
            facts.unsaved_formulas[_column_number(letters) - 1] += 1


def _scan_chunk_in_python(data: bytes, patterns: _Patterns, facts: _Facts) -> None:
    """What _xlsx_scan.c does, with byte searches and one regular expression."""
    cells = data.count(patterns.cell_open) + data.count(patterns.cell_bare)
    facts.cells += cells
    if data.count(patterns.cell_ref) != cells or patterns.cell_spaced.search(data):
        facts.irregular = True
    last = data.rfind(b'c r="')
    while last >= 0 and _empty_cell(data, last):
        last = data.rfind(b'c r="', 0, last)
    if last >= 0:
        _see_ref(facts, data[last + 5 : data.find(b'"', last + 5)])
    # Rows are in order in real sheets, so the last reference is the largest and this finds
    # nothing; a reference past it is read in full.
    for found in _greater_refs(facts).finditer(data):
        start = found.start() + 5
        ref = data[start : data.find(b'"', start)]
        if ref[:1].islower():
            facts.irregular = True
        if not _empty_cell(data, found.start()):
            _see_ref(facts, ref)


def _empty_cell(data: bytes, at: int) -> bool:
    """Whether the cell tag at ``at`` closes itself, ``<c r="M9" s="1"/>``: a formatted
    empty cell, which calamine skips (and a row's ``r`` places only cells without one)."""
    end = data.find(b">", at)
    return end > 0 and data[end - 1] == ord("/")


def _see_ref(facts: _Facts, ref: bytes) -> None:
    match = _REF.fullmatch(ref)
    if match is None:
        return
    letters, digits = match.groups()
    row = int(digits) if len(digits) <= 8 else EXCEL_ROWS * 1000
    facts.last_row = max(facts.last_row, row)
    if letters:
        facts.last_column = max(facts.last_column, _column_number(letters))


def _greater_refs(facts: _Facts) -> re.Pattern[bytes]:
    """References past the last row or the last column seen so far, or in lower case (which
    calamine reads as upper case, and this scan does not); re caches the compiled forms."""
    rows = _greater_number(facts.last_row)
    columns = _greater_letters(facts.last_column)
    # Possessive, and a row with fewer digits than the last is dropped at once: a reference
    # that is past neither costs little.
    digits = len(str(facts.last_row))
    return re.compile(
        rb'c r="(' + columns + rb"|[a-z]|[A-Z]*+0*+(?=\d{%d})(?:" % digits + rows + rb')")'
    )


def _greater_number(number: int) -> bytes:
    """A pattern for the decimal numbers above ``number`` (without leading zeros)."""
    text = str(number).encode()
    options = [rb"[1-9]\d{%d,}" % len(text)]
    for index, digit in enumerate(text):
        if digit < ord("9"):
            options.append(
                re.escape(text[:index])
                + b"[%c-9]" % (digit + 1)
                + rb"\d{%d}" % (len(text) - index - 1)
            )
    return b"|".join(options)


def _greater_letters(column: int) -> bytes:
    """A pattern for the column letters after ``column`` (1-based; 0 before A)."""
    if column == 0:
        return rb"[A-Z]+"
    text = column_letters(column).encode()
    options = [rb"[A-Z]{%d,}" % (len(text) + 1)]
    for index, letter in enumerate(text):
        if letter < ord("Z"):
            options.append(
                text[:index] + b"[%c-Z]" % (letter + 1) + rb"[A-Z]{%d}" % (len(text) - index - 1)
            )
    return b"(?:" + b"|".join(options) + b")"


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper()[:8]:  # past 8 letters it is far beyond any cap anyway
        number = number * 26 + letter - ord("A") + 1
    return number


def column_letters(number: int) -> str:
    """The Excel letters of a 1-based column: 1 is A, 28 is AB."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _refuse_long_text(data: bytes, where: str, facts: _Facts) -> None:
    """Refuse a text run (a string, a formula) longer than a cell can hold."""
    for start in range(0, len(data) - _WINDOW + 1, _WINDOW):
        if data.find(b"<", start, start + _WINDOW) >= 0:
            continue
        begin = data.rfind(b">", 0, start) + 1
        end = data.find(b"<", start)
        end = len(data) if end < 0 else end
        characters = _characters(data[begin:end])
        if characters > MAX_STRING:
            cell = data.rfind(b' r="', 0, begin)
            ref = data[cell + 4 : data.find(b'"', cell + 4)].decode("ascii", "replace")
            place = f"cell {shown(ref, 12)}" if cell >= 0 else "a cell"
            raise ExportError(
                f"{where}: {place} holds {characters:,} characters, more than the "
                f"{MAX_STRING:,} a cell can hold; {_FIX}"
            )


def _characters(text: bytes) -> int:
    if len(text) > _LONGEST_RUN:
        return len(text)  # bytes then bound the characters from below closely enough
    return len(html.unescape(text.decode("utf-8", "replace")))


def _positions(chunks: Iterator[bytes], patterns: _Patterns, facts: _Facts) -> None:
    """Every cell's position as calamine works it out, for a sheet whose cells do not all
    begin with ``r="..."``: a row's ``r`` sets the row, the end of a row moves to the next
    one, a cell's ``r`` sets its place, a cell without one follows the one before."""
    row, column = 0, 0
    for data in chunks:
        for closing, name, attributes, empty in patterns.tag.findall(data):
            if empty:  # calamine skips an empty element, and does not move on
                facts.cells += name == b"c"
                continue
            reference = _R_ATTRIBUTE.search(attributes)
            if name == b"row":
                if closing:
                    row, column = row + 1, 0
                elif reference is not None:
                    row = _row_of(reference[2]) - 1
                continue
            if closing:
                continue
            facts.cells += 1
            cell_row = row
            if reference is not None:
                match = _REF.fullmatch(reference[2])
                if match is not None:  # a cell's own reference does not move the row on
                    cell_row = _row_of(reference[2]) - 1
                    column = _column_number(match[1]) - 1
            facts.last_row = max(facts.last_row, cell_row + 1)
            facts.last_column = max(facts.last_column, column + 1)
            column += 1


_R_ATTRIBUTE = re.compile(rb"""(?:^|\s)r\s*=\s*(["'])([^"']*)\1""")


def _row_of(reference: bytes) -> int:
    match = _REF.fullmatch(reference)
    if match is None:
        return 1
    digits = match[2]
    return int(digits) if len(digits) <= 8 else EXCEL_ROWS * 1000


def _refuse_grid(facts: _Facts, where: str) -> None:
    grid = facts.last_row * facts.last_column
    far = f"{column_letters(min(facts.last_column, EXCEL_COLUMNS * 1000))}{facts.last_row}"
    if grid > MAX_CELLS:
        reason = f"more than the {MAX_CELLS:,} cells funnel reads from a sheet"
    elif grid > SPARSE_FLOOR and grid > SPARSE_RATIO * max(facts.cells, 1):
        reason = (
            f"over {SPARSE_RATIO} times the {facts.cells:,} cells it holds: "
            "its far cells are not data"
        )
    else:
        return
    raise ExportError(
        f"{where}: its cells span A1:{shown(far, 16)}, a grid of {facts.last_row:,} rows by "
        f"{facts.last_column:,} columns ({grid:,} cells), {reason}; {_FIX}"
    )


# --- shared strings --------------------------------------------------------------


@dataclass
class SharedStrings:
    """What the scan of the shared strings found."""

    name: str | None = None
    """The part's path; None when the workbook has none."""
    longest: int = 0
    """The most characters of any one string, or a bound above it (see _SHARED_WINDOW)."""
    lengths: bytearray = field(default_factory=bytearray)
    """Each string's text bytes as native uint32s, from the compiled scan; else empty."""


_SHARED_WINDOW = 64
"""The shared strings are looked at in windows of this many bytes: a string that covers a
whole window has its characters counted, any other is shorter than two windows."""


def check_shared_strings(archive: zipfile.ZipFile, source: str) -> SharedStrings:
    """Refuse a shared string longer than a cell can hold: it is copied into every cell
    that uses it, so a few megabytes used by a thousand cells take gigabytes."""
    name = next(
        (
            member.filename
            for member in archive.infolist()
            if posixpath.basename(member.filename).casefold() == "sharedstrings.xml"
        ),
        None,
    )
    if name is None:
        return SharedStrings()
    found = SharedStrings(name, longest=2 * _SHARED_WINDOW)
    where = f"{source}: the shared strings"
    index = 0
    compiled = _compiled_scan()
    with archive.open(name) as stream:
        for data in _whole_strings(stream, where):
            if compiled is not None:
                lengths = compiled.string_lengths(data)
                found.lengths += lengths
                # Bytes bound characters: only a chunk with a long string is counted exactly.
                if max(memoryview(lengths).cast("I"), default=0) <= MAX_STRING:
                    index += len(lengths) // 4
                    continue
            found.longest = max(found.longest, _longest_string(data, where, index))
            index += data.count(b"<si>") + data.count(b"<si ")
    return found


def _whole_strings(stream: IO[bytes], where: str) -> Iterator[bytes]:
    """The part in chunks of about 1 MiB, each ending just after a ``</si>``."""
    return _chunks_cut(
        stream,
        lambda data: _last_end(data, b"si>", _LONGEST_RUN),
        f"{where}: a string takes over {_LONGEST_RUN:,} bytes, more than the "
        f"{MAX_STRING:,} characters a cell can hold; {_FIX}",
    )


def _chunks_cut(
    stream: IO[bytes], cut_at: Callable[[bytes], int], too_long: str
) -> Iterator[bytes]:
    """The stream in chunks of about 1 MiB, each ending where ``cut_at`` says (the rest
    waits for the next chunk); ``too_long`` is the refusal when the rest grows past
    :data:`_LONGEST_RUN` bytes, which no cell or string may take."""
    carry = b""
    while chunk := stream.read(_CHUNK):
        data = carry + chunk
        cut = cut_at(data)
        carry = data[cut:]
        if len(carry) > _LONGEST_RUN:
            raise ExportError(too_long)
        if cut:
            yield data[:cut]
    if carry:
        yield carry


def _last_end(data: bytes, name: bytes, reach: int) -> int:
    """Where the last closing tag ``</name`` in the last ``reach`` bytes of ``data`` ends, in
    any namespace prefix (the opening tag also ends with ``name>``); 0 for none."""
    start = max(0, len(data) - reach)
    end = data.rfind(name, start)
    while end >= 0 and not _CLOSING.search(data, max(0, end - 32), end):
        end = data.rfind(name, start, end)
    return end + len(name) if end >= 0 else 0


_CLOSING = re.compile(rb"</(?:[\w.-]+:)?\Z")
_STRING_TEXT = re.compile(rb"<(?:[\w.-]+:)?t(?:\s[^>]*)?>([^<]*)<")
_PHONETIC = re.compile(rb"<(?:[\w.-]+:)?rPh\b.*?</(?:[\w.-]+:)?rPh>", re.DOTALL)
_STRING = re.compile(rb"<(?:[\w.-]+:)?si\b(?:[^>]*/>|.*?</(?:[\w.-]+:)?si>)", re.DOTALL)


def _longest_string(data: bytes, where: str, before: int) -> int:
    """The characters of the longest string that covers a whole window (0 for none); a
    string over MAX_STRING characters is refused."""
    longest, start, size = 0, 0, len(data)
    while start + _SHARED_WINDOW <= size:
        window_end = start + _SHARED_WINDOW
        if data.find(b"si>", start, window_end) >= 0 or data.find(b"<si ", start, window_end) >= 0:
            start = window_end
            continue
        begin = max(data.rfind(b"si>", 0, start), data.rfind(b"<si ", 0, start))
        end = data.find(b"si>", start)
        end = size if end < 0 else end
        characters = _string_characters(data[begin:end])
        if characters > MAX_STRING:
            number = before + data.count(b"<si", 0, begin) + 1
            raise ExportError(
                f"{where}: string {number:,} holds {characters:,} characters, more than "
                f"the {MAX_STRING:,} a cell can hold, and is copied into every cell that "
                f"uses it; {_FIX}"
            )
        longest = max(longest, characters)
        start = max(end, window_end)  # the string is counted once
    return longest


def _string_characters(xml: bytes) -> int:
    """The characters of one string's XML: its text runs, without phonetic guides."""
    text = _PHONETIC.sub(b"", xml)
    return sum(_characters(run) for run in _STRING_TEXT.findall(text))


def refuse_shared_copies(
    archive: zipfile.ZipFile, part: str, facts: _Facts, shared: SharedStrings, where: str
) -> None:
    """Refuse a sheet whose cells would copy more than MAX_SHARED_COPIES characters.

    The compiled scan counts the bytes copied, which bound the characters; without it, the
    bound is every cell holding the longest string. Either is all most sheets need; past
    it, each string's characters and each cell's string are read, in two more passes."""
    if shared.name is None:
        return
    bound = facts.copies if facts.copies is not None else facts.cells * shared.longest
    if bound <= MAX_SHARED_COPIES:
        return
    lengths: list[int] = []
    with archive.open(shared.name) as stream:
        for data in _whole_strings(stream, where):
            lengths += [_string_characters(found) for found in _STRING.findall(data)]
    prefix = re.escape(facts.prefix)
    used = re.compile(rb't="s"[^>]*>\s*<' + prefix + rb"v>\s*(\d{1,9})\s*</" + prefix + b"v>")
    copies = Counter[int]()
    with archive.open(part) as stream:
        for data in _whole_tags(stream, where):
            copies.update(int(index) for index in used.findall(data))
    total = sum(lengths[index] * count for index, count in copies.items() if index < len(lengths))
    if total > MAX_SHARED_COPIES:
        index, count = max(
            ((index, count) for index, count in copies.items() if index < len(lengths)),
            key=lambda pair: lengths[pair[0]] * pair[1],
        )
        raise ExportError(
            f"{where}: its cells copy {total:,} characters of shared strings, more than the "
            f"{MAX_SHARED_COPIES:,} funnel reads (string {index + 1:,}, {lengths[index]:,} "
            f"characters, is used by {count:,} cells); {_FIX}"
        )
