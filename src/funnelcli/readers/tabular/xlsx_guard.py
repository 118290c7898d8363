"""Look at an XLSX workbook before a reader opens it: which sheet to read, and whether
reading it would blow up memory.

Reading the ZIP directory (the zip-bomb check in readers/tabular/xlsx.py) bounds how much
XML a file holds, not what a reader makes of it. calamine holds a sheet as one dense grid
of 32-byte cells spanning the first to the last cell it meets, and copies a shared string
into every cell that uses it; so a 2 KB file with one cell at XFD20000 asks for 10 GB, and
a 4 MB shared string used by 1,000 cells for 4 GB, which ends the process with a Rust
abort. This module (with readers/tabular/xlsx_scan.py) streams the shared strings and the
sheet's XML, 1 MiB at a time and without an XML parser, and refuses such a file in one
line before any reader runs. The scan is in C when
``_xlsx_scan.c`` was built (16% of the time calamine then takes to read the 100,000-deal
benchmark export; 3 s for a sheet of 1,048,576 rows by 20 columns, which calamine reads in
14 s); else, or with ``FUNNEL_COMPILED=0``, byte searches and one regular expression per
chunk do the same about five times slower.

The caps (in readers/tabular/xlsx_scan.py):

* :data:`MAX_CELLS`: the cells between A1 and the last row and column referenced.
* :data:`SPARSE_FLOOR` and :data:`SPARSE_RATIO`: a grid past the floor that is more than
  the ratio times the cells the sheet really holds is refused: its far cells are not data.
* :data:`MAX_STRING`: Excel's own limit on a cell's text, for shared and inline strings.
* :data:`MAX_SHARED_COPIES`: the characters of shared strings the cells copy, all together.

The ``<dimension ref="...">`` element is not trusted nor needed: writers often store a
wrong one, openpyxl is told to ignore it (``reset_dimensions``), and calamine only uses it
to reserve room for at most 100,000 cells. What is measured is the cells really present.

The scan also finds the formulas saved without a value (``<f>`` and no ``<v>``, as
openpyxl writes them), which both readers would give as empty cells.

The sheet read, when none is named, is the active one if it is visible, else the first
visible one (a hidden first sheet often holds lookups). Which one, and why, is a note only
when it is not the first worksheet: the common case of one sheet, or of the first, stays
quiet, and a changed choice is always said.
"""

from __future__ import annotations

import html
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from funnelcli.errors import shown
from funnelcli.readers.tabular.xlsx_scan import (
    check_shared_strings,
    refuse_shared_copies,
    scan_sheet,
)

_LISTED = 8

