"""Write the CSV exports of tests/readers/test_lane.py: deals with the bytes the compiled lane
(src/funnelcli/_lane.c) must split as the csv module does, hand to Python, or give up on.

Every file has the header below on line 1 and deal ``i`` (``D-i``) on line ``i + 2``,
unless a comment says that a quoted field with line breaks moves the rows after it down.
The odd rows sit inside the header's lookahead (the first 50 rows, which the Python
reader reads before it knows the header) and after it, where its hot loop reads them.
The layouts, and the line numbers the tests expect, are in each function's docstring.

Run from anywhere: ``python tests/data/lane/make_files.py``.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

HERE = Path(__file__).parent
HEADER = "Record ID,Deal Name,Deal Stage,Amount,Currency,Create Date,Close Date,Deal owner,Pipeline"
STAGES = ("Lead", "MQL", "SQL", "Proposal", "Won", "Lost")
OWNERS = ("Ann", "Bo", "José")
UNKNOWN = "Discovery Call"


def deal(index: int, **cells: str) -> list[str]:
    """Deal ``index``'s cells; ``cells`` replaces some by name (id, name, stage, amount...)."""
    stage = cells.get("stage", STAGES[index % len(STAGES)])
    closed = f"2025-06-{index % 28 + 1:02d}" if stage in ("Won", "Lost") else ""
    return [
        cells.get("id", f"D-{index}"),
        cells.get("name", f"Deal {index}"),
        stage,
        cells.get("amount", f"{1000 + 10 * index:,}.50" if index % 4 == 0 else str(500 + index)),
        cells.get("currency", "" if index % 3 else "usd"),
        cells.get("created", f"2025-0{index % 5 + 1}-{index % 28 + 1:02d}"),
        cells.get("closed", closed),
        cells.get("owner", OWNERS[index % len(OWNERS)]),
        cells.get("pipeline", "Sales"),
    ]


def line(cells: list[str]) -> str:
    """The cells joined as a CSV writer joins them: quoted when they must be."""
    return ",".join(
        f'"{cell.replace(chr(34), chr(34) * 2)}"' if any(c in cell for c in ',"\r\n') else cell
        for cell in cells
    )


def line_with(cells: list[str], column: int, raw: str) -> str:
    """The cells as :func:`line` joins them, but for ``raw`` in ``column``, written as is."""
    quoted = [line([cell]) for cell in cells]
    quoted[column] = raw
    return ",".join(quoted)


def lines(count: int, special: dict[int, str] | None = None, newline: str = "\n") -> str:
    """The header and ``count`` deals; ``special`` maps a deal to its line, written as is."""
    special = special or {}
    rows = [special.get(index, line(deal(index))) for index in range(count)]
    return newline.join([HEADER, *rows]) + newline


def crlf(newline: str = "\r\n") -> str:
    """80 deals, CRLF line ends. Deal 60's name holds a quoted line break of the same kind,
    so deals after it are on line i + 3. Deals 20 and 70 have an unknown stage: the skip
    examples are lines 22 and 73."""
    special = {
        20: line(deal(20, stage=UNKNOWN)),
        60: line(deal(60, name=f"first line{newline}second line")),
        70: line(deal(70, stage=UNKNOWN)),
    }
    return lines(80, special, newline)


def multiline() -> str:
    """80 deals, LF line ends. Deal 5's name holds \\n, \\r\\n and \\r: lines 7-10. Deal 8
    (unknown stage) is on line 8 + 2 + 3 = 13. Deal 55's name holds one \\n: lines 60-61.
    Deal 70 (unknown stage) is on line 70 + 2 + 4 = 76."""
    special = {
        5: line(deal(5, name="notes: a\nb\r\nc\rd")),
        8: line(deal(8, stage=UNKNOWN)),
        55: line(deal(55, name="x\ny")),
        70: line(deal(70, stage=UNKNOWN)),
    }
    return lines(80, special)


