from __future__ import annotations

import math

import numpy as np
import pytest
from zenml_integrations.tabular import FeatureValueError, client_values, encode_values


def test_given_json_values_when_encoded_then_missing_becomes_nan_or_empty_level() -> None:
    assert encode_values("categorical", ["A", None, 3]).ravel().tolist() == ["A", "", "3"]
    numbers = encode_values("numeric", [1.5, None, 2]).ravel()
    assert numbers.dtype == np.float32
    assert numbers[0] == 1.5
    assert math.isnan(numbers[1])
    assert encode_values("boolean", [True, False, None]).ravel()[:2].tolist() == [1.0, 0.0]


def test_given_dates_when_encoded_then_days_since_epoch_utc() -> None:
    days = encode_values("datetime", ["1970-01-02", "1970-01-01T12:00:00+00:00", None]).ravel()

    assert days[:2].tolist() == [1.0, 0.5]
    assert math.isnan(days[2])


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("numeric", "12", "'12' is not a number"),
        ("boolean", 2, "2 is not a boolean"),
        ("categorical", 1.5, "1.5 is not a category"),
        ("datetime", "yesterday", "'yesterday' is not an ISO 8601 date"),
    ],
)
def test_given_a_value_of_the_wrong_kind_when_encoded_then_row_and_value_named(
    kind: str, value: object, message: str
) -> None:
    with pytest.raises(FeatureValueError, match=f"row 1: {message}"):
        encode_values(kind, [None, value])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("numeric", [1.5, None, -2.0]),
        ("boolean", [True, None, False]),
        ("categorical", ["A", None, "rare level"]),
        ("datetime", ["2026-03-01T12:00:00+00:00", None]),  # float32 days: exact to ~3 min
    ],
)
def test_given_client_values_when_encoded_and_decoded_then_they_come_back(
    kind: str, values: list[object]
) -> None:
    encoded = encode_values(kind, values)  # type: ignore[arg-type]

    assert client_values(kind, encoded) == values  # type: ignore[arg-type]
