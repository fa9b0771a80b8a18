from __future__ import annotations

import pandas as pd
from zenml_integrations.lineage import bytes_sha256, frame_sha256


def make_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "a": [1, 2, 3, 4],
            "b": [0.5, 1.5, 2.5, 3.5],
            "c": ["w", "x", "y", "z"],
            "ts": pd.date_range("2025-01-01", periods=4, tz="UTC"),
        }
    )


def test_given_same_frame_when_hashed_twice_then_digest_is_stable() -> None:
    digest = frame_sha256(make_frame())

    assert digest == frame_sha256(make_frame())
    assert len(digest) == 64
    int(digest, 16)  # hexadecimal


def test_given_different_index_when_hashed_then_digest_is_unchanged() -> None:
    frame = make_frame()
    reindexed = frame.set_axis([10, 20, 30, 40], axis=0)

    assert frame_sha256(reindexed) == frame_sha256(frame)


def test_given_one_value_changed_when_hashed_then_digest_changes() -> None:
    frame = make_frame()
    changed = frame.copy()
    changed.loc[2, "b"] = 2.5000001

    assert frame_sha256(changed) != frame_sha256(frame)


def test_given_dtype_changed_when_hashed_then_digest_changes() -> None:
    frame = make_frame()

    assert frame_sha256(frame.astype({"a": "int32"})) != frame_sha256(frame)
    assert frame_sha256(frame.astype({"a": "float64"})) != frame_sha256(frame)


def test_given_column_renamed_when_hashed_then_digest_changes() -> None:
    frame = make_frame()

    assert frame_sha256(frame.rename(columns={"a": "z"})) != frame_sha256(frame)


def test_given_rows_reordered_when_hashed_then_digest_changes() -> None:
    frame = make_frame()

    assert frame_sha256(frame.iloc[::-1].reset_index(drop=True)) != frame_sha256(frame)


def test_given_bytes_when_hashed_then_known_sha256() -> None:
    assert bytes_sha256(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
