from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from zenml_integrations.feast.errors import FeastRetrievalError, MissingPointInTimeError
from zenml_integrations.feast.materialize import latest_rows_in_window
from zenml_integrations.feast.retrieval import (
    align_to_entity_frame,
    apply_ttl,
    check_entity_frame,
    enforce_point_in_time,
    entity_query_frame,
    ttl_horizon,
)

T0 = pd.Timestamp("2026-01-01", tz="UTC")
VIEWS = {"customer_features": ["age", "tenure"]}


def caller_frame() -> pd.DataFrame:
    """Shuffled index, naive timestamps, an extra column and a repeated (key, time) row."""
    return pd.DataFrame(
        {
            "customer_id": [3, 1, 2, 1, 9],
            "event_timestamp": pd.to_datetime(
                ["2026-01-03", "2026-01-01", "2026-01-02", "2026-01-01", "2026-01-05"]
            ),
            "label": [1, 0, 1, 0, 1],
        },
        index=[30, 10, 20, 11, 90],
    )


def feast_result() -> pd.DataFrame:
    """What Feast's file store returns: timestamp order, customer 2 dropped, 9 unknown (NaN)."""
    return pd.DataFrame(
        {
            "customer_id": [1, 3, 9],
            "event_timestamp": [T0, T0 + pd.Timedelta(days=2), T0 + pd.Timedelta(days=4)],
            "age": [41.0, 33.0, np.nan],
            "tenure": [5.0, np.nan, np.nan],
        }
    )


def test_given_no_timestamp_column_when_checked_then_the_error_says_how_to_fix() -> None:
    frame = pd.DataFrame({"customer_id": [1], "snapshot_at": [T0]})

    with pytest.raises(FeastRetrievalError, match=r"no 'event_timestamp' column.*snapshot_at"):
        check_entity_frame(frame, "event_timestamp", ["customer_id"])
    assert check_entity_frame(frame, "snapshot_at", ["customer_id"]) is frame


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"event_timestamp": [T0]}), r"join key column\(s\) \['customer_id'\]"),
        (pd.DataFrame({"customer_id": [1, 2], "event_timestamp": [T0, None]}), "1 null"),
        (pd.DataFrame({"customer_id": [1], "event_timestamp": ["not a time"]}), "timestamps"),
        ("SELECT customer_id FROM t", "SQL entity query"),
    ],
)
def test_given_a_frame_feast_would_misread_when_checked_then_it_is_refused(
    frame: object, message: str
) -> None:
    with pytest.raises(FeastRetrievalError, match=message):
        check_entity_frame(frame, "event_timestamp", ["customer_id"])


def test_given_repeated_rows_when_querying_feast_then_distinct_keys_and_utc_times_are_sent() -> (
    None
):
    frame = caller_frame().rename(columns={"event_timestamp": "as_of"})

    query = entity_query_frame(frame, ["customer_id"], "as_of")

    assert list(query.columns) == ["customer_id", "event_timestamp"]
    assert len(query) == 4
    assert str(query["event_timestamp"].dt.tz) == "UTC"


def test_given_feast_reordered_and_dropped_rows_when_aligned_then_callers_rows_and_order() -> None:
    aligned = align_to_entity_frame(
        caller_frame(), feast_result(), ["customer_id"], "event_timestamp", VIEWS
    )

    frame = aligned.frame
    pd.testing.assert_frame_equal(
        frame[["customer_id", "event_timestamp", "label"]], caller_frame()
    )
    assert frame["age"].tolist()[:2] == [33.0, 41.0]
    assert frame.loc[11, "age"] == 41.0, "repeated caller rows get the same features"
    assert aligned.unmatched.tolist() == [False, False, True, False, True]
    assert aligned.unmatched_count == 2
    assert frame.loc[[20, 90], ["age", "tenure"]].isna().all().all()


def test_given_a_feature_named_like_a_caller_column_when_aligned_then_it_is_refused() -> None:
    frame = caller_frame().rename(columns={"label": "age"})

    with pytest.raises(FeastRetrievalError, match=r"already has column\(s\) \['age'\]"):
        align_to_entity_frame(frame, feast_result(), ["customer_id"], "event_timestamp", VIEWS)


def test_given_unmatched_rows_when_enforced_then_fail_raises_with_keys_and_warn_returns_text() -> (
    None
):
    aligned = align_to_entity_frame(
        caller_frame(), feast_result(), ["customer_id"], "event_timestamp", VIEWS
    )

    with pytest.raises(MissingPointInTimeError, match=r"2 of 5 entity rows") as raised:
        enforce_point_in_time(aligned, ["customer_id"], "event_timestamp", "fail")
    assert "customer_id=2" in str(raised.value)
    assert "customer_id=9" in str(raised.value)
    warning = enforce_point_in_time(aligned, ["customer_id"], "event_timestamp", "warn")
    assert warning is not None
    assert warning.startswith("2 of 5")


def test_given_every_row_matched_when_enforced_then_nothing_is_reported() -> None:
    frame = caller_frame().iloc[:2]
    aligned = align_to_entity_frame(
        frame, feast_result(), ["customer_id"], "event_timestamp", VIEWS
    )

    assert enforce_point_in_time(aligned, ["customer_id"], "event_timestamp", "fail") is None


def test_given_a_ttl_when_checking_age_then_the_boundary_matches_historical_retrieval() -> None:
    now, ttl = 1_000_000.0, 100.0
    horizon = ttl_horizon(ttl, now)

    assert [seconds < horizon for seconds in (now - ttl, now - ttl - 1, now)] == [
        False,
        True,
        False,
    ]
    assert ttl_horizon(None, now) == ttl_horizon(0.0, now) == -math.inf


def test_given_an_online_response_when_ttl_applied_then_stale_values_are_none_and_ts_dropped() -> (
    None
):
    now = 1_000_000.0
    response = {
        "customer_id": [1, 2],
        "age": [41.0, 52.0],
        "age__ts": [int(now - 10), int(now - 500)],
        "score": [0.5, 0.7],
        "score__ts": [int(now - 10), int(now - 500)],
    }

    served = apply_ttl(response, {"age": 100.0, "score": None}, now)

    assert served == {"customer_id": [1, 2], "age": [41.0, None], "score": [0.5, 0.7]}


def test_given_several_rows_per_entity_when_windowed_then_latest_inside_both_inclusive_ends() -> (
    None
):
    frame = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 2, 3],
            "event_timestamp": [
                T0,
                T0 + pd.Timedelta(days=1),
                T0 + pd.Timedelta(days=5),
                T0,
                T0,
                T0 - pd.Timedelta(days=1),
            ],
            "created": [T0, T0, T0, T0 + pd.Timedelta(hours=2), T0 + pd.Timedelta(hours=1), T0],
            "value": [1.0, 2.0, 3.0, 20.0, 10.0, 30.0],
        }
    )

    latest = latest_rows_in_window(
        frame, ["customer_id"], "event_timestamp", "created", T0, T0 + pd.Timedelta(days=1)
    )

    assert latest.set_index("customer_id")["value"].to_dict() == {1: 2.0, 2: 20.0}
