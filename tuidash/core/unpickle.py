"""Restricted unpickling: only the classes a saved model needs, listed here in code.

A pickle names every class or function it wants to call by (module, name). The C
``pickle.Unpickler`` asks ``find_class`` for each one, so refusing everything that is
not on an exact allowlist means a file can build sklearn estimators and numpy arrays
but can never reach ``os.system``, ``eval`` or a helper inside sklearn or numpy that
runs code. Nothing from the file (or its JSON) decides what is allowed.

The list was found by pickling every estimator of ``tuidash.core.catalog.CATALOG``
built with ``build_pipeline`` (numeric and categorical columns, missing values) and
the plain estimators the original Streamlit app saved, with a recording Unpickler;
``tests/unit/test_unpickle.py`` re-checks that it is complete.
"""

from __future__ import annotations

import bz2
import gzip
import importlib
import io
import lzma
import pickle
import zlib
from typing import Any

from tuidash.core import boosting

# Each entry is (module, name) exactly as a pickle spells it. Only classes and the
# reconstructor helpers numpy/sklearn pickles call; every function here only builds
# an object of a fixed (or itself allowlisted) type.
_NUMPY: frozenset[tuple[str, str]] = frozenset(
    {
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy", "float64"),
        ("numpy", "float32"),
        ("numpy", "int64"),
        ("numpy", "int32"),
        ("numpy", "intp"),
        ("numpy", "bool_"),
        # ndarray.__reduce__ / scalar / protocol-5 buffer reconstructors.
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy._core.numeric", "_frombuffer"),
        # Random generators kept by estimators (random_state objects, MLP optimisers).
        ("numpy.random._pickle", "__bit_generator_ctor"),
        ("numpy.random._pickle", "__generator_ctor"),
        ("numpy.random._pickle", "__randomstate_ctor"),
        ("numpy.random._mt19937", "MT19937"),
        ("numpy.random._pcg64", "PCG64"),
        ("numpy.random._pcg64", "PCG64DXSM"),
        ("numpy.random._philox", "Philox"),
        ("numpy.random._sfc64", "SFC64"),
        ("numpy.random._generator", "Generator"),
        ("numpy.random.mtrand", "RandomState"),
        ("numpy.random.bit_generator", "SeedSequence"),
        ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    }
)

_BUILTINS: frozenset[tuple[str, str]] = frozenset(
    {
        # Plain data types only; never getattr, eval, exec, __import__, open, ...
        ("builtins", "slice"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "complex"),
        ("builtins", "bytearray"),
        ("builtins", "bytes"),
        ("builtins", "range"),
        ("collections", "OrderedDict"),
    }
)

