from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from zenml_integrations.training.columns import describe_columns
from zenml_integrations.training.dataset import (
    DatasetSchema,
    DataSource,
    check_table,
    feature_kinds,
    load_table,
    source_fingerprint,
    split_by_time,
    target_values,
)
from zenml_integrations.training.errors import DatasetError


def make_frame(rows: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "ts": pd.date_range("2025-01-01", periods=rows, freq="h", tz="UTC"),
            "x1": rng.normal(size=rows),
            "x2": rng.integers(0, 10, rows),
            "noise": rng.normal(size=rows),
            "y": np.arange(rows) % 2,
        }
    )


def make_schema(**overrides: object) -> DatasetSchema:
    fields: dict[str, object] = {
        "problem_type": "binary_classification",
        "target_column": "y",
        "entity_column": "id",
        "timestamp_column": "ts",
    }
    fields.update(overrides)
    return DatasetSchema.model_validate(fields)


# DataSource


def test_given_file_kind_without_path_when_validated_then_refused() -> None:
    with pytest.raises(ValidationError, match="needs 'path'"):
        DataSource(kind="file")


@pytest.mark.parametrize("path", ["data.json", "data.xlsx", "data"])
def test_given_file_with_unsupported_suffix_when_validated_then_refused(path: str) -> None:
    with pytest.raises(ValidationError, match=r"must end in \.parquet or \.csv"):
        DataSource(kind="file", path=path)


@pytest.mark.parametrize("path", ["data.parquet", "DATA.CSV", "dir/data.csv"])
def test_given_file_with_supported_suffix_when_validated_then_accepted(path: str) -> None:
    assert DataSource(kind="file", path=path).path == path


def test_given_sample_rows_below_minimum_when_validated_then_refused() -> None:
    with pytest.raises(ValidationError, match="sample_rows"):
        DataSource(sample_rows=99)


# load_table


def test_given_parquet_file_when_loaded_then_frame_roundtrips(tmp_path: Path) -> None:
    frame = make_frame()
    path = tmp_path / "table.parquet"
    frame.to_parquet(path)

    loaded = load_table(DataSource(kind="file", path=str(path)), "binary_classification")

    pd.testing.assert_frame_equal(loaded, frame)


def test_given_csv_file_when_loaded_then_values_roundtrip(tmp_path: Path) -> None:
    frame = make_frame().drop(columns="ts")
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)

    loaded = load_table(DataSource(kind="file", path=str(path)), "binary_classification")

    pd.testing.assert_frame_equal(loaded, frame)


def test_given_sample_source_when_loaded_then_sample_has_requested_rows() -> None:
    loaded = load_table(DataSource(sample_rows=200, sample_seed=3), "regression")

    assert len(loaded) == 200
    assert "next_month_spend" in loaded.columns


def test_given_missing_file_when_loaded_then_error_names_it(tmp_path: Path) -> None:
    path = tmp_path / "absent.parquet"

    with pytest.raises(DatasetError, match="does not exist") as raised:
        load_table(DataSource(kind="file", path=str(path)), "binary_classification")
    assert str(path) in str(raised.value)


def test_given_corrupt_parquet_when_loaded_then_dataset_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"this is not parquet")

    with pytest.raises(DatasetError, match="cannot read data file"):
        load_table(DataSource(kind="file", path=str(path)), "binary_classification")


# check_table


def test_given_default_schema_when_checked_then_features_exclude_roles() -> None:
    features = check_table(make_frame(), make_schema())

    assert features == ["x1", "x2", "noise"]


def test_given_exclude_columns_when_checked_then_they_are_not_features() -> None:
    features = check_table(make_frame(), make_schema(exclude_columns=["noise"]))

    assert features == ["x1", "x2"]


def test_given_explicit_features_when_checked_then_they_are_returned_in_order() -> None:
    features = check_table(make_frame(), make_schema(feature_columns=["x2", "x1"]))

    assert features == ["x2", "x1"]


def test_given_missing_target_when_checked_then_error_names_column_and_lists_columns() -> None:
    frame = make_frame()

    with pytest.raises(DatasetError, match="'churn'") as raised:
        check_table(frame, make_schema(target_column="churn"))
    message = str(raised.value)
    assert "target_column" in message
    assert str(sorted(frame.columns)) in message


