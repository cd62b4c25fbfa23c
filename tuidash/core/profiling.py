"""What is in a table: a profile of every column, the problems a person should see before
training, and the target chosen by default. pandas and numpy are imported inside.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tuidash.core.numeric_text import reads_as_number

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class ColumnProfile:
    """What the Data screen shows about one column."""

    name: str
    dtype: str
    """pandas dtype as text, e.g. int64, float64, str, object, bool, datetime64[ns]."""
    missing: int
    unique: int
    """Distinct non-missing values."""
    minimum: float | None
    mean: float | None
    maximum: float | None
    """min/mean/max for numeric columns (None for text or an all-missing column)."""
    examples: list[str]
    """A few distinct values as text (at most 3, each at most 40 characters)."""
    kind: str = "text"
    """numeric, text, boolean or datetime: how training will treat the column."""


def column_kind(series: pd.Series) -> str:
    """How training treats a column: numeric, boolean, datetime or text."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_timedelta64_dtype(series):
        return "datetime"
    return "text"


def profile_columns(frame: pd.DataFrame) -> list[ColumnProfile]:
    """A profile of every column: dtype, missing, unique, min/mean/max, a few examples."""
    profiles: list[ColumnProfile] = []
    for position, name in enumerate(frame.columns):
        series = frame.iloc[:, position]
        kind = column_kind(series)
        missing = int(series.isna().sum())
        present = series.dropna()
        unique = _unique_count(present)
        minimum = mean = maximum = None
        if kind == "numeric" and not present.empty:
            values = present.astype("float64")
            finite = values[values.abs() != math.inf]
            if not finite.empty:
                minimum = float(finite.min())
                mean = _finite(float(finite.mean()))
                maximum = float(finite.max())
        profiles.append(
            ColumnProfile(
                name=str(name),
                dtype=str(series.dtype),
                missing=missing,
                unique=unique,
                minimum=minimum,
                mean=mean,
                maximum=maximum,
                examples=_examples(present),
                kind=kind,
            )
        )
    return profiles


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _unique_count(values: pd.Series) -> int:
    try:
        return int(values.nunique(dropna=True))
    except TypeError:  # unhashable cells, e.g. nested JSON objects
        return int(values.astype(str).nunique(dropna=True))


def _examples(values: pd.Series, count: int = 3, width: int = 40) -> list[str]:
    examples: list[str] = []
    seen: set[str] = set()
    for value in values.head(200).tolist():
        text = str(value)
        if text in seen:
            continue
        seen.add(text)
        examples.append(text if len(text) <= width else text[: width - 1] + "…")
        if len(examples) == count:
            break
    return examples


SAMPLE_ROWS = 100_000
"""Above this many rows, "numbers mixed with text" is judged on a fixed sample of this size."""
_SAMPLE_SEED = 0


def data_problems(
    frame: pd.DataFrame,
    profile: list[ColumnProfile] | None = None,
    target: str | None = None,
    task: str = "auto",
) -> list[str]:
    """Plain-word problems a person should see before training (one sentence each).

    ``profile`` is ``profile_columns(frame)`` when the caller has it already (it is computed
    here otherwise). Missing and unique counts and duplicate rows are exact; whether a text
    column is "mostly numbers" is judged on its distinct values, or on a fixed sample of
    ``SAMPLE_ROWS`` values when a long column has more distinct values than that. With a
    ``target``, the problems of that target for ``task`` (``target_problems``) come last.
    """
    problems: list[str] = []
    rows = len(frame)
    if rows == 0:
        return ["The data has no rows."]
    if rows < 20:
        problems.append(f"Only {rows} rows: metrics on so little data will be unreliable.")
    profiles = profile_columns(frame) if profile is None else profile
    for position, column in enumerate(profiles):
        name = column.name
        if column.missing == rows:
            problems.append(f"Column {name!r} is empty (every value is missing).")
            continue
        if column.unique == 1:
            problems.append(
                f"Column {name!r} has the same value in every row; it cannot help a model."
            )
        if column.missing and column.missing >= rows / 2:
            share = round(100 * column.missing / rows)
            problems.append(f"Column {name!r} is {share}% missing.")
        if column.kind == "text":
            present = rows - column.missing
            # By position: names are text in a profile but may not be in the frame.
            same = position < frame.shape[1] and str(frame.columns[position]) == name
            series = frame.iloc[:, position] if same else frame[name]
            numbers = _numeric_share(series, column.unique)
            if 0.9 <= numbers < 1.0:
                odd = ", ".join(repr(v) for v in odd_values(series))
                problems.append(
                    f"Column {name!r} is mostly numbers but has some text (such as {odd}), so it "
                    "is treated as text; fix the odd values to use it as a number."
                )
            elif (column.unique == present > 20 or column.unique > 100) and not _is_dates(series):
                # Dates differ in most rows too, but training reads them as dates (the same
                # test as choose_features), never as an identifier or one-hot text.
                if column.unique == present:
                    problems.append(
                        f"Column {name!r} has a different value in every row (an identifier?); "
                        "it will not help a model."
                    )
                else:
                    problems.append(
                        f"Column {name!r} has {column.unique} different text values; one-hot "
                        "encoding it makes a very wide table."
                    )
    duplicates = _duplicate_rows(frame)
    if duplicates:
        problems.append(f"{duplicates} rows are exact copies of an earlier row.")
    if target is not None:
        problems.extend(target_problems(frame, target, task))
    return problems


