"""The drift verdict, from Evidently's own per-column drift tests, and the full HTML report.

The verdict runs one ``ValueDrift`` per checked column and nothing else: the
preset's dataset-level metrics, tables and plots cost several times more and
are rendered separately, only for humans. Evidently is imported inside the
functions so importing this module stays cheap.
"""

from __future__ import annotations

import functools
import html
import os
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from zenml_integrations.evidently.config import ColumnType, DriftGateConfig
from zenml_integrations.evidently.errors import DriftTestMissing
from zenml_integrations.evidently.kinds import column_kind

# Values that a bool column may arrive as from served traffic (JSON, BYTES tensors, CSV).
_TRUE_LABELS = frozenset({"true", "1", "1.0", "yes"})
_FALSE_LABELS = frozenset({"false", "0", "0.0", "no"})


class ColumnDrift(BaseModel):
    """Evidently's drift test on one column, as it reported it."""

    model_config = ConfigDict(frozen=True)

    column: str
    column_type: ColumnType
    method: str = Field(
        description="The configured method name, or the display name of the default Evidently "
        "picked (e.g. 'Wasserstein distance (normed)')"
    )
    score: float = Field(description="A p-value or a distance, depending on the method")
    threshold: float
    drifted: bool = Field(description="Evidently's drift test for the column did not pass")


class DriftVerdict(BaseModel):
    """Whether the current data may go on, and why."""

    model_config = ConfigDict(frozen=True)

    passed: bool
    reason: str
    drift_share: float
    max_drift_share: float
    columns: list[ColumnDrift]
    schema_errors: list[str] = []
    reference_rows: int
    current_rows: int

    @property
    def drifted_columns(self) -> list[ColumnDrift]:
        """The checked columns whose drift test failed, in config order."""
        return [column for column in self.columns if column.drifted]

    def summary(self) -> dict[str, Any]:
        """The verdict in a few fields, for the dashboard's step metadata."""
        return {
            "passed": self.passed,
            "reason": self.reason,
            "drift_share": self.drift_share,
            "drifted_columns": [column.column for column in self.drifted_columns],
        }


def check_drift(
    reference: pd.DataFrame, current: pd.DataFrame, config: DriftGateConfig
) -> DriftVerdict:
    """Test every declared column for drift and decide against ``max_drift_share``.

    Bad data never raises: a frame that breaks the declared schema, or is
    empty, gives a failed verdict naming every problem. A column counts as
    drifted unless Evidently's test for it passed, so an errored test fails
    closed too.

    Raises:
        ValueError: from Evidently when a configured method does not exist or
            does not apply to the column's type.
        DriftTestMissing: when Evidently returns no drift test for a column.
    """
    schema_errors = _schema_errors(reference, current, config)
    if schema_errors:
        return DriftVerdict(
            passed=False,
            reason=f"Failed closed, drift was not tested: {'; '.join(schema_errors)}.",
            drift_share=0.0,
            max_drift_share=config.max_drift_share,
            columns=[],
            schema_errors=schema_errors,
            reference_rows=len(reference),
            current_rows=len(current),
        )
    columns = _column_drifts(_run_drift_tests(reference, current, config), config)
    drifted = [column.column for column in columns if column.drifted]
    drift_share = len(drifted) / len(columns)
    passed = drift_share <= config.max_drift_share
    return DriftVerdict(
        passed=passed,
        reason=_reason(passed, drifted, len(columns), drift_share, config.max_drift_share),
        drift_share=drift_share,
        max_drift_share=config.max_drift_share,
        columns=columns,
        reference_rows=len(reference),
        current_rows=len(current),
    )


def drift_report_html(
    reference: pd.DataFrame, current: pd.DataFrame, config: DriftGateConfig
) -> str:
    """Evidently's ``DataDriftPreset`` over the same columns and methods, as one HTML page.

    Drawn from up to ``config.report_sample_rows`` rows of each frame: the
    report's cost grows with its rows, and people read distributions, not
    p-values to the fourth digit. The verdict stays on ``config.sample_rows``.

    When the frames break the schema there is nothing to compare, so the page
    lists the schema errors instead.
    """
    schema_errors = _schema_errors(reference, current, config)
    if schema_errors:
        items = "".join(f"<li>{html.escape(error)}</li>" for error in schema_errors)
        return (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Data drift</title></head>"
            f"<body><h1>Drift not tested: the data breaks the schema</h1><ul>{items}</ul>"
            "</body></html>"
        )
    from evidently import Report
    from evidently.presets import DataDriftPreset

    tests = {column: config.test_for(column) for column in config.feature_columns}
    preset = DataDriftPreset(
        columns=config.feature_columns,
        drift_share=config.max_drift_share,
        per_column_method={c: t.method for c, t in tests.items() if t.method is not None},
        per_column_threshold={c: t.threshold for c, t in tests.items() if t.threshold is not None},
    )
    rows = min(config.sample_rows or config.report_sample_rows, config.report_sample_rows)
    sampled = config.model_copy(update={"sample_rows": rows})
    snapshot = Report([preset], include_tests=True).run(*_datasets(reference, current, sampled))
    return str(snapshot.get_html_str(as_iframe=False))


