"""Predict by entity key: the server fetches the feature vector from a feature store.

The serving core knows no feature store. It names a provider by import path
and talks to it through ``FeatureSource`` (entity ids in, a float matrix in
the model's input column order and found/stale masks out), so the ONNX plugin
never imports the Feast plugin (an import-linter contract) and other stores
can plug in the same way.

Configuration (``ServerConfig.feature_lookup``; the deployment pipeline's
``feature_lookup`` parameter has the same shape)::

    feature_lookup:
      provider: zenml_integrations.feast.serving:FeastOnlineFeatures
      entity_column: customer_id      # the request input / record key holding the ids
      base_dir: null                  # relative paths in options resolve here;
                                      # the deployment step sets the project root
      options:                        # validated by the provider
        repo_path: feature_repo       # or inline store settings (project, ...)
        feature_service: churn_model_v1

Requests then name the entity column instead of sending features:
``{"inputs": [{"name": "customer_id", "shape": [2], "datatype": "INT64",
"data": [17, 42]}]}`` or ``{"records": [{"customer_id": 17}]}``. A batch with
any unknown id, or an id whose features are older than the view's TTL, is
refused whole with HTTP 422 naming the ids: the server never predicts on
missing values.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from prometheus_client import CollectorRegistry, Counter, Histogram
from zenml_integrations.onnx.errors import OnnxError
from zenml_integrations.onnx.server.config import FeatureLookupConfig
from zenml_integrations.onnx.server.tensors import InferenceRequestError

logger = logging.getLogger(__name__)

LOOKUP_BUCKETS = (0.0002, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.5)
_SHOWN_IDS = 10

EntityId = int | str


class FeatureRows(Protocol):
    """Features of a batch of entities as a provider returns them.

    Attributes:
        values: ``(len(ids), len(feature_names))`` float32 in the provider's
            ``feature_names`` order.
        found: True where the store knows the entity.
        stale: True where values were dropped as older than their TTL.
    """

    values: npt.NDArray[np.float32]
    found: npt.NDArray[np.bool_]
    stale: npt.NDArray[np.bool_]


@runtime_checkable
class FeatureSource(Protocol):
    """What the server needs from a feature store."""

    @property
    def feature_names(self) -> Sequence[str]:
        """Column order of ``FeatureRows.values``."""

    @property
    def entity_type(self) -> type[int] | type[str]:
        """Python type of the entity ids (int for INT64 keys, str for string keys)."""

    def lookup(self, entity_ids: Sequence[EntityId]) -> FeatureRows:
        """Features of ``entity_ids`` (order kept, duplicates allowed)."""


class FeatureLookupError(OnnxError):
    """The feature source cannot be loaded or does not fit the model (start-up)."""


class EntityLookupRefused(InferenceRequestError):
    """A request's entities cannot be answered: 422 unknown or stale, 503 store unreadable."""

    def __init__(self, status: int, message: str) -> None:
        """Carry the HTTP status the client gets."""
        super().__init__(message)
        self.status = status


def load_feature_source(config: FeatureLookupConfig) -> FeatureSource:
    """Import the provider and build it: ``factory(options, entity_column=..., base_dir=...)``.

    Raises:
        FeatureLookupError: the provider cannot be imported, fails to start,
            or does not implement ``FeatureSource``.
    """
    module_name, _, attribute = config.provider.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise FeatureLookupError(
            f"feature_lookup.provider {config.provider!r}: cannot import {module_name!r} "
            f"({error}); install the package that provides it"
        ) from error
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise FeatureLookupError(
            f"feature_lookup.provider {config.provider!r}: {module_name!r} has no callable "
            f"{attribute!r}"
        )
    try:
        source = factory(
            dict(config.options), entity_column=config.entity_column, base_dir=config.base_dir
        )
    except Exception as error:  # providers raise their own error types; keep the cause
        raise FeatureLookupError(
            f"feature_lookup.provider {config.provider!r} failed to start: {error}"
        ) from error
    if not isinstance(source, FeatureSource):
        raise FeatureLookupError(
            f"feature_lookup.provider {config.provider!r} returned {type(source).__name__}, "
            "which lacks feature_names, entity_type or lookup()"
        )
    return source


