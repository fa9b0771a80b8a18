"""MLServer 1.7's own codecs and protocol types, without MLServer's server.

``mlserver`` cannot share the suite's environment (its pins conflict with ZenML's), and a
second environment with every dependency of its server would cost a minute per CI run. Its
codecs and ``mlserver.types`` need only pydantic, numpy and pandas, so the wheel is
installed without dependencies beside the suite, and its package is entered without running
``mlserver/__init__.py``, which starts importing the server (FastAPI, OpenTelemetry).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MLSERVER = "mlserver==1.7.1"


def install(cache: Path) -> Path:
    """The folder holding the ``mlserver`` package, installed there once."""
    target = cache / MLSERVER.replace("==", "-")
    if not (target / "mlserver" / "codecs").is_dir():
        uv = os.environ.get("UV") or shutil.which("uv")
        assert uv, "uv is needed to install mlserver's codecs (make test exports UV)"
        subprocess.run(
            [uv, "pip", "install", "--no-deps", "--target", str(target), MLSERVER],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return target


@contextmanager
def mlserver_package(target: Path) -> Iterator[None]:
    """``import mlserver.codecs`` works inside; ``mlserver`` is forgotten afterwards."""
    package = types.ModuleType("mlserver")
    package.__path__ = [str(target / "mlserver")]
    sys.modules["mlserver"] = package
    try:
        yield
    finally:
        for name in [name for name in sys.modules if name.split(".")[0] == "mlserver"]:
            del sys.modules[name]
