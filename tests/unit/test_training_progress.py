"""Long trainings: elapsed time and time left, evaluation progress, cancel between chunks.

Every time here comes from a fake clock; nothing waits on the wall clock.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tuidash.core.evaluation import PREDICT_CHUNK_ROWS, _permutation_importance
from tuidash.core.evaluation import predict_in_chunks as _predict_in_chunks
from tuidash.core.fitting import _fit_grown
from tuidash.core.pipeline import build_pipeline
from tuidash.core.progress import ProgressReporter as _Progress
from tuidash.core.progress import ProgressTimer, TrainingCancelled, duration_text, time_left_text
from tuidash.core.training import TrainConfig, train_model


class FakeClock:
    """Seconds that move only when the test says so."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def numbers_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """Three numeric features and a target that depends on two of them."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.uniform(0, 10, rows), "b": rng.uniform(0, 5, rows)})
    frame["noise"] = rng.normal(0, 1, rows)
    frame["y"] = 3 * frame["a"] - 2 * frame["b"] + rng.normal(0, 0.5, rows)
    return frame


# --------------------------------------------------------------------------- the texts


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0:00"), (7.9, "0:07"), (65, "1:05"), (725, "12:05"), (3723, "1:02:03")],
)
def test_elapsed_time_reads_like_a_stopwatch(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (3, "a few seconds left"),
        (42, "about 40 s left"),
        (420, "about 7 min left"),
        (4800, "about 1 h 20 min left"),
        (7200, "about 2 h left"),
    ],
)
def test_time_left_is_a_rough_estimate_in_words(seconds: float, text: str) -> None:
    assert time_left_text(seconds) == text


# --------------------------------------------------------------------------- the timer


def test_timer_shows_only_elapsed_until_a_step_has_a_pace() -> None:
    clock = FakeClock()
    timer = ProgressTimer(clock)
    timer.report(0.0, "Preparing the data")
    clock.advance(4)
    timer.report(0.05, "Fitting Random Forest")
    timer.report(0.05, "Fitted 0 of 100 trees")
    assert timer.remaining() is None
    assert timer.text() == "0:04 elapsed"


def test_timer_estimates_the_rest_from_the_pace_of_the_current_step() -> None:
    clock = FakeClock()
    timer = ProgressTimer(clock)
    timer.report(0.05, "Fitted 0 of 100 trees")
    clock.advance(60)
    # Ten trees a minute: 10% of the bar a minute, 85% left -> about 8.5 minutes.
    timer.report(0.15, "Fitted 10 of 100 trees")
    assert timer.remaining() == pytest.approx(510)
    assert timer.text() == "1:00 elapsed, about 8 min left"
    clock.advance(30)  # no report for half a minute: the estimate counts down
    assert timer.remaining() == pytest.approx(480)
    assert timer.text() == "1:30 elapsed, about 8 min left"


def test_one_long_fit_gives_no_estimate_however_long_it_takes() -> None:
    clock = FakeClock()
    timer = ProgressTimer(clock)
    timer.report(0.0, "Preparing the data")
    clock.advance(2)
    timer.report(0.05, "Fitting Support Vector Regression")
    clock.advance(600)
    assert timer.remaining() is None
    assert timer.text() == "10:02 elapsed"


def test_a_new_step_starts_a_new_pace() -> None:
    clock = FakeClock()
    timer = ProgressTimer(clock)
    timer.report(0.05, "Fitting k-Nearest Neighbours")
    clock.advance(1)
    timer.report(0.88, "Fitting done")  # fast fit: its pace must not estimate evaluation
    timer.report(0.9, "Predicting the test rows: 0 of 60,000")
    assert timer.remaining() is None
    clock.advance(10)
    timer.report(0.92, "Predicting the test rows: 12,000 of 60,000")
    # 2% of the bar in 10 s; 8% left -> 40 s.
    assert timer.remaining() == pytest.approx(40)


def test_a_pace_is_trusted_only_after_a_couple_of_seconds() -> None:
    clock = FakeClock()
    timer = ProgressTimer(clock)
    timer.report(0.05, "Fitted 0 of 100 trees")
    clock.advance(0.5)
    timer.report(0.06, "Fitted 1 of 100 trees")
    assert timer.remaining() is None


# --------------------------------------------------------------------------- chunks


class CountingModel:
    """Predicts zeros and counts its calls; sets ``cancel`` after ``cancel_after`` calls."""

    def __init__(self, cancel: threading.Event | None = None, cancel_after: int = 0) -> None:
        self.calls: list[int] = []
        self.cancel = cancel
        self.cancel_after = cancel_after

    def predict(self, X: Any) -> np.ndarray:
        self.calls.append(len(X))
        if self.cancel is not None and len(self.calls) == self.cancel_after:
            self.cancel.set()
        return np.zeros(len(X))


