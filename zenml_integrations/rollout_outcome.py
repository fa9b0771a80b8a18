"""Where a model version's rollout stands: one vocabulary for every part that reports it.

The local server's admin client, the Kubernetes canary controller, the
deployment workflow and the registry's ``rollout_outcome`` tag all speak it,
so a dashboard or a script reads the same word wherever the rollout ran.
"""

from __future__ import annotations

from enum import StrEnum


class RolloutOutcome(StrEnum):
    """What happened to a version that was handed to a model server."""

    DEPLOYED = "deployed"  # the first version of a new server: serving at once
    ALREADY_SERVING = "already_serving"  # the version already is the champion
    IDLE = "idle"  # no rollout in flight: a controller found nothing to judge
    WAITING = "waiting"  # in traffic; the window has too few requests to judge yet
    INCONCLUSIVE = "inconclusive"  # in traffic; no series or no requests: nothing to judge
    ADVANCED = "advanced"  # in traffic; moved to its next traffic share
    IN_PROGRESS = "in_progress"  # in traffic and undecided when the caller stopped waiting
    PROMOTED = "promoted"  # the version became the champion
    ROLLED_BACK = "rolled_back"  # the version was taken out of traffic

    @property
    def decided(self) -> bool:
        """True once the rollout has ended, either way: the registry records these."""
        return self in (RolloutOutcome.PROMOTED, RolloutOutcome.ROLLED_BACK)
