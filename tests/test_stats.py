"""Binomial tails and quantiles against exact brute force with Fractions."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from funnelcli.stats import prob_at_least, quantile, smallest_trials, wilson_interval

PROBABILITIES = [Fraction(1, 4), Fraction(3, 200), Fraction(1, 3), Fraction(9, 10)]


def exact_tail(successes: int, trials: int, p: Fraction) -> Fraction:
    """P(Binomial(trials, p) >= successes), summed term by term."""
    return sum(
        (
            math.comb(trials, k) * p**k * (1 - p) ** (trials - k)
            for k in range(max(successes, 0), trials + 1)
        ),
        Fraction(0),
    )


def exact_smallest_trials(successes: int, p: Fraction, level: Fraction) -> int:
    """The first N, counting up from `successes`, whose exact tail reaches `level`.

    The tail is 1 - q^N sum_{k < successes} C(N, k) (p/q)^k: few terms when
    `successes` is small, and q^N is carried from one N to the next.
    """
    q = 1 - p
    odds = p / q
    trials = successes
    q_power = q**trials
    while True:
        lower = q_power * sum(
            (math.comb(trials, k) * odds**k for k in range(successes)), Fraction(0)
        )
        if 1 - lower >= level:
            return trials
        trials += 1
        q_power *= q


@pytest.mark.parametrize("p", PROBABILITIES, ids=str)
def test_prob_at_least_matches_the_exact_sum(p: Fraction) -> None:
    for trials in range(41):
        for successes in range(trials + 1):
            exact = exact_tail(successes, trials, p)
            assert abs(prob_at_least(successes, trials, float(p)) - float(exact)) < 1e-12, (
                successes,
                trials,
            )


def test_prob_at_least_edges() -> None:
    assert prob_at_least(0, 10, 0.3) == 1.0  # at least nothing: certain
    assert prob_at_least(11, 10, 0.3) == 0.0  # more successes than trials: impossible
    assert prob_at_least(3, 10, 0.0) == 0.0
    assert prob_at_least(10, 10, 1.0) == 1.0


def test_prob_at_least_for_many_trials_is_a_probability() -> None:
    # Mean 15,000 and sd about 121: 15,000 successes is the median, near 1/2.
    tail = prob_at_least(15_000, 1_000_000, 0.015)
    assert 0.45 < tail < 0.55


def smallest_trials_cases() -> list[object]:
    """Successes 1..8 x p x level, exact ties included.

    By symmetry P(Binomial(2s - 1, 1/2) >= s) is exactly 1/2, so at p = level = 1/2
    the answer is N = 2s - 1 exactly at the level: the float tail alone lands a hair
    below it for s = 2, 3, 4, which the exact tie check must settle.
    """
    cases: list[object] = []
    for p in (Fraction(1, 4), Fraction(1, 3), Fraction(3, 200), Fraction(1, 2)):
        for level in (Fraction(1, 2), Fraction(9, 10), Fraction(99, 100)):
            for successes in range(1, 9):
                cases.append(pytest.param(successes, p, level, id=f"{successes}-{p}-{level}"))
    return cases


@pytest.mark.parametrize(("successes", "p", "level"), smallest_trials_cases())
def test_smallest_trials_matches_a_linear_search(
    successes: int, p: Fraction, level: Fraction
) -> None:
    assert smallest_trials(successes, p, level) == exact_smallest_trials(successes, p, level)


def test_the_ties_are_exact() -> None:
    for successes in (2, 3, 4):
        trials = 2 * successes - 1
        assert exact_tail(successes, trials, Fraction(1, 2)) == Fraction(1, 2)
        assert exact_smallest_trials(successes, Fraction(1, 2), Fraction(1, 2)) == trials


def test_smallest_trials_is_the_successes_when_p_is_one() -> None:
    assert smallest_trials(50, Fraction(1), Fraction(99, 100)) == 50
    assert smallest_trials(50, 1.0, 0.5) == 50


def test_smallest_trials_of_no_successes_is_zero() -> None:
    assert smallest_trials(0, Fraction(1, 4), Fraction(9, 10)) == 0


@pytest.mark.parametrize(
    ("p", "level"),
    [(0, 0.9), (-0.1, 0.9), (1.5, 0.9), (0.5, 0), (0.5, 1), (0.5, 1.2), (0.5, -0.5)],
)
def test_smallest_trials_rejects_invalid_arguments(p: float, level: float) -> None:
    with pytest.raises(ValueError) as caught:
        smallest_trials(5, p, level)
    assert str(caught.value) == "p must be in (0, 1] and level in (0, 1)"


def test_smallest_trials_for_a_large_target_is_near_the_normal_answer() -> None:
    # 1,000 successes at p = 1/100: the mean needs N = 100,000; 90% needs about
    # z sd above it: N p - 1.2816 sqrt(N p q) = 1000 -> N near 104,100.
    answer = smallest_trials(1000, Fraction(1, 100), Fraction(9, 10))
    assert 103_500 < answer < 104_700
    assert prob_at_least(1000, answer, 0.01) >= 0.9 > prob_at_least(1000, answer - 1, 0.01)


# --- quantile -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([1, 2, 3, 4], 0.5, 2.5),  # position 1.5: halfway between 2 and 3
        ([1, 2, 3, 4], 0.9, 3.7),  # position 2.7: 3 x 0.3 + 4 x 0.7
        ([1, 2, 3, 4], 0.0, 1.0),
        ([1, 2, 3, 4], 1.0, 4.0),
        ([7], 0.5, 7.0),
        ([10, 20, 30], 0.25, 15.0),  # position 0.5: halfway between 10 and 20
    ],
)
def test_quantile_by_hand(values: list[float], fraction: float, expected: float) -> None:
    assert quantile(values, fraction) == pytest.approx(expected, abs=1e-12)


def test_quantile_of_nothing_is_none() -> None:
    assert quantile([], 0.5) is None


# --- the Wilson score interval -------------------------------------------------------------


def test_wilson_interval_by_hand() -> None:
    # 30/100 at 90%: z = 1.644854 (tables); z^2/n = 0.02705545;
    # centre = (0.3 + 0.01352773) / 1.02705545 = 0.3052685;
    # half = 1.644854 / 1.02705545 x sqrt(0.0021 + 0.00006764) = 1.601524 x 0.0465579
    #      = 0.0745636 -> [0.2307049, 0.3798322]
    assert wilson_interval(30, 100) == pytest.approx((0.2307049, 0.3798322), abs=1e-7)


@pytest.mark.parametrize(
    ("successes", "trials", "expected"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (score
        # interval without continuity correction), 95%.
        (81, 263, (0.2553, 0.3662)),
        (15, 148, (0.0624, 0.1605)),
        (0, 20, (0.0, 0.1611)),
        (1, 29, (0.0061, 0.1718)),
    ],
)
def test_wilson_interval_matches_a_published_table(
    successes: int, trials: int, expected: tuple[float, float]
) -> None:
    assert wilson_interval(successes, trials, 0.95) == pytest.approx(expected, abs=5e-5)


def test_wilson_interval_ends_are_exact_at_none_and_all() -> None:
    # p = 1: centre + half = (1 + z^2/2n + z^2/2n) / (1 + z^2/n) = 1 exactly, so a plan of
    # 100% is never above it; likewise 0 at p = 0.
    assert wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 10)[0] == 0.0


@pytest.mark.parametrize(("successes", "trials", "level"), [(1, 0, 0.9), (3, 2, 0.9), (1, 2, 1.0)])
def test_wilson_interval_rejects_invalid_arguments(
    successes: int, trials: int, level: float
) -> None:
    with pytest.raises(ValueError):
        wilson_interval(successes, trials, level)
