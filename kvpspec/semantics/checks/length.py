"""The interview's length against the minutes the study promises (``semantics.length``)."""

from __future__ import annotations

from kvpspec.semantics.checks.context import Context
from kvpspec.semantics.length import SECONDS_PER_ANSWER, WORDS_PER_MINUTE, estimate


def check_length(ctx: Context) -> None:
    """Warn when the longest route takes longer than ``study { minutes N }``.

    Run on a spec without errors only (the estimate follows the routing), and
    only when the study promises a length, so a spec without one pays nothing.
    """
    study = ctx.spec.study
    if study is None or study.minutes is None or not ctx.spec.interview:
        return
    length = estimate(ctx.low)
    if length.longest <= study.minutes * 60:
        return
    bound = "" if length.exact else "at least "
    ctx.warn(
        "too-long",
        f"the longest interview takes {bound}about {length.longest / 60:.1f} minutes "
        f"(typical {length.typical / 60:.1f}), more than the {study.minutes} minutes the study promises; "
        f"estimated at {WORDS_PER_MINUTE} words a minute read aloud and "
        f"{SECONDS_PER_ANSWER:g} seconds an answer",
        study,
    )
