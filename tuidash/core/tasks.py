"""Which task a target asks for: regression (predict a number) or classification (predict
a class), with the reason in one sentence, and the target's values as class labels.

The rule (``decide_task``): true/false, categorical and text targets are classes; numbers
are regression, except whole numbers with only a few different values (at most
``WHOLE_CLASS_MAX``, each value on average in two rows or more), which are classes. A text
column that reads as numbers is numbers. A person can always choose the task instead.
pandas and numpy are imported inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tuidash.core.errors import TrainingError

if TYPE_CHECKING:
    import pandas as pd

TASK_CHOICES: tuple[str, ...] = ("auto", "regression", "classification")
"""What a person may ask for: ``auto`` follows the target (``decide_task``)."""

WHOLE_CLASS_MAX = 10
"""A whole-number target with at most this many different values is a class label."""

MAX_CLASSES = 200
"""Classification refuses a target with more classes than this (an identifier or a number)."""


@dataclass(frozen=True)
class TaskChoice:
    """The task of a target and why, in one sentence a person can read."""

    task: str
    """regression or classification."""
    reason: str
    """Why, e.g. "'species' holds text, so each value is a class."."""
    chosen: bool = False
    """True when the person chose the task (not ``auto``)."""
    classes: int | None = None
    """How many different values the target has (None when not counted)."""


def check_task(task: str) -> str:
    """``task`` when it is one of TASK_CHOICES; raise TrainingError with the choices."""
    if task not in TASK_CHOICES:
        raise TrainingError(f"The task must be one of {', '.join(TASK_CHOICES)}, not {task!r}.")
    return task


def decide_task(series: pd.Series, requested: str = "auto", name: str | None = None) -> TaskChoice:
    """The task for predicting ``series`` (``requested`` wins unless it is ``auto``).

    Bounded, as it runs on the UI thread when a person picks a target: a column longer than
    ``SAMPLE_ROWS`` is judged on that many evenly spaced values (and the reason says so),
    and distinct values are only counted where the answer needs them.
    """
    import numpy as np
    import pandas as pd

    from tuidash.core.profiling import SAMPLE_ROWS, column_kind

    check_task(requested)
    label = repr(str(name if name is not None else series.name))
    if requested != "auto":
        how = "a class" if requested == "classification" else "a number"
        return TaskChoice(requested, f"You chose {requested}: {label} is predicted as {how}.", True)
    present = series.dropna()
    sampled = len(present) > SAMPLE_ROWS
    if sampled:  # evenly spaced rows: a random sample of a long column costs a permutation
        present = present.iloc[np.linspace(0, len(present) - 1, SAMPLE_ROWS).astype(np.int64)]
    where = f" in {SAMPLE_ROWS:,} sampled rows" if sampled else ""
    kind = column_kind(series)
    if kind == "boolean":
        return TaskChoice(
            "classification", f"{label} holds true/false values, so it is classification."
        )
    if isinstance(series.dtype, pd.CategoricalDtype):
        return TaskChoice("classification", f"{label} is categorical, so it is classification.")
    if kind == "datetime":
        return TaskChoice("regression", f"{label} holds dates, which cannot be predicted.")
    if kind == "text":
        # Each distinct text is read as a number once (reading holds the GIL).
        counts = present.astype(str).str.strip().value_counts()
        parsed = pd.to_numeric(pd.Series(counts.index, dtype=object), errors="coerce")
        readable = parsed.notna().to_numpy()
        if not readable.all():
            if counts.to_numpy()[readable].sum() >= 0.9 * len(present):
                return TaskChoice(
                    "regression",
                    f"{label} holds mostly numbers (with some text), so it is regression.",
                )
            distinct = len(counts)
            return TaskChoice(
                "classification",
                f"{label} holds text ({distinct:,} different values{where}), so each value is "
                "a class.",
                False,
                distinct,
            )
        present = pd.Series(np.repeat(parsed.to_numpy(dtype=np.float64), counts.to_numpy()))
    values = present.to_numpy(dtype=np.float64, na_value=np.nan)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return TaskChoice("regression", f"{label} holds no numbers.", False, 0)
    if not bool((values == np.round(values)).all()):
        return TaskChoice(
            "regression", f"{label} holds numbers with decimals, so it is regression."
        )
    # Few values show in the first rows already; a long list of them is never counted.
    if int(pd.unique(values[:1000]).size) > WHOLE_CLASS_MAX:
        return TaskChoice(
            "regression",
            f"{label} holds whole numbers with more than {WHOLE_CLASS_MAX} different values, "
            "so it is regression.",
        )
    count = int(pd.unique(values).size)
    if 2 <= count <= WHOLE_CLASS_MAX and count * 2 <= values.size:
        low, high = _number_text(values.min()), _number_text(values.max())
        return TaskChoice(
            "classification",
            f"{label} holds whole numbers with only {count} different values{where} ({low} to "
            f"{high}), so each value is a class.",
            False,
            count,
        )
    if count > WHOLE_CLASS_MAX:
        text = f"more than {WHOLE_CLASS_MAX} different values"
    elif count == 1:
        text = "one value in every row"
    else:
        text = f"only {count} different values in {values.size} rows"
    return TaskChoice(
        "regression", f"{label} holds whole numbers with {text}, so it is regression.", False, count
    )


def class_labels(series: pd.Series, name: str) -> pd.Series:
    """The target as class labels (missing stays missing): whole numbers become ints;
    other numbers, true/false and text become text (``typed_labels`` makes the array)."""
    import numpy as np
    import pandas as pd

    from tuidash.core.profiling import column_kind

    kind = column_kind(series)
    if kind == "datetime":
        raise TrainingError(
            f"The target {name!r} holds dates, which cannot be classes; choose another target."
        )
    if kind == "text" and not isinstance(series.dtype, pd.CategoricalDtype):
        numbers = _text_numbers(series.dropna())
        if numbers is not None:
            series = pd.to_numeric(series.astype(str).str.strip(), errors="coerce").where(
                series.notna()
            )
            kind = "numeric"
    if kind == "numeric":
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        values = np.where(np.isfinite(values), values, np.nan)
        finite = values[~np.isnan(values)]
        if bool((finite == np.round(finite)).all()):
            return pd.Series(
                [None if np.isnan(v) else int(v) for v in values], index=series.index, dtype=object
            )
        # sklearn takes fractional numbers for a continuous target, so they become text.
        return pd.Series(
            [None if np.isnan(v) else f"{v:g}" for v in values], index=series.index, dtype=object
        )
    from tuidash.core.pipeline import _as_text

    return _as_text(series)


def typed_labels(labels: pd.Series) -> pd.Series:
    """Present labels as sklearn takes them: int64 when all are ints, else text."""
    values = labels.tolist()
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return labels.astype("int64")
    return labels.map(str).astype(object)


def plain_label(value: Any) -> Any:
    """A class label as a plain JSON value (str, int, float or bool)."""
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _text_numbers(present: pd.Series) -> pd.Series | None:
    """Text that all reads as numbers (as training reads a target), else None."""
    import pandas as pd

    if present.empty:
        return None
    numbers = pd.to_numeric(present.astype(str).str.strip(), errors="coerce")
    return None if numbers.isna().any() else numbers


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
