"""A small client for the ONNX server's admin API (deploy, promote, rollback, state)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from zenml_integrations.onnx.errors import OnnxError
from zenml_integrations.rollout_outcome import RolloutOutcome


class AdminRequestFailed(OnnxError):
    """The server refused an admin request; the message is the server's."""


class AdminClient:
    """Talks to ``/admin/*`` with a bearer token."""

    def __init__(self, base_url: str, token: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout

    def state(self) -> dict[str, Any]:
        """Rollout state, loaded versions and rollbacks."""
        return self._call("GET", "state")

    def deploy(
        self, version: str, path: str, sha256: str, rollout: dict[str, Any]
    ) -> dict[str, Any]:
        """Load a challenger and start its rollout."""
        payload = {"version": version, "path": path, "sha256": sha256, "rollout": rollout}
        return self._call("POST", "deploy", payload)

    def promote(self) -> dict[str, Any]:
        """Make the challenger the champion now."""
        return self._call("POST", "promote", {})

    def rollback(self, reason: str) -> dict[str, Any]:
        """Take the challenger out of traffic (or revert the last promotion)."""
        return self._call("POST", "rollback", {"reason": reason})

    def wait_for_outcome(self, version: str, timeout_seconds: float) -> RolloutOutcome:
        """``PROMOTED``, ``ROLLED_BACK`` or ``IN_PROGRESS`` after at most the timeout."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            state = self.state()
            if state["champion"] == version:
                return RolloutOutcome.PROMOTED
            if state["challenger"] != version:
                return RolloutOutcome.ROLLED_BACK
            if time.monotonic() >= deadline:
                return RolloutOutcome.IN_PROGRESS
            time.sleep(0.5)

    def _call(
        self, method: str, action: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.base_url}/admin/{action}",
            method=method,
            data=None if payload is None else json.dumps(payload).encode(),
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                answer: dict[str, Any] = json.loads(response.read())
                return answer
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise AdminRequestFailed(
                f"{method} /admin/{action}: HTTP {error.code}: {detail}"
            ) from None


def rollback_reasons(state: dict[str, Any]) -> dict[str, str]:
    """Version -> ``metric: reason`` for every rollback a server's ``state()`` remembers."""
    return {
        entry["version"]: f"{entry['metric']}: {entry['reason']}" for entry in state["rollbacks"]
    }
