"""Progress and cancel of a long job, and the elapsed and remaining time a person sees.

Progress is a plain callback ``progress(fraction, text)``; cancelling is a
``threading.Event`` that a ``ProgressReporter`` checks between chunks of work (estimators,
boosting rounds, epochs, folds, predicted rows) and answers with ``TrainingCancelled``.
Pure Python: nothing heavy is imported.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

ProgressCallback = Callable[[float, str], None]

ESTIMATE_AFTER_SECONDS = 2.0
"""A step must have run this long before its pace is trusted to estimate the time left."""

_NUMBERS = re.compile(r"\d[\d,.]*")


class TrainingCancelled(Exception):
    """The person cancelled training; nothing was produced."""

    def __init__(self, message: str = "Training was cancelled.") -> None:
        super().__init__(message)


class ProgressReporter:
    """Reports progress and raises TrainingCancelled when the cancel event is set.

    ``scaled`` gives a child that maps its own 0..1 into a part of this one's range and
    puts a prefix before its texts (a cross-validation fold reports inside its share).
    """

    def __init__(
        self,
        callback: ProgressCallback | None,
        cancel: threading.Event | None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.callback = callback
        self.cancel = cancel
        self.clock = clock
        """Seconds for sizing chunks of work (tests pass a fake one)."""

    def check(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise TrainingCancelled()

    def __call__(self, fraction: float, text: str) -> None:
        self.check()
        if self.callback is not None:
            self.callback(max(0.0, min(1.0, fraction)), text)

    def scaled(self, start: float, end: float, prefix: str = "") -> ProgressReporter:
        """A child reporting into ``start``..``end`` of this range, texts after ``prefix``."""
        parent = self

        def forward(fraction: float, text: str) -> None:
            parent(start + (end - start) * fraction, f"{prefix}{text}")

        return ProgressReporter(
            forward if self.callback is not None else None, self.cancel, self.clock
        )

    def silent(self) -> ProgressReporter:
        """The same cancel checks without progress reports."""
        return ProgressReporter(None, self.cancel, self.clock)


def duration_text(seconds: float) -> str:
    """A stopwatch reading: 0:07, 12:05, 1:02:03."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def time_left_text(seconds: float) -> str:
    """A rough estimate in words: "a few seconds left", "about 40 s left", "about 7 min left"."""
    if seconds < 10:
        return "a few seconds left"
    if seconds < 60:
        return f"about {round(seconds / 10) * 10} s left"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min left"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes} min left" if minutes else f"about {hours} h left"


class ProgressTimer:
    """Elapsed time and an estimate of the time left of one training, from its reports.

    Reports whose texts differ only in their numbers ("Fitted 10 of 100 trees", "Fitted 20
    of 100 trees") belong to one step. Once a step has moved the fraction for at least
    ESTIMATE_AFTER_SECONDS, its pace estimates the rest; a single long fit that reports only
    when it starts gives no estimate, only the elapsed time. ``clock`` returns seconds.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        """Seconds (monotonic); tests pass a fake clock."""
        self.started = clock()
        """When the training started."""
        self.fraction = 0.0
        """The last reported fraction."""
        self._step: str | None = None
        self._first: tuple[float, float] | None = None
        self._last: tuple[float, float] | None = None

    def report(self, fraction: float, text: str) -> None:
        """Record one progress report (call it when the report arrives)."""
        now = self.clock()
        step = _NUMBERS.sub("#", text)
        if step != self._step or self._first is None:
            self._step = step
            self._first = (now, fraction)
        self._last = (now, fraction)
        self.fraction = fraction

    def elapsed(self) -> float:
        """Seconds since the training started."""
        return max(0.0, self.clock() - self.started)

    def remaining(self) -> float | None:
        """Estimated seconds left, or None while there is no pace to go by."""
        if self._first is None or self._last is None:
            return None
        (first_at, first_fraction), (last_at, last_fraction) = self._first, self._last
        took = last_at - first_at
        moved = last_fraction - first_fraction
        if took < ESTIMATE_AFTER_SECONDS or moved <= 0:
            return None
        pace = moved / took
        return max(0.0, (1.0 - last_fraction) / pace - (self.clock() - last_at))

    def text(self) -> str:
        """ "1:05 elapsed" or "1:05 elapsed, about 7 min left"."""
        shown = f"{duration_text(self.elapsed())} elapsed"
        left = self.remaining()
        return shown if left is None else f"{shown}, {time_left_text(left)}"