def _run_drift_tests(
    reference: pd.DataFrame, current: pd.DataFrame, config: DriftGateConfig
) -> dict[str, list[Any]]:
    """Evidently's metric and test results for every column, columns split across cores.

    Each share of the columns gets its own datasets and report in a thread;
    the statistics are numpy work that runs outside the GIL, so on 2 cores
    the verdict takes about half as long.
    """
    features = config.feature_columns
    workers = max(1, min(len(features), os.cpu_count() or 1, 4))
    shares = [features[index::workers] for index in range(workers)]
    with ThreadPoolExecutor(workers, thread_name_prefix="drift-gate") as pool:
        parts = list(pool.map(partial(_drift_tests, reference, current, config), shares))
    return {key: [item for part in parts for item in part[key]] for key in ("metrics", "tests")}


def _drift_tests(
    reference: pd.DataFrame, current: pd.DataFrame, config: DriftGateConfig, share: list[str]
) -> dict[str, list[Any]]:
    from evidently import Report

    subset = config.model_copy(
        update={
            "numerical_columns": [c for c in config.numerical_columns if c in share],
            "categorical_columns": [c for c in config.categorical_columns if c in share],
        }
    )
    verdict_drift = _verdict_value_drift()
    metrics = []
    for column in share:
        test = config.test_for(column)
        metrics.append(verdict_drift(column=column, method=test.method, threshold=test.threshold))
    snapshot = Report(metrics, include_tests=True).run(*_datasets(reference, current, subset))
    results: dict[str, list[Any]] = snapshot.dict()
    return results


@functools.cache
def _verdict_value_drift() -> type[Any]:
    """``ValueDrift`` that skips drawing its two plotly charts per column.

    The charts are half the verdict's time and nobody sees them: people read
    the preset's report. Evidently binds a calculation to a metric class by
    subclassing, so this registers a calculation for a subclass and leaves
    ``ValueDrift`` itself untouched; the statistic, the threshold and the
    test status are Evidently's own.
    """
    from evidently.core.metric_types import SingleValueCalculation
    from evidently.metrics import ValueDrift
    from evidently.metrics.column_statistics import (
        ValueDriftCalculation,
    )

    class VerdictValueDrift(ValueDrift):  # type: ignore[misc]
        """ValueDrift for verdicts: no widgets."""

    class VerdictValueDriftCalculation(ValueDriftCalculation):  # type: ignore[misc]
        # Evidently registers a calculation for the metric named in its first
        # generic base; naming ours keeps ValueDrift bound to its own.
        __orig_bases__ = (SingleValueCalculation[VerdictValueDrift],)

        def _render(self, result: Any, options: Any, color_options: Any) -> list[Any]:
            return []

    return VerdictValueDrift


def _schema_errors(
    reference: pd.DataFrame, current: pd.DataFrame, config: DriftGateConfig
) -> list[str]:
    """Every way the two frames break the declared schema, each naming its frame and column."""
    return [
        *_frame_errors("reference", reference, config),
        *_frame_errors("current", current, config),
    ]


def _frame_errors(name: str, frame: pd.DataFrame, config: DriftGateConfig) -> list[str]:
    errors = [] if len(frame) else [f"{name} frame has no rows"]
    declared = {*config.feature_columns, *config.untested_columns}
    repeated = frame.columns[frame.columns.duplicated()].unique()
    errors += [f"{name} has column {column!r} more than once" for column in repeated]
    errors += [
        f"{name} is missing column {column!r}"
        for column in config.feature_columns
        if column not in frame.columns
    ]
    errors += [
        f"{name} has undeclared column {column!r}"
        for column in frame.columns
        if column not in declared
    ]
    for column in config.feature_columns:
        if column not in frame.columns or column in repeated:
            continue
        series = frame[column]
        column_type = config.column_type(column)
        if not _dtype_fits(series, column_type):
            errors.append(
                f"{name} {column_type} column {column!r} has dtype {series.dtype}"
                + (
                    " (declare bool columns as categorical)"
                    if pd.api.types.is_bool_dtype(series.dtype)
                    else ""
                )
            )
        elif len(frame) and not _has_values(series, column_type):
            errors.append(f"{name} column {column!r} has no values, only nulls")
    return errors


def _dtype_fits(series: pd.Series, column_type: ColumnType) -> bool:
    """Numerical columns hold numbers (an object column of numbers and nulls too).

    Categorical ones hold anything but dates and fractional numbers: whole
    floats are codes that pandas widened to hold a missing value.
    """
    kind = column_kind(series)
    if column_type == "numerical":
        return kind == "numerical"
    if pd.api.types.is_float_dtype(series.dtype):
        values = _numbers(series)
        finite = values[np.isfinite(values)]
        return bool(np.array_equal(finite, np.round(finite)))
    return kind != "datetime"


def _has_values(series: pd.Series, column_type: ColumnType) -> bool:
    # Evidently drops nulls and infinities before testing and raises on what is left empty.
    if column_type == "numerical":
        return bool(np.isfinite(_numbers(series)).any())
    return bool(series.notna().any())


