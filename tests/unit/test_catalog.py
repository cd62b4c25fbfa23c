"""The model catalog: kinds, defaults, ranges and the messages a person sees."""

from __future__ import annotations

import pytest

from tuidash.core.catalog import CATALOG, ParamError, UnknownModelKind, get_kind

REQUIRED_KINDS = {
    "dummy",
    "linear_regression",
    "ridge",
    "lasso",
    "decision_tree",
    "random_forest",
    "gradient_boosting",
    "svr",
    "knn",
    "mlp",
}


def test_catalog_has_every_required_kind_with_snake_case_ids() -> None:
    assert set(CATALOG) >= REQUIRED_KINDS
    for kind_id, kind in CATALOG.items():
        assert kind_id == kind.id
        assert kind_id.islower() and " " not in kind_id
        assert kind.display_name and kind.description


@pytest.mark.parametrize("kind_id", sorted(CATALOG))
def test_every_default_is_valid_and_every_param_has_help(kind_id: str) -> None:
    kind = CATALOG[kind_id]
    assert kind.validate({}) == kind.defaults()
    for spec in kind.params:
        assert spec.help.strip(), f"{kind_id}.{spec.name} has no help text"
        assert spec.parse(spec.default) == spec.default or spec.type == "layers"


@pytest.mark.parametrize("kind_id", sorted(CATALOG))
def test_every_kind_builds_an_estimator_with_its_defaults(kind_id: str) -> None:
    estimator = CATALOG[kind_id].build({})
    assert hasattr(estimator, "fit") and hasattr(estimator, "predict")


def test_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(UnknownModelKind) as info:
        get_kind("tabnet")
    message = str(info.value)
    assert "tabnet" in message and "random_forest" in message and "mlp" in message


@pytest.mark.parametrize(
    ("kind_id", "raw", "fragment"),
    [
        (
            "random_forest",
            {"n_estimators": "0"},
            "n_estimators must be a whole number from 1 to 2000",
        ),
        ("random_forest", {"n_estimators": "2.5"}, "whole number"),
        ("random_forest", {"n_estimators": "many"}, "not 'many'"),
        ("random_forest", {"max_depth": "-3"}, "max_depth must be"),
        ("gradient_boosting", {"learning_rate": "nan"}, "learning_rate must be"),
        ("svr", {"kernel": "cubic"}, "one of rbf, linear, poly, sigmoid"),
        ("linear_regression", {"fit_intercept": "maybe"}, "true or false"),
        ("mlp", {"hidden_layer_sizes": "0,5"}, "layer sizes"),
        ("ridge", {"colour": "red"}, "no parameter 'colour'"),
        ("knn", {"n_neighbors": ""}, "needs a value"),
    ],
)
def test_bad_values_get_one_clear_sentence(
    kind_id: str, raw: dict[str, str], fragment: str
) -> None:
    with pytest.raises(ParamError) as info:
        CATALOG[kind_id].validate(raw)
    message = str(info.value)
    assert fragment in message
    assert message.endswith(".") and "\n" not in message


def test_typed_strings_are_parsed_to_their_types() -> None:
    rf = get_kind("random_forest").validate({"n_estimators": "50", "max_depth": ""})
    assert rf["n_estimators"] == 50 and rf["max_depth"] is None
    mlp = get_kind("mlp").validate({"hidden_layer_sizes": "64, 32"})
    assert mlp["hidden_layer_sizes"] == (64, 32)
    lr = get_kind("linear_regression").validate({"fit_intercept": "no"})
    assert lr["fit_intercept"] is False


def test_random_state_of_the_split_reaches_the_estimator() -> None:
    assert get_kind("random_forest").build({}, random_state=7).random_state == 7
