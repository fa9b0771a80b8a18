"""The loaded versions and their rollout: deploy, promote, roll back, judge, persist.

Everything that changes which version serves goes through this class, so the
router, the per-version windows, the Prometheus gauges and the state file
never disagree. It knows nothing of HTTP: the admin API and the policy loop
call it, and its refusals are ``RolloutRefused`` with the status to answer.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from pathlib import Path
from typing import Any

from zenml_integrations.onnx.errors import OnnxError
from zenml_integrations.onnx.rollout.config import RolloutConfig
from zenml_integrations.onnx.rollout.policy import Verdict, VersionWindow, WindowStats, judge
from zenml_integrations.onnx.rollout.router import Router
from zenml_integrations.onnx.server.metrics import ServerMetrics
from zenml_integrations.onnx.server.model import OnnxModel
from zenml_integrations.onnx.server.state import (
    MAX_REMEMBERED_ROLLBACKS,
    RollbackRecord,
    ServedVersion,
    ServingState,
    save_state,
)

logger = logging.getLogger("zenml_integrations.onnx.server")


class RolloutRefused(OnnxError):
    """A rollout change that does not apply to the current state; ``status`` is its HTTP code."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class RolloutControl:
    """Versions of one model, the router between them and the rollback policy's memory."""

    def __init__(
        self,
        model_name: str,
        champion: OnnxModel,
        metrics: ServerMetrics,
        *,
        state_file: Path | None = None,
        previous_champion: OnnxModel | None = None,
        rollback_log: list[RollbackRecord] | None = None,
        started_from: str | None = None,
    ) -> None:
        self.model_name = model_name
        self.metrics = metrics
        self.state_file = state_file
        self.models: dict[str, OnnxModel] = {champion.version: champion}
        self.windows: dict[str, VersionWindow] = {champion.version: VersionWindow()}
        if previous_champion is not None:
            self.models[previous_champion.version] = previous_champion
            self.windows[previous_champion.version] = VersionWindow()
        self.router = Router(
            champion.version,
            previous_champion=previous_champion.version if previous_champion else None,
        )
        self.baseline: WindowStats | None = None
        self.rollback_log: list[RollbackRecord] = list(rollback_log or [])
        self.started_from = started_from or champion.sha256
        self.step_started = time.monotonic()
        self.publish()

    @property
    def champion(self) -> OnnxModel:
        """The version that answers when no rollout says otherwise."""
        return self.models[self.router.state.champion]

    def model(self, version: str) -> OnnxModel:
        """A loaded version, or a 404 naming the loaded ones."""
        model = self.models.get(version)
        if model is None:
            raise RolloutRefused(
                404, f"model version {version!r} is not loaded; loaded: {sorted(self.models)}"
            )
        return model

    def record(
        self, version: str, variant: str, started: float, *, failed: bool, summary: float
    ) -> None:
        """Count one answer (or failure) of ``version`` for the policy and for Prometheus."""
        elapsed = time.perf_counter() - started
        self.windows[version].add(time.monotonic(), elapsed, failed, summary)
        series = self.metrics.series(self.model_name, version, variant)
        series.latency.observe(elapsed)
        if failed:
            series.error.inc()
            series.failure.inc()
        else:
            series.ok.inc()
            series.success.inc()
            series.prediction.observe(summary)

    def deploy(self, model: OnnxModel, rollout: RolloutConfig) -> None:
        """Load ``model`` beside the champion and start rolling it out."""
        if model.name != self.model_name:
            raise RolloutRefused(400, f"model name {model.name!r} is not {self.model_name!r}")
        champion = self.champion
        if model.feature_names != champion.feature_names:
            raise RolloutRefused(
                409,
                f"version {model.version} expects features {list(model.feature_names)}; "
                f"the champion serves {list(champion.feature_names)}",
            )
        if model.version == champion.version:
            raise RolloutRefused(409, f"version {model.version} already is the champion")
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
        self.publish()

    def promote(self) -> None:
        """Finish the rollout now: the challenger becomes champion."""
        if self.router.state.challenger is None:
            raise RolloutRefused(409, "no challenger to promote")
        state = self.router.promote()
        self.metrics.promotions.labels(self.model_name, state.champion).inc()
        self.publish()

    def rollback(self, reason: str, metric: str = "manual") -> None:
        """Take the challenger out of traffic (or revert the last promotion)."""
        state = self.router.state
        if state.challenger is None and state.previous_champion is None:
            raise RolloutRefused(
                409, "nothing to roll back: no challenger and no previous champion"
            )
        version = state.challenger or state.champion
        self.router.rollback(reason)
        self.rollback_log.append(RollbackRecord(version=version, metric=metric, reason=reason,
                                                time=time.time()))  # fmt: skip
        del self.rollback_log[:-MAX_REMEMBERED_ROLLBACKS]
        self.metrics.rollbacks.labels(self.model_name, version, metric).inc()
        logger.warning("rolled back %s: %s (%s)", version, reason, metric)
        self.publish()

    def evaluate(self) -> None:
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
            self._advance(state.challenger, now)

    async def run_policy(self) -> None:
        """Evaluate the rollout about ten times per policy window, until cancelled."""
        while True:
            window = self.router.state.config.policy.window_seconds
            await asyncio.sleep(min(1.0, window / 10))
            try:
                self.evaluate()
            except Exception:  # keep checking even if one evaluation breaks
                logger.exception("rollout evaluation failed")

    def describe(self) -> dict[str, Any]:
        """Rollout state, loaded versions and recorded rollbacks."""
        state = self.router.state
        return {
            "model": self.model_name,
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

    def publish(self) -> None:
        """Show the rollout in the gauges and keep it in the state file."""
        state = self.router.state
        self.metrics.challenger_share.labels(self.model_name).set(state.challenger_share)
        self.metrics.rollout_step.labels(self.model_name).set(
            state.step_index if state.challenger else 0
        )
        for version, model in self.models.items():
            role = (
                "champion" if version == state.champion
                else "challenger" if version == state.challenger
                else "standby"
            )  # fmt: skip
            self.metrics.model_info.labels(version).info({"role": role, "sha256": model.sha256})
        if self.state_file is not None:
            self._persist(self.state_file)

    def _advance(self, challenger: str, now: float) -> None:
        advanced = self.router.advance()
        self.windows[challenger].clear()
        self.step_started = now
        if advanced.challenger is None:
            self.metrics.promotions.labels(self.model_name, advanced.champion).inc()
            logger.info("promoted %s to champion", advanced.champion)
        self.publish()

    def _champion_over_horizon(self, now: float) -> WindowStats:
        window = self.windows[self.router.state.champion]
        return window.stats(now, window.horizon_seconds)

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
