"""Binomial tail probabilities and quantiles, in pure Python.

The binomial tail is summed in log space from the term nearest the boundary,
outwards, until terms no longer change the sum in double precision. Only about
ten standard deviations of terms are ever summed, so a tail for N in the millions
costs a few thousand multiplications.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

_NEGLIGIBLE = 1e-17


def prob_at_least(successes: int, trials: int, p: float) -> float:
    """P(Binomial(trials, p) >= successes)."""
    if successes <= 0:
        return 1.0
    if successes > trials or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    mode = math.floor((trials + 1) * p)
    if successes > mode:
        # Upper-tail terms fall from `successes` upwards: sum them directly.
        return _sum_from(successes, trials, p, upwards=True)
    # Lower-tail terms fall from successes - 1 downwards: the complement is accurate here.
    return 1.0 - _sum_from(successes - 1, trials, p, upwards=False)


def _log_pmf(k: int, trials: int, p: float) -> float:
    return (
        math.lgamma(trials + 1)
        - math.lgamma(k + 1)
        - math.lgamma(trials - k + 1)
        + k * math.log(p)
        + (trials - k) * math.log1p(-p)
    )


def _sum_from(start: int, trials: int, p: float, *, upwards: bool) -> float:
    """Sum pmf(start) + pmf(start±1) + ... relative to pmf(start), then scale once."""
    odds = p / (1.0 - p)
    total = 1.0
    term = 1.0
    k = start
    if upwards:
        while k < trials:
            term *= (trials - k) / (k + 1) * odds
            k += 1
            total += term
            if term < total * _NEGLIGIBLE:
                break
    else:
        while k > 0:
            term *= k / (trials - k + 1) / odds
            k -= 1
            total += term
            if term < total * _NEGLIGIBLE:
                break
    return min(1.0, math.exp(_log_pmf(start, trials, p) + math.log(total)))


def smallest_trials(successes: int, p: Fraction | float, level: Fraction | float) -> int:
    """The smallest N with P(Binomial(N, p) >= successes) >= level.

    ``p`` in (0, 1], ``level`` in (0, 1). The tail grows with N, so a normal
    approximation brackets the answer and a binary search pins it.
    """
    p_float, level_float = float(p), float(level)
    if not 0 < p_float <= 1 or not 0 < level_float < 1:
        raise ValueError("p must be in (0, 1] and level in (0, 1)")
    if successes <= 0:
        return 0
    if p_float == 1.0 or prob_at_least(successes, successes, p_float) >= level_float:
        return successes
    guess = _normal_guess(successes, p_float, level_float)
    low = max(successes, math.floor(guess * 0.9))
    if prob_at_least(successes, low, p_float) >= level_float:
        low = successes  # the guess overshot; fall back to the floor
    high = max(low + 1, math.ceil(guess * 1.1) + 10)
    while prob_at_least(successes, high, p_float) < level_float:
        low, high = high, high * 2
    # Invariant: tail(low) < level <= tail(high).
    while high - low > 1:
        middle = (low + high) // 2
        if prob_at_least(successes, middle, p_float) >= level_float:
            high = middle
        else:
            low = middle
    return _settle_tie(successes, high, p, level)


_EXACT_CHECK_LIMIT = 2000
"""Up to this N a near-tie at the boundary is settled in exact fractions."""


def _settle_tie(successes: int, found: int, p: Fraction | float, level: Fraction | float) -> int:
    """Double precision can land a hair below an exact tie (p = level = 1/2, N = 2s - 1).

    When the tail one below the answer is within rounding of the level and N is small
    enough, the exact sum decides.
    """
    candidate = found - 1
    if candidate < successes or found > _EXACT_CHECK_LIMIT:
        return found
    if abs(prob_at_least(successes, candidate, float(p)) - float(level)) > 1e-9:
        return found
    exact_p, exact_level = Fraction(p), Fraction(level)
    tail = sum(
        math.comb(candidate, k) * exact_p**k * (1 - exact_p) ** (candidate - k)
        for k in range(successes, candidate + 1)
    )
    return candidate if tail >= exact_level else found


def _normal_guess(successes: int, p: float, level: float) -> float:
    """Solve N p - z sqrt(N p q) = successes for N (as a quadratic in sqrt N)."""
    from statistics import NormalDist  # only --confidence needs it: keep start-up lean

    z = NormalDist().inv_cdf(level)
    spread = z * math.sqrt(p * (1 - p))
    root = (spread + math.sqrt(spread * spread + 4 * p * successes)) / (2 * p)
    return root * root


def quantile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """The quantile by linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * fraction
    lower = math.floor(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    weight = position - lower
    return float(sorted_values[lower]) * (1 - weight) + float(sorted_values[upper]) * weight


def wilson_interval(successes: int, trials: int, level: float = 0.9) -> tuple[float, float]:
    """The Wilson score interval for a rate of ``successes`` in ``trials`` at ``level``.

    With p = successes / trials and z the normal quantile at (1 + level) / 2:
    centre = (p + z²/2n) / (1 + z²/n), half width = z sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n).
    Unlike p ± z sqrt(p(1-p)/n) it stays within [0, 1] and is not a single point at 0/n
    or n/n, which is where small stages sit. ``trials`` must be above 0.
    """
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError("wilson_interval needs 0 <= successes <= trials and trials > 0")
    from statistics import NormalDist  # only intervals need it: keep start-up lean

    z = NormalDist().inv_cdf((1 + level) / 2)
    p = successes / trials
    z2n = z * z / trials
    centre = (p + z2n / 2) / (1 + z2n)
    half = z * math.sqrt(p * (1 - p) / trials + z2n / (4 * trials)) / (1 + z2n)
    return max(0.0, centre - half), min(1.0, centre + half)
