"""The one error hierarchy of tuidash: what went wrong, as a sentence a person can act on.

Every error that a person caused or can fix derives from ``TuidashError`` and carries
``message``: one sentence saying what happened and what to do. The CLI prints it on stderr
with a non-zero exit, the UI shows it in a notification; both map errors by class.
"""

from __future__ import annotations


class TuidashError(Exception):
    """An error a person can act on; ``message`` is one sentence saying what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        """One sentence a person can act on."""


def os_reason(error: OSError) -> str:
    """An OSError's reason in lower case (``permission denied``)."""
    return (error.strerror or str(error)).lower()


def unwritable_store(base: object, error: OSError) -> str:
    """The sentence for a store folder that cannot be written (the CLI's and the dashboard's)."""
    return (
        f"The store folder {base} cannot be written ({os_reason(error)}); "
        "choose another with --store."
    )


# ----------------------------------------------------------- the model store (core.store)


class StoreError(TuidashError):
    """A store operation failed; ``message`` is one sentence a person can act on."""


class InvalidModelName(StoreError):
    """The name cannot be used as a model name."""


class ModelNotFound(StoreError):
    """No model of that name is in the store."""


class ModelExists(StoreError):
    """A model of that name (or one that would share its files) already exists."""


class ModelDamaged(StoreError):
    """The model's files are missing, torn, unreadable or do not match their checksum."""


class ModelRefused(StoreError):
    """The model's pickle asks for code tuidash will not run, so it was not loaded."""


class StoreWriteError(StoreError):
    """Writing to the store failed; the store is as it was before."""


class InvalidModelData(StoreError):
    """The model_data given to save is missing something or has the wrong shape."""


# ------------------------------------------------------- training (core.training and its parts)


class TrainingError(TuidashError, ValueError):
    """Training cannot start or finish on this data; the message is one sentence for a person."""


# ------------------------------------------------------------- data files (core.data, decoding)


class DataError(TuidashError, ValueError):
    """A data file that cannot be read; the message is one sentence for a person."""


class DataEncodingError(DataError):
    """A text file that is not in the encoding tried; ``suggestion`` is one to try next."""

    def __init__(self, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.suggestion = suggestion
