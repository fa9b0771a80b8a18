"""The ASGI application: OIP V2 routes, metrics, admin API and the rollout loop.

A bare ASGI callable rather than a web framework: the hot path is parse,
route, run, encode, and a few counters. Every request error becomes a 4xx
with ``{"error": ...}``; nothing a client sends can stop the process.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from zenml_integrations.onnx.rollout.config import RolloutConfig, Strategy
from zenml_integrations.onnx.rollout.policy import Verdict, VersionWindow, WindowStats, judge
from zenml_integrations.onnx.rollout.router import RouteDecision, Router
from zenml_integrations.onnx.server.config import ServerConfig
from zenml_integrations.onnx.server.feature_lookup import EntityFeatures, entity_features
from zenml_integrations.onnx.server.inference_log import InferenceLogger
from zenml_integrations.onnx.server.metrics import ServerMetrics
from zenml_integrations.onnx.server.model import Batch, ModelLoadError, OnnxModel
from zenml_integrations.onnx.server.protocol import (
    InferenceRequestError,
    encode_infer_response,
    parse_infer_request,
)
from zenml_integrations.onnx.server.state import (
    MAX_REMEMBERED_ROLLBACKS,
    RollbackRecord,
    ServedVersion,
    ServingState,
    load_state,
    save_state,
)

logger = logging.getLogger("zenml_integrations.onnx.server")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_JSON = [(b"content-type", b"application/json")]


class HttpError(Exception):
    """An error with the HTTP status the client gets."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class OnnxServer:
    """One model name, several loaded versions, one router and its rollback policy."""

    def __init__(
        self,
        config: ServerConfig,
        champion: OnnxModel,
        *,
        previous_champion: OnnxModel | None = None,
        rollback_log: list[RollbackRecord] | None = None,
        started_from: str | None = None,
    ) -> None:
        self.config = config
        self.models: dict[str, OnnxModel] = {champion.version: champion}
        self.windows: dict[str, VersionWindow] = {champion.version: VersionWindow()}
        if previous_champion is not None:
            self.models[previous_champion.version] = previous_champion
            self.windows[previous_champion.version] = VersionWindow()
        self.router = Router(
            champion.version,
            previous_champion=previous_champion.version if previous_champion else None,
        )
        self.metrics = ServerMetrics()
        # Built before serving starts: a source that does not fit the model stops the start.
        self.entities: EntityFeatures | None = (
            entity_features(config.feature_lookup, champion.feature_names,
                            self.metrics.registry, config.model_name)
            if config.feature_lookup is not None
            else None
        )  # fmt: skip
        self.baseline: WindowStats | None = None
        self.rollback_log: list[RollbackRecord] = list(rollback_log or [])
        self.started_from = started_from or champion.sha256
        self.step_started = time.monotonic()
        self.inference_log = (
            InferenceLogger(config.inference_log_dir, config.inference_log_max_bytes)
            if config.inference_log_dir is not None
            else None
        )
        self._admin_token = os.environ.get(config.admin_token_env) or _read_token(
            config.admin_token_file
        )
        self._policy_task: asyncio.Task[None] | None = None
        self._infer_path = f"/v2/models/{config.model_name}/infer"
        self._publish_state()

    # ---- ASGI entry point -------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch one ASGI event."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            status, headers, body = await self._dispatch(scope, receive)
        except HttpError as error:
            status, headers, body = error.status, _JSON, _error_body(str(error))
        except Exception:  # the last line of defence: log it, answer 500, keep serving
            logger.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            status, headers, body = 500, _JSON, _error_body("internal server error")
        headers = [*headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _dispatch(self, scope: Scope, receive: Receive) -> tuple[int, list[Any], bytes]:
        method: str = scope["method"]
        if method == "POST" and scope["path"] == self._infer_path:  # the hot path, unrouted
            body = await _read_body(scope, receive, self.config.max_body_bytes)
            return self._infer(body, None)
        parts = [part for part in scope["path"].split("/") if part]
        if parts[:1] == ["v2"]:
            return await self._v2(method, parts[1:], scope, receive)
        if parts == ["metrics"] and method == "GET":
            payload = generate_latest(self.metrics.registry)
            return 200, [(b"content-type", CONTENT_TYPE_LATEST.encode())], payload
        if parts[:1] == ["admin"]:
            return await self._admin(method, parts[1:], scope, receive)
        raise HttpError(404, f"no route for {method} {scope['path']}")

    # ---- Open Inference Protocol --------------------------------------------
    async def _v2(
        self, method: str, parts: list[str], scope: Scope, receive: Receive
    ) -> tuple[int, list[Any], bytes]:
        if method == "POST" and len(parts) in (3, 5) and parts[-1] == "infer":
            self._check_model_name(parts[1])
            pinned = parts[3] if len(parts) == 5 and parts[2] == "versions" else None
            if len(parts) == 5 and parts[2] != "versions":
                raise HttpError(404, f"no route for POST /v2/{'/'.join(parts)}")
            body = await _read_body(scope, receive, self.config.max_body_bytes)
            return self._infer(body, pinned)
        if method != "GET":
            raise HttpError(405, f"{method} is not allowed here")
        if parts == ["health", "live"]:
            return 200, _JSON, b'{"live":true}'
        if parts == ["health", "ready"]:
            return (
                (200, _JSON, b'{"ready":true}') if self.models else (503, _JSON, b'{"ready":false}')
            )
        if not parts:
            return 200, _JSON, _json({"name": "zenml-mlops-kit-onnx", "extensions": ["rollout"]})
        if parts == ["models"]:
            return 200, _JSON, _json(self.describe())
        if parts[0] == "models" and len(parts) >= 2:
            self._check_model_name(parts[1])
            version = self.router.state.champion
            rest = parts[2:]
            if rest[:1] == ["versions"] and len(rest) >= 2:
                version = rest[1]
                rest = rest[2:]
            model = self._model(version)
            if rest == []:
                metadata = model.metadata()
                metadata["versions"] = sorted(self.models)
                return 200, _JSON, _json(metadata)
            if rest == ["ready"]:
                return 200, _JSON, _json({"name": model.name, "version": version, "ready": True})
        raise HttpError(404, f"no route for GET /v2/{'/'.join(parts)}")

    def _infer(self, body: bytes, pinned_version: str | None) -> tuple[int, list[Any], bytes]:
        started = time.perf_counter()
        if pinned_version is not None:
            decision = RouteDecision(pinned_version, "pinned")
            model = self._model(pinned_version)
        else:
            decision = None
            model = self.models[self.router.state.champion]
        try:
            request = parse_infer_request(
                body,
                model,
                max_batch_rows=self.config.max_batch_rows,
                allow_nan=self.config.allow_nan,
                entities=self.entities,
            )
        except InferenceRequestError as error:
            self.metrics.series(self.config.model_name, model.version, "rejected").rejected.inc()
            raise HttpError(error.status, str(error)) from None
        if decision is None:
            decision = self.router.route(request.routing_key or request.request_id)
            model = self.models[decision.version]
        outputs, answered_by = self._run(model, decision, request.batch, started)
        payload = encode_infer_response(answered_by, outputs, request.request_id)
        headers = [
            *_JSON,
            (b"x-model-version", answered_by.version.encode()),
            (
                b"x-model-variant",
                (decision.variant if answered_by is model else "champion").encode(),
            ),
        ]
        if decision.shadow is not None:
            self._shadow(decision.shadow, request.batch)
        if self.inference_log is not None:
            self.inference_log.log(
                answered_by.name, answered_by.version, decision.variant, request.request_id,
                request.batch, outputs,
            )  # fmt: skip
        return 200, headers, payload

    def _run(
        self, model: OnnxModel, decision: RouteDecision, batch: Batch, started: float
    ) -> tuple[list[np.ndarray], OnnxModel]:
        """Run the routed version; a failing challenger falls back to the champion."""
        try:
            outputs = model.predict(batch)
            summary = _output_summary(outputs)
            if not math.isfinite(summary):
                raise ValueError("model returned a non-finite output")
        except Exception as error:  # onnxruntime errors are untyped
            self._record(model.version, decision.variant, started, failed=True, summary=math.nan)
            champion = self.models[self.router.state.champion]
            if model is champion:
                logger.error("champion %s failed: %s", model.version, error)
                raise HttpError(500, f"model version {model.version} failed: {error}") from None
            fallback_started = time.perf_counter()
            outputs = champion.predict(batch)
            self._record(
                champion.version, "champion", fallback_started, failed=False,
                summary=_output_summary(outputs),
            )  # fmt: skip
            return outputs, champion
        self._record(model.version, decision.variant, started, failed=False, summary=summary)
        return outputs, model

    def _shadow(self, version: str, batch: Batch) -> None:
        model = self.models.get(version)
        if model is None:
            return
        started = time.perf_counter()
        try:
            summary = _output_summary(model.predict(batch))
            failed = not math.isfinite(summary)
        except Exception:  # a failing shadow never affects the caller
            summary, failed = math.nan, True
        self._record(version, "shadow", started, failed=failed, summary=summary)

    def _record(
        self, version: str, variant: str, started: float, *, failed: bool, summary: float
    ) -> None:
        elapsed = time.perf_counter() - started
        self.windows[version].add(time.monotonic(), elapsed, failed, summary)
        series = self.metrics.series(self.config.model_name, version, variant)
        series.latency.observe(elapsed)
        if failed:
            series.error.inc()
            series.failure.inc()
        else:
            series.ok.inc()
            series.success.inc()
            series.prediction.observe(summary)

    # ---- rollout ------------------------------------------------------------
    def deploy(self, model: OnnxModel, rollout: RolloutConfig) -> None:
        """Load ``model`` beside the champion and start rolling it out."""
        if model.name != self.config.model_name:
            raise HttpError(400, f"model name {model.name!r} is not {self.config.model_name!r}")
        champion = self.models[self.router.state.champion]
        if model.feature_names != champion.feature_names:
            raise HttpError(
                409,
                f"version {model.version} expects features {list(model.feature_names)}; "
                f"the champion serves {list(champion.feature_names)}",
            )
        if model.version == champion.version:
            raise HttpError(409, f"version {model.version} already is the champion")
        self.models[model.version] = model
        self.windows[model.version] = VersionWindow()
        for window in self.windows.values():
            window.horizon_seconds = max(30.0, rollout.policy.window_seconds)
        now = time.monotonic()
        recent = self.windows[champion.version].stats(now, rollout.policy.window_seconds)
        self.baseline = recent if recent.requests >= rollout.policy.min_requests else None
        self.step_started = now
        self.router.start(model.version, rollout)
        logger.info("rolling out %s (%s)", model.version, rollout.strategy.value)
        self._publish_state()

    def promote(self) -> None:
        """Finish the rollout now: the challenger becomes champion."""
        state = self.router.promote()
        self.metrics.promotions.labels(self.config.model_name, state.champion).inc()
        self._publish_state()

    def rollback(self, reason: str, metric: str = "manual") -> None:
        """Take the challenger out of traffic (or revert the last promotion)."""
        state = self.router.state
        version = state.challenger or state.champion
        self.router.rollback(reason)
        self.rollback_log.append(RollbackRecord(version=version, metric=metric, reason=reason,
                                                time=time.time()))  # fmt: skip
        del self.rollback_log[:-MAX_REMEMBERED_ROLLBACKS]
        self.metrics.rollbacks.labels(self.config.model_name, version, metric).inc()
        logger.warning("rolled back %s: %s (%s)", version, reason, metric)
        self._publish_state()

    def evaluate_rollout(self) -> None:
        """Run one policy check: roll back, advance a step, or wait."""
        state = self.router.state
        if state.challenger is None:
            return
        policy = state.config.policy
        now = time.monotonic()
        challenger = self.windows[state.challenger].stats(now, policy.window_seconds)
        champion = self.windows[state.champion].stats(now, policy.window_seconds)
        if champion.requests >= policy.min_requests:
            self.baseline = champion
        elif self.baseline is not None:
            # At 100 % or after a blue-green switch the champion gets no traffic:
            # compare with its last full window instead.
            champion = self.baseline
        elif (longer := self._champion_over_horizon(now)).requests >= policy.min_requests:
            # A slow challenger also slows the clients that would reach the
            # champion: measure the champion over the longer horizon it keeps.
            champion = self.baseline = longer
        elif state.challenger_share < 1.0:
            return  # the champion still gets traffic: wait until it has been measured
        else:
            # Never measured and no traffic left to measure it: judge the
            # challenger on its error rate alone.
            champion = WindowStats(
                policy.min_requests, 0, challenger.p99_latency, challenger.p90_latency,
                math.nan, math.nan,
            )  # fmt: skip
        judgement = judge(champion, challenger, policy)
        if judgement.verdict is Verdict.ROLL_BACK:
            self.rollback(judgement.reason, judgement.metric)
        elif (
            judgement.verdict is Verdict.HEALTHY
            and now - self.step_started >= policy.window_seconds
        ):
            before = state.challenger
            advanced = self.router.advance()
            self.windows[before].clear()
            self.step_started = now
            if advanced.challenger is None:
                self.metrics.promotions.labels(self.config.model_name, advanced.champion).inc()
                logger.info("promoted %s to champion", advanced.champion)
            self._publish_state()

    def _champion_over_horizon(self, now: float) -> WindowStats:
        window = self.windows[self.router.state.champion]
        return window.stats(now, window.horizon_seconds)

    def describe(self) -> dict[str, Any]:
        """Rollout state, loaded versions and recorded rollbacks."""
        state = self.router.state
        return {
            "model": self.config.model_name,
            "champion": state.champion,
            "challenger": state.challenger,
            "previous_champion": state.previous_champion,
            "strategy": state.config.strategy.value if state.challenger else None,
            "challenger_share": state.challenger_share,
            "step": state.step_index if state.challenger else None,
            "steps": state.config.steps if state.challenger else None,
            "loaded_versions": sorted(self.models),
            "rollbacks": [entry.model_dump() for entry in self.rollback_log],
        }

    def _publish_state(self) -> None:
        state = self.router.state
        name = self.config.model_name
        self.metrics.challenger_share.labels(name).set(state.challenger_share)
        self.metrics.rollout_step.labels(name).set(state.step_index if state.challenger else 0)
        for version, model in self.models.items():
            role = (
                "champion" if version == state.champion
                else "challenger" if version == state.challenger
                else "standby"
            )  # fmt: skip
            self.metrics.model_info.labels(version).info({"role": role, "sha256": model.sha256})
        if self.config.state_file is not None:
            self._persist(self.config.state_file)

    def _persist(self, path: Path) -> None:
        """Keep promotions and rollbacks across restarts; an in-flight rollout is not kept."""
        state = self.router.state
        served = {
            version: ServedVersion(version=version, path=str(model.source), sha256=model.sha256)
            for version, model in self.models.items()
            if model.source is not None
        }
        if state.champion not in served:
            return
        previous = state.previous_champion
        try:
            save_state(
                path,
                ServingState(
                    started_from=self.started_from,
                    champion=served[state.champion],
                    previous_champion=served.get(previous) if previous else None,
                    rollbacks=self.rollback_log,
                ),
            )
        except OSError:  # serving goes on; the next change tries again
            logger.exception("cannot write serving state to %s", path)

    async def _policy_loop(self) -> None:
        while True:
            window = self.router.state.config.policy.window_seconds
            await asyncio.sleep(min(1.0, window / 10))
            try:
                self.evaluate_rollout()
            except Exception:  # keep checking even if one evaluation breaks
                logger.exception("rollout evaluation failed")

    # ---- admin API ----------------------------------------------------------
    async def _admin(
        self, method: str, parts: list[str], scope: Scope, receive: Receive
    ) -> tuple[int, list[Any], bytes]:
        self._authorize(scope)
        if method == "GET" and parts == ["state"]:
            return 200, _JSON, _json(self.describe())
        if method != "POST" or len(parts) != 1:
            raise HttpError(404, f"no admin route for {method} /admin/{'/'.join(parts)}")
        body = await _read_body(scope, receive, 16 * 1024)
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            raise HttpError(400, "admin request body is not valid JSON") from None
        if not isinstance(request, dict):
            raise HttpError(400, "admin request body must be a JSON object")
        if parts == ["deploy"]:
            self.deploy(*_deploy_request(request, self.config))
        elif parts == ["promote"]:
            if self.router.state.challenger is None:
                raise HttpError(409, "no challenger to promote")
            self.promote()
        elif parts == ["rollback"]:
            state = self.router.state
            if state.challenger is None and state.previous_champion is None:
                raise HttpError(409, "nothing to roll back: no challenger and no previous champion")
            self.rollback(str(request.get("reason", "manual rollback")))
        else:
            raise HttpError(404, f"no admin route for POST /admin/{parts[0]}")
        return 200, _JSON, _json(self.describe())

    def _authorize(self, scope: Scope) -> None:
        if self._admin_token is None:
            raise HttpError(
                403,
                f"admin API disabled: set {self.config.admin_token_env} or admin_token_file "
                "to enable it",
            )
        supplied = b""
        for key, value in scope.get("headers", []):
            if key == b"authorization" and value.startswith(b"Bearer "):
                supplied = value[7:]
        if not hmac.compare_digest(supplied, self._admin_token.encode()):
            raise HttpError(401, "missing or wrong admin token (Authorization: Bearer <token>)")

    # ---- helpers --------------------------------------------------------------
    def _model(self, version: str) -> OnnxModel:
        model = self.models.get(version)
        if model is None:
            raise HttpError(
                404, f"model version {version!r} is not loaded; loaded: {sorted(self.models)}"
            )
        return model

    def _check_model_name(self, name: str) -> None:
        if name != self.config.model_name:
            raise HttpError(
                404, f"unknown model {name!r}; this server serves {self.config.model_name!r}"
            )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._policy_task = asyncio.create_task(self._policy_loop())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._policy_task is not None:
                    self._policy_task.cancel()
                if self.inference_log is not None:
                    self.inference_log.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_server(
    config: ServerConfig, version: str, path: Path, sha256: str | None = None
) -> OnnxServer:
    """A server for the champion at ``path``, or for the state it had before a restart."""
    launched = OnnxModel.load(
        config.model_name, version, path, expected_sha256=sha256,
        intra_op_threads=config.intra_op_threads,
    )  # fmt: skip
    state = load_state(config.state_file, launched.sha256) if config.state_file else None
    if state is None:
        return OnnxServer(config, launched)
    champion = _reload(config, state.champion) or launched
    previous = _reload(config, state.previous_champion) if state.previous_champion else None
    if previous is not None and previous.version == champion.version:
        previous = None
    logger.info("restored champion %s from %s", champion.version, config.state_file)
    return OnnxServer(
        config,
        champion,
        previous_champion=previous,
        rollback_log=state.rollbacks,
        started_from=launched.sha256,
    )


def _reload(config: ServerConfig, served: ServedVersion) -> OnnxModel | None:
    try:
        return OnnxModel.load(
            config.model_name, served.version, Path(served.path), expected_sha256=served.sha256,
            intra_op_threads=config.intra_op_threads,
        )  # fmt: skip
    except ModelLoadError as error:
        logger.error("cannot restore version %s: %s", served.version, error)
        return None


def _deploy_request(
    request: dict[str, Any], config: ServerConfig
) -> tuple[OnnxModel, RolloutConfig]:
    version = request.get("version")
    path = request.get("path")
    if not isinstance(version, str) or not version or not isinstance(path, str):
        raise HttpError(400, "deploy needs 'version' (string) and 'path' (the .onnx file)")
    try:
        rollout = RolloutConfig.model_validate(request.get("rollout") or {})
    except ValueError as error:
        raise HttpError(400, f"invalid rollout: {error}") from None
    try:
        model = OnnxModel.load(
            config.model_name, version, Path(path), expected_sha256=request.get("sha256"),
            intra_op_threads=config.intra_op_threads,
        )  # fmt: skip
    except ModelLoadError as error:
        raise HttpError(400, str(error)) from None
    if rollout.strategy is Strategy.BLUE_GREEN and len(rollout.steps) > 1:
        rollout = rollout.model_copy(update={"steps": [1.0]})
    return model, rollout


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    for key, value in scope.get("headers", []):
        if key == b"content-length" and value.isdigit() and int(value) > limit:
            raise HttpError(413, f"request body of {int(value)} bytes exceeds the limit of {limit}")
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise HttpError(400, "client disconnected before sending the body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise HttpError(413, f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _read_token(path: Path | None) -> str | None:
    if path is None or not path.is_file():
        return None
    return path.read_text(encoding="utf-8").strip() or None


def _output_summary(outputs: list[np.ndarray]) -> float:
    """Mean of the last output column (np.mean's Python wrapper costs more than the sum)."""
    last = outputs[-1]
    if not last.ndim:
        return float(last)
    values = last.reshape(last.shape[0], -1)[:, -1]
    rows = int(values.shape[0])
    if rows == 1:  # most requests: skip a reduction's fixed cost
        return float(values[0])
    return float(np.add.reduce(values, dtype=np.float64)) / (rows or 1)


def _json(payload: Any) -> bytes:
    return orjson.dumps(payload)


def _error_body(message: str) -> bytes:
    return _json({"error": message})
