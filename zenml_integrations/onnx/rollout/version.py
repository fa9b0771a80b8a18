"""The one rule for model version labels, wherever a version is named.

A label travels into HTTP headers (``x-model-version``), Prometheus label
values, file names, the state file and Kubernetes label values. It is checked
once, where it enters (the admin API, the CLIs, the deployer, the state file,
the manifest renderer), against the strictest of these: the Kubernetes
label-value syntax, which excludes CR, LF, NUL, spaces and every other
character that one of them would refuse or misread.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field
from zenml_integrations.onnx.errors import OnnxError

MAX_VERSION_LABEL_LENGTH = 63
VERSION_LABEL_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$"
VERSION_LABEL_RULE = (
    f"1 to {MAX_VERSION_LABEL_LENGTH} letters, digits, '.', '_' or '-', starting and ending "
    "with a letter or digit"
)
_VERSION_LABEL = re.compile(VERSION_LABEL_PATTERN)


class InvalidVersionLabel(OnnxError, ValueError):
    """A version label breaks the rule (a ``ValueError`` too, so pydantic reports it by field)."""


def validate_version_label(value: str) -> str:
    """``value`` if it is a valid version label.

    Raises:
        InvalidVersionLabel: naming the value (shortened) and the rule.
    """
    # fullmatch: '$' would also accept a trailing newline.
    if not isinstance(value, str) or not _VERSION_LABEL.fullmatch(value):
        shown = repr(value) if len(repr(value)) <= 80 else f"{repr(value)[:77]}..."
        raise InvalidVersionLabel(
            f"version label {shown} is not allowed: use {VERSION_LABEL_RULE} (e.g. '3' or "
            "'2024.06.1-rc1')"
        )
    return value


VersionLabel = Annotated[
    str,
    AfterValidator(validate_version_label),
    Field(description=f"Model version label: {VERSION_LABEL_RULE}."),
]
"""A ``str`` field that only holds a valid version label."""
