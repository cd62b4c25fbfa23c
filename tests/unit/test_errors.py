"""One error hierarchy: every error a person can act on is a TuidashError with .message."""

from __future__ import annotations

import pytest

from tuidash.cli.common import CommandError
from tuidash.core.analysis import AnalysisError
from tuidash.core.catalog import ParamError, UnknownModelKind, get_kind
from tuidash.core.data import DataEncodingError, DataError
from tuidash.core.errors import TuidashError
from tuidash.core.predicting import PredictionError
from tuidash.core.training import SchemaError, TrainingError
from tuidash.core.transfer import TransferError


@pytest.mark.parametrize(
    "error",
    [
        CommandError("Pass --yes."),
        AnalysisError("No predictions."),
        ParamError("alpha must be a number."),
        DataError("Not a table."),
        DataEncodingError("Not UTF-8.", "latin-1"),
        PredictionError("Missing column 'b'."),
        TrainingError("No target."),
        SchemaError(["Missing column 'b'.", "Column 'a' is text."]),
        TransferError("Not a pickle."),
    ],
)
def test_every_error_is_a_tuidash_error_with_its_sentence(error: TuidashError) -> None:
    assert isinstance(error, TuidashError)
    assert error.message == str(error) and error.message


def test_extra_attributes_and_old_bases_are_kept() -> None:
    assert DataEncodingError("x", "cp1252").suggestion == "cp1252"
    assert SchemaError(["a.", "b."]).problems == ["a.", "b."]
    assert isinstance(TrainingError("x"), ValueError)  # callers catching ValueError still do
    with pytest.raises(UnknownModelKind) as raised:
        get_kind("no_such_kind")
    assert isinstance(raised.value, TuidashError) and "no_such_kind" in raised.value.message
