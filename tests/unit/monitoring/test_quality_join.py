"""Outcomes joined with logged predictions: every outcome and prediction row in one count."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from zenml_integrations.monitoring.outcomes import (
    OutcomesError,
    OutcomesSource,
    join_outcomes,
    read_outcomes,
    read_predictions,
)
from zenml_integrations.onnx.server.inference_log import InferenceLogger
from zenml_integrations.onnx.server.metrics import ServerMetrics

DELAY = 1800.0


def _log_predictions(directory: Path) -> dict[tuple[str | None, int], tuple[str, int, float]]:
    """Serve v1 ten one-row requests and v2 six requests (one of three rows, one without id).

    Returns what was logged per (request id, row): version, label and class-1 probability.
    """
    counters = ServerMetrics().inference_log_counters("churn")
    writer = InferenceLogger(directory, 1 << 20, counters, max_files=4, flush_seconds=0.01)
    logged: dict[tuple[str | None, int], tuple[str, int, float]] = {}
    requests: list[tuple[str, str | None, int]] = [("1", f"a{i}", 1) for i in range(10)]
    requests += [("2", f"b{i}", 1) for i in range(5)] + [("2", "bm", 3), ("2", None, 1)]
    for number, (version, request_id, rows) in enumerate(requests):
        probability = np.linspace(0.1, 0.9, rows) * 0.5 + (number % 3) * 0.2
        labels = (probability > 0.5).astype(np.int64)
        probabilities = np.stack([1 - probability, probability], axis=1).astype(np.float32)
        outputs: list[np.ndarray] = [labels, probabilities]
        inputs = np.full((rows, 4), number, np.float32)
        writer.log("churn", version, "champion", request_id, inputs, outputs)
        for row in range(rows):
            logged[(request_id, row)] = (version, int(labels[row]), float(probability[row]))
    writer.close()
    return logged


def test_given_late_duplicate_unknown_and_missing_labels_then_each_is_counted_once(
    tmp_path: Path,
) -> None:
    logged = _log_predictions(tmp_path)
    predictions = read_predictions(tmp_path, "churn", since=0, until=time.time() + 1)
    served = float(predictions["timestamp"].max())
    end, start = served + 3600, served - 3600
    # a9 was served before the window: its outcome belongs to an earlier window, not unknown.
    predictions.loc[predictions["request_id"] == "a9", "timestamp"] = start - 60
    outcome_rows = [
        ("a0", 0, served + 60, 1), ("a0", 0, served + 120, 0),  # a duplicate: the first counts
        *[(f"a{i}", 0, served + 60, i % 2) for i in range(1, 6)],
        ("a6", 0, served + DELAY + 200, 1),  # later than the delay after its prediction
        ("a7", 0, end + 10, 0),  # after the run's cut-off
        ("a1", 0, start - 10, 0),  # before the window: not this window's label
        ("a9", 0, served, 1),  # in the window, but for a prediction made before it
        *[(f"b{i}", 0, served + 30, 1) for i in range(3)],
        *[("b3", 0, served + 30 * k, k % 2) for k in (1, 2, 3)],  # two duplicates
        ("bm", 0, served + 10, 1), ("bm", 2, served + 10, 0),  # rows of a 3-row request
        ("zz1", 0, served, 1), ("zz1", 0, served + 5, 1), ("zz2", 0, served, 0),  # unknown ids
        ("bm", 5, served, 1),  # a row the request did not have
    ]  # fmt: skip
    outcomes = pd.DataFrame(outcome_rows, columns=["id", "row", "event_time", "label"])
    # The file's order does not decide which of two outcomes counts: their event time does.
    outcomes = outcomes.sample(frac=1.0, random_state=3).reset_index(drop=True)

    labelled = join_outcomes(
        predictions, outcomes, window_start=start, window_end=end, max_label_delay_seconds=DELAY
    )

    counts = labelled.counts
    assert counts.outcomes == len(outcome_rows) == 23
    v1, v2 = counts.versions["1"], counts.versions["2"]
    assert (v1.predictions, v1.matched, v1.late, v1.missing, v1.duplicate) == (9, 6, 2, 1, 1)
    assert (v2.predictions, v2.matched, v2.late, v2.missing, v2.duplicate) == (9, 6, 0, 3, 2)
    assert (counts.unknown_id, counts.before_window) == (4, 2)
    scored = v1.matched + v2.matched + v1.late + v2.late + v1.duplicate + v2.duplicate
    assert scored + counts.unknown_id + counts.before_window == counts.outcomes

    # Direct computation: the earliest in-window, in-time outcome of each logged (id, row).
    earliest: dict[tuple[str, int], tuple[float, int]] = {}
    for request_id, row, event_time, label in sorted(outcome_rows, key=lambda item: item[2]):
        key = (request_id, row)
        if event_time >= start and key not in earliest:
            earliest[key] = (event_time, label)
    expected = {
        key: (logged[key][0], label, logged[key][1], logged[key][2])
        for key, (event_time, label) in earliest.items()
        if key in logged and key != ("a9", 0) and event_time <= end and event_time - served <= DELAY
    }
    actual = {
        (row.request_id, row.row): (row.version, row.label, row.prediction, row.score)
        for row in labelled.frame.itertuples()
    }
    assert actual.keys() == expected.keys()
    for key, (version, label, prediction, score) in expected.items():
        assert actual[key][:3] == (version, label, prediction)
        assert actual[key][3] == pytest.approx(score, rel=1e-6)
    assert actual[("a0", 0)][1] == 1  # the earlier of a0's two outcomes


def test_given_an_outcomes_file_then_ids_times_and_rows_are_read(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.csv"
    pd.DataFrame(
        {"request_id": ["1e5", "0042"], "at": ["2026-05-01T00:00:00Z", "2026-05-01T00:00:10Z"],
         "churned": ["yes", "no"], "position": [0, 2]}
    ).to_csv(path, index=False)  # fmt: skip
    source = OutcomesSource(
        path=str(path), time_column="at", label_column="churned", row_column="position"
    )

    outcomes = read_outcomes(source)

    assert outcomes["id"].tolist() == ["1e5", "0042"]  # ids as written, not numbers
    assert outcomes["row"].tolist() == [0, 2]
    assert outcomes["event_time"].tolist() == [1777593600.0, 1777593610.0]
    assert outcomes["label"].tolist() == ["yes", "no"]


def test_given_a_wrong_column_or_path_then_the_error_names_it(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.parquet"
    pd.DataFrame({"id": ["x"], "event_time": [1.0], "label": [1]}).to_parquet(path)

    with pytest.raises(OutcomesError, match=r"no column \['request_id'\]; it has \['id', "):
        read_outcomes(OutcomesSource(path=str(path)))
    with pytest.raises(OutcomesError, match="does not exist"):
        read_outcomes(OutcomesSource(path=str(tmp_path / "absent.csv")))
    pd.DataFrame({"request_id": ["x", "y"], "event_time": [1.0, 2.0], "label": [1, None]}).to_csv(
        tmp_path / "gaps.csv", index=False
    )
    with pytest.raises(OutcomesError, match=r"1 rows of .* lack an id, a time or a label .* \[3\]"):
        read_outcomes(OutcomesSource(path=str(tmp_path / "gaps.csv")))
    with pytest.raises(ValueError, match=r"must end in \.csv or \.parquet"):
        OutcomesSource(path="outcomes.json")


def test_given_outcomes_keyed_by_entity_then_each_labels_its_entitys_newest_earlier_prediction(
    tmp_path: Path,
) -> None:
    """Requests by entity id (a Feast lookup) log their ids; outcomes carry the entity and
    when it happened, not a request id."""
    counters = ServerMetrics().inference_log_counters("churn")
    writer = InferenceLogger(tmp_path, 1 << 20, counters, max_files=4, flush_seconds=0.01)
    requests = [("1", [101, 102], [0.9, 0.2]), ("1", [101], [0.3]), ("2", [103], [0.7])]
    for number, (version, ids, probability) in enumerate(requests):
        scores = np.asarray(probability, np.float32)
        outputs = [(scores > 0.5).astype(np.int64), np.stack([1 - scores, scores], axis=1)]
        # the server's own request id: it assigns one to every request
        writer.log("churn", version, "champion", f"r{number}",
                   np.zeros((len(ids), 2), np.float32), outputs, ids)  # fmt: skip
        time.sleep(0.02)  # distinct log times, as requests have
    writer.close()
    predictions = read_predictions(tmp_path, "churn", since=0, until=time.time() + 1)
    times = sorted(predictions["timestamp"].unique())
    outcomes_file = tmp_path / "outcomes.csv"
    pd.DataFrame(
        {
            "customer_id": ["101", "101", "102", "102", "103", "999", "101"],
            "event_time": [times[0] + 0.001, times[1] + 0.001, times[0] + 0.001,
                           times[0] + 0.002, times[2] + 0.001, times[2], times[0] - 5],
            "label": [1, 0, 0, 0, 1, 1, 1],
        }
    ).to_csv(outcomes_file, index=False)  # fmt: skip
    source = OutcomesSource(path=str(outcomes_file), entity_column="customer_id")

    labelled = join_outcomes(
        predictions, read_outcomes(source), window_start=times[0] - 10,
        window_end=times[2] + 10, max_label_delay_seconds=DELAY,
    )  # fmt: skip

    frame = labelled.frame.sort_values("timestamp", kind="stable")
    # 101 twice: its first outcome labels the first request, the second the newer one.
    assert [(v, round(s, 1), label) for v, s, label in zip(
        frame["version"], frame["score"], frame["label"], strict=True)] == [
        ("1", 0.9, 1), ("1", 0.2, 0), ("1", 0.3, 0), ("2", 0.7, 1)
    ]  # fmt: skip
    counts = labelled.counts
    assert counts.versions["1"].duplicate == 1  # 102 labelled twice
    assert counts.unknown_id == 2  # 999 was never served; 101's first outcome predates it
    assert (counts.versions["1"].matched, counts.versions["2"].matched) == (3, 1)