def entity_features(
    config: FeatureLookupConfig,
    model_features: Sequence[str],
    registry: CollectorRegistry,
    model_name: str,
) -> EntityFeatures:
    """Load the configured source and check it against the model (server start-up).

    Raises:
        FeatureLookupError: see ``load_feature_source`` and ``EntityFeatures``.
    """
    return EntityFeatures(load_feature_source(config), config, model_features, registry, model_name)


class EntityFeatures:
    """A feature source checked against the model, with lookup metrics.

    Built once at start-up: a source whose features differ from the model's
    inputs (names or order) is refused there, not discovered on the first
    request.
    """

    def __init__(
        self,
        source: FeatureSource,
        config: FeatureLookupConfig,
        model_features: Sequence[str],
        registry: CollectorRegistry,
        model_name: str,
    ) -> None:
        """Check ``source`` serves exactly the model's inputs and register the metrics.

        Raises:
            FeatureLookupError: the feature lists differ.
        """
        served, expected = list(source.feature_names), list(model_features)
        if served != expected:
            missing = [name for name in expected if name not in served]
            extra = [name for name in served if name not in expected]
            detail = (
                f"missing {missing}, unexpected {extra}"
                if missing or extra
                else "same features in another order"
            )
            raise FeatureLookupError(
                f"feature_lookup {config.provider!r} serves features {served} but the model "
                f"expects {expected} ({detail}); serve the feature service the model was "
                "trained on, or retrain"
            )
        self.source = source
        self.entity_column = config.entity_column
        self.entity_type = source.entity_type
        seconds = Histogram(
            "onnx_server_feature_lookup_seconds",
            "Time to fetch the features of one request's entities.",
            ("model",),
            buckets=LOOKUP_BUCKETS,
            registry=registry,
        )
        lookups = Counter(
            "onnx_server_feature_lookups",
            "Feature lookups by outcome (ok, miss, error).",
            ("model", "outcome"),
            registry=registry,
        )
        misses = Counter(
            "onnx_server_feature_lookup_misses",
            "Entity ids refused: unknown to the store or older than the TTL.",
            ("model", "reason"),
            registry=registry,
        )
        self._seconds = seconds.labels(model_name)
        self._ok = lookups.labels(model_name, "ok")
        self._miss = lookups.labels(model_name, "miss")
        self._error = lookups.labels(model_name, "error")
        self._unknown = misses.labels(model_name, "unknown")
        self._stale = misses.labels(model_name, "stale")

    def batch(self, entity_ids: Sequence[EntityId]) -> npt.NDArray[np.float32]:
        """The model-ready batch for ``entity_ids``.

        Raises:
            EntityLookupRefused: 422 when some id is unknown or stale (the whole
                batch is refused), 503 when the store cannot be read.
        """
        started = time.perf_counter()
        try:
            rows = self.source.lookup(entity_ids)
        except Exception as error:  # store clients raise untyped errors; the server keeps serving
            self._error.inc()
            logger.exception("feature lookup failed")
            raise EntityLookupRefused(503, f"feature lookup failed: {error}") from None
        finally:
            self._seconds.observe(time.perf_counter() - started)
        if rows.found.all() and not rows.stale.any():
            self._ok.inc()
            return rows.values
        self._miss.inc()
        unknown = [entity_ids[int(index)] for index in np.flatnonzero(~rows.found)]
        stale = [entity_ids[int(index)] for index in np.flatnonzero(rows.found & rows.stale)]
        problems = []
        if unknown:
            self._unknown.inc(len(unknown))
            problems.append(f"unknown {self.entity_column} {_shown(unknown)}")
        if stale:
            self._stale.inc(len(stale))
            problems.append(
                f"{self.entity_column} {_shown(stale)} with features older than the feature "
                "view's TTL"
            )
        raise EntityLookupRefused(
            422,
            f"{'; '.join(problems)}: no prediction for this request of {len(entity_ids)} "
            "entities (a batch is answered whole or not at all)",
        )


def _shown(ids: list[EntityId]) -> str:
    shown = ", ".join(repr(entity_id) for entity_id in ids[:_SHOWN_IDS])
    more = f" and {len(ids) - _SHOWN_IDS} more" if len(ids) > _SHOWN_IDS else ""
    return f"[{shown}{more}]"
