"""The serving path: feature vectors for entity ids as one numpy array, TTL applied.

A model server needs a float matrix in a fixed column order and to know
which ids are unknown (to answer 4xx), not Feast's column dictionaries of
protobuf-decoded Python objects. The read plan (views, columns, key type,
TTL) is built once; each call is one online-store read per feature view.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from zenml_integrations.feast.errors import FeastRetrievalError
from zenml_integrations.feast.features import ViewFeatures
from zenml_integrations.feast.retrieval import ttl_horizon

if TYPE_CHECKING:
    from feast import FeatureStore

_NUMERIC_KINDS = frozenset({"double_val", "float_val", "int64_val", "int32_val", "bool_val"})


@dataclass(frozen=True)
class OnlineFeatureVectors:
    """Online features of a batch of entities.

    Attributes:
        feature_names: Column names of ``values``, in request order.
        values: ``(len(entity_ids), len(feature_names))`` float64; NaN where a
            value is missing or older than its view's TTL.
        found: True where every feature view knows the entity; a server
            answers 4xx for the others.
        stale: True where some values were dropped because they are older
            than the TTL (training would have seen them missing too).
    """

    feature_names: list[str]
    values: npt.NDArray[np.float64]
    found: npt.NDArray[np.bool_]
    stale: npt.NDArray[np.bool_]


class OnlineVectorReader:
    """Reads a fixed feature list for one kind of entity id from the online store."""

    def __init__(self, store: FeatureStore, views: Sequence[ViewFeatures]) -> None:
        """Check the request can be served as numbers keyed by a single id.

        Raises:
            FeastRetrievalError: views disagree on the join key, the key type
                is not an integer or string, or a feature is not numeric.
        """
        from feast.value_type import ValueType

        join_keys = {view.join_keys for view in views}
        if len(join_keys) != 1 or len(next(iter(join_keys))) != 1:
            raise FeastRetrievalError(
                f"feature vectors need every feature view keyed by the same single join key, "
                f"got {sorted(join_keys)}"
            )
        ((self.join_key,),) = join_keys
        key_field = next(c for c in views[0].view.entity_columns if c.name == self.join_key)
        key_type = key_field.dtype.to_value_type()
        key_kinds = {
            ValueType.INT64: "int64_val",
            ValueType.INT32: "int32_val",
            ValueType.STRING: "string_val",
        }
        if key_type not in key_kinds:
            raise FeastRetrievalError(
                f"join key {self.join_key!r} has type {key_type.name}; feature vectors support "
                f"INT64, INT32 and STRING keys"
            )
        self._key_kind = key_kinds[key_type]
        numeric = {
            ValueType.DOUBLE,
            ValueType.FLOAT,
            ValueType.INT64,
            ValueType.INT32,
            ValueType.BOOL,
        }
        for view in views:
            types = {field.name: field.dtype.to_value_type() for field in view.view.features}
            not_numeric = [name for name in view.features if types[name] not in numeric]
            if not_numeric:
                raise FeastRetrievalError(
                    f"feature(s) {not_numeric} of view {view.view.name!r} are not numeric; "
                    f"feature vectors are float arrays"
                )
        self._provider = store.provider
        self._config = store.config
        self.feature_names = [name for view in views for name in view.columns(False)]
        starts = np.cumsum([0, *(len(view.features) for view in views)])
        self._columns = [
            (view, list(view.features), range(int(start), int(start) + len(view.features)))
            for view, start in zip(views, starts[:-1], strict=True)
        ]

    def read(self, entity_ids: Sequence[Any]) -> OnlineFeatureVectors:
        """Feature vectors for ``entity_ids`` (duplicates allowed, order kept)."""
        from feast.protos.feast.types.EntityKey_pb2 import EntityKey
        from feast.protos.feast.types.Value_pb2 import Value

        now = time.time()
        convert = str if self._key_kind == "string_val" else int
        keys = []
        for entity_id in entity_ids:
            key_value = Value()
            setattr(key_value, self._key_kind, convert(entity_id))
            keys.append(EntityKey(join_keys=[self.join_key], entity_values=[key_value]))
        count = len(keys)
        values = np.full((count, len(self.feature_names)), np.nan)
        found = np.ones(count, dtype=bool)
        stale = np.zeros(count, dtype=bool)
        for view, names, columns in self._columns:
            rows = self._provider.online_read(self._config, view.view, keys, names)
            horizon = ttl_horizon(view.ttl_seconds, now)
            for row, (event_time, data) in enumerate(rows):
                if data is None:
                    found[row] = False
                    continue
                if event_time is not None and event_time.timestamp() < horizon:
                    stale[row] = True
                    continue
                for name, column in zip(names, columns, strict=True):
                    stored = data.get(name)
                    kind = stored.WhichOneof("val") if stored is not None else None
                    if kind in _NUMERIC_KINDS:
                        values[row, column] = float(getattr(stored, kind))
        return OnlineFeatureVectors(
            feature_names=list(self.feature_names), values=values, found=found, stale=stale
        )
