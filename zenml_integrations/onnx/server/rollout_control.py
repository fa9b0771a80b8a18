"""The loaded versions and their rollout: deploy, promote, roll back, judge, persist.

Everything that changes which version serves goes through this class, so the
router, the per-version windows, the Prometheus gauges and the state file
never disagree. It knows nothing of HTTP: the admin API and the policy loop
call it, and its refusals are ``RolloutRefused`` with the status to answer.

At most three versions stay loaded: the champion, the previous champion (kept
warm for an instant rollback) and one challenger. Deploying a challenger while
another is in flight replaces it; every other version is unloaded with its
windows and Prometheus series as soon as no role names it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zenml_integrations.onnx.errors import OnnxError
from zenml_integrations.onnx.rollout.config import RolloutConfig
from zenml_integrations.onnx.rollout.policy import Verdict, VersionWindow, WindowStats, judge
from zenml_integrations.onnx.rollout.router import RolloutState, Router
from zenml_integrations.onnx.rollout.version import InvalidVersionLabel, validate_version_label
from zenml_integrations.onnx.server.metrics import ServerMetrics
from zenml_integrations.onnx.server.model import ModelLoadError, OnnxModel
from zenml_integrations.onnx.server.state import (
    MAX_REMEMBERED_ROLLBACKS,
    InterruptedRollout,
    RollbackRecord,
    RolloutInFlight,
    ServedVersion,
    ServingState,
    save_state,
)

logger = logging.getLogger("zenml_integrations.onnx.server")

# How much history each version keeps between rollouts; a rollout keeps its
# policy window's worth while it runs.
IDLE_HORIZON_SECONDS = 30.0


class RolloutRefused(OnnxError):
    """A rollout change that does not apply to the current state; ``status`` is its HTTP code."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# Loads a version the state file recorded; raises ModelLoadError when it cannot.
VersionLoader = Callable[[ServedVersion], OnnxModel]


@dataclass(frozen=True, slots=True)
class Answer:
    """One version's answer to a request, counted only once the response has been sent."""

    version: str
    variant: str
    latency: float
    summary: float