def inch_quote() -> str:
    """80 deals. Quotes inside unquoted fields, which csv keeps as they are: deal 10's name
    is 24" screen, deal 60's is 5'11" tall; deal 62's amount 12"5 is unreadable (line 64)
    and deal 61's stage unknown (line 63)."""
    special = {
        10: line_with(deal(10), 1, '24" screen'),
        60: line_with(deal(60), 1, "5'11\" tall"),
        61: line(deal(61, stage=UNKNOWN)),
        62: line_with(deal(62), 3, '12"5'),
    }
    return lines(80, special)


def quote_then_text() -> str:
    """80 deals. Deal 12's id is written "D-"12 and deal 63's "D-"63: a quoted field with
    text after its closing quote, which csv reads as D-12 and D-63 (the lane gives up
    there). Both are open (Lead, Proposal) and stale on 2025-11-30. Deal 40 (line 42) and
    deal 70 (line 72) have an unknown stage."""
    special = {
        12: '"D-"12,' + line(deal(12)[1:]),
        40: line(deal(40, stage=UNKNOWN)),
        63: '"D-"63,' + line(deal(63)[1:]),
        70: line(deal(70, stage=UNKNOWN)),
    }
    return lines(80, special)


def footer_rows() -> str:
    """70 deals and footers. Deals 5 and 60 have ids that start like footers but are deals
    (Total-5 has more than 3 cells filled; To-60 is not a footer word). After the deals,
    one blank line and 5 footer rows: the first footer's text is Total."""
    special = {
        5: line(deal(5, id="Total-5")),
        40: line(deal(40, id="\u00a9 40")),
        60: line(deal(60, id="To-60")),
    }
    footers = ["", "Total,,,12345", "Grand total,,,12345", "\u00a9 2025 Acme", "\u00a0Total"]
    footers.append("Generated by HubSpot")
    return lines(70, special) + "\n".join(footers) + "\n"


def footer_unicode_space() -> str:
    """Footers whose first cell starts with an EM SPACE (U+2003), a character the footer
    pattern's \\s takes, inside the header's lookahead: line 3, then line 5, after deal 2
    on line 4, whose id is written "D-"2 (the lane gives up there, the csv module reads
    on). Deals 1, 2 and 3 on lines 2, 4 and 6."""
    rows = [
        HEADER,
        line(deal(1)),
        "\u2003Total,,,12345,,,,,",
        '"D-"2,' + line(deal(2)[1:]),
        "\u2003Grand total,,,999,,,,,",
        line(deal(3)),
    ]
    return "\n".join(rows) + "\n"


def multiline_header() -> str:
    """A title row (line 1), a blank line (2), the header with a quoted line break in its
    last name (lines 3-4), then 60 deals: deal i on line i + 5. Deal 50 (unknown stage) is
    on line 55."""
    header = HEADER + ',"Notes\n(internal)"'
    rows = [line([*deal(index), ""]) for index in range(60)]
    rows[50] = line([*deal(50, stage=UNKNOWN), ""])
    return "\n".join(["Deals export", "", header, *rows]) + "\n"


def big_amounts() -> str:
    """Won amounts in CHF whose units of 10^-4 pass 2^53 (their median is read from the
    text, not from whole units), in JPY with 1, 2 and 0 decimals (a sum keeps the most),
    the largest amount accepted (lost) and the smallest (open, twice). Deal 0 (won, no
    amount) comes first: the lane learns the won stage on it, and counts the rest."""
    rows = [
        ["D-0", "First", "Won", "", "", "2025-01-01", "2025-02-01", "Ann", "Sales"],
        ["D-1", "Big", "Won", "123456789012.3457", "CHF", "2025-01-01", "2025-02-01", "Ann", ""],
        ["D-2", "Bigger", "Won", "900719925474.0993", "chf", "2025-01-01", "2025-02-01", "", ""],
        ["D-3", "Most", "Won", "999,999,999,999,999.9999", "CHF", "2025-01-01", "", "", ""],
        ["D-4", "Yen", "Won", "1.5", "JPY", "", "", "", ""],
        ["D-5", "Yen", "Won", "2.50", "JPY", "", "", "", ""],
        ["D-6", "Yen", "Won", "3", "JPY", "", "", "", ""],
        ["D-7", "Max", "Lost", "1000000000000000", "CHF", "", "", "", ""],
        ["D-8", "Min", "SQL", "0.0001", "CHF", "", "", "", ""],
        ["D-9", "Min", "SQL", "0.0001", "CHF", "", "", "", ""],
    ]
    return "\n".join([HEADER, *(line(row) for row in rows)]) + "\n"