def test_given_string_feature_when_checked_then_it_is_a_categorical_feature() -> None:
    frame = make_frame().assign(city=["paris", "rome"] * 10)

    features = check_table(frame, make_schema())

    assert "city" in features
    assert feature_kinds(frame, features, make_schema())["city"] == "categorical"


def test_given_id_like_string_column_when_checked_then_it_is_not_a_feature() -> None:
    frame = make_frame(40).assign(reference=[f"R-{index}" for index in range(40)])

    assert "reference" not in check_table(frame, make_schema())


def test_given_non_numeric_feature_excluded_when_checked_then_accepted() -> None:
    frame = make_frame().assign(city=["paris", "rome"] * 10)

    assert "city" not in check_table(frame, make_schema(exclude_columns=["city"]))


def test_given_absent_explicit_features_when_checked_then_error_names_them() -> None:
    with pytest.raises(DatasetError, match="not in the data") as raised:
        check_table(make_frame(), make_schema(feature_columns=["x1", "ghost"]))
    assert "ghost" in str(raised.value)
    assert "x1" not in str(raised.value)


def test_given_binary_target_with_three_classes_when_checked_then_refused() -> None:
    frame = make_frame().assign(y=np.arange(20) % 3)

    with pytest.raises(DatasetError, match="exactly 2 target classes") as raised:
        check_table(frame, make_schema())
    assert "found 3" in str(raised.value)


def test_given_three_valued_target_for_regression_when_checked_then_accepted() -> None:
    frame = make_frame().assign(y=np.arange(20) % 3)

    assert check_table(frame, make_schema(problem_type="regression")) == ["x1", "x2", "noise"]


def test_given_nan_target_when_checked_then_error_counts_missing_values() -> None:
    frame = make_frame().astype({"y": float})
    frame.loc[[3, 7], "y"] = np.nan

    with pytest.raises(DatasetError, match="has 2 missing values"):
        check_table(frame, make_schema(problem_type="regression"))


def test_given_empty_frame_when_checked_then_refused() -> None:
    with pytest.raises(DatasetError, match="no rows"):
        check_table(make_frame().iloc[0:0], make_schema())


def test_given_only_role_columns_when_checked_then_refused() -> None:
    frame = make_frame()[["id", "ts", "y"]]

    with pytest.raises(DatasetError, match="no feature columns"):
        check_table(frame, make_schema())


# split_by_time


def test_given_shuffled_frame_when_split_then_test_rows_are_newest() -> None:
    frame = make_frame(100).sample(frac=1.0, random_state=1)

    train, test = split_by_time(frame, make_schema(), 0.25)

    assert train["ts"].max() <= test["ts"].min()
    assert (len(train), len(test)) == (75, 25)
    assert set(train["id"]) | set(test["id"]) == set(frame["id"])
    assert train.index.tolist() == list(range(75))


def test_given_equal_timestamps_when_split_then_order_is_by_entity_and_complete() -> None:
    frame = make_frame(10).assign(ts=pd.Timestamp("2025-01-01", tz="UTC"))
    frame = frame.iloc[::-1]

    train, test = split_by_time(frame, make_schema(), 0.3)

    assert train["id"].tolist() == list(range(7))
    assert test["id"].tolist() == [7, 8, 9]


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_given_invalid_fraction_when_split_then_refused(fraction: float) -> None:
    with pytest.raises(DatasetError, match="between 0 and 1"):
        split_by_time(make_frame(), make_schema(), fraction)


def test_given_too_few_rows_for_fraction_when_split_then_refused() -> None:
    with pytest.raises(DatasetError, match="too few"):
        split_by_time(make_frame(3), make_schema(), 0.1)


def test_given_target_listed_as_feature_when_checked_then_refused() -> None:
    frame = pd.DataFrame(
        {"id": [1, 2], "ts": pd.date_range("2025", periods=2), "x": [1.0, 2.0], "y": [0, 1]}
    )
    schema = DatasetSchema(
        problem_type="binary_classification",
        target_column="y",
        entity_column="id",
        timestamp_column="ts",
        feature_columns=["x", "y"],
    )
    with pytest.raises(DatasetError, match=r"feature_columns \['y'\]"):
        check_table(frame, schema)


