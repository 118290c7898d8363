"""Alert rules for a cron job: which figures of a report mean "something is wrong".

Rules come from the command line (``--fail-below Demo=35%``, ``--fail-on-bottleneck``,
``--max-stale 25``, ``--min-win-rate 20%``; parsed by commands/report.py) and from the
funnel YAML's ``alerts:`` mapping; the command line adds to the file, and its ``--fail-below`` for a stage
replaces the file's threshold for that stage. :func:`evaluate` checks them against a
:class:`~funnelcli.report.Report`: a figure *below* a threshold fires, one equal to it
does not. A rule whose figure does not exist yet (no deal has left the stage, no deal
is closed) does not fire; the result says it could not be judged.

Pure: no files, no terminal. The command line turns a fired alert into exit code 1.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from funnelcli.definition import label_key
from funnelcli.errors import shown
from funnelcli.report_figures import Report, StageFigures
from funnelcli.values import check_rate, describe, format_rate, parse_rate

ALERT_KEYS = ("fail_below", "fail_on_bottleneck", "max_stale", "min_win_rate", "max_skipped")
_MOST_PLACES = 6  # a rate shown to more places than this in a message helps nobody

_Problem = Callable[[str, str], None]  # problem(key path under alerts., message)


@dataclass(frozen=True)
class AlertRules:
    """What counts as a failure. ``fail_below`` keys are stage names as the user wrote them."""

    fail_below: Mapping[str, Fraction] = field(default_factory=dict)
    fail_on_bottleneck: bool = False
    max_stale: int | None = None
    min_win_rate: Fraction | None = None
    max_skipped: Fraction | None = None
    """The largest share of the rows read that may be skipped (``--max-skipped 10%``)."""

    def merged_with(self, override: AlertRules) -> AlertRules:
        """These rules with ``override``'s added on top (the command line over the YAML).

        A threshold in ``override`` replaces one here for the same stage (compared as
        :func:`~funnelcli.definition.label_key` does); the flag is on when either has it.
        """
        replaced = {label_key(name) for name in override.fail_below}
        fail_below = {
            name: rate for name, rate in self.fail_below.items() if label_key(name) not in replaced
        }
        fail_below.update(override.fail_below)
        return AlertRules(
            fail_below=fail_below,
            fail_on_bottleneck=self.fail_on_bottleneck or override.fail_on_bottleneck,
            max_stale=override.max_stale if override.max_stale is not None else self.max_stale,
            min_win_rate=(
                override.min_win_rate if override.min_win_rate is not None else self.min_win_rate
            ),
            max_skipped=(
                override.max_skipped if override.max_skipped is not None else self.max_skipped
            ),
        )

    @property
    def empty(self) -> bool:
        """True when no rule is set, so nothing can fire."""
        return (
            not self.fail_below
            and not self.fail_on_bottleneck
            and self.max_stale is None
            and self.min_win_rate is None
            and self.max_skipped is None
        )


@dataclass(frozen=True)
class Alert:
    """One rule that fired. ``threshold`` and ``actual`` are rates as floats, or deal counts."""

    rule: str  # one of ALERT_KEYS
    stage: str | None
    threshold: float | int | None
    actual: float | int | None
    message: str


@dataclass(frozen=True)
class AlertResult:
    fired: tuple[Alert, ...]
    not_judged: tuple[str, ...]  # one line per rule whose figure does not exist yet

    @property
    def failed(self) -> bool:
        """True when at least one alert fired: the cron job should exit with code 1."""
        return bool(self.fired)


# --- the funnel YAML ----------------------------------------------------------------------


def rules_from_yaml(data: object, source: str) -> tuple[AlertRules, list[str]]:
    """Rules from the value of the funnel YAML's ``alerts:`` key (None when it is absent).

    Returns the rules that are valid and one full line per problem, like
    ``funnel.yaml: alerts.max_stale: must be a whole number ...``; unknown keys are
    problems too, since a misspelt rule would otherwise never fire.
    """
    if data is None:
        return AlertRules(), []
    if not isinstance(data, Mapping):
        return AlertRules(), [
            f"{source}: alerts: expected a mapping like "
            f"{{fail_below: {{Demo: 35%}}, max_stale: 25}}, got {describe(data)}"
        ]
    problems: list[str] = []

    def problem(path: str, message: str) -> None:
        problems.append(f"{source}: alerts.{path}: {message}")

    _unknown_keys(data, problem)
    rules = AlertRules(
        fail_below=_yaml_fail_below(data.get("fail_below"), problem),
        fail_on_bottleneck=_yaml_flag(data.get("fail_on_bottleneck"), problem),
        max_stale=_yaml_max_stale(data.get("max_stale"), problem),
        min_win_rate=_yaml_rate(data.get("min_win_rate"), "min_win_rate", problem),
        max_skipped=_yaml_rate(data.get("max_skipped"), "max_skipped", problem),
    )
    return rules, problems


def _unknown_keys(data: Mapping[object, object], problem: _Problem) -> None:
    for key in data:
        if key in ALERT_KEYS:
            continue
        nearest = difflib.get_close_matches(str(key), ALERT_KEYS, n=1, cutoff=0.6)
        hint = (
            f"did you mean '{nearest[0]}'?" if nearest else f"known keys: {', '.join(ALERT_KEYS)}"
        )
        problem(shown(key), f"unknown key; {hint}")


def _yaml_fail_below(value: object, problem: _Problem) -> dict[str, Fraction]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problem(
            "fail_below",
            f"expected a mapping of stage names to rates like {{Demo: 35%}}, got {describe(value)}",
        )
        return {}
    thresholds: dict[str, Fraction] = {}
    first_written: dict[str, str] = {}  # label key -> the stage name as first written
    for name, raw in value.items():
        if isinstance(name, bool) or not isinstance(name, str | int) or not str(name).strip():
            problem("fail_below", f"expected stage names as keys, got {describe(name)}")
            continue
        stage = str(name).strip()
        key = label_key(stage)
        if key in first_written:
            problem(
                f"fail_below.{shown(stage)}",
                f"'{shown(stage)}' repeats '{shown(first_written[key])}'; give each stage once",
            )
            continue
        first_written[key] = stage
        rate = _yaml_rate(raw, f"fail_below.{shown(stage)}", problem, required=True)
        if rate is not None:
            thresholds[stage] = rate
    return thresholds


def _yaml_rate(
    raw: object, path: str, problem: _Problem, *, required: bool = False
) -> Fraction | None:
    if raw is None and not required:
        return None
    try:
        rate = parse_rate(raw)
        check_rate(rate, raw)
    except ValueError as error:
        problem(path, str(error))
        return None
    return rate


def _yaml_flag(value: object, problem: _Problem) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    problem("fail_on_bottleneck", f"must be true or false, got {describe(value)}")
    return False


def _yaml_max_stale(value: object, problem: _Problem) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    problem(
        "max_stale",
        f"must be a whole number of deals, 0 or more (like 25), got {describe(value)}",
    )
    return None


# --- judging a report ---------------------------------------------------------------------


def evaluate(
    rules: AlertRules,
    report: Report,
    *,
    stale_checked: bool = True,
    rows: tuple[int, int] | None = None,
) -> AlertResult:
    """Check ``rules`` against ``report``; ``rows`` is (rows read, rows skipped) of the
    export, which ``max_skipped`` is judged on (not judged without it).

    ``stale_checked`` is False when no stage had a days limit (no ``days:`` in the funnel,
    no ``--stale-days``): then no deal can be stale, and ``max_stale`` is not judged
    rather than passing forever. Raises ValueError when ``fail_below`` names a stage the
    funnel does not have, or the won stage (which converts to nothing).
    """
    fired: list[Alert] = []
    not_judged: list[str] = []
    for stage, threshold in _stage_thresholds(rules.fail_below, report.stages):
        _judge_fail_below(stage, threshold, fired, not_judged)
    if rules.fail_on_bottleneck:
        _judge_bottlenecks(report, fired, not_judged)
    if rules.max_stale is not None:
        _judge_stale(rules.max_stale, report, stale_checked, fired, not_judged)
    if rules.min_win_rate is not None:
        _judge_win_rate(rules.min_win_rate, report, fired, not_judged)
    if rules.max_skipped is not None:
        _judge_skipped(rules.max_skipped, rows, fired, not_judged)
    return AlertResult(tuple(fired), tuple(not_judged))


def _stage_thresholds(
    fail_below: Mapping[str, Fraction], stages: Sequence[StageFigures]
) -> list[tuple[StageFigures, Fraction]]:
    """The thresholds matched to the report's stages, in funnel order."""
    won_index = len(stages) - 1
    choices = ", ".join(stage.name for stage in stages[:won_index])
    index_by_key = {label_key(stage.name): index for index, stage in enumerate(stages)}
    matched: list[tuple[int, Fraction]] = []
    unknown: list[str] = []
    for name, threshold in fail_below.items():
        index = index_by_key.get(label_key(name))
        if index is None:
            unknown.append(f"'{shown(name)}'")
        elif index == won_index:
            raise ValueError(
                f"fail_below: '{shown(name)}' is the won stage, which converts to no later "
                f"stage; use one of {choices}"
            )
        else:
            matched.append((index, threshold))
    if unknown:
        noun = "stage" if len(unknown) == 1 else "stages"
        raise ValueError(f"fail_below: no {noun} named {', '.join(unknown)}; use one of {choices}")
    return [(stages[index], threshold) for index, threshold in sorted(matched, key=lambda m: m[0])]