def stale_many() -> str:
    """1,500 open deals, every one stale on 2025-11-30 (at least 100 days in their stage,
    against limits of at most 60), in shuffled order. Their ages: 100 + i // 7 days for
    deal i, so seven deals share each age but the oldest, 314 days (deals 1498 and 1499):
    the 1,000 oldest listed (2 + 142 x 7 + 4) end inside a group of deals as old. And 100
    won or lost deals."""
    as_of = dt.date(2025, 11, 30)
    shuffle = random.Random(20251130)
    rows: list[list[str]] = []
    for index in range(1500):
        age = 100 + index // 7
        created = (as_of - dt.timedelta(days=age)).isoformat()
        stage = STAGES[index % 4]
        rows.append(deal(index, id=f"S-{index:04d}", stage=stage, created=created))
    rows += [deal(index, stage=STAGES[4 + index % 2]) for index in range(1500, 1600)]
    shuffle.shuffle(rows)
    return "\n".join([HEADER, *(line(row) for row in rows)]) + "\n"


def stale_small() -> str:
    """Eight deals on 2025-11-30, limits (2 x the stage's days) Lead 10, SQL 28, Proposal 60."""
    rows = [
        ["D-1", "Fresh", "Lead", "10", "", "2025-11-25", "", "Ann", "Sales"],  # 5 days
        ["D-2", "Waiting", "Lead", "1,000.50", "", "2025-11-10", "", " Ann ", "Sales"],  # 20
        ["D-3", "Euro", "SQL", "100", "eur", "2025-10-01", "", "Bo", "Sales"],  # 60
        ["D-4", "Limit", "Proposal", "5", "", "2025-10-01", "", "Bo", "Sales"],  # 60
        ["D-5", "Over", "Proposal", "", "", "2025-09-30", "", "", "Sales"],  # 61
        ["D-6", "Won", "Won", "7", "", "2025-01-01", "2025-02-01", "Ann", "Sales"],
        ["D-7", "Lost", "Lost", "8", "", "2025-01-01", "2025-02-01", "Ann", "Sales"],
        ["  ", "Nameless", "SQL", "20", "", "2025-09-01", "", "José", "Sales"],  # 90
    ]
    return "\n".join([HEADER, *(line(row) for row in rows)]) + "\n"


def write(name: str, data: bytes) -> None:
    (HERE / name).write_bytes(data)


def main() -> None:
    write("crlf.csv", crlf().encode())
    write("cr_only.csv", crlf("\r").encode())
    write("multiline.csv", multiline().encode())
    write("inch_quote.csv", inch_quote().encode())
    write("quote_then_text.csv", quote_then_text().encode())
    # A NUL in deal 30's name: after the 20 lines the delimiter is guessed from.
    write("nul_byte.csv", lines(60, {30: line(deal(30, name="Deal\x0030"))}).encode())
    # Byte E9 (é in cp1252) in deal 40's name, on line 42.
    data = lines(60, {40: line(deal(40, name="Caf\udce9"))})
    write("invalid_utf8.csv", data.encode("utf-8", "surrogateescape"))
    write("bom.csv", lines(60, {55: line(deal(55, stage=UNKNOWN))}).encode("utf-8-sig"))
    write("no_final_newline.csv", lines(60).rstrip("\n").encode())
    write("last_line_blank.csv", (lines(60) + "\n").encode())
    write("footer_rows.csv", footer_rows().encode())
    write("footer_unicode_space.csv", footer_unicode_space().encode())
    write("multiline_header.csv", multiline_header().encode())
    write("big_amounts.csv", big_amounts().encode())
    write("stale_many.csv", stale_many().encode())
    write("stale_small.csv", stale_small().encode())


if __name__ == "__main__":
    main()