# Refusals at load time: each names the column and the configuration to change


def recorded(frame: pd.DataFrame, **overrides: object) -> DatasetSchema:
    return make_schema(columns=describe_columns(frame), **overrides)


def test_given_a_new_column_when_checked_against_recorded_columns_then_refused() -> None:
    frame = make_frame()
    schema = recorded(frame)

    with pytest.raises(DatasetError, match=r"configs/schema\.yaml") as raised:
        check_table(frame.assign(bonus=1.5), schema)
    assert "new column 'bonus' (numeric)" in str(raised.value)
    assert "exclude_columns" in str(raised.value)


def test_given_a_new_column_that_is_excluded_when_checked_then_accepted() -> None:
    frame = make_frame()
    schema = recorded(frame, exclude_columns=["bonus"])

    assert "bonus" not in check_table(frame.assign(bonus=1.5), schema)


def test_given_a_vanished_column_when_checked_against_recorded_columns_then_refused() -> None:
    frame = make_frame()

    with pytest.raises(DatasetError, match="column 'noise' is gone"):
        check_table(frame.drop(columns=["noise"]), recorded(frame))


def test_given_a_column_that_changed_type_when_checked_then_refused_with_examples() -> None:
    frame = make_frame()
    changed = frame.assign(x2=[f"level-{value}" for value in frame["x2"]])

    with pytest.raises(DatasetError, match=r"configs/schema\.yaml") as raised:
        check_table(changed, recorded(frame))
    assert "column 'x2' was numeric and now holds categorical values" in str(raised.value)
    assert "level-" in str(raised.value)


def test_given_a_missing_target_value_when_checked_then_refused_naming_column() -> None:
    frame = make_frame().astype({"y": "object"})
    frame.loc[4, "y"] = None

    with pytest.raises(DatasetError, match=r"target column 'y' has 1 missing values in 20 rows"):
        check_table(frame, make_schema())


def test_given_string_target_without_positive_label_when_checked_then_refused() -> None:
    frame = make_frame().assign(y=["no", "yes"] * 10)

    with pytest.raises(DatasetError, match="positive_label") as raised:
        check_table(frame, make_schema())
    assert "['no', 'yes']" in str(raised.value)
    assert "parameters.dataset in configs/training.yaml" in str(raised.value)


def test_given_string_target_with_positive_label_when_read_then_it_is_one() -> None:
    frame = make_frame().assign(y=["no", "yes"] * 10)

    target = target_values(frame, make_schema(positive_label="yes"))

    assert target.tolist() == [0, 1] * 10


def test_given_a_positive_label_the_target_lacks_when_checked_then_refused() -> None:
    frame = make_frame().assign(y=["no", "yes"] * 10)

    with pytest.raises(DatasetError, match=r"'Yes' is not a value of target column 'y'"):
        check_table(frame, make_schema(positive_label="Yes"))


def test_given_a_string_regression_target_when_checked_then_refused() -> None:
    frame = make_frame().assign(y=["low", "high"] * 10)

    with pytest.raises(DatasetError, match="regression needs a numeric target"):
        check_table(frame, make_schema(problem_type="regression"))


# source_fingerprint


def test_given_a_file_when_fingerprinted_then_only_a_content_change_changes_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "data.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    source = DataSource(kind="file", path=str(path))
    first = source_fingerprint(source)

    path.write_text("a,b\n1,2\n", encoding="utf-8")  # rewritten, same bytes
    unchanged = source_fingerprint(source)
    path.write_text("a,b\n1,3\n", encoding="utf-8")

    assert unchanged == first
    assert source_fingerprint(source) != first


def test_given_a_missing_file_when_fingerprinted_then_error_names_the_key(tmp_path: Path) -> None:
    source = DataSource(kind="file", path=str(tmp_path / "absent.parquet"))

    with pytest.raises(DatasetError, match=r"parameters\.source in configs/training\.yaml"):
        source_fingerprint(source)
