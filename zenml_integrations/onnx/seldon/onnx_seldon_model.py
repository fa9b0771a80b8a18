"""Our ONNX model inside the ``seldon-core`` Python wrapper (Seldon Core v1 protocol).

Facts the Kubernetes manifests rely on:

- class: ``onnx_seldon_model.OnnxSeldonModel`` (this file, copied into the serving image as
  ``/app/onnx_seldon_model.py`` beside ``tabular.py``, the kit's feature-encoding rules; the
  image runs ``seldon-core-microservice`` with that name);
- model file: environment variable ``MODEL_URI``, a local path to the ``.onnx`` file or to a
  folder holding ``model.onnx`` (the image defaults it to ``/mnt/models``, where Seldon's storage
  initializer or a mounted volume puts the model); ``MODEL_SHA256``, when set, is the digest the
  file must have, or the server refuses to start;
- ports: 9000 HTTP (``/api/v1.0/predictions``), 9500 gRPC, 6000 Prometheus ``/metrics``;
- series on ``/metrics``: the local server's ``onnx_server_requests_total``,
  ``onnx_server_request_latency_seconds`` and ``onnx_server_prediction``, with the names, labels
  and buckets of ``metric_names`` (copied beside this file in the image), labelled with
  ``MODEL_NAME``, ``MODEL_VERSION`` and the Seldon predictor (``PREDICTOR_ID``) as variant.
  seldon-core collects a model's metrics only after an answered call, so a refused or failed
  request is counted with the next answered one of the same process.

Requests and answers mean what they mean on the local ONNX server: the rows are checked against
the ONNX input metadata (``[rows, features]``, numeric, finite unless ``ONNX_ALLOW_NAN=true``,
at most ``ONNX_MAX_BATCH_ROWS`` rows), ``data.names`` may reorder the columns, and the answer
holds every ONNX output by name (``{"jsonData": {"label": [...], "probabilities": [[...]]}}``).
A model trained on a table with categories or dates (one input per feature) takes rows of
mixed values in ``data.ndarray``, strings and ``null`` (missing) included, encoded with the
same rules as in training.

This file imports numpy, onnxruntime, the standard library, ``tabular`` and ``metric_names`` only:
``seldon-core`` pins numpy<2, protobuf<4 and prometheus-client<0.9, so it lives in the serving
image's own environment, and the pipeline environment must be able to import this file
without it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

try:
    from zenml_integrations.tabular import (
        FEATURE_KINDS,
        FeatureValueError,
        encode_values,
        oip_datatype,
    )
except ImportError:  # in the serving image, the kit's encoding rules sit beside this file
    from tabular import FEATURE_KINDS, FeatureValueError, encode_values, oip_datatype  # type: ignore[import-not-found,no-redef]
try:
    from zenml_integrations.onnx import metric_names
except ImportError:  # in the serving image, the series' definition sits beside this file
    import metric_names  # type: ignore[import-not-found,no-redef]

INTERFACE_NAME = "onnx_seldon_model.OnnxSeldonModel"
MODEL_URI_ENV = "MODEL_URI"
MODEL_SHA256_ENV = "MODEL_SHA256"
INTRA_OP_THREADS_ENV = "ONNX_INTRA_OP_THREADS"
MAX_BATCH_ROWS_ENV = "ONNX_MAX_BATCH_ROWS"
ALLOW_NAN_ENV = "ONNX_ALLOW_NAN"
MODEL_NAME_ENV = "MODEL_NAME"
MODEL_VERSION_ENV = "MODEL_VERSION"
PREDICTOR_ENV = "PREDICTOR_ID"  # set by the Seldon v1 operator: champion, canary or shadow
HTTP_PORT = 9000
GRPC_PORT = 9500
METRICS_PORT = 6000
DEFAULT_MODEL_FILE = "model.onnx"


logger = logging.getLogger(__name__)


class SeldonModelError(Exception):
    """Base of what this wrapper refuses (it runs in the serving image, without the plugin)."""


class ModelStartupError(SeldonModelError):
    """The model cannot be served as configured; the microservice must not start."""


class ModelUnhealthy(SeldonModelError):
    """The loaded model cannot answer: the pod must leave the service's endpoints."""


# seldon-core answers its own SeldonMicroserviceException with the exception's status code and
# reason, and any other exception with HTTP 500. Inside seldon-core-microservice that class is
# already loaded when this module is imported, so it is looked up instead of imported: the file
# stays importable (and testable) where seldon-core is not installed.
_seldon_flask_utils = sys.modules.get("seldon_core.flask_utils")
_SeldonError: type[Exception] = getattr(
    _seldon_flask_utils, "SeldonMicroserviceException", Exception
)


