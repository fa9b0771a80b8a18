"""The data plane: one decoded inference request through the router, for every transport.

REST and gRPC decode into a ``DecodedRequest`` and call ``infer_decoded``:
the inputs are checked against the version a request is checked against
(the pinned one or the champion), routed, run, fall back to the champion
when a challenger fails, mirrored to a shadow, and logged off the request
path. Every failure is recorded for the rollback policy and Prometheus by
``RolloutControl.record``; an answer only once the transport has sent it
(``RolloutControl.settle``), so a response that cannot be sent is an error.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from functools import partial

import numpy as np
from zenml_integrations.onnx.rollout.router import RouteDecision
from zenml_integrations.onnx.server.config import ServerConfig
from zenml_integrations.onnx.server.feature_lookup import EntityFeatures
from zenml_integrations.onnx.server.http import HttpError, Response, off_the_loop
from zenml_integrations.onnx.server.inference_log import InferenceLogger
from zenml_integrations.onnx.server.inputs import ModelBatch, request_batch, values_count
from zenml_integrations.onnx.server.model import Batch, OnnxModel
from zenml_integrations.onnx.server.oip import (
    DecodedRequest,
    InferResult,
    OutputTensor,
    RequestedOutput,
)
from zenml_integrations.onnx.server.rollout_control import Answer, RolloutControl
from zenml_integrations.onnx.server.tensors import InferenceRequestError, shown

logger = logging.getLogger("zenml_integrations.onnx.server")

# From this many JSON values on, a request's arrays are built in a worker thread.
THREADED_VALUES = 8 * 1024


@dataclass(frozen=True, slots=True)
class Answered:
    """An inference response, and the answer to count once it has been sent."""

    response: Response
    answer: Answer


class DataPlane:
    """Answers inference requests for the versions that ``rollout`` holds."""

    def __init__(
        self,
        config: ServerConfig,
        rollout: RolloutControl,
        entities: EntityFeatures | None,
        inference_log: InferenceLogger | None,
    ) -> None:
        self.config = config
        self.rollout = rollout
        self.entities = entities
        self.inference_log = inference_log

    def parse_model(self, pinned_version: str | None) -> OnnxModel:
        """The version a request is checked against: the pinned one, else the champion."""
        if pinned_version is not None:
            return self.rollout.model(pinned_version)
        return self.rollout.champion

    def count_rejected(self, pinned_version: str | None) -> None:
        """Count a request refused before it reached a model (a transport's decoding error)."""
        version = pinned_version or self.rollout.router.state.champion
        self.rollout.metrics.series(self.config.model_name, version, "rejected").rejected.inc()

    async def infer_decoded(
        self, request: DecodedRequest, pinned_version: str | None
    ) -> tuple[InferResult, Answer]:
        """Answer one decoded request; ``pinned_version`` bypasses the router.

        The caller settles the answer (``rollout.settle(answer, sent=...)``) once
        it knows whether its response went out.

        Raises:
            InferenceRequestError: the request does not fit the model (HTTP 400).
            HttpError: the pinned version is not loaded (404), or the model failed (500).
        """
        started = time.perf_counter()
        model = self.parse_model(pinned_version)
        try:
            # Many JSON values convert in a worker thread, so that other requests go on;
            # a small request converts in less time than the hand-off takes.
            if values_count(request.inputs) < THREADED_VALUES:
                prepared = self._batch(request, model)
            else:
                prepared = await off_the_loop(partial(self._batch, request, model))
            batch = prepared.batch
            if request.outputs is not None:
                _check_outputs(request.outputs, model)
        except InferenceRequestError:
            self.count_rejected(pinned_version)
            raise
        request_id = request.id or new_request_id()
        if pinned_version is not None:
            decision = RouteDecision(pinned_version, "pinned")
        else:
            decision = self.rollout.router.route(request.routing_key or request.id)
            model = self.rollout.models[decision.version]
        outputs, answered_by, answer = self._run(model, decision, batch, started)
        try:
            result = InferResult(
                answered_by.name,
                answered_by.version,
                request_id,
                _output_tensors(answered_by, outputs, request.outputs),
                decision.variant if answered_by is model else "champion",
            )
        except Exception:  # an answer that cannot be sent is an error
            self.rollout.settle(answer, sent=False)
            raise
        if decision.shadow is not None:
            self._shadow(decision.shadow, batch)
        if self.inference_log is not None:
            self.inference_log.log(
                answered_by.name, answered_by.version, decision.variant, request_id, batch, outputs,
                prepared.entity_ids,
            )  # fmt: skip
        return result, answer

    def _batch(self, request: DecodedRequest, model: OnnxModel) -> ModelBatch:
        """The model-ready batch for ``request``, checked against ``model``."""
        config = self.config
        return request_batch(request.inputs, model, max_batch_rows=config.max_batch_rows,
                             allow_nan=config.allow_nan, entities=self.entities)  # fmt: skip

    def _run(
        self, model: OnnxModel, decision: RouteDecision, batch: Batch, started: float
    ) -> tuple[list[np.ndarray], OnnxModel, Answer]:
        """Run the routed version; a failing challenger falls back to the champion."""
        try:
            outputs = model.predict(batch)
            summary = output_summary(outputs)
            if not math.isfinite(summary):
                raise ValueError("model returned a non-finite output")
        except Exception as error:  # onnxruntime errors are untyped
            latency = time.perf_counter() - started
            self.rollout.record(
                model.version, decision.variant, latency, failed=True, summary=math.nan
            )
            champion = self.rollout.champion
            if model is champion:
                logger.error("champion %s failed: %s", model.version, error)
                raise HttpError(500, f"model version {model.version} failed: {error}") from None
            if decision.variant == "pinned":  # the client asked for this version's answer
                raise HttpError(
                    500,
                    f"model version {model.version} failed: {error}; the request is pinned to "
                    "it, so the champion does not answer in its place (leave out /versions/"
                    f"{model.version} to be routed)",
                ) from None
            fallback_started = time.perf_counter()
            outputs = champion.predict(batch)
            latency = time.perf_counter() - fallback_started
            return outputs, champion, Answer(champion.version, "champion", latency,
                                             output_summary(outputs))  # fmt: skip
        answer = Answer(model.version, decision.variant, time.perf_counter() - started, summary)
        return outputs, model, answer

    def _shadow(self, version: str, batch: Batch) -> None:
        model = self.rollout.models.get(version)
        if model is None:
            return
        started = time.perf_counter()
        try:
            summary = output_summary(model.predict(batch))
            failed = not math.isfinite(summary)
        except Exception:  # a failing shadow never affects the caller
            summary, failed = math.nan, True
        latency = time.perf_counter() - started
        self.rollout.record(version, "shadow", latency, failed=failed, summary=summary)


def output_summary(outputs: list[np.ndarray]) -> float:
    """Mean of the last output column (np.mean's Python wrapper costs more than the sum)."""
    last = outputs[-1]
    if not last.ndim:
        return float(last)
    values = last.reshape(last.shape[0], -1)[:, -1]
    rows = int(values.shape[0])
    if rows == 1:  # most requests: skip a reduction's fixed cost
        return float(values[0])
    return float(np.add.reduce(values, dtype=np.float64)) / (rows or 1)


def _check_outputs(requested: tuple[RequestedOutput, ...] | None, model: OnnxModel) -> None:
    """Refuse an output name the model does not have, listing its own."""
    names = [spec.name for spec in model.outputs]
    for output in requested or ():
        if output.name not in names:
            raise InferenceRequestError(
                f"unknown output {shown(output.name)}; the model's outputs are {', '.join(names)}"
            )


def _output_tensors(
    model: OnnxModel, outputs: list[np.ndarray], requested: tuple[RequestedOutput, ...] | None
) -> tuple[OutputTensor, ...]:
    """The outputs asked for (``None``: all, as JSON), in the order asked."""
    if requested is None:
        return tuple([
            OutputTensor(spec.name, spec.datatype, value.shape, value, False)
            for spec, value in zip(model.outputs, outputs, strict=True)
        ])  # fmt: skip
    by_name = {spec.name: (spec, value) for spec, value in zip(model.outputs, outputs, strict=True)}
    tensors = []
    for output in requested:
        spec, value = by_name[output.name]  # a challenger without it: KeyError, a 500
        tensors.append(OutputTensor(spec.name, spec.datatype, value.shape, value, output.binary))
    return tuple(tensors)


def new_request_id() -> str:
    """A random (version 4) UUID as 32 hex digits, at a fifth of ``uuid.uuid4().hex``'s cost."""
    value = int.from_bytes(os.urandom(16))
    value = (value & _UUID4_KEEP) | _UUID4_SET
    return f"{value:032x}"


# The version (4) and variant (RFC 4122) bits of a random UUID, as uuid.UUID(version=4) sets them.
_UUID4_KEEP = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID4_SET = (4 << 76) | (0x8000 << 48)