_SKLEARN: frozenset[tuple[str, str]] = frozenset(
    {
        # Pipeline and preprocessing (tuidash.core.training.build_pipeline).
        ("sklearn.pipeline", "Pipeline"),
        ("sklearn.compose._column_transformer", "ColumnTransformer"),
        ("sklearn.impute._base", "SimpleImputer"),
        ("sklearn.preprocessing._data", "StandardScaler"),
        ("sklearn.preprocessing._data", "MinMaxScaler"),
        ("sklearn.preprocessing._data", "RobustScaler"),
        ("sklearn.preprocessing._encoders", "OneHotEncoder"),
        ("sklearn.preprocessing._encoders", "OrdinalEncoder"),
        # Catalog estimators.
        ("sklearn.dummy", "DummyRegressor"),
        ("sklearn.linear_model._base", "LinearRegression"),
        ("sklearn.linear_model._ridge", "Ridge"),
        ("sklearn.linear_model._coordinate_descent", "Lasso"),
        ("sklearn.tree._classes", "DecisionTreeRegressor"),
        ("sklearn.tree._tree", "Tree"),
        ("sklearn.ensemble._forest", "RandomForestRegressor"),
        (
            "sklearn.ensemble._hist_gradient_boosting.gradient_boosting",
            "HistGradientBoostingRegressor",
        ),
        ("sklearn.ensemble._hist_gradient_boosting.binning", "_BinMapper"),
        ("sklearn.ensemble._hist_gradient_boosting.predictor", "TreePredictor"),
        ("sklearn._loss.loss", "HalfSquaredError"),
        ("sklearn._loss._loss", "CyHalfSquaredError"),
        ("sklearn._loss.link", "IdentityLink"),
        ("sklearn._loss.link", "Interval"),
        ("sklearn.svm._classes", "SVR"),
        ("sklearn.neighbors._regression", "KNeighborsRegressor"),
        ("sklearn.neighbors._kd_tree", "KDTree"),
        ("sklearn.neighbors._ball_tree", "BallTree"),
        # Cython pickle helpers of the neighbour trees and distance metrics: each only
        # calls cls.__new__(cls) on a class that must itself be allowlisted.
        ("sklearn.neighbors._kd_tree", "newObj"),
        ("sklearn.neighbors._ball_tree", "newObj"),
        ("sklearn.metrics._dist_metrics", "newObj"),
        ("sklearn.metrics._dist_metrics", "EuclideanDistance64"),
        ("sklearn.metrics._dist_metrics", "ManhattanDistance64"),
        ("sklearn.metrics._dist_metrics", "MinkowskiDistance64"),
        ("sklearn.metrics._dist_metrics", "ChebyshevDistance64"),
        ("sklearn.neural_network._multilayer_perceptron", "MLPRegressor"),
        ("sklearn.neural_network._stochastic_optimizers", "AdamOptimizer"),
        ("sklearn.neural_network._stochastic_optimizers", "SGDOptimizer"),
        # Plain regressors the original Streamlit app could have saved.
        ("sklearn.ensemble._gb", "GradientBoostingRegressor"),
        ("sklearn.ensemble._forest", "ExtraTreesRegressor"),
        ("sklearn.tree._classes", "ExtraTreeRegressor"),
        ("sklearn.ensemble._weight_boosting", "AdaBoostRegressor"),
        ("sklearn.linear_model._coordinate_descent", "ElasticNet"),
        ("sklearn.linear_model._bayes", "BayesianRidge"),
        ("sklearn.linear_model._huber", "HuberRegressor"),
        ("sklearn.linear_model._stochastic_gradient", "SGDRegressor"),
        ("sklearn.svm._classes", "LinearSVR"),
    }
)

_TUIDASH: frozenset[tuple[str, str]] = frozenset(
    {
        # The date step of build_pipeline: holds column names and format strings only.
        ("tuidash.core.dates", "DateFeatures"),
    }
)

# ---------------------------------------------------------------- tuidash[boost] (issue 15)
# XGBoost, LightGBM and CatBoost models, found the same way (fitted alone and inside
# build_pipeline, both tasks, protocols 2, 4 and 5). Each class's __setstate__ only hands
# the saved model bytes to its library's own model reader. Nothing else of these
# packages is allowed (tests/unit/test_boosting.py checks a function of each is refused).
BOOST_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("xgboost.sklearn", "XGBRegressor"),
        ("xgboost.sklearn", "XGBClassifier"),
        ("xgboost.core", "Booster"),
        ("lightgbm.sklearn", "LGBMRegressor"),
        ("lightgbm.sklearn", "LGBMClassifier"),
        ("lightgbm.basic", "Booster"),
        # LightGBM keeps best_score in a defaultdict(OrderedDict); its factory is a global
        # too, so it can only ever be an allowlisted class.
        ("collections", "defaultdict"),
        # LGBMClassifier encodes its labels with sklearn's LabelEncoder.
        ("sklearn.preprocessing._label", "LabelEncoder"),
        ("catboost.core", "CatBoostRegressor"),
        ("catboost.core", "CatBoostClassifier"),
        # A boosting classifier is saved inside this wrapper, which keeps the labels.
        ("tuidash.core.boost_labels", "EncodedLabelsClassifier"),
    }
)
"""What unpickling the optional boosting libraries' models needs, exactly."""

# -------------------------------------------------------------- end of tuidash[boost] block

