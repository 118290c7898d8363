"""Hypothesis strategies of inputs that get past the first check of each reader.

Random bytes are mostly refused at once (not text, no header, not a zip); these build
exports with the CRMs' real header names, cells of the kinds the readers parse (stage
labels, amounts, dates, flags), several delimiters and encodings, and worksheets and
funnel files that parse, so the fuzzer reaches the column mapping and the deal reader.
"""

from __future__ import annotations

import csv
import io
from xml.sax.saxutils import escape

import yaml
from hypothesis import strategies as st

from funnelcli.definition import DEFAULT_FUNNEL_DATA, TOP_LEVEL_KEYS
from funnelcli.readers.columns import FIELDS
from fuzz.targets import SHEET_HEAD

HEADER_NAMES = sorted({name for names in FIELDS.values() for name in names})
"""Every header name a CRM export is known to use, from readers/columns.py."""

_STAGE_LABELS = [
    "Lead",
    "MQL",
    "SQL",
    "Opportunity",
    "Won",
    "Closed Won",
    "closedwon",
    "Closed Lost",
    "lost: budget",
    "Proposal",
    "appointmentscheduled",
    "Prospecting",
]
_CELL_SAMPLES = [
    *_STAGE_LABELS,
    "Won",
    "Lost",
    "Open",
    "deleted",
    "true",
    "false",
    "1",
    "0",
    "x",
    "yes",
    "1000",
    "$2,500.00",
    "1.234,56 €",
    "EUR",
    "USD",
    "-5",
    "1e400",
    "NaN",
    "2024-03-05",
    "2024-02-30",
    "03/04/2024",
    "13/04/2024",
    "04/13/2024",
    "2024-03-05T10:00:00Z",
    "45000",
    "Total",
    'Date entered "MQL (Sales Pipeline)"',
    "",
    " ",
]

_STAGE_HEADERS = FIELDS["stage"]
cells = st.one_of(st.sampled_from(_CELL_SAMPLES), st.text(max_size=12))
_xml_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
xml_cells = st.one_of(st.sampled_from(_CELL_SAMPLES), _xml_text)


@st.composite
def headers(draw: st.DrawFn) -> list[str]:
    """Known header names and some random ones; mostly with a stage column, so rows are read."""
    names = draw(
        st.lists(st.one_of(st.sampled_from(HEADER_NAMES), st.text(max_size=10)), max_size=7)
    )
    if draw(st.integers(0, 9)) > 0:
        stage = draw(st.sampled_from(_STAGE_HEADERS))
        names.insert(draw(st.integers(0, len(names))), stage)
    return names or [draw(st.sampled_from(HEADER_NAMES))]


@st.composite
def csv_exports(draw: st.DrawFn) -> bytes:
    """A CSV export: known header names, random cells, a random delimiter and encoding."""
    header = draw(headers())
    width = len(header)
    # Rows mostly take their cells from the same few values, as real exports do.
    row_cells = st.one_of(st.sampled_from(_STAGE_LABELS), cells)
    rows = draw(st.lists(st.lists(row_cells, min_size=0, max_size=width + 2), max_size=12))
    titles = draw(st.lists(st.lists(cells, max_size=2), max_size=2))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, delimiter=delimiter, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))
    )
    writer.writerows([*titles, header, *rows])
    text = buffer.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    return text.encode(encoding, "replace")


def _cell_xml(column: int, row: int, value: str, kind: int) -> str:
    reference = f"{chr(ord('A') + column % 26)}{row}"
    if kind == 0:
        return f'<c r="{reference}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
    if kind == 1:
        return f'<c r="{reference}"><v>{escape(value)}</v></c>'
    if kind == 2:
        return f'<c r="{reference}" t="b"><v>{escape(value)}</v></c>'
    return f'<c r="{reference}" s="1"><v>{escape(value)}</v></c>'  # a style the file lacks


@st.composite
def sheet_xml(draw: st.DrawFn) -> bytes:
    """Worksheet XML: a header row of known names, then rows of typed cells."""
    header = draw(headers())
    rows = [[(name, 0) for name in header]]
    rows += draw(
        st.lists(
            st.lists(st.tuples(xml_cells, st.integers(0, 3)), max_size=len(header) + 1),
            max_size=8,
        )
    )
    numbers = draw(
        st.lists(
            st.integers(1, 60),
            min_size=len(rows),
            max_size=len(rows),
        )
    )
    body = "".join(
        f'<row r="{number}">'
        + "".join(
            _cell_xml(column, number, value, kind) for column, (value, kind) in enumerate(row)
        )
        + "</row>"
        for number, row in zip(sorted(set(numbers)) or [1], rows, strict=False)
    )
    xml = "<sheetData>" + body + "</sheetData></worksheet>"
    return SHEET_HEAD + xml.encode("utf-8", "surrogatepass")


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.sampled_from(["25%", "0.4", "150%", "-1", "1e400", "abc", "", "USD", "EURO", "7 days"]),
    st.text(max_size=8),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(
                st.sampled_from(["name", "conversion", "days", "aliases", "EUR"]),
                st.text(max_size=6),
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


@st.composite
def funnel_files(draw: st.DrawFn) -> bytes:
    """A funnel file: the built-in funnel with keys dropped, replaced or added at random."""
    data = dict(DEFAULT_FUNNEL_DATA)
    for key in draw(st.lists(st.sampled_from(sorted(TOP_LEVEL_KEYS)), max_size=3)):
        data[key] = draw(_VALUES)
    for key in draw(st.lists(st.sampled_from(sorted(data)), max_size=2)):
        data.pop(key, None)
    stages = data.get("stages")
    if isinstance(stages, list) and stages and draw(st.booleans()):
        index = draw(st.integers(0, len(stages) - 1))
        stage = dict(stages[index]) if isinstance(stages[index], dict) else {}
        stage[draw(st.sampled_from(["name", "conversion", "days", "aliases"]))] = draw(_VALUES)
        data["stages"] = [*stages[:index], stage, *stages[index + 1 :]]
    return yaml.safe_dump(data, allow_unicode=True).encode("utf-8", "surrogatepass")