def _judge_fail_below(
    stage: StageFigures, threshold: Fraction, fired: list[Alert], not_judged: list[str]
) -> None:
    actual = stage.resolved_conversion
    if actual is None:
        # Deals left the stage but no rate: the export does not say where deals were lost.
        why = (
            "the export does not say where deals were lost"
            if stage.reached > stage.current
            else "no deal has left the stage yet"
        )
        not_judged.append(
            f"{stage.name} resolved conversion not judged against {format_rate(threshold)}: {why}"
        )
        return
    if actual < threshold:
        fired.append(
            _rate_below(
                "fail_below", stage.name, f"{stage.name} resolved conversion", actual, threshold
            )
        )


def _judge_bottlenecks(report: Report, fired: list[Alert], not_judged: list[str]) -> None:
    if report.bottleneck_by != "revenue":
        not_judged.append(
            "bottlenecks not judged: the funnel has no planned conversion rates to fall below"
        )
        return
    if report.losses_unattributed:  # no stage's conversion is measured (report.py)
        not_judged.append("bottlenecks not judged: the export does not say where deals were lost")
        return
    for bottleneck in report.bottlenecks:
        planned = bottleneck.planned
        if planned is None:  # pragma: no cover - a revenue-ranked bottleneck has a plan
            continue
        shown_actual, shown_planned = _distinct_rates(bottleneck.actual, planned)
        fired.append(
            Alert(
                rule="fail_on_bottleneck",
                stage=bottleneck.stage,
                threshold=float(planned),
                actual=float(bottleneck.actual),
                message=(
                    f"{bottleneck.stage} is a bottleneck: resolved conversion {shown_actual} "
                    f"is below the planned {shown_planned}"
                ),
            )
        )