# ---- classification (issue 15, i15-class): the classification catalog's estimators, by
# exact class name, found with a recording Unpickler over every kind of
# CLASSIFICATION_CATALOG fitted on text, whole-number, two-class and several-class targets
# (tests/unit/test_classification.py re-checks it).
_SKLEARN_CLASSIFIERS: frozenset[tuple[str, str]] = frozenset(
    {
        ("sklearn.dummy", "DummyClassifier"),
        ("sklearn.linear_model._logistic", "LogisticRegression"),
        ("sklearn.tree._classes", "DecisionTreeClassifier"),
        ("sklearn.ensemble._forest", "RandomForestClassifier"),
        (
            "sklearn.ensemble._hist_gradient_boosting.gradient_boosting",
            "HistGradientBoostingClassifier",
        ),
        ("sklearn.svm._classes", "SVC"),
        ("sklearn.neighbors._classification", "KNeighborsClassifier"),
        ("sklearn.neural_network._multilayer_perceptron", "MLPClassifier"),
        # Label handling kept by the classifiers (MLP, gradient boosting).
        ("sklearn.preprocessing._label", "LabelEncoder"),
        ("sklearn.preprocessing._label", "LabelBinarizer"),
        # The losses and links of gradient boosting for two and several classes.
        ("sklearn._loss.loss", "HalfBinomialLoss"),
        ("sklearn._loss.loss", "HalfMultinomialLoss"),
        ("sklearn._loss._loss", "CyHalfBinomialLoss"),
        ("sklearn._loss._loss", "CyHalfMultinomialLoss"),
        # Cython's pickle helper of that loss: it only calls CyHalfMultinomialLoss.__new__
        # and sets its state (as numpy's __pyx_unpickle_SeedSequence above).
        ("sklearn._loss._loss", "__pyx_unpickle_CyHalfMultinomialLoss"),
        ("sklearn._loss.link", "LogitLink"),
        ("sklearn._loss.link", "MultinomialLogit"),
    }
)
# ---- end of the classification block

ALLOWED_GLOBALS: frozenset[tuple[str, str]] = (
    _NUMPY | _BUILTINS | _SKLEARN | _TUIDASH | _SKLEARN_CLASSIFIERS | BOOST_GLOBALS
)
"""Every (module, name) a model pickle may name; everything else is refused."""

# Pickles written under numpy 1.x name the same reconstructors under numpy.core; map
# them to the numpy 2 locations instead of importing the deprecated shim.
_ALIASES: dict[tuple[str, str], tuple[str, str]] = {
    ("numpy.core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"): ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"): ("numpy._core.numeric", "_frombuffer"),
}

# joblib.dump writes arrays as this placeholder followed by raw bytes; only joblib's
# own unpickler (restricted below) knows how to read them.
_JOBLIB_WRAPPER = ("joblib.numpy_pickle", "NumpyArrayWrapper")


class UnpickleRefused(pickle.UnpicklingError):
    """The pickle names a class or function that is not on the allowlist."""

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name
        self.message = (
            f"it asks for {module}.{name}, which is not a model class tuidash loads "
            "(loading it could run code), so it was refused"
        )
        super().__init__(self.message)


class NeedsBoostExtra(UnpickleRefused):
    """The pickle is a model of a boosting library that is not installed here."""

    def __init__(self, module: str, name: str, package: str) -> None:
        super().__init__(module, name)
        self.package = package
        self.message = boosting.needs_extra_text(package)
        self.args = (self.message,)


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """Protocol 2 stores bytes as _codecs.encode(text, "latin1"); only that is allowed."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("it uses _codecs.encode for something other than bytes")
    return text.encode("latin-1")


# Stand-ins for globals that are only safe with the arguments pickle itself uses.
_GUARDED: dict[tuple[str, str], Any] = {("_codecs", "encode"): _latin1_encode}


def resolve_global(module: str, name: str) -> Any:
    """Return the allowlisted object for (module, name), or raise UnpickleRefused."""
    guarded = _GUARDED.get((module, name))
    if guarded is not None:
        return guarded
    found = _RESOLVED.get((module, name))
    if found is not None:
        return found
    if module == "__builtin__":  # protocol 2 writes Python 2 module names
        module = "builtins"
    key = _ALIASES.get((module, name), (module, name))
    if key not in ALLOWED_GLOBALS:
        raise UnpickleRefused(module, name)
    package = key[0].partition(".")[0]
    if package in boosting.BOOST_PACKAGES:
        if not boosting.package_installed(package):
            raise NeedsBoostExtra(module, name, package)
        try:
            imported = importlib.import_module(key[0])
        except ImportError:  # found but broken (a missing shared library, say)
            raise NeedsBoostExtra(module, name, package) from None
    else:
        imported = importlib.import_module(key[0])
    # Exact attribute of an allowlisted module; a dotted name is never walked.
    found = getattr(imported, key[1])
    _RESOLVED[(module, name)] = found
    return found


_RESOLVED: dict[tuple[str, str], Any] = {}


class RestrictedUnpickler(pickle.Unpickler):
    """The C Unpickler with ``find_class`` limited to ALLOWED_GLOBALS."""

    def find_class(self, module: str, name: str) -> Any:
        """Resolve only allowlisted globals."""
        return resolve_global(module, name)

    def persistent_load(self, pid: Any) -> Any:
        """Persistent ids reach outside the file; refuse them."""
        raise pickle.UnpicklingError("it uses persistent ids, which tuidash does not load")


class _JoblibFormat(Exception):
    """Internal: the pickle was written by joblib.dump and needs joblib's reader."""


