"""Which loaded version answers a request, and which one sees a shadow copy."""

from __future__ import annotations

import random
import threading
import zlib
from dataclasses import dataclass, field, replace

from zenml_integrations.onnx.rollout.config import RolloutConfig, Strategy


@dataclass(frozen=True)
class RouteDecision:
    """The version that answers, its variant label, and an optional shadow version."""

    version: str
    variant: str
    shadow: str | None = None


@dataclass(frozen=True)
class RolloutState:
    """Everything the router needs; replaced atomically, never mutated."""

    champion: str
    challenger: str | None = None
    config: RolloutConfig = field(default_factory=RolloutConfig)
    step_index: int = 0
    previous_champion: str | None = None
    rolled_back_reason: str | None = None

    @property
    def challenger_share(self) -> float:
        """Share of traffic the challenger answers now."""
        if self.challenger is None or self.config.strategy is Strategy.SHADOW:
            return 0.0
        if self.config.strategy is Strategy.BLUE_GREEN:
            return 1.0
        return self.config.steps[self.step_index]


class Router:
    """Thread-safe holder of the rollout state with a lock-free read path."""

    def __init__(
        self, champion: str, seed: int | None = None, previous_champion: str | None = None
    ) -> None:
        self._state = RolloutState(champion=champion, previous_champion=previous_champion)
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    @property
    def state(self) -> RolloutState:
        """The current state (an immutable snapshot)."""
        return self._state

    def route(self, routing_key: str | None) -> RouteDecision:
        """Pick the answering version; a sticky A/B split needs a routing key."""
        state = self._state
        challenger = state.challenger
        if challenger is None:
            return RouteDecision(state.champion, "champion")
        strategy = state.config.strategy
        if strategy is Strategy.SHADOW:
            return RouteDecision(state.champion, "champion", shadow=challenger)
        if strategy is Strategy.BLUE_GREEN:
            return RouteDecision(challenger, "challenger")
        share = state.config.steps[state.step_index]
        if strategy is Strategy.AB and routing_key is not None:
            bucket = zlib.crc32(routing_key.encode()) % 10_000 / 10_000
        else:
            bucket = self._random.random()
        if bucket < share:
            return RouteDecision(challenger, "challenger")
        return RouteDecision(state.champion, "champion")

    def start(self, challenger: str, config: RolloutConfig, step_index: int = 0) -> RolloutState:
        """Begin a rollout of ``challenger`` at the first step (or resume it at ``step_index``)."""
        if not 0 <= step_index < len(config.steps):
            raise ValueError(f"step {step_index} is not one of the rollout's {len(config.steps)}")
        with self._lock:
            self._state = RolloutState(
                champion=self._state.champion,
                challenger=challenger,
                config=config,
                step_index=step_index,
                previous_champion=self._state.previous_champion,
            )
            return self._state

    def advance(self) -> RolloutState:
        """Move to the next traffic step, or promote after the last one."""
        with self._lock:
            state = self._state
            if state.challenger is None:
                return state
            if state.config.strategy is Strategy.SHADOW or state.step_index + 1 >= len(
                state.config.steps
            ):
                return self._promote_locked()
            self._state = replace(state, step_index=state.step_index + 1)
            return self._state

    def promote(self) -> RolloutState:
        """Make the challenger the champion; keep the old champion for rollback."""
        with self._lock:
            return self._promote_locked()

    def rollback(self, reason: str) -> RolloutState:
        """Take the challenger out of traffic, or revert a finished promotion."""
        with self._lock:
            state = self._state
            if state.challenger is not None:
                self._state = RolloutState(
                    champion=state.champion,
                    previous_champion=state.previous_champion,
                    rolled_back_reason=f"{state.challenger}: {reason}",
                )
            elif state.previous_champion is not None:
                self._state = RolloutState(
                    champion=state.previous_champion,
                    rolled_back_reason=f"{state.champion}: {reason}",
                )
            return self._state

    def _promote_locked(self) -> RolloutState:
        state = self._state
        if state.challenger is None:
            return state
        self._state = RolloutState(champion=state.challenger, previous_champion=state.champion)
        return self._state