def target_problems(frame: pd.DataFrame, target: str | None, task: str = "auto") -> list[str]:
    """Why ``target`` cannot be predicted for ``task``; empty when it can.

    Named here, on the Data screen, before a training is started: an empty target, dates,
    and for regression (chosen, or ``auto`` on numbers) text and true/false values; for
    classification (chosen, or ``auto`` on text, true/false or a few whole numbers) more
    classes than ``tuidash.core.tasks.MAX_CLASSES``.
    """
    import pandas as pd

    from tuidash.core.tasks import MAX_CLASSES, decide_task

    if target is None:
        return ["No target is chosen; choose the column to predict."]
    if target not in [str(c) for c in frame.columns]:
        return [f"There is no column {target!r} to predict."]
    series = frame.loc[:, [str(c) == target for c in frame.columns]].iloc[:, 0]
    kind = column_kind(series)
    fix = "choose a column of numbers as the target."
    if series.isna().all():
        return [f"The target {target!r} is empty (every value is missing); {fix}"]
    choice = None if kind == "datetime" else decide_task(series, task, target)
    if choice is not None and choice.task == "classification":
        # Counted on at most SAMPLE_ROWS values (training counts them all).
        present = series.dropna()
        classes = (
            choice.classes
            if choice.classes is not None
            else _unique_count(present.head(SAMPLE_ROWS))
        )
        if classes > MAX_CLASSES:
            return [
                f"The target {target!r} has {classes:,} different values, more than the "
                f"{MAX_CLASSES} classes classification takes; choose regression or another "
                "target."
            ]
        if classes < 2:
            return [f"The target {target!r} has one value in every row; there is nothing to learn."]
        return []
    if kind == "boolean":
        return [f"The target {target!r} holds true/false values, not numbers; {fix}"]
    if kind == "datetime":
        return [f"The target {target!r} holds dates, not numbers; {fix}"]
    if kind == "text":
        present = series.dropna()
        if len(present) > SAMPLE_ROWS:  # bounded: this runs when a person picks a target
            half = SAMPLE_ROWS // 2
            tail = present.iloc[half:].sample(n=half, random_state=_SAMPLE_SEED)
            present = pd.concat([present.head(half), tail])
        # Strictly as training reads a target: a decimal comma left as text is text.
        odd = odd_values(present, decimal_comma=False)
        if odd:
            share = 1 - _odd_share(present)
            what = "mostly numbers but also text" if share >= 0.9 else "text"
            examples = ", ".join(repr(v) for v in odd)
            return [
                f"The target {target!r} holds {what} (such as {examples}); tuidash predicts "
                f"numbers, so {fix}"
            ]
    return []


def default_target(frame: pd.DataFrame) -> str | None:
    """The column predicted by default: the last numeric column that is not an identifier.

    A numeric identifier is a column of whole numbers, a different one in every row, that is
    named like one ("id", "customer_id", "row", "index", "No.", pandas' "Unnamed: 0") or
    numbers the rows (0, 1, 2, ... or 1, 2, 3, ...).
    Without such a column the last numeric one is chosen; without any, the last text or
    true/false column with 2 to ``MAX_CLASSES`` values that is not an identifier (a class
    to predict), and without that the last column (which ``target_problems`` reports).
    """
    import pandas as pd

    columns = list(frame.columns)
    if not columns:
        return None
    numeric: list[str] = []
    for position in range(len(columns) - 1, -1, -1):
        series = frame.iloc[:, position]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            continue
        if series.isna().all():
            continue
        name = str(columns[position])
        numeric.append(name)
        if not _numeric_identifier(name, series):
            return name
    if numeric:
        return numeric[0]
    return _class_target(frame) or str(columns[-1])