def _numbers(series: pd.Series) -> np.ndarray[Any, np.dtype[np.float64]]:
    """A numerical column as float64, missing values (None, NaN, pd.NA) as NaN."""
    if pd.api.types.is_object_dtype(series.dtype):
        series = pd.to_numeric(series, errors="coerce")
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def _labels(series: pd.Series, as_bool: bool) -> pd.Series:
    """A categorical column as strings, missing values as None, equal values equal.

    The two frames may carry one column in different types: a bool in the
    training table may arrive from served traffic as "true", 1 or None, a code
    as 3 or 3.0. Without one spelling, Evidently would count ``True`` and
    ``"True"`` as two categories and report drift that is not there.
    """
    values = series.astype(object)
    present = values.notna().to_numpy()
    labels = np.full(len(values), None, dtype=object)
    kept = values.to_numpy()[present]
    if as_bool:
        labels[present] = [_bool_label(value) for value in kept]
    elif pd.api.types.infer_dtype(kept, skipna=True) == "string":
        labels[present] = kept
    else:
        labels[present] = [_label(value) for value in kept]
    return pd.Series(labels, index=series.index, name=series.name, dtype=object)


def _label(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _bool_label(value: Any) -> str:
    text = _label(value).lower()
    if text in _TRUE_LABELS:
        return "True"
    if text in _FALSE_LABELS:
        return "False"
    return str(value)  # kept as seen: a value that is no bool is a category of its own


def _datasets(
    reference: pd.DataFrame, current: pd.DataFrame, config: DriftGateConfig
) -> tuple[Any, Any]:
    """Current and reference (``Report.run``'s order) as Evidently datasets."""
    from evidently import DataDefinition, Dataset

    # Every column list is given, so Evidently infers nothing; id and timestamp
    # columns are left out of the frames it sees, so they can never be tested.
    definition = DataDefinition(
        numerical_columns=config.numerical_columns,
        categorical_columns=config.categorical_columns,
        text_columns=[],
        datetime_columns=[],
        unknown_columns=[],
        list_columns=[],
    )
    # A bool column of the training reference is read as a bool on both sides.
    booleans = {
        column
        for column in config.categorical_columns
        if pd.api.types.is_bool_dtype(reference[column].dtype)
        or pd.api.types.infer_dtype(reference[column], skipna=True) == "boolean"
    }
    return (
        Dataset.from_pandas(_sample(current, config, booleans), data_definition=definition),
        Dataset.from_pandas(_sample(reference, config, booleans), data_definition=definition),
    )


def _sample(frame: pd.DataFrame, config: DriftGateConfig, booleans: set[str]) -> pd.DataFrame:
    """The checked columns of up to ``sample_rows`` rows, in the types Evidently tests."""
    features = frame[config.feature_columns]
    if config.sample_rows is not None and len(features) > config.sample_rows:
        # Back in row order, so the report's over-the-index plots keep their meaning.
        features = features.sample(n=config.sample_rows, random_state=config.random_state)
        features = features.sort_index()
    columns = {
        **{column: _numbers(features[column]) for column in config.numerical_columns},
        **{
            column: _labels(features[column], column in booleans).to_numpy()
            for column in config.categorical_columns
        },
    }
    return pd.DataFrame(columns, index=features.index)[config.feature_columns]


def _column_drifts(results: dict[str, Any], config: DriftGateConfig) -> list[ColumnDrift]:
    """Per-column outcomes from ``Snapshot.dict()``: each ValueDrift's test, joined to its score.

    The method and threshold are the ones Evidently resolved (its defaults when
    the config left them out); the verdict follows the test status, since
    p-value methods drift below their threshold and distances above it.
    """
    scores = {metric["id"]: metric["value"] for metric in results["metrics"]}
    outcomes = {}
    for test in results["tests"]:
        params = test["metric_config"]["params"]
        column = params["column"]
        outcomes[column] = ColumnDrift(
            column=column,
            column_type=config.column_type(column),
            method=str(params["method"]),
            score=float(scores[test["metric_config"]["metric_id"]]),
            threshold=float(params["threshold"]),
            drifted=test["status"] != "SUCCESS",
        )
    untested = [column for column in config.feature_columns if column not in outcomes]
    if untested:
        raise DriftTestMissing(
            f"Evidently returned no drift test for columns {untested} (asked for "
            f"{config.feature_columns}); check that the installed evidently is 0.7.16 or newer"
        )
    return [outcomes[column] for column in config.feature_columns]


def _reason(
    passed: bool, drifted: list[str], checked: int, drift_share: float, max_drift_share: float
) -> str:
    if not drifted:
        return f"Passed: none of the {checked} checked columns drifted."
    verdict, comparison = ("Passed", "<=") if passed else ("Failed", ">")
    return (
        f"{verdict}: {len(drifted)} of {checked} columns drifted "
        f"(share {drift_share:.2f} {comparison} max {max_drift_share:.2f}): {', '.join(drifted)}."
    )
