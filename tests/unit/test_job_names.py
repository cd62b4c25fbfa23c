"""A job's line for people names its model kind as the Train section does."""

from __future__ import annotations

import pytest

from tuidash.services.jobs import _what
from tuidash.services.workflows import TrainRequest


@pytest.mark.parametrize(
    ("kind", "task", "shown"),
    [
        ("logistic_regression", "auto", "Logistic Regression"),
        ("logistic_regression", "classification", "Logistic Regression"),
        ("svc", "auto", "SVC"),
        ("random_forest", "classification", "Random Forest"),
        ("gradient_boosting", "regression", "Gradient Boosting"),
    ],
)
def test_a_job_is_named_by_its_kinds_display_name(kind: str, task: str, shown: str) -> None:
    request = TrainRequest(target="species", kind=kind, task=task, source="data/penguins.csv")
    what = _what(request, {"source": "data/penguins.csv"})
    assert what == f"{shown} on penguins.csv (target species)"


def test_an_unknown_kind_is_shown_as_given() -> None:
    request = TrainRequest(target="y", kind="no_such_kind", source="x.csv")
    assert _what(request, {"source": "x.csv"}) == "no_such_kind on x.csv (target y)"
