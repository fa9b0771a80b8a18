"""The serving state that must outlive the process: who is champion, who was rolled back.

The server promotes and rolls back by itself. Without this file a restarted
daemon would serve the champion it was first started with again, undoing a
promotion, and a deployment run could not tell that its champion was already
rejected by live traffic. The file is replaced atomically on every change.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

logger = logging.getLogger("zenml_integrations.onnx.server")

MAX_REMEMBERED_ROLLBACKS = 50


class ServedVersion(BaseModel):
    """A model file the server can load again, and the checksum it must have."""

    model_config = ConfigDict(frozen=True)

    version: str
    path: str
    sha256: str


class RollbackRecord(BaseModel):
    """Why a version was taken out of traffic."""

    model_config = ConfigDict(frozen=True)

    version: str
    metric: str
    reason: str
    time: float


class ServingState(BaseModel):
    """What a restart restores.

    ``started_from`` is the checksum of the champion the server was launched
    with: a launch with a different champion is a new deployment, and the
    stored state no longer applies to it.
    """

    started_from: str
    champion: ServedVersion
    previous_champion: ServedVersion | None = None
    rollbacks: list[RollbackRecord] = Field(default=[], max_length=MAX_REMEMBERED_ROLLBACKS)


def save_state(path: Path, state: ServingState) -> None:
    """Write ``state`` so that a reader sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(state.model_dump_json(indent=2))
    os.replace(temporary, path)


def load_state(path: Path, started_from: str) -> ServingState | None:
    """The stored state for a server launched with champion ``started_from``, if any.

    An unreadable file is logged and ignored: the launch champion is a safe
    fallback, while refusing to start would take the endpoint down.
    """
    if not path.is_file():
        return None
    try:
        state = ServingState.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as error:
        logger.error("ignoring unreadable serving state %s: %s", path, error)
        return None
    if state.started_from != started_from:
        logger.info("serving state %s belongs to an earlier deployment; starting afresh", path)
        return None
    return state
