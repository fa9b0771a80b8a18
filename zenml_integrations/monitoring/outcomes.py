"""True outcomes joined with the predictions that were served, every label counted once.

Outcomes arrive after the predictions (a customer churns weeks later), as a
file the user's labelling process appends to. The join is by the request id
the server returned with each prediction, and by the row's position when a
request sent several rows; or, for requests by entity key (a Feast lookup),
by the entity and the event time: an outcome labels the newest prediction
served for its entity at or before it happened. Each outcome row ends in exactly one count
(matched, late, duplicate, unknown id, before the window) and each logged
prediction row in one of matched, late or missing, so nothing is dropped or
counted twice without a number saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator
from zenml_integrations.monitoring.errors import MonitoringError
from zenml_integrations.monitoring.inference_logs import logged_requests

PREDICTION_COLUMNS = ["request_id", "row", "version", "timestamp", "prediction", "score"]
# An entity key as the inference log writes it: text, whatever the key type.
ENTITY = "entity"


class OutcomesError(MonitoringError, ValueError):
    """The outcomes file is missing, unreadable or lacks a configured column."""


class OutcomesSource(BaseModel):
    """Where the true outcomes are and which column holds what."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="CSV or parquet file of outcomes; relative to the project.")
    id_column: str = Field(default="request_id", description="The id the server returned.")
    time_column: str = Field(
        default="event_time", description="When the outcome happened: ISO time or Unix seconds."
    )
    label_column: str = Field(default="label", description="The true value.")
    entity_column: str | None = Field(
        default=None,
        description="Join by this entity key and the event time instead of the request id: "
        "an outcome labels the newest prediction served for its entity at or before its "
        "event time (requests by entity id, such as Feast lookups, log their ids).",
    )
    row_column: str | None = Field(
        default=None,
        description="Position of the row in a request of several rows; default: row 0.",
    )
    positive_label: str | int | bool | None = Field(
        default=None,
        description="Binary classification: the true value that means class 1 (needed for "
        "string labels such as 'yes'/'no'); default: labels are 0/1 or booleans.",
    )

    @field_validator("path")
    @classmethod
    def _csv_or_parquet(cls, path: str) -> str:
        if Path(path).suffix.lower() not in {".csv", ".parquet"}:
            raise ValueError(f"outcomes path {path!r} must end in .csv or .parquet")
        return path


class VersionLabelCounts(BaseModel):
    """What happened to one model version's predictions and their outcomes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    predictions: int = Field(description="Prediction rows logged in the window.")
    matched: int = Field(description="Rows with an outcome in time: the ones scored.")
    late: int = Field(description="Rows whose outcome came after the cut-off or the delay.")
    missing: int = Field(description="Rows without an outcome (yet).")
    duplicate: int = Field(description="Extra outcome rows for an id already labelled.")


class LabelCounts(BaseModel):
    """Every outcome row and every prediction row of a window, each in one count."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcomes: int = Field(description="Outcome rows read from the file.")
    versions: dict[str, VersionLabelCounts]
    unknown_id: int = Field(description="Outcome rows whose id no logged prediction has.")
    before_window: int = Field(
        description="Outcome rows of an earlier window: the outcome or its prediction came before."
    )
    window_start: float
    window_end: float


@dataclass(frozen=True)
class LabelledPredictions:
    """Matched predictions with their true value, and the counts of everything else."""

    frame: pd.DataFrame  # PREDICTION_COLUMNS + "label", one row per matched prediction
    counts: LabelCounts