def test_predicting_the_test_rows_reports_each_chunk() -> None:
    rows = PREDICT_CHUNK_ROWS * 2 + 500
    X = pd.DataFrame({"a": np.arange(rows, dtype=float)})
    seen: list[tuple[float, str]] = []
    model = CountingModel()
    predicted = _predict_in_chunks(model, X, _Progress(lambda f, t: seen.append((f, t)), None))
    assert predicted.shape == (rows,)
    assert model.calls == [PREDICT_CHUNK_ROWS, PREDICT_CHUNK_ROWS, 500]
    assert [t for _, t in seen] == [
        f"Predicting the test rows: 0 of {rows:,}",
        f"Predicting the test rows: {PREDICT_CHUNK_ROWS:,} of {rows:,}",
        f"Predicting the test rows: {2 * PREDICT_CHUNK_ROWS:,} of {rows:,}",
        f"Predicting the test rows: {rows:,} of {rows:,}",
    ]
    assert [f for f, _ in seen] == sorted(f for f, _ in seen) and seen[-1][0] == 1.0


def test_cancel_stops_evaluation_between_chunks() -> None:
    cancel = threading.Event()
    model = CountingModel(cancel, cancel_after=2)
    X = pd.DataFrame({"a": np.zeros(PREDICT_CHUNK_ROWS * 10)})
    with pytest.raises(TrainingCancelled):
        _predict_in_chunks(model, X, _Progress(None, cancel))
    assert len(model.calls) == 2  # not the other eight chunks


def test_knn_reports_progress_while_it_evaluates() -> None:
    frame = numbers_frame(rows=PREDICT_CHUNK_ROWS * 6)  # 2,400 test rows: two chunks
    seen: list[tuple[float, str]] = []
    train_model(
        frame,
        "knn",
        None,
        TrainConfig("y"),
        progress=lambda fraction, text: seen.append((fraction, text)),
    )
    texts = [t for _, t in seen]
    assert "Predicting the test rows: 2,000 of 2,400" in texts
    assert "Predicting the test rows: 2,400 of 2,400" in texts
    assert "Feature importance: 1 of 3 columns" in texts
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    evaluation = [f for f, t in seen if t.startswith(("Predicting", "Feature importance"))]
    assert min(evaluation) >= 0.9


def test_cancel_stops_permutation_importance_between_columns() -> None:
    cancel = threading.Event()
    seen: list[str] = []

    def progress(fraction: float, text: str) -> None:
        seen.append(text)
        if text.startswith("Feature importance: 1 of"):
            cancel.set()

    with pytest.raises(TrainingCancelled):
        train_model(
            numbers_frame(200), "knn", None, TrainConfig("y"), progress=progress, cancel=cancel
        )
    assert not any(t.startswith("Feature importance: 2 of") for t in seen)


def test_permutation_importance_by_column_equals_sklearns() -> None:
    from sklearn.inspection import permutation_importance

    frame = numbers_frame(300)
    X, y = frame[["a", "b", "noise"]], frame["y"]
    pipeline = build_pipeline("knn", {"n_neighbors": 5}, ["a", "b", "noise"], [])
    pipeline.fit(X, y)
    ours, method = _permutation_importance(
        pipeline, list(X.columns), X, y, 7, _Progress(None, None)
    )
    index = np.unique(np.linspace(0, len(X) - 1, 500).round().astype(int))
    theirs = permutation_importance(
        pipeline,
        X.iloc[index],
        y.iloc[index],
        scoring="neg_mean_absolute_error",
        n_repeats=3,
        random_state=7,
    )
    assert method == "permutation"
    expected = dict(zip(X.columns, theirs.importances_mean.tolist(), strict=True))
    assert ours == pytest.approx(expected)
    assert list(ours) == sorted(expected, key=lambda name: -expected[name])


# --------------------------------------------------------------------------- growing


class SlowForest:
    """A stand-in ensemble whose every tree takes ``seconds_per_tree`` of the fake clock."""

    def __init__(self, clock: FakeClock, seconds_per_tree: float, trees: int = 100) -> None:
        self.clock = clock
        self.seconds_per_tree = seconds_per_tree
        self.n_estimators = trees
        self.n_jobs = None
        self.warm_start = False
        self.grown = 0

    def set_params(self, **params: Any) -> None:
        for key, value in params.items():
            setattr(self, key, value)

    def fit(self, X: Any, y: Any) -> None:
        self.clock.advance(self.seconds_per_tree * (self.n_estimators - self.grown))
        self.grown = self.n_estimators


def grown_counts(seconds_per_tree: float) -> list[int]:
    clock = FakeClock()
    seen: list[str] = []
    model = SlowForest(clock, seconds_per_tree)
    report = _Progress(lambda f, t: seen.append(t), None, clock)
    _fit_grown(model, "n_estimators", None, None, report, 0.05, 0.83, "trees")
    assert model.n_estimators == 100 and model.warm_start is False
    return [int(t.split()[1]) for t in seen]


def test_slow_trees_are_grown_in_small_chunks_so_progress_moves() -> None:
    # Six seconds a tree (300,000 rows): one tree a chunk, every tree reported.
    assert grown_counts(6.0) == list(range(0, 101))


def test_fast_trees_are_grown_in_tenths() -> None:
    # A millisecond a tree: one tree to measure, then a tenth of the forest at a time.
    assert grown_counts(0.001) == [0, 1, 11, 21, 31, 41, 51, 61, 71, 81, 91, 100]


def test_middling_trees_take_about_a_second_a_chunk() -> None:
    counts = grown_counts(0.25)  # four trees a second
    assert counts == [0, 1, *range(5, 100, 4), 100]
