"""Guard rails that keep training and serving features identical: pure pandas/numpy.

Feast's file offline store returns historical rows in its own order (by
timestamp) and silently drops entity rows that have no feature value at or
before their timestamp, so a caller that glues features back by position
trains on features of the wrong customers. Here the result is joined back on
entity keys and timestamp, in the caller's row order, and rows without a
point-in-time match are counted and reported.

Feast's online read ignores the feature view TTL, although historical
retrieval applies it: a value older than ``now - ttl`` would be served
although training would have seen a missing value. ``apply_ttl`` removes them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from zenml_integrations.feast.errors import FeastRetrievalError, MissingPointInTimeError

FEAST_TIMESTAMP = "event_timestamp"
TIMESTAMP_SUFFIX = "__ts"  # feast.online_response.TIMESTAMP_POSTFIX
_KEY_TIMESTAMP = "__entity_timestamp_utc"


@dataclass(frozen=True)
class AlignedFeatures:
    """Historical features in the caller's row order.

    Attributes:
        frame: The caller's entity frame (same index, order and length) plus
            one column per feature.
        unmatched: True for rows without a point-in-time match in at least
            one feature view; their features of that view are NaN.
    """

    frame: pd.DataFrame
    unmatched: npt.NDArray[np.bool_]

    @property
    def unmatched_count(self) -> int:
        """How many rows have no point-in-time match."""
        return int(self.unmatched.sum())


def utc_timestamps(values: pd.Series) -> pd.Series:
    """Timestamps as UTC nanoseconds; naive values are UTC, as Feast treats them."""
    converted = pd.to_datetime(values, utc=True)
    return converted.astype("datetime64[ns, UTC]")


def check_entity_frame(
    entity_df: object, timestamp_column: str, join_keys: Sequence[str]
) -> pd.DataFrame:
    """Refuse an entity frame that Feast would misread; return it typed.

    Raises:
        FeastRetrievalError: not a DataFrame, or a timestamp or join key column
            is missing, or timestamps are null or not timestamps.
    """
    if not isinstance(entity_df, pd.DataFrame):
        raise FeastRetrievalError(
            f"entity_df must be a pandas DataFrame, got {type(entity_df).__name__}: an SQL "
            f"entity query cannot be aligned to the caller's rows"
        )
    if timestamp_column not in entity_df.columns:
        raise FeastRetrievalError(
            f"entity frame has no {timestamp_column!r} column (columns: "
            f"{list(entity_df.columns)}); point-in-time retrieval needs the time each row was "
            f"observed: add it, or set the store's timestamp_column to the column that holds it"
        )
    missing_keys = [key for key in join_keys if key not in entity_df.columns]
    if missing_keys:
        raise FeastRetrievalError(
            f"entity frame lacks join key column(s) {missing_keys} of the requested features "
            f"(columns: {list(entity_df.columns)})"
        )
    try:
        timestamps = utc_timestamps(entity_df[timestamp_column])
    except (TypeError, ValueError) as error:
        raise FeastRetrievalError(
            f"entity frame column {timestamp_column!r} does not hold timestamps: {error}"
        ) from error
    null_count = int(timestamps.isna().sum())
    if null_count:
        raise FeastRetrievalError(
            f"entity frame column {timestamp_column!r} has {null_count} null timestamp(s); "
            f"every row needs the time it was observed"
        )
    return entity_df


def entity_query_frame(
    entity_df: pd.DataFrame, join_keys: Sequence[str], timestamp_column: str
) -> pd.DataFrame:
    """The distinct (keys, timestamp) pairs to send to Feast, timestamp named as Feast expects.

    Only keys and timestamp go to Feast: other caller columns could collide
    with feature names or confuse Feast's timestamp column inference.
    """
    query = pd.DataFrame(
        {key: entity_df[key].to_numpy() for key in join_keys}
        | {FEAST_TIMESTAMP: utc_timestamps(entity_df[timestamp_column]).to_numpy()}
    )
    return query.drop_duplicates(ignore_index=True)


def align_to_entity_frame(
    entity_df: pd.DataFrame,
    retrieved: pd.DataFrame,
    join_keys: Sequence[str],
    timestamp_column: str,
    columns_by_view: Mapping[str, Sequence[str]],
) -> AlignedFeatures:
    """Join Feast's result back onto the caller's rows by entity keys and timestamp.

    Args:
        entity_df: The caller's entity frame.
        retrieved: Feast's result for ``entity_query_frame``: join keys,
            ``event_timestamp`` and the feature columns, in any order, with
            rows possibly missing.
        join_keys: Entity join key columns.
        timestamp_column: The caller's timestamp column.
        columns_by_view: Feature columns of the result, grouped by feature view.

    Raises:
        FeastRetrievalError: a feature column already exists in the entity frame.
    """
    feature_columns = [column for columns in columns_by_view.values() for column in columns]
    clashing = sorted(set(feature_columns) & set(entity_df.columns))
    if clashing:
        raise FeastRetrievalError(
            f"entity frame already has column(s) {clashing} that name requested features; "
            f"drop them or request full feature names"
        )
    left = pd.DataFrame(
        {key: entity_df[key].to_numpy() for key in join_keys}
        | {_KEY_TIMESTAMP: utc_timestamps(entity_df[timestamp_column]).to_numpy()}
    )
    right = retrieved[[*join_keys, FEAST_TIMESTAMP, *feature_columns]].rename(
        columns={FEAST_TIMESTAMP: _KEY_TIMESTAMP}
    )
    right[_KEY_TIMESTAMP] = utc_timestamps(right[_KEY_TIMESTAMP])
    merged = left.merge(right, how="left", on=[*join_keys, _KEY_TIMESTAMP], validate="many_to_one")
    frame = entity_df.copy()
    for column in feature_columns:
        frame[column] = merged[column].to_numpy()
    unmatched = np.zeros(len(entity_df), dtype=bool)
    for columns in columns_by_view.values():
        if columns:
            unmatched |= merged[list(columns)].isna().all(axis=1).to_numpy()
    return AlignedFeatures(frame=frame, unmatched=unmatched)


def missing_point_in_time_message(
    aligned: AlignedFeatures,
    join_keys: Sequence[str],
    timestamp_column: str,
    examples: int = 5,
) -> str:
    """How many rows lack a point-in-time match, with a few of their keys and timestamps."""
    rows = aligned.frame.loc[aligned.unmatched, [*join_keys, timestamp_column]].head(examples)
    shown = "; ".join(
        ", ".join(f"{column}={value}" for column, value in row.items())
        for row in rows.to_dict("records")
    )
    return (
        f"{aligned.unmatched_count} of {len(aligned.frame)} entity rows have no feature values "
        f"at or within the TTL before their timestamp (e.g. {shown}); they would train on "
        f"missing features. Check the timestamps and keys, or set "
        f"on_missing_point_in_time='warn' to keep them as NaN"
    )


def enforce_point_in_time(
    aligned: AlignedFeatures,
    join_keys: Sequence[str],
    timestamp_column: str,
    on_missing: str,
) -> str | None:
    """Raise in ``fail`` mode when rows lack a match; in ``warn`` mode return the warning text.

    Raises:
        MissingPointInTimeError: ``on_missing`` is ``fail`` and rows lack a match.
    """
    if not aligned.unmatched_count:
        return None
    message = missing_point_in_time_message(aligned, join_keys, timestamp_column)
    if on_missing == "fail":
        raise MissingPointInTimeError(message)
    return message


def ttl_horizon(ttl_seconds: float | None, now_seconds: float) -> float:
    """Values with an event time before this are expired: ``ts < now - ttl``.

    The same rule historical retrieval applies (it keeps ``ts >= entity_ts - ttl``);
    a TTL of None or 0 means values never expire (Feast's convention).
    """
    return now_seconds - ttl_seconds if ttl_seconds else -math.inf


def apply_ttl(
    response: Mapping[str, list[Any]],
    ttl_by_column: Mapping[str, float | None],
    now_seconds: float,
) -> dict[str, list[Any]]:
    """An online response with expired values set to None and the ``__ts`` columns dropped.

    Args:
        response: ``OnlineResponse.to_dict(include_event_timestamps=True)``.
        ttl_by_column: Feature column name to its feature view's TTL in seconds.
        now_seconds: The reference time (Unix seconds).
    """
    result: dict[str, list[Any]] = {}
    for column, values in response.items():
        if column.endswith(TIMESTAMP_SUFFIX) and column[: -len(TIMESTAMP_SUFFIX)] in response:
            continue
        ttl = ttl_by_column.get(column)
        if ttl:
            horizon = ttl_horizon(ttl, now_seconds)
            seconds = response[column + TIMESTAMP_SUFFIX]
            values = [None if ts < horizon else v for v, ts in zip(values, seconds, strict=True)]
        result[column] = list(values)
    return result