_TAG = re.compile(rb"<(?:[\w.-]+:)?(sheet|Relationship|workbookView)\s([^>]*)>")
_ATTRIBUTE = re.compile(rb"""([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_SMALL_PART = 1024 * 1024


@dataclass(frozen=True)
class _Sheet:
    name: str
    part: str | None
    kind: str
    """"worksheet", "chartsheet" or another kind of sheet, from its relationship's type."""
    visible: bool


@dataclass(frozen=True)
class Checked:
    """What the checks found, for the reader."""

    sheet: str | None
    """The sheet to read when the user named none; None to let the reader take its first."""
    note: str | None = None
    """Which sheet was read, when the workbook has several and it is not the first."""
    others: tuple[str, ...] = ()
    """The other visible worksheets, for a message that suggests --sheet."""
    unsaved_formulas: dict[int, int] = field(default_factory=dict)
    """0-based column -> cells of the read sheet holding a formula with no saved value."""


def check_workbook(path: str, source: str, sheet: str | None) -> Checked:
    """Pick the sheet to read and refuse it, in one line, when reading it would blow up.

    Raises :class:`ExportError`. A file that is not a readable ZIP, or whose parts cannot
    be told apart, is left to the reader's own messages (what can be scanned still is).
    """
    try:
        archive = zipfile.ZipFile(path)
    except Exception:  # a damaged ZIP: the reader words the message
        return Checked(sheet=None)
    with archive:
        sheets, active = _workbook_sheets(archive)
        chosen = _chosen(sheets, active, sheet)
        shared = check_shared_strings(archive, source)
        if chosen is not None and chosen.part is not None:
            parts = [(chosen.part, chosen.name)]
        elif sheets and sheet is not None:
            return Checked(sheet=None)  # no such sheet: the reader lists the sheets
        else:  # the sheets cannot be mapped to their parts: scan every worksheet
            parts = [
                (name, name)
                for name in archive.namelist()
                if name.startswith("xl/worksheets/") and name.endswith(".xml")
            ]
        formulas: dict[int, int] = {}
        for part, title in parts:
            facts = scan_sheet(archive, part, source, title, shared)
            refuse_shared_copies(archive, part, facts, shared, f"{source}: sheet '{shown(title)}'")
            if chosen is not None:
                formulas = dict(facts.unsaved_formulas)
    return Checked(
        sheet=chosen.name if chosen is not None and sheet is None else None,
        note=_choice_note(source, sheets, active, chosen) if sheet is None else None,
        others=_others(sheets, chosen),
        unsaved_formulas=formulas,
    )


# --- which sheet ---------------------------------------------------------------


def _workbook_sheets(archive: zipfile.ZipFile) -> tuple[list[_Sheet], int]:
    """The sheets in workbook order, and the index of the active one (0 when unsaid).

    Read with regular expressions, not an XML parser (no entity is expanded), and only
    when both parts are small; ([], 0) when anything is missing or odd.
    """
    try:
        workbook = _small_part(archive, "xl/workbook.xml")
        relationships = _small_part(archive, "xl/_rels/workbook.xml.rels")
    except Exception:  # no such part, or a damaged one
        return [], 0
    targets: dict[str, tuple[str, str]] = {}
    for attributes in _tags(relationships, b"Relationship"):
        if "Id" in attributes and "Target" in attributes:
            target = attributes["Target"]
            part = target[1:] if target.startswith("/") else posixpath.join("xl", target)
            kind = attributes.get("Type", "").rsplit("/", 1)[-1]
            targets[attributes["Id"]] = (posixpath.normpath(part), kind)
    sheets = []
    for attributes in _tags(workbook, b"sheet"):
        ids = [value for key, value in attributes.items() if key.endswith(":id")]
        found = targets.get(ids[0]) if ids else None
        # No relationship: a worksheet of unknown part, for the reader to judge.
        sheet_part: str | None = found[0] if found is not None else None
        kind = found[1] if found is not None else "worksheet"
        state = attributes.get("state", "visible")
        sheets.append(_Sheet(attributes.get("name", ""), sheet_part, kind, state == "visible"))
    active = 0
    for attributes in _tags(workbook, b"workbookView"):
        if attributes.get("activeTab", "").isdigit():
            active = int(attributes["activeTab"])
        break
    return sheets, active


def _chosen(sheets: list[_Sheet], active: int, named: str | None) -> _Sheet | None:
    """The named worksheet (in any case), else the active one when visible, else the first
    visible one, else the first; None when the workbook lists no worksheet."""
    worksheets = [entry for entry in sheets if entry.kind == "worksheet"]
    if named is not None:
        wanted = named.casefold()
        return next((entry for entry in worksheets if entry.name.casefold() == wanted), None)
    if 0 <= active < len(sheets) and sheets[active] in worksheets and sheets[active].visible:
        return sheets[active]
    visible = [entry for entry in worksheets if entry.visible]
    if visible:
        return visible[0]
    return worksheets[0] if worksheets else None


def _choice_note(
    source: str, sheets: list[_Sheet], active: int, chosen: _Sheet | None
) -> str | None:
    """Which sheet is read and why, when the workbook has several worksheets and it is not
    the first: the first one is what funnel read before, and what most users expect."""
    worksheets = [entry for entry in sheets if entry.kind == "worksheet"]
    if chosen is None or len(worksheets) < 2 or chosen is worksheets[0]:
        return None
    first = worksheets[0]
    if 0 <= active < len(sheets) and chosen is sheets[active]:
        why = "the active sheet"
    else:
        why = "the first visible one"
    if not first.visible:
        why += f"; '{shown(first.name)}' is hidden"
    return (
        f"{source}: reading sheet '{shown(chosen.name)}' ({why}); "
        f"{_listed(_others(sheets, chosen))}; pick another with --sheet NAME"
    )


def _others(sheets: list[_Sheet], chosen: _Sheet | None) -> tuple[str, ...]:
    return tuple(
        entry.name
        for entry in sheets
        if entry.kind == "worksheet" and entry.visible and entry is not chosen
    )


def _listed(names: tuple[str, ...]) -> str:
    """ "the other sheets are: A, B" with at most _LISTED names; "no other sheet" for none."""
    if not names:
        return "the workbook has no other visible sheet"
    shown_names = ", ".join(f"'{shown(name, 30)}'" for name in names[:_LISTED])
    more = len(names) - _LISTED
    return f"the other sheets are: {shown_names}" + (f" and {more:,} more" if more > 0 else "")


def other_sheets_hint(checked: Checked) -> str:
    """The end of a message about the sheet read: the other sheets, and the option."""
    if not checked.others:
        return ""
    return f"; {_listed(checked.others)}; pick one with --sheet NAME"


def _small_part(archive: zipfile.ZipFile, name: str) -> bytes:
    if archive.getinfo(name).file_size > _SMALL_PART:
        raise ValueError(f"{name} is too large to read for its sheet names")
    return archive.read(name)


def _tags(xml: bytes, wanted: bytes) -> Iterator[dict[str, str]]:
    """The attributes of each ``<wanted ...>`` tag, in any namespace prefix."""
    for tag in _TAG.finditer(xml):
        if tag[1] == wanted:
            yield {
                attribute[1].decode("utf-8", "replace"): html.unescape(
                    (attribute[2] or attribute[3] or b"").decode("utf-8", "replace")
                )
                for attribute in _ATTRIBUTE.finditer(tag[2])
            }