def _class_target(frame: pd.DataFrame) -> str | None:
    """The last text or true/false column that reads as classes (2 to MAX_CLASSES values,
    not a different value in most rows), or None."""
    from tuidash.core.tasks import MAX_CLASSES

    for position in range(frame.shape[1] - 1, -1, -1):
        series = frame.iloc[:, position]
        if column_kind(series) not in ("text", "boolean"):
            continue
        present = series.dropna()
        distinct = _unique_count(present)
        if 2 <= distinct <= MAX_CLASSES and distinct <= max(2, len(present) // 2):
            if column_kind(series) == "text" and _is_dates(series):
                continue
            return str(frame.columns[position])
    return None


_ID_NAME = re.compile(
    r"^(id|ids|index|idx|row|rows|row_?id|row_?number|no\.?|nr\.?|number|key|uuid|unnamed: \d+"
    r"|.*[_ .-]id)$",
    re.IGNORECASE,
)
_CAMEL_ID = re.compile(r"^.*([a-z]Id|[a-z]ID)$")  # customerId, CustomerID (not "valid", "paid")


def _numeric_identifier(name: str, series: pd.Series) -> bool:
    """Whole numbers, all different, named like an id or numbering the rows from 0 or 1.

    Cheap checks first (this runs on the UI thread when a file is loaded): the name, then
    whole numbers, then increasing values (which are all different); a column named like an
    id in another order is judged on a fixed sample of ``SAMPLE_ROWS`` values.
    """
    import numpy as np

    present = series.dropna()
    if len(present) < 2:
        return False
    named = bool(_ID_NAME.match(name.strip()) or _CAMEL_ID.match(name.strip()))
    values = present.to_numpy(dtype=np.float64)
    if not named and (len(values) <= 20 or values[0] not in (0, 1)):
        return False
    if not np.isfinite(values).all() or not (values == np.round(values)).all():
        return False
    steps = np.diff(values)
    if not named:
        return bool((steps == 1).all())
    if (steps > 0).all():
        return True
    if len(values) > SAMPLE_ROWS:
        values = np.random.default_rng(_SAMPLE_SEED).choice(values, SAMPLE_ROWS, replace=False)
    return bool(len(np.unique(values)) == len(values))


def _numeric_share(series: pd.Series, unique: int | None = None) -> float:
    """The share of present values that read as numbers (a point or a decimal comma).

    Converting text to numbers holds the GIL for the whole column (0.6 s for 2.4 M values,
    freezing the UI), so at most ``SAMPLE_ROWS`` values are converted: each distinct value
    once, weighted by its count (exact), or a fixed sample when there are more distinct values.
    """
    import pandas as pd

    present = series.dropna()
    if present.empty:
        return 0.0
    if len(present) <= SAMPLE_ROWS:
        return float(reads_as_number(present.astype(str)).mean())
    if unique is not None and unique <= SAMPLE_ROWS:
        try:
            counts = present.value_counts(sort=False)
        except TypeError:  # unhashable cells, e.g. nested JSON objects
            counts = None
        if counts is not None:
            texts = pd.Series(counts.index, dtype=object).astype(str)
            numeric = reads_as_number(texts)
            return float(counts.to_numpy()[numeric].sum() / len(present))
    sample = present.sample(n=SAMPLE_ROWS, random_state=_SAMPLE_SEED)
    return float(reads_as_number(sample.astype(str)).mean())


def odd_values(
    series: pd.Series, count: int = 3, width: int = 20, *, decimal_comma: bool = True
) -> list[str]:
    """The first few distinct values (in row order) that do not read as numbers.

    At most the first ``SAMPLE_ROWS`` present values are looked at, so the answer is the
    same for a small and a long column and the conversion stays bounded. Without
    ``decimal_comma`` only numbers written with a point count (as pandas reads them).
    """
    present = series.dropna().head(SAMPLE_ROWS)
    if present.empty:
        return []
    texts = present.astype(str)
    odd = texts[~reads_as_number(texts, decimal_comma=decimal_comma)]
    shown: list[str] = []
    for value in odd.drop_duplicates().head(count).tolist():
        shown.append(value if len(value) <= width else value[: width - 1] + "…")
    return shown


def _odd_share(present: pd.Series) -> float:
    """The share of (at most SAMPLE_ROWS) values pandas does not read as numbers."""
    texts = present.head(SAMPLE_ROWS).astype(str)
    return float((~reads_as_number(texts, decimal_comma=False)).mean()) if len(texts) else 0.0


def _duplicate_rows(frame: pd.DataFrame) -> int:
    """Rows equal to an earlier row, exactly.

    ``frame.duplicated()`` takes 2 s on 2.4 M rows with text; hashing each row (vectorised)
    and comparing the rows whose hashes repeat gives the same count in a fraction of it.
    """
    import pandas as pd

    try:
        if len(frame) <= SAMPLE_ROWS or frame.shape[1] == 0:
            return int(frame.duplicated().sum())
        hashes = pd.util.hash_pandas_object(frame, index=False)
        candidates = hashes.duplicated(keep=False).to_numpy()
        if not candidates.any():
            return 0
        # Equal rows have equal hashes, so every copy and its original are candidates;
        # comparing only those (in their order) rules out hash collisions.
        return int(frame.loc[candidates].duplicated().sum())
    except TypeError:  # unhashable cells
        return 0


def _is_dates(series: pd.Series) -> bool:
    """Text that is dates (imported here: the date module needs scikit-learn)."""
    from tuidash.core.dates import is_date_column

    return is_date_column(series)