def read_outcomes(source: OutcomesSource) -> pd.DataFrame:
    """The outcomes file as ``id``, ``row``, ``event_time`` (Unix seconds) and ``label``.

    Raises:
        OutcomesError: naming the file or column that is missing or unreadable.
    """
    path = Path(source.path).expanduser()
    if not path.is_file():
        raise OutcomesError(
            f"outcomes file {path} does not exist: write the true outcomes there (request id, "
            "event time, label) or set quality.parameters.outcomes.path in configs/monitoring.yaml"
        )
    try:
        table = (
            pd.read_parquet(path)
            if path.suffix.lower() == ".parquet"
            # ids as text: a hex id of digits and one "e" would otherwise parse as a float
            else pd.read_csv(path, dtype={source.entity_column or source.id_column: str})
        )
    except (OSError, ValueError) as error:
        raise OutcomesError(f"cannot read the outcomes file {path}: {error}") from None
    key = source.entity_column or source.id_column
    wanted = [key, source.time_column, source.label_column]
    if source.row_column and not source.entity_column:
        wanted.append(source.row_column)
    absent = [column for column in wanted if column not in table.columns]
    if absent:
        raise OutcomesError(
            f"outcomes file {path} has no column {absent}; it has {list(table.columns)}: fix "
            "the column names in quality.parameters.outcomes of configs/monitoring.yaml"
        )
    empty = table[wanted].isna().any(axis=1)
    if empty.any():
        lines = [int(index) + 2 for index in table.index[empty][:5]]  # CSV lines: header is 1
        raise OutcomesError(
            f"{int(empty.sum())} rows of {path} lack an id, a time or a label (first at rows "
            f"{lines} counting the header as 1): fill them in or remove them"
        )
    event_times = _unix_seconds(table[source.time_column], source.time_column, path)
    if source.entity_column:
        return pd.DataFrame(
            {ENTITY: table[key].astype(str), "event_time": event_times,
             "label": table[source.label_column]}
        )  # fmt: skip
    rows = table[source.row_column] if source.row_column else pd.Series(0, index=table.index)
    try:
        positions = pd.to_numeric(rows, errors="raise").astype(np.int64)
    except (ValueError, TypeError) as error:
        raise OutcomesError(
            f"column {source.row_column!r} of {path} must hold row positions (0, 1, ...): {error}"
        ) from None
    return pd.DataFrame(
        {
            "id": table[source.id_column].astype(str),
            "row": positions,
            "event_time": event_times,
            "label": table[source.label_column],
        }
    )


def read_predictions(directory: Path, model_name: str, since: float, until: float) -> pd.DataFrame:
    """The logged prediction rows of the window: ``PREDICTION_COLUMNS``, one row per served row.

    ``score`` is the last column of a classifier's probabilities (class 1 of a
    binary one) and NaN for a regressor, which has a single output.
    """
    parts = [
        _prediction_rows(version, timestamp, request_id, outputs, entities)
        for version, timestamp, (request_id, outputs, entities) in logged_requests(
            directory, model_name, since, until, _id_and_outputs
        )
    ]
    if not parts:
        return pd.DataFrame({column: [] for column in [*PREDICTION_COLUMNS, ENTITY]})
    return pd.concat(parts, ignore_index=True)