class InvalidInputError(_SeldonError):  # type: ignore[valid-type,misc]
    """A request the model cannot answer: seldon-core answers HTTP 400, MICROSERVICE_BAD_DATA."""

    status_code = 400

    def __init__(self, message: str) -> None:
        Exception.__init__(self, message)
        # The attributes seldon-core's error handler serializes.
        self.message = message
        self.reason = "MICROSERVICE_BAD_DATA"
        self.payload = None


class _Tensor:
    """Name, numpy dtype, OIP datatype and shape (-1 for a variable dimension) of a tensor."""

    def __init__(self, node: Any) -> None:
        element = str(node.type).removeprefix("tensor(").removesuffix(")")
        self.name = str(node.name)
        self.dtype = np.dtype(
            {"float": "float32", "double": "float64", "string": "object"}.get(element, element)
        )
        self.datatype = oip_datatype(self.dtype)
        self.shape = [dim if isinstance(dim, int) else -1 for dim in node.shape]

    def metadata(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": self.shape}


class _Histogram:
    """Cumulative bucket counts, sum and count of one histogram series."""

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * len(bounds)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        for index, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[index] += 1
        self.total += value
        self.count += 1

    def gauges(self, name: str, tags: dict[str, str]) -> list[dict[str, Any]]:
        """The series a Prometheus client writes for a histogram, as seldon-core gauges.

        seldon-core's own TIMER type has fixed buckets of its own; gauges set to the running
        totals give the ``_bucket``/``_sum``/``_count`` series the local server writes.
        """
        bounds = [*self.bounds, float("inf")]
        counts = [*self.counts, self.count]
        series = [
            {"type": "GAUGE", "key": f"{name}_bucket", "value": count,
             "tags": {**tags, "le": metric_names.le_label(bound)}}
            for bound, count in zip(bounds, counts, strict=True)
        ]  # fmt: skip
        return [
            *series,
            {"type": "GAUGE", "key": f"{name}_sum", "value": self.total, "tags": dict(tags)},
            {"type": "GAUGE", "key": f"{name}_count", "value": self.count, "tags": dict(tags)},
        ]


class ServedSeries:
    """The local server's request, latency and prediction series of this process.

    Counter increments wait here until seldon-core asks for them after an answered predict
    call; histograms are running totals, handed over whole when they changed.
    """

    def __init__(self, model: str, version: str, variant: str) -> None:
        self.model, self.version, self.variant = model, version, variant
        self._lock = threading.Lock()
        # Every outcome's series starts at 0 with the first handover: a series Prometheus first
        # sees at 3 would hide those 3 requests from increase() and rate().
        self._pending: dict[tuple[str, str], int] = {
            (variant, metric_names.OK): 0,
            (variant, metric_names.ERROR): 0,
            (metric_names.REJECTED_VARIANT, metric_names.INVALID): 0,
        }
        self._latency = _Histogram(metric_names.LATENCY_BUCKETS)
        self._prediction = _Histogram(metric_names.PREDICTION_BUCKETS)
        self._changed = False

    def record(
        self, status: str, *, latency: float | None = None, prediction: float | None = None
    ) -> None:
        """Count one request; a refused one has no latency and is labelled variant 'rejected'."""
        variant = self.variant if latency is not None else metric_names.REJECTED_VARIANT
        with self._lock:
            self._pending[(variant, status)] = self._pending.get((variant, status), 0) + 1
            if latency is not None:
                self._latency.observe(latency)
                self._changed = True
            if prediction is not None and np.isfinite(prediction):
                self._prediction.observe(prediction)

    def handover(self) -> list[dict[str, Any]]:
        """Seldon custom metrics for what changed since the last handover."""
        with self._lock:
            pending, self._pending = self._pending, {}
            changed, self._changed = self._changed, False
            metrics = [
                {"type": "COUNTER", "key": metric_names.REQUESTS, "value": count,
                 "tags": {"model": self.model, "version": self.version, "variant": variant,
                          "status": status}}
                for (variant, status), count in pending.items()
            ]  # fmt: skip
            if changed:
                latency_tags = {"model": self.model, "version": self.version,
                                "variant": self.variant}  # fmt: skip
                metrics += self._latency.gauges(metric_names.LATENCY, latency_tags)
                metrics += self._prediction.gauges(
                    metric_names.PREDICTION, {"model": self.model, "version": self.version}
                )
        return metrics


class OnnxSeldonModel:
    """seldon-core user model serving one ONNX file with onnxruntime.

    ``__init__`` runs once in the microservice's main process: it reads the file, checks its
    digest and input metadata, and fails the start-up on any problem. ``load`` runs in every
    worker after the fork and opens the session there (onnxruntime sessions are not fork-safe),
    from the bytes that were verified, so a file swapped after the check is never served.
    """

    def __init__(self, **parameters: object) -> None:
        if parameters:  # seldon-core passes the graph's `parameters` as keyword arguments
            raise ModelStartupError(
                f"this wrapper takes no graph parameters (got {sorted(parameters)}): set "
                f"{MODEL_URI_ENV}, {MODEL_SHA256_ENV}, {INTRA_OP_THREADS_ENV}, "
                f"{MAX_BATCH_ROWS_ENV} or {ALLOW_NAN_ENV} in the container's environment"
            )
        self.model_path = _model_path(os.environ.get(MODEL_URI_ENV))
        self.intra_op_threads = _positive_int_env(INTRA_OP_THREADS_ENV, 1)
        self.max_batch_rows = _positive_int_env(MAX_BATCH_ROWS_ENV, 4096)
        self.allow_nan = _bool_env(ALLOW_NAN_ENV, default=False)
        try:
            self._onnx_bytes = self.model_path.read_bytes()
        except OSError as error:
            raise ModelStartupError(
                f"cannot read the model file {self.model_path}: {error}"
            ) from None
        self.sha256 = hashlib.sha256(self._onnx_bytes).hexdigest()
        expected = os.environ.get(MODEL_SHA256_ENV, "").strip().lower()
        if expected and expected != self.sha256:
            raise ModelStartupError(
                f"{self.model_path} has sha256 {self.sha256} but {MODEL_SHA256_ENV} expects "
                f"{expected}; refusing to serve a model other than the registered one"
            )
        if not expected:
            logger.warning(
                "%s is not set: serving %s unverified", MODEL_SHA256_ENV, self.model_path
            )
        session = self._open_session()
        self.inputs = [_Tensor(node) for node in session.get_inputs()]
        metadata = session.get_modelmeta().custom_metadata_map
        recorded_kinds = json.loads(metadata.get("feature_kinds", "{}"))
        self.tabular = (
            len(self.inputs) > 1
            or any(kind not in ("numeric", "boolean") for kind in recorded_kinds.values())
            or (len(self.inputs) == 1 and self.inputs[0].datatype == "BYTES")
        )
        self.input = self.inputs[0]
        if self.tabular:
            self.feature_kinds = self._checked_kinds(recorded_kinds)
            self.feature_names: list[str] = list(self.feature_kinds)
            self.n_features = len(self.feature_names)
        else:
            if len(self.input.shape) != 2 or self.input.shape[1] < 1:
                raise ModelStartupError(
                    f"{self.model_path}: input shape {self.input.shape} is not [batch, features]"
                )
            self.n_features = self.input.shape[1]
            stored_names = json.loads(metadata.get("feature_names", "[]"))
            self.feature_names = list(stored_names) or [
                f"f{index}" for index in range(self.n_features)
            ]
        self.outputs = [_Tensor(output) for output in session.get_outputs()]
        self._session: Any = None
        self._request_metrics = threading.local()
        self.series = ServedSeries(
            os.environ.get(MODEL_NAME_ENV) or self.model_path.stem,
            os.environ.get(MODEL_VERSION_ENV) or self.sha256[:12],
            os.environ.get(PREDICTOR_ENV) or "served",
        )
        logger.info(
            "model %s (sha256 %s): %d features, outputs %s, %d intra-op thread(s)",
            self.model_path,
            self.sha256,
            self.n_features,
            [output.name for output in self.outputs],
            self.intra_op_threads,
        )

    def load(self) -> None:
        """Open this worker's onnxruntime session."""
        self._session = self._open_session()

    def predict(
        self, X: object, features_names: list[str], meta: dict[str, Any] | None = None
    ) -> dict[str, list[Any]]:
        """Every ONNX output, by name, for the request's rows.

        ``meta`` is accepted because seldon-core passes it; without the parameter it would
        call this method twice per request (its fallback for a ``TypeError``).

        Raises:
            InvalidInputError: when the rows do not fit the model's input (HTTP 400).
        """
        try:
            feeds = (
                self._feature_feeds(X, features_names)
                if self.tabular
                else {self.input.name: self._validated_batch(X, features_names)}
            )
        except InvalidInputError:
            self.series.record(metric_names.INVALID)
            raise
        started = time.perf_counter()
        try:
            values = self._loaded_session().run([output.name for output in self.outputs], feeds)
        except Exception:  # onnxruntime raises its own untyped errors; seldon-core answers 500
            self.series.record(metric_names.ERROR, latency=time.perf_counter() - started)
            raise
        self.series.record(
            metric_names.OK,
            latency=time.perf_counter() - started,
            prediction=_last_column_mean(values[-1]),
        )
        rows = next(iter(feeds.values())).shape[0]
        self._request_metrics.values = [
            {"type": "COUNTER", "key": "onnx_model_rows_total", "value": rows},
        ]
        return {
            output.name: np.asarray(value).tolist()
            for output, value in zip(self.outputs, values, strict=True)
        }

    def metrics(self) -> list[dict[str, Any]]:
        """The served series' changes since the last answered request, handed over once.

        seldon-core asks after every answered call, health checks too; those get nothing, so
        every series keeps one ``method`` label and running totals are never summed twice.
        """
        if getattr(self._request_metrics, "health_call", False):
            # Histograms are running totals: handed over under one method label only.
            self._request_metrics.health_call = False
            return []
        values: list[dict[str, Any]] = getattr(self._request_metrics, "values", [])
        self._request_metrics.values = []
        return [*values, *self.series.handover()]

    def health_status(self) -> dict[str, Any]:
        """Healthy when this worker's session answers a row of zeros (or gaps) finitely."""
        probe = (
            {name: encode_values(kind, [None]) for name, kind in self.feature_kinds.items()}
            if self.tabular
            else {self.input.name: np.zeros((1, self.n_features), dtype=self.input.dtype)}
        )
        values = self._loaded_session().run(None, probe)
        if not all(np.isfinite(np.asarray(value, dtype=np.float64)).all() for value in values):
            raise ModelUnhealthy(
                f"model {self.sha256} returns non-finite outputs for a row of zeros"
            )
        self._request_metrics.health_call = True  # seldon-core asks for metrics() next
        return {"ready": True, "sha256": self.sha256}

    def init_metadata(self) -> dict[str, Any]:
        """Seldon model metadata: the same tensor metadata the local server reports."""
        return {
            "platform": "onnxruntime_onnx",
            "inputs": [tensor.metadata() for tensor in self.inputs],
            "outputs": [output.metadata() for output in self.outputs],
            "custom": {
                "feature_names": json.dumps(self.feature_names),
                "sha256": self.sha256,
            },
        }

    def tags(self) -> dict[str, str]:
        """Added to every response's ``meta.tags``: which model file answered."""
        return {"model_sha256": self.sha256}

    def _open_session(self) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        # onnxruntime ignores CPU limits and starts a thread per core unless told otherwise.
        options.intra_op_num_threads = self.intra_op_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        try:
            return ort.InferenceSession(
                self._onnx_bytes, options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own untyped errors
            raise ModelStartupError(
                f"{self.model_path} is not a loadable ONNX model: {error}"
            ) from error

    def _loaded_session(self) -> Any:
        if self._session is None:
            raise ModelUnhealthy("the model is not loaded yet: seldon-core calls load() first")
        return self._session

    def _validated_batch(self, X: object, features_names: list[str]) -> np.ndarray[Any, Any]:
        if not isinstance(X, np.ndarray):
            raise InvalidInputError(
                f"send rows as data.ndarray (a list of rows of {self.n_features} feature "
                f"values) or data.tensor; got {type(X).__name__} data"
            )
        if X.ndim != 2:
            raise InvalidInputError(
                f"input shape {list(X.shape)} must be [rows, {self.n_features}]: "
                "send a list of rows, each a list of feature values"
            )
        rows, width = X.shape
        if width != self.n_features:
            raise InvalidInputError(
                f"input has {width} features per row; the model expects {self.n_features} "
                f"({', '.join(self.feature_names)})"
            )
        if rows == 0:
            raise InvalidInputError("the batch has no rows")
        if rows > self.max_batch_rows:
            raise InvalidInputError(
                f"batch of {rows} rows exceeds the limit of {self.max_batch_rows}"
            )
        if features_names:
            X = X[:, self._column_order(list(features_names))]
        try:
            batch = np.ascontiguousarray(X, dtype=self.input.dtype)
        except (ValueError, TypeError) as error:
            raise InvalidInputError(f"input data is not numeric: {error}") from None
        if not self.allow_nan and not np.isfinite(batch).all():
            bad_row, bad_column = (int(index) for index in np.argwhere(~np.isfinite(batch))[0])
            raise InvalidInputError(
                f"non-finite value (NaN or infinity) at row {bad_row}, feature "
                f"'{self.feature_names[bad_column]}'; this model does not accept missing values"
            )
        return batch

    def _checked_kinds(self, recorded: dict[str, str]) -> dict[str, Any]:
        kinds: dict[str, Any] = {}
        for tensor in self.inputs:
            kind = recorded.get(
                tensor.name, "categorical" if tensor.datatype == "BYTES" else "numeric"
            )
            if (
                tensor.shape[1:] != [1]
                or kind not in FEATURE_KINDS
                or (kind == "categorical") != (tensor.datatype == "BYTES")
            ):
                raise ModelStartupError(
                    f"{self.model_path}: input '{tensor.name}' ({tensor.datatype} "
                    f"{tensor.shape}, recorded as {kind!r}) is not a [batch, 1] feature input"
                )
            kinds[tensor.name] = kind
        return kinds

    def _feature_feeds(self, X: object, features_names: list[str]) -> dict[str, np.ndarray]:
        """One ``[rows, 1]`` input per feature from rows of mixed values (nulls are gaps)."""
        if not isinstance(X, np.ndarray) or X.ndim != 2:
            raise InvalidInputError(
                f"send rows as data.ndarray: a list of rows, each a list of the "
                f"{self.n_features} feature values ({', '.join(self.feature_names)}); null "
                "for a missing value"
            )
        rows, width = X.shape
        if width != self.n_features:
            raise InvalidInputError(
                f"input has {width} values per row; the model expects {self.n_features} "
                f"({', '.join(self.feature_names)})"
            )
        if rows == 0 or rows > self.max_batch_rows:
            raise InvalidInputError(f"batch of {rows} rows is outside 1..{self.max_batch_rows}")
        order = self._column_order(list(features_names)) if features_names else range(width)
        feeds: dict[str, np.ndarray] = {}
        for (name, kind), column in zip(self.feature_kinds.items(), order, strict=True):
            try:
                values = encode_values(kind, X[:, column].tolist())
            except FeatureValueError as error:
                raise InvalidInputError(f"feature '{name}' ({kind}), {error}") from None
            if values.dtype == np.float32 and np.isinf(values).any():
                raise InvalidInputError(f"feature '{name}' holds an infinite value; send null")
            feeds[name] = values
        return feeds

    def _column_order(self, names: list[str]) -> list[int]:
        """Where each of the model's features sits among the request's columns."""
        if len(names) != len(set(names)) or set(names) != set(self.feature_names):
            missing = sorted(set(self.feature_names) - set(names))
            extra = sorted(set(names) - set(self.feature_names))
            repeated = sorted({name for name in names if names.count(name) > 1})
            raise InvalidInputError(
                f"data.names must name each model feature once: missing {missing}, "
                f"unexpected {extra}, repeated {repeated}"
            )
        position = {name: index for index, name in enumerate(names)}
        return [position[name] for name in self.feature_names]


def _last_column_mean(output: object) -> float | None:
    """The local server's prediction summary: the mean of the last output column (numbers only)."""
    try:
        values = np.asarray(output, dtype=np.float64)
    except (TypeError, ValueError):  # a string output has no mean
        return None
    if values.ndim == 0:
        return float(values)
    return float(values.reshape(values.shape[0], -1)[:, -1].mean()) if values.size else None


def _model_path(uri: str | None) -> Path:
    """The local ONNX file a ``MODEL_URI`` names (a file, or a folder holding model.onnx)."""
    if not uri:
        raise ModelStartupError(
            f"{MODEL_URI_ENV} is not set: set it to the ONNX file, or to a folder holding "
            f"{DEFAULT_MODEL_FILE} (e.g. /mnt/models)"
        )
    location = uri.removeprefix("file://")
    if "://" in location:
        raise ModelStartupError(
            f"{MODEL_URI_ENV}={uri!r} is not a local path: let Seldon's storage initializer "
            "(the graph's modelUri) or a volume put the file in the container, e.g. /mnt/models"
        )
    path = Path(location)
    if path.is_dir():
        path = path / DEFAULT_MODEL_FILE
    if not path.is_file():
        raise ModelStartupError(f"{MODEL_URI_ENV}={uri!r}: no model file at {path}")
    return path


def _positive_int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ModelStartupError(f"{name}={raw!r} must be a whole number of at least 1")
    return value


def _bool_env(name: str, *, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes"}:
        return True
    if raw in {"0", "false", "no"}:
        return False
    raise ModelStartupError(f"{name}={raw!r} must be true or false")
