"""The figures of `funnel report`, computed two other ways: a DuckDB query and a pandas script.

`python -m benchmarks.baselines duckdb|pandas EXPORT.csv` reads an export written by
benchmarks/generate.py and prints, as JSON, what the README's "Definitions" give for it
with the funnel in FUNNEL_YAML:

- per stage: reached, current (open deals now there) and lost, where a deal's furthest
  stage is the won stage for a won deal, otherwise the latest stage with a
  `Date entered "<Stage> (Sales Pipeline)"` date, or its current stage when further;
- won: count and value (the quoted amounts with thousands separators, exact to the cent);
- median cycle days of won deals: Close Date − Create Date, date parts only;
- reached per stage for each `Deal owner`.

`from_tool_report` turns `funnel report --by "Deal owner" --format json` into the same
shape, so the three can be compared key by key (benchmarks/run.py, tests/system/test_benchmarks.py).
duckdb and pandas are the `bench` extra: each is imported only by the function using it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from benchmarks.generate import FUNNEL_YAML

STAGE_COLUMN = "Deal Stage"
AMOUNT_COLUMN = "Amount"
CREATED_COLUMN = "Create Date"
CLOSED_COLUMN = "Close Date"
OWNER_COLUMN = "Deal owner"

Figures = dict[str, Any]


@dataclass(frozen=True)
class FunnelSpec:
    """The stage order and the closed labels, as FUNNEL_YAML defines them."""

    stages: tuple[str, ...]  # in funnel order; the last one is the won stage
    lost_labels: tuple[str, ...]

    @property
    def won_label(self) -> str:
        return self.stages[-1]

    @property
    def last(self) -> int:
        return len(self.stages) - 1

    @property
    def entered_columns(self) -> tuple[str, ...]:
        """The stage-entered date columns of the stages before the won one, in order."""
        return tuple(f'Date entered "{stage} (Sales Pipeline)"' for stage in self.stages[:-1])


def funnel_spec(text: str = FUNNEL_YAML) -> FunnelSpec:
    definition = yaml.safe_load(text)
    return FunnelSpec(
        stages=tuple(stage["name"] for stage in definition["stages"]),
        lost_labels=tuple(definition["lost"]),
    )


def figures(
    stage_names: Sequence[str],
    *,
    reached: Sequence[int],
    current: Sequence[int],
    lost: Sequence[int],
    won_count: int,
    won_value: Decimal | None,
    median_cycle_days: float | None,
    reached_by_owner: Mapping[str, Sequence[int]],
) -> Figures:
    """The shared shape: plain ints, the won value as text with two decimals, owners sorted."""
    return {
        "stages": [
            {"name": name, "reached": int(r), "current": int(c), "lost": int(x)}
            for name, r, c, x in zip(stage_names, reached, current, lost, strict=True)
        ],
        "won": {"count": int(won_count), "value": f"{won_value or Decimal(0):.2f}"},
        "median_cycle_days": None if median_cycle_days is None else float(median_cycle_days),
        "reached_by_owner": {
            owner: [int(count) for count in reached_by_owner[owner]]
            for owner in sorted(reached_by_owner)
        },
    }


def from_tool_report(report: Mapping[str, Any]) -> Figures:
    """The shared shape from the JSON of `funnel report --by "Deal owner"`.

    Parse the JSON with ``parse_float=Decimal``, so the won value keeps the digits printed.
    """
    stages = report["stages"]
    median = report["median_cycle_days"]
    return figures(
        [stage["name"] for stage in stages],
        reached=[stage["reached"] for stage in stages],
        current=[stage["current"] for stage in stages],
        lost=[stage["lost"] for stage in stages],
        won_count=report["won"]["count"],
        won_value=None if report["won"]["value"] is None else Decimal(report["won"]["value"]),
        median_cycle_days=None if median is None else float(median),
        reached_by_owner={
            row["segment"]: [stage["reached"] for stage in row["stages"]]
            for row in report["segments"]["rows"]
        },
    )


# --- DuckDB ---------------------------------------------------------------------------------


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _deals_sql(spec: FunnelSpec) -> str:
    """One row per deal: owner, outcome, furthest stage index, amount, cycle days."""
    stage_index = " ".join(
        f"WHEN {_literal(name)} THEN {index}" for index, name in enumerate(spec.stages[:-1])
    )
    latest_dated = " ".join(
        f"WHEN coalesce({_identifier(column)}, '') <> '' THEN {index}"
        for index, column in reversed(list(enumerate(spec.entered_columns)))
    )
    lost_labels = ", ".join(_literal(label) for label in spec.lost_labels)
    stage, amount = _identifier(STAGE_COLUMN), _identifier(AMOUNT_COLUMN)
    created, closed = _identifier(CREATED_COLUMN), _identifier(CLOSED_COLUMN)
    # greatest() skips NULLs, and least() would too: an unknown stage (all NULL) becomes 0
    # through coalesce before least() can turn it into the last open stage.
    return f"""
        WITH parsed AS (
            SELECT
                nullif({_identifier(OWNER_COLUMN)}, '') AS owner,
                CASE
                    WHEN {stage} = {_literal(spec.won_label)} THEN 'won'
                    WHEN {stage} IN ({lost_labels}) THEN 'lost'
                    ELSE 'open'
                END AS outcome,
                CASE {stage} {stage_index} END AS stage_index,
                CASE {latest_dated} END AS latest_dated,
                CAST(replace({amount}, ',', '') AS DECIMAL(18, 2)) AS amount,
                date_diff(
                    'day', CAST(left({created}, 10) AS DATE), CAST(left({closed}, 10) AS DATE)
                ) AS cycle_days
            FROM read_csv($path, header = true, all_varchar = true)
        )
        SELECT
            owner,
            outcome,
            CASE
                WHEN outcome = 'won' THEN {spec.last}
                ELSE least(coalesce(greatest(latest_dated, stage_index), 0), {spec.last - 1})
            END AS furthest,
            amount,
            cycle_days
        FROM parsed
    """


def _totals_sql(spec: FunnelSpec) -> str:
    per_stage = []
    for index in range(len(spec.stages)):
        per_stage += [
            f"count(*) FILTER (WHERE furthest >= {index})",
            f"count(*) FILTER (WHERE outcome = 'open' AND furthest = {index})",
            f"count(*) FILTER (WHERE outcome = 'lost' AND furthest = {index})",
        ]
    return f"""
        SELECT
            {", ".join(per_stage)},
            count(*) FILTER (WHERE outcome = 'won'),
            sum(amount) FILTER (WHERE outcome = 'won'),
            median(cycle_days) FILTER (WHERE outcome = 'won' AND cycle_days >= 0)
        FROM deals
    """


def _by_owner_sql(spec: FunnelSpec) -> str:
    reached = ", ".join(
        f"count(*) FILTER (WHERE furthest >= {index})" for index in range(len(spec.stages))
    )
    return f"SELECT owner, {reached} FROM deals WHERE owner IS NOT NULL GROUP BY owner"


def duckdb_figures(path: Path, spec: FunnelSpec | None = None) -> Figures:
    import duckdb

    spec = spec or funnel_spec()
    connection = duckdb.connect()
    connection.execute(f"CREATE TEMP TABLE deals AS {_deals_sql(spec)}", {"path": str(path)})
    totals = connection.execute(_totals_sql(spec)).fetchone()
    assert totals is not None  # an aggregate without GROUP BY always gives one row
    stage_count = len(spec.stages)
    per_stage, (won_count, won_value, median) = totals[: 3 * stage_count], totals[3 * stage_count :]
    owners = connection.execute(_by_owner_sql(spec)).fetchall()
    return figures(
        spec.stages,
        reached=per_stage[0::3],
        current=per_stage[1::3],
        lost=per_stage[2::3],
        won_count=won_count,
        won_value=won_value,
        median_cycle_days=median,
        reached_by_owner={row[0]: row[1:] for row in owners},
    )


# --- pandas ---------------------------------------------------------------------------------


def pandas_figures(path: Path, spec: FunnelSpec | None = None) -> Figures:
    import numpy as np
    import pandas as pd

    spec = spec or funnel_spec()
    columns = [STAGE_COLUMN, AMOUNT_COLUMN, CREATED_COLUMN, CLOSED_COLUMN, OWNER_COLUMN]
    deals = pd.read_csv(
        path, usecols=[*columns, *spec.entered_columns], dtype=str, keep_default_na=False
    )
    label = deals[STAGE_COLUMN]
    won = (label == spec.won_label).to_numpy()
    lost = label.isin(spec.lost_labels).to_numpy()
    furthest = _pandas_furthest(deals, spec, won)
    stage_count = len(spec.stages)
    reached = np.bincount(furthest, minlength=stage_count)[::-1].cumsum()[::-1]
    return figures(
        spec.stages,
        reached=reached.tolist(),
        current=np.bincount(furthest[~(won | lost)], minlength=stage_count).tolist(),
        lost=np.bincount(furthest[lost], minlength=stage_count).tolist(),
        won_count=int(won.sum()),
        won_value=_pandas_won_value(deals, won),
        median_cycle_days=_pandas_median_cycle_days(deals, won),
        reached_by_owner=_pandas_reached_by_owner(deals, furthest, stage_count),
    )


def _pandas_furthest(deals: Any, spec: FunnelSpec, won: Any) -> Any:
    """Each deal's furthest stage index, as an integer array."""
    import numpy as np

    dated = np.column_stack([(deals[column] != "").to_numpy() for column in spec.entered_columns])
    # The last True of a row is the first one of the reversed row; -1 when none.
    latest_dated = np.where(
        dated.any(axis=1), dated.shape[1] - 1 - np.argmax(dated[:, ::-1], axis=1), -1
    )
    stage_index = deals[STAGE_COLUMN].map({name: i for i, name in enumerate(spec.stages[:-1])})
    dated_or_current = np.maximum(latest_dated, stage_index.fillna(-1).to_numpy(dtype=np.int64))
    # An unknown stage (-1) counts as the first one, as the README defines.
    return np.where(won, spec.last, np.clip(dated_or_current, 0, spec.last - 1))