class _FastRestrictedUnpickler(RestrictedUnpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == _JOBLIB_WRAPPER:
            raise _JoblibFormat
        return resolve_global(module, name)


def _joblib_load(data: bytes | bytearray | memoryview) -> Any:
    """Read a joblib.dump file through joblib's unpickler with the same allowlist."""
    from joblib import numpy_pickle

    class _RestrictedJoblibUnpickler(numpy_pickle.NumpyUnpickler):  # type: ignore[misc]
        def find_class(self, module: str, name: str) -> Any:
            if (module, name) == _JOBLIB_WRAPPER:
                return numpy_pickle.NumpyArrayWrapper
            return resolve_global(module, name)

        def persistent_load(self, pid: Any) -> Any:
            raise pickle.UnpicklingError("it uses persistent ids, which tuidash does not load")

    stream = io.BytesIO(bytes(data))
    unpickler = _RestrictedJoblibUnpickler("", stream, ensure_native_byte_order=True)
    return unpickler.load()


def _decompress(data: bytes | bytearray | memoryview) -> bytes | None:
    """Undo joblib's optional compression (zlib, gzip, bz2, xz); None if not compressed."""
    if data[:1] == b"\x78":
        return zlib.decompress(data)
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:3] == b"BZh":
        return bz2.decompress(data)
    if data[:6] == b"\xfd7zXZ\x00":
        return lzma.decompress(data)
    return None


class _BufferReader:
    """A read-only file over a buffer, so the unpickler reads it without a copy."""

    __slots__ = ("_pos", "_view")

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._view = memoryview(data).cast("B")
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        start = self._pos
        end = len(self._view) if size is None or size < 0 else min(len(self._view), start + size)
        self._pos = end
        return self._view[start:end].tobytes()

    def readinto(self, target: Any) -> int:
        out = memoryview(target).cast("B")
        count = min(len(out), len(self._view) - self._pos)
        out[:count] = self._view[self._pos : self._pos + count]
        self._pos += count
        return count

    def readline(self, size: int = -1) -> bytes:
        start = self._pos
        end = len(self._view)
        # Lines only occur in protocol 0-1 opcodes: short, so scanning in steps is fine.
        step = 4096
        while start < end:
            chunk = self._view[self._pos : self._pos + step].tobytes()
            newline = chunk.find(b"\n")
            if newline >= 0:
                self._pos += newline + 1
                return self._view[start : self._pos].tobytes()
            self._pos += len(chunk)
            if not chunk:
                break
        self._pos = end
        return self._view[start:end].tobytes()


def restricted_load(handle: Any) -> Any:
    """Unpickle from an open binary file (at offset 0) with the allowlist."""
    head = handle.peek(6)[:6] if hasattr(handle, "peek") else b""
    if not head:
        raise EOFError("the file is empty")
    if head[:1] != b"\x80" and _decompress_magic(head):
        return restricted_loads(handle.read())
    try:
        return _FastRestrictedUnpickler(handle).load()
    except _JoblibFormat:
        handle.seek(0)
        return _joblib_load(handle.read())


def _decompress_magic(head: bytes) -> bool:
    return (
        head[:1] == b"\x78"
        or head[:2] == b"\x1f\x8b"
        or head[:3] == b"BZh"
        or head[:6] == b"\xfd7zXZ\x00"
    )


def restricted_loads(data: bytes | bytearray | memoryview) -> Any:
    """Unpickle bytes with the allowlist; handles plain pickle and joblib.dump files.

    Raises UnpickleRefused for a global that is not allowed, and pickle.UnpicklingError,
    EOFError, ValueError (or another exception from a damaged stream) otherwise.
    """
    if not data:
        raise EOFError("the file is empty")
    if data[:1] != b"\x80":
        decompressed = _decompress(data)
        if decompressed is not None:
            return _joblib_load(decompressed)
    try:
        return _FastRestrictedUnpickler(_BufferReader(data)).load()
    except _JoblibFormat:
        return _joblib_load(data)
