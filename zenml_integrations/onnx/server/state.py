"""The serving state that must outlive the process: who serves, where a rollout stands.

The server promotes and rolls back by itself. Without this file a restarted
daemon would serve the champion it was first started with again, undoing a
promotion, forget a rollout in flight, and a deployment run could not tell
that its champion was already rejected by live traffic. The file is replaced
atomically on every rollout step; a file that cannot be read stops the start
(and is kept) rather than being silently replaced.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from zenml_integrations.onnx.errors import OnnxError
from zenml_integrations.onnx.rollout.config import RolloutConfig
from zenml_integrations.onnx.rollout.version import VersionLabel

logger = logging.getLogger("zenml_integrations.onnx.server")

MAX_REMEMBERED_ROLLBACKS = 50


class ServingStateError(OnnxError):
    """The state file exists but cannot be read or written; the message says how to recover."""


class ServedVersion(BaseModel):
    """A model file the server can load again, and the checksum it must have."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: VersionLabel
    path: str
    sha256: str


class RollbackRecord(BaseModel):
    """Why a version was taken out of traffic."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: VersionLabel
    metric: str
    reason: str
    time: float


class RolloutInFlight(BaseModel):
    """A challenger's rollout at its current step, so a restart resumes it there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    challenger: ServedVersion
    config: RolloutConfig
    step_index: int = Field(ge=0)

    @model_validator(mode="after")
    def _step_in_rollout(self) -> RolloutInFlight:
        if self.step_index >= len(self.config.steps):
            raise ValueError(
                f"step_index {self.step_index} is past the rollout's {len(self.config.steps)} steps"
            )
        return self


class InterruptedRollout(BaseModel):
    """A rollout a restart could not resume, and why (shown until the next deploy)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: VersionLabel
    step_index: int = Field(ge=0)
    challenger_share: float
    reason: str
    time: float


class ServingState(BaseModel):
    """What a restart restores.

    ``started_from`` is the checksum of the champion the server was launched
    with: a launch with a different champion is a new deployment, and the
    stored state no longer applies to it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    started_from: str
    champion: ServedVersion
    previous_champion: ServedVersion | None = None
    rollout: RolloutInFlight | None = None
    interrupted: InterruptedRollout | None = None
    rollbacks: list[RollbackRecord] = Field(default=[], max_length=MAX_REMEMBERED_ROLLBACKS)


def save_state(path: Path, state: ServingState) -> None:
    """Write ``state`` so that a reader sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(state.model_dump_json(indent=2))
            handle.flush()
            os.fsync(handle.fileno())  # the rename must never publish an empty file
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_state(path: Path, started_from: str) -> ServingState | None:
    """The stored state for a server launched with champion ``started_from``, if any.

    Raises:
        ServingStateError: when the file exists but cannot be read or is not a
            serving state. The file is left untouched: starting afresh would
            undo promotions and overwrite the evidence.
    """
    if not path.exists():
        return None
    try:
        state = ServingState.model_validate_json(path.read_bytes())
    except OSError as error:
        raise _unreadable(path, error.strerror or type(error).__name__) from None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the file"
        raise _unreadable(path, f"{where}: {first['msg']}".replace("\n", " ")) from None
    if state.started_from != started_from:
        logger.info("serving state %s belongs to an earlier deployment; starting afresh", path)
        return None
    return state


def _unreadable(path: Path, reason: str) -> ServingStateError:
    return ServingStateError(
        f"serving state file {path} is unreadable ({reason[:200]}); it is kept as it is: "
        "restore it from a backup, or move it aside to start from the launch champion"
    )