def _pandas_won_value(deals: Any, won: Any) -> Decimal:
    import numpy as np
    import pandas as pd

    text = deals.loc[won, AMOUNT_COLUMN].str.replace(",", "", regex=False)
    amounts = pd.to_numeric(text, errors="coerce").dropna().to_numpy()
    # Amounts have two decimals: parsed as floats, x 100 and rounded, they are exact cents.
    cents = int(np.rint(amounts * 100).astype(np.int64).sum())
    return Decimal(cents).scaleb(-2)


def _pandas_median_cycle_days(deals: Any, won: Any) -> float | None:
    import pandas as pd

    def day(column: str) -> Any:
        return pd.to_datetime(deals.loc[won, column].str.slice(0, 10), format="%Y-%m-%d")

    cycle_days = (day(CLOSED_COLUMN) - day(CREATED_COLUMN)).dt.days.dropna()
    cycle_days = cycle_days[cycle_days >= 0]
    return None if cycle_days.empty else float(cycle_days.median())


def _pandas_reached_by_owner(deals: Any, furthest: Any, stage_count: int) -> dict[str, list[int]]:
    import pandas as pd

    at_stage = (
        pd.DataFrame({"owner": deals[OWNER_COLUMN], "furthest": furthest})
        .query("owner != ''")
        .groupby(["owner", "furthest"])
        .size()
        .unstack(fill_value=0)
        .reindex(columns=range(stage_count), fill_value=0)
    )
    reached = at_stage.iloc[:, ::-1].cumsum(axis=1).iloc[:, ::-1]
    return {str(owner): row.tolist() for owner, row in reached.iterrows()}


ENGINES: dict[str, Callable[[Path], Figures]] = {
    "duckdb": duckdb_figures,
    "pandas": pandas_figures,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] not in ENGINES:
        print(
            f"usage: python -m benchmarks.baselines {'|'.join(ENGINES)} EXPORT.csv", file=sys.stderr
        )
        return 2
    engine, path = argv
    print(json.dumps(ENGINES[engine](Path(path))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
