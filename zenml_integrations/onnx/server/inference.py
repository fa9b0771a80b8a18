"""The data plane: one inference request from bytes to bytes, through the router.

Parse against the routed version's inputs, run it, fall back to the champion
when a challenger fails, mirror to a shadow, and log inputs and outputs off
the request path. Every failure is recorded for the rollback policy and
Prometheus by ``RolloutControl.record``; an answer only once it has been sent
(``RolloutControl.settle``), so a response that cannot be sent is an error.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from functools import partial

import numpy as np
from zenml_integrations.onnx.rollout.router import RouteDecision
from zenml_integrations.onnx.server.config import ServerConfig
from zenml_integrations.onnx.server.feature_lookup import EntityFeatures
from zenml_integrations.onnx.server.http import JSON_HEADERS, HttpError, Response, off_the_loop
from zenml_integrations.onnx.server.inference_log import InferenceLogger
from zenml_integrations.onnx.server.model import Batch, OnnxModel
from zenml_integrations.onnx.server.protocol import (
    InferenceRequest,
    encode_infer_response,
    parse_infer_request,
)
from zenml_integrations.onnx.server.rollout_control import Answer, RolloutControl
from zenml_integrations.onnx.server.tensors import InferenceRequestError

logger = logging.getLogger("zenml_integrations.onnx.server")

# Bodies from this size on are parsed in a worker thread (a 4 MiB body takes ~15 ms to parse).
THREADED_PARSE_BYTES = 64 * 1024


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

    async def infer(self, body: bytes, pinned_version: str | None) -> Answered:
        """Answer one OIP inference request; ``pinned_version`` bypasses the router."""
        started = time.perf_counter()
        if pinned_version is not None:
            decision: RouteDecision | None = RouteDecision(pinned_version, "pinned")
            model = self.rollout.model(pinned_version)
        else:
            decision = None
            model = self.rollout.champion
        try:
            request = await self._parse(body, model)
        except InferenceRequestError as error:
            self.rollout.metrics.series(
                self.config.model_name, model.version, "rejected"
            ).rejected.inc()
            raise HttpError(error.status, str(error)) from None
        if decision is None:
            decision = self.rollout.router.route(request.routing_key or request.request_id)
            model = self.rollout.models[decision.version]
        outputs, answered_by, answer = self._run(model, decision, request.batch, started)
        try:
            payload = encode_infer_response(answered_by, outputs, request.request_id)
        except Exception:  # an answer that cannot be encoded is never sent: an error
            self.rollout.settle(answer, sent=False)
            raise
        variant = decision.variant if answered_by is model else "champion"
        headers = [
            *JSON_HEADERS,
            (b"x-model-version", answered_by.version.encode()),
            (b"x-model-variant", variant.encode()),
        ]
        if decision.shadow is not None:
            self._shadow(decision.shadow, request.batch)
        if self.inference_log is not None:
            self.inference_log.log(
                answered_by.name, answered_by.version, decision.variant, request.request_id,
                request.batch, outputs,
            )  # fmt: skip
        return Answered((200, headers, payload), answer)

    async def _parse(self, body: bytes, model: OnnxModel) -> InferenceRequest:
        """Parse ``body``: a large one in a worker thread, so other requests go on meanwhile.

        A small body parses in less time than the hand-off to a thread takes.
        """
        parse = partial(
            parse_infer_request,
            body,
            model,
            max_batch_rows=self.config.max_batch_rows,
            allow_nan=self.config.allow_nan,
            entities=self.entities,
        )
        return parse() if len(body) < THREADED_PARSE_BYTES else await off_the_loop(parse)

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