def join_outcomes(
    predictions: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    window_start: float,
    window_end: float,
    max_label_delay_seconds: float,
) -> LabelledPredictions:
    """Match outcomes to predictions by request id and row, or entity and time.

    Every other case is counted. Outcomes with an ``entity`` column (``read_outcomes``
    of an ``entity_column``) are first given the id and row of the newest prediction
    for their entity made at or before their event time; one without such a prediction
    is an unknown id.

    Of several outcomes for one id the earliest counts; the others are
    duplicates. An id logged twice (a client reusing its ids) is matched to
    its first prediction; the later ones stay missing. An outcome is late when
    its event time is after ``window_end`` (the run's cut-off) or more than
    ``max_label_delay_seconds`` after its prediction. An outcome that happened
    before ``window_start``, or whose prediction was made before it (pass the
    predictions of one label delay before the window so that they are found),
    belongs to an earlier window: counted as such, never as an unknown id.
    """
    ordered = outcomes.sort_values("event_time", kind="stable")
    logged = predictions.sort_values("timestamp", kind="stable")
    if ENTITY in ordered.columns:
        ordered = _by_entity(ordered, logged)
    keyed = logged[logged["request_id"].notna() & ~logged.duplicated(["request_id", "row"])]
    joined = ordered.merge(
        keyed.rename(columns={"request_id": "id"}), on=["id", "row"], how="left", indicator=True
    )
    before = (joined["event_time"] < window_start) | (joined["timestamp"] < window_start)
    scoped = joined[~before]
    known = scoped["_merge"] == "both"
    first = ~scoped.duplicated(["id", "row"])
    late = known & (
        (scoped["event_time"] > window_end)
        | (scoped["event_time"] - scoped["timestamp"] > max_label_delay_seconds)
    )
    matched = scoped[known & first & ~late]
    by_version = {
        "matched": matched["version"].value_counts(),
        "late": scoped[known & first & late]["version"].value_counts(),
        "duplicate": scoped[known & ~first]["version"].value_counts(),
    }
    served = logged[logged["timestamp"] >= window_start]["version"].value_counts().sort_index()
    versions = {}
    for version, rows in served.items():
        counted = {state: int(counts.get(version, 0)) for state, counts in by_version.items()}
        missing = int(rows) - counted["matched"] - counted["late"]
        versions[str(version)] = VersionLabelCounts(
            predictions=int(rows), missing=missing, **counted
        )
    frame = matched.rename(columns={"id": "request_id"})[[*PREDICTION_COLUMNS, "label"]]
    counts = LabelCounts(
        outcomes=len(outcomes),
        versions=versions,
        unknown_id=int((~known).sum()),
        before_window=int(before.sum()),
        window_start=window_start,
        window_end=window_end,
    )
    return LabelledPredictions(frame=frame.reset_index(drop=True), counts=counts)


def _by_entity(outcomes: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """``outcomes`` with the id and row of their entity's newest earlier prediction.

    The prediction is the newest for the outcome's entity made at or before its event
    time; an outcome without one gets no id (an unknown id).
    """
    served = predictions[predictions[ENTITY].notna()][["timestamp", ENTITY, "request_id", "row"]]
    matched = pd.merge_asof(
        outcomes.reset_index(drop=True),
        served.rename(columns={"request_id": "id"}).astype({"row": np.float64}),
        left_on="event_time",
        right_on="timestamp",
        by=ENTITY,
        direction="backward",
    )
    known = matched["id"].notna()
    return pd.DataFrame(
        {
            "id": matched["id"].where(known, None),
            "row": matched["row"].fillna(0).astype(np.int64),
            "event_time": matched["event_time"],
            "label": matched["label"],
        }
    )


def _id_and_outputs(
    record: dict[str, Any],
) -> tuple[str | None, list[Any], list[Any] | None]:
    # Logs written before the server assigned ids named the client's id "id".
    request_id = record.get("request_id", record.get("id"))
    entities = record.get("entity_ids")
    return (
        None if request_id is None else str(request_id),
        list(record["outputs"]),
        None if entities is None else list(entities),
    )


def _prediction_rows(
    version: str,
    timestamp: float,
    request_id: str | None,
    outputs: list[Any],
    entities: list[Any] | None,
) -> pd.DataFrame:
    prediction = np.asarray(outputs[0])
    rows = prediction.shape[0]
    scores = (
        np.asarray(outputs[1], dtype=np.float64).reshape(rows, -1)[:, -1]
        if len(outputs) > 1
        else np.full(rows, np.nan)
    )
    return pd.DataFrame(
        {
            "request_id": [request_id] * rows,
            "row": np.arange(rows, dtype=np.int64),
            "version": version,
            "timestamp": timestamp,
            "prediction": prediction.reshape(rows, -1)[:, 0],
            "score": scores,
            ENTITY: [str(entity) for entity in entities] if entities else [None] * rows,
        }
    )


def _unix_seconds(values: pd.Series, column: str, path: Path) -> pd.Series:
    """Event times as Unix seconds: numbers are taken as seconds, text and dates as UTC times."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype(np.float64)
    try:
        times = pd.to_datetime(values, utc=True)
    except (ValueError, TypeError) as error:
        raise OutcomesError(
            f"column {column!r} of {path} holds a value that is not a time ({error}); write ISO "
            "times (2026-05-01T12:00:00Z) or Unix seconds"
        ) from None
    return (times - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