def _judge_stale(
    max_stale: int,
    report: Report,
    stale_checked: bool,
    fired: list[Alert],
    not_judged: list[str],
) -> None:
    if not stale_checked:
        not_judged.append(
            f"stale deals not judged against {max_stale:,}: no stage has a days limit "
            f"(give the stages days: or pass --stale-days)"
        )
        return
    stale = report.stale_count
    if stale <= max_stale:
        return
    deals = "deal is" if stale == 1 else "deals are"
    fired.append(
        Alert(
            rule="max_stale",
            stage=None,
            threshold=max_stale,
            actual=stale,
            message=f"{stale:,} {deals} stale, more than the {max_stale:,} allowed",
        )
    )


def _judge_win_rate(
    min_win_rate: Fraction, report: Report, fired: list[Alert], not_judged: list[str]
) -> None:
    win_rate = report.win_rate
    if win_rate is None:
        not_judged.append(
            f"win rate not judged against {format_rate(min_win_rate)}: no deal is closed yet"
        )
        return
    if win_rate < min_win_rate:
        fired.append(_rate_below("min_win_rate", None, "win rate", win_rate, min_win_rate))


def _judge_skipped(
    max_skipped: Fraction, rows: tuple[int, int] | None, fired: list[Alert], not_judged: list[str]
) -> None:
    if rows is None or rows[0] == 0:
        not_judged.append(
            f"skipped rows not judged against {format_rate(max_skipped)}: no row was read"
        )
        return
    read, skipped = rows
    share = Fraction(skipped, read)
    if share <= max_skipped:
        return
    shown_actual, shown_threshold = _distinct_rates(share, max_skipped)
    fired.append(
        Alert(
            rule="max_skipped",
            stage=None,
            threshold=float(max_skipped),
            actual=float(share),
            message=(
                f"{shown_actual} of the rows read were skipped ({skipped:,} of {read:,}), "
                f"more than the {shown_threshold} allowed"
            ),
        )
    )


def _rate_below(
    rule: str, stage: str | None, what: str, actual: Fraction, threshold: Fraction
) -> Alert:
    """The alert of a rate below its threshold: "<what> 34.96% is below 35%"."""
    shown_actual, shown_threshold = _distinct_rates(actual, threshold)
    return Alert(
        rule=rule,
        stage=stage,
        threshold=float(threshold),
        actual=float(actual),
        message=f"{what} {shown_actual} is below {shown_threshold}",
    )


def _distinct_rates(actual: Fraction, threshold: Fraction) -> tuple[str, str]:
    """Both rates as percentages, with enough places that they do not read the same.

    34.96% against 35% would otherwise say "35% is below 35%".
    """
    places = 1
    while format_rate(actual, places) == format_rate(threshold, places) and places < _MOST_PLACES:
        places += 1
    return format_rate(actual, places), format_rate(threshold, places)
