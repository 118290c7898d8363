"""A deterministic generator of realistic HubSpot-like deal exports, for benchmarks.

`python -m benchmarks.generate 100000 out.csv` writes 100,000 deals: HubSpot headers,
quoted amounts with thousands separators, about 30% open deals (most of them created
in the last 100 days, as in a live pipeline), and `Date entered` columns for the stages
each deal reached. The same count always gives the same file.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import sys
from pathlib import Path

STAGES = ("Appointment Scheduled", "Qualified To Buy", "Presentation Scheduled", "Contract Sent")
OWNERS = tuple(f"Rep {index:02d}" for index in range(1, 41))
HEADER = (
    "Record ID",
    "Deal Name",
    "Deal Stage",
    "Amount",
    "Create Date",
    "Close Date",
    "Deal owner",
    "Pipeline",
    *(f'Date entered "{stage} (Sales Pipeline)"' for stage in (*STAGES, "Closed Won")),
)
FUNNEL_YAML = """\
name: Benchmark pipeline
currency: USD
stages:
  - {name: Appointment Scheduled, conversion: 60%, days: 7}
  - {name: Qualified To Buy, conversion: 55%, days: 10}
  - {name: Presentation Scheduled, conversion: 50%, days: 14}
  - {name: Contract Sent, conversion: 60%, days: 10}
  - {name: Closed Won}
lost: [Closed Lost]
"""


def write_export(count: int, path: Path, seed: int = 20261123) -> None:
    rng = random.Random(seed)
    start = dt.datetime(2024, 1, 1, 9, 0)
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        for number in range(1, count + 1):
            furthest = 0
            while furthest < len(STAGES) and rng.random() < 0.62:
                furthest += 1
            roll = rng.random()
            outcome = "won" if furthest == len(STAGES) else ("open" if roll < 0.43 else "lost")
            # Open deals are mostly recent, as in a live pipeline; closed ones span two years.
            first_day = 600 if outcome == "open" and rng.random() < 0.9 else 0
            created = start + dt.timedelta(
                days=rng.randrange(first_day, 700), minutes=rng.randrange(600)
            )
            entered = [""] * (len(STAGES) + 1)
            day = created
            for stage in range(min(furthest, len(STAGES) - 1) + 1):
                entered[stage] = day.strftime("%Y-%m-%d %H:%M")
                day += dt.timedelta(days=rng.randrange(2, 30), hours=rng.randrange(8))
            close = ""
            if outcome == "won":
                entered[len(STAGES)] = day.strftime("%Y-%m-%d %H:%M")
                close = day.strftime("%Y-%m-%d %H:%M")
                label = "Closed Won"
            elif outcome == "lost":
                close = day.strftime("%Y-%m-%d %H:%M")
                label = "Closed Lost"
            else:
                label = STAGES[min(furthest, len(STAGES) - 1)]
            amount = f"{rng.randrange(500, 250_000) + rng.randrange(100) / 100:,.2f}"
            writer.writerow(
                [
                    str(10_000_000 + number),
                    f"Deal {number}",
                    label,
                    amount,
                    created.strftime("%Y-%m-%d %H:%M"),
                    close,
                    rng.choice(OWNERS),
                    "Sales Pipeline",
                    *entered,
                ]
            )


def main() -> None:
    count = int(sys.argv[1])
    path = Path(sys.argv[2])
    write_export(count, path)
    path.with_suffix(".yaml").write_text(FUNNEL_YAML, encoding="utf-8")


if __name__ == "__main__":
    main()
