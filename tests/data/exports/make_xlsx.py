"""Write salesforce_formatted.xlsx: a Salesforce "formatted report" export (XLSX only).

The same thirteen opportunities as salesforce_report.csv, as a formatted report writes
them: title and filter rows above the header, real Excel date cells, numeric amounts
with a currency format, and the Won/Closed flag columns as TRUE/FALSE cells.

Run from anywhere: ``python tests/data/exports/make_xlsx.py``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl

OUT = Path(__file__).parent / "salesforce_formatted.xlsx"

HEADER = (
    "Opportunity Owner",
    "Opportunity Name",
    "Stage",
    "Won",
    "Closed",
    "Amount",
    "Created Date",
    "Close Date",
    "Opportunity ID",
)

# owner, name, stage, won, closed, amount, created, close, id
OPPORTUNITIES = [
    ("José Álvarez", "Société Générale - Renewal", "Closed Won", True, True, 485000, dt.date(2025, 6, 2), dt.date(2025, 9, 16), "006Hs00001SgRnwQAB"),
    ("Chloé Martin", "Globex - Platform", "Closed Won", True, True, 120500, dt.date(2025, 7, 14), dt.date(2025, 9, 1), "006Hs00001GlbxPQAR"),
    ("José Álvarez", "Initech - Expansion", "Closed Won", True, True, 60000, dt.date(2025, 3, 3), dt.date(2025, 4, 28), "006Hs00001InExpQAB"),
    ("Chloé Martin", "Umbrella - Pilot", "Closed Lost", False, True, 75000, dt.date(2025, 5, 5), dt.date(2025, 6, 20), "006Hs00001UmPilQAF"),
    ("José Álvarez", "Stark - Analytics", "Closed Lost", False, True, 210000, dt.date(2025, 8, 12), dt.date(2025, 9, 30), "006Hs00001StAnlQAB"),
    ("Chloé Martin", "Wayne - Security", "Prospecting", False, False, 40000, dt.date(2025, 11, 13), dt.date(2026, 1, 31), "006Hs00001WySecQAJ"),
    ("José Álvarez", "Hooli - Cloud", "Prospecting", False, False, 25000, dt.date(2025, 9, 1), dt.date(2025, 12, 19), "006Hs00001HoCldQAD"),
    ("Chloé Martin", "Vandelay - Imports", "Qualification", False, False, 90000, dt.date(2025, 9, 22), dt.date(2026, 1, 15), "006Hs00001VdImpQAF"),
    ("José Álvarez", "Pied Piper - Compression", "Proposal/Price Quote", False, False, 150000, dt.date(2025, 8, 4), dt.date(2025, 12, 12), "006Hs00001PpCmpQAB"),
    ("Chloé Martin", "Soylent - Supply", "Negotiation/Review", False, False, 300000, dt.date(2025, 7, 15), dt.date(2025, 12, 19), "006Hs00001SySupQAF"),
    ("José Álvarez", "Tyrell - Replicants", "Negotiation/Review", False, False, 45250.5, dt.date(2025, 10, 10), dt.date(2025, 12, 30), "006Hs00001TyRepQAB"),
    ("Chloé Martin", "Cyberdyne - Robotics", "Closed Lost", False, True, 55000, dt.date(2025, 4, 7), dt.date(2025, 5, 2), "006Hs00001CyRobQAF"),
    ("José Álvarez", "Dunder Mifflin - Paper", "Closed Won", True, True, 12000, dt.date(2025, 10, 20), dt.date(2025, 11, 14), "006Hs00001DmPapQAB"),
]  # fmt: skip


def build(path: Path = OUT) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Opportunity Pipeline"
    sheet.append(["Opportunity Pipeline"])
    sheet.append(["Filtered By: Opportunity Status equals Any, Close Date equals All Time"])
    sheet.append([])
    sheet.append(list(HEADER))
    for opportunity in OPPORTUNITIES:
        sheet.append(list(opportunity))
        row = sheet.max_row
        sheet.cell(row, 6).number_format = '"USD "#,##0.00'
        sheet.cell(row, 7).number_format = "dd/mm/yyyy"
        sheet.cell(row, 8).number_format = "dd/mm/yyyy"
    sheet.append([])
    sheet.append(["Confidential Information - Do Not Distribute"])
    sheet.append(["Copyright (c) 2000-2023 salesforce.com, inc. All rights reserved."])
    workbook.save(path)


if __name__ == "__main__":
    build()