class RolloutControl:
    """Versions of one model, the router between them and the rollback policy's memory."""

    def __init__(
        self,
        model_name: str,
        champion: OnnxModel,
        metrics: ServerMetrics,
        *,
        state_file: Path | None = None,
        restored: ServingState | None = None,
        load: VersionLoader | None = None,
    ) -> None:
        """Serve ``champion`` (the launch champion), or what ``restored`` recorded.

        Args:
            model_name: the one model name this server answers for.
            champion: the version the server was launched with.
            metrics: the server's Prometheus series.
            state_file: where every rollout step is kept.
            restored: the state a previous run of this deployment left.
            load: loads a recorded version again (needed with ``restored``).

        Raises:
            InvalidVersionLabel: when the launch champion's label breaks the rule.
            ValueError: for ``restored`` without ``load``.
        """
        validate_version_label(champion.version)
        self.model_name = model_name
        self.metrics = metrics
        self.state_file = state_file
        self.started_from = champion.sha256
        self.rollback_log: list[RollbackRecord] = list(restored.rollbacks) if restored else []
        self.interrupted: InterruptedRollout | None = restored.interrupted if restored else None
        previous: OnnxModel | None = None
        if restored is not None:
            if load is None:
                raise ValueError("restoring a serving state needs a loader for its versions")
            champion = _reload(restored.champion, load) or champion
            recorded = restored.previous_champion
            previous = _reload(recorded, load) if recorded else None
            if previous is not None and previous.version == champion.version:
                previous = None
        self.models: dict[str, OnnxModel] = {champion.version: champion}
        self.windows: dict[str, VersionWindow] = {champion.version: VersionWindow()}
        if previous is not None:
            self.models[previous.version] = previous
            self.windows[previous.version] = VersionWindow()
        self.router = Router(
            champion.version, previous_champion=previous.version if previous else None
        )
        self.baseline: WindowStats | None = None
        self.step_started = time.monotonic()
        if restored is not None and restored.rollout is not None and load is not None:
            self._resume(restored.rollout, load)
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
        self, version: str, variant: str, latency: float, *, failed: bool, summary: float
    ) -> None:
        """Count one answer (or failure) of ``version`` for the policy and for Prometheus.

        A version unloaded while its request was in flight is not counted: its
        series are gone, and counting would bring them back.
        """
        window = self.windows.get(version)
        if window is None:
            return
        window.add(time.monotonic(), latency, failed, summary)
        series = self.metrics.series(self.model_name, version, variant)
        series.latency.observe(latency)
        if failed:
            series.error.inc()
            series.failure.inc()
        else:
            series.ok.inc()
            series.success.inc()
            series.prediction.observe(summary)

    def settle(self, answer: Answer, *, sent: bool) -> None:
        """Count ``answer`` once its response was sent, or as an error when it could not be."""
        self.record(answer.version, answer.variant, answer.latency, failed=not sent,
                    summary=answer.summary if sent else math.nan)  # fmt: skip

    def deploy(self, model: OnnxModel, rollout: RolloutConfig) -> None:
        """Load ``model`` beside the champion and start rolling it out.

        A challenger already in flight is replaced (and unloaded): the newest
        version is the one to judge.
        """
        try:
            validate_version_label(model.version)
        except InvalidVersionLabel as error:
            raise RolloutRefused(400, str(error)) from None
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
        replaced = self.router.state.challenger
        if replaced is not None:
            logger.warning("challenger %s replaced by %s before a verdict", replaced, model.version)
        self.interrupted = None
        self._start(model, rollout, step_index=0)
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
        # Unvalidated: a rollback never fails, even of a label that got past every door
        # (the state file then refuses it at the next start, naming itself).
        record = RollbackRecord.model_construct(
            version=version, metric=metric, reason=reason, time=time.time()
        )
        self.rollback_log.append(record)
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
            "interrupted_rollout": self.interrupted.model_dump() if self.interrupted else None,
        }

    def publish(self) -> None:
        """Unload what no role names, show the rollout in the gauges, keep it in the state file."""
        state = self.router.state
        serving = {state.champion, state.challenger, state.previous_champion}
        for version in [version for version in self.models if version not in serving]:
            self._unload(version)
        if state.challenger is None:  # a long policy window's history is no longer read
            for window in self.windows.values():
                window.horizon_seconds = IDLE_HORIZON_SECONDS
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

    def _start(self, model: OnnxModel, rollout: RolloutConfig, *, step_index: int) -> None:
        """Load ``model`` as the challenger and route its share of traffic at ``step_index``."""
        self.windows.pop(model.version, None)  # a redeployed label starts a new window
        self.models[model.version] = model
        self.windows[model.version] = VersionWindow()
        for window in self.windows.values():
            window.horizon_seconds = max(IDLE_HORIZON_SECONDS, rollout.policy.window_seconds)
        now = time.monotonic()
        recent = self.windows[self.router.state.champion].stats(now, rollout.policy.window_seconds)
        self.baseline = recent if recent.requests >= rollout.policy.min_requests else None
        self.step_started = now
        self.router.start(model.version, rollout, step_index)

    def _resume(self, rollout: RolloutInFlight, load: VersionLoader) -> None:
        """Continue the recorded rollout at its step, or record why it cannot continue."""
        recorded = rollout.challenger
        try:
            challenger = load(recorded)
        except ModelLoadError as error:
            share = RolloutState(self.router.state.champion, recorded.version, rollout.config,
                                 rollout.step_index).challenger_share  # fmt: skip
            self.interrupted = InterruptedRollout(
                version=recorded.version, step_index=rollout.step_index, challenger_share=share,
                reason=f"the restart could not load the challenger again: {error}",
                time=time.time(),
            )  # fmt: skip
            logger.error("rollout of %s interrupted by the restart: %s", recorded.version, error)
            return
        if challenger.version in (self.router.state.champion, self.router.state.previous_champion):
            return  # the champion's or warm version's slot must not be overwritten
        self._start(challenger, rollout.config, step_index=rollout.step_index)
        logger.info("resumed the rollout of %s at step %d", challenger.version, rollout.step_index)

    def _unload(self, version: str) -> None:
        """Forget a version no role names: its session, samples and Prometheus series."""
        del self.models[version]
        self.windows.pop(version, None)
        self.metrics.forget_version(self.model_name, version)
        logger.info("unloaded version %s", version)

    def _champion_over_horizon(self, now: float) -> WindowStats:
        window = self.windows[self.router.state.champion]
        return window.stats(now, window.horizon_seconds)

    def _persist(self, path: Path) -> None:
        """Keep promotions, rollbacks and the rollout's current step across restarts."""
        try:
            serving_state = self._serving_state()
            if serving_state is not None:
                save_state(path, serving_state)
        # A label below every door (ValueError) or a full disk: serving goes on, and
        # the next change tries again.
        except (OSError, ValueError):
            logger.exception("cannot write serving state to %s", path)

    def _serving_state(self) -> ServingState | None:
        """What a restart needs, or None for a champion that was never a file."""
        state = self.router.state
        served = {
            version: ServedVersion(version=version, path=str(model.source), sha256=model.sha256)
            for version, model in self.models.items()
            if model.source is not None
        }
        if state.champion not in served:
            return None
        previous, challenger = state.previous_champion, state.challenger
        in_flight = (
            RolloutInFlight(challenger=served[challenger], config=state.config,
                            step_index=state.step_index)
            if challenger is not None and challenger in served else None
        )  # fmt: skip
        return ServingState(
            started_from=self.started_from,
            champion=served[state.champion],
            previous_champion=served.get(previous) if previous else None,
            rollout=in_flight,
            interrupted=self.interrupted,
            rollbacks=self.rollback_log,
        )


def _reload(served: ServedVersion, load: VersionLoader) -> OnnxModel | None:
    try:
        return load(served)
    except ModelLoadError as error:
        logger.error("cannot restore version %s: %s", served.version, error)
        return None
