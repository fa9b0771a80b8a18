"""Regenerate ``grpc_predict_v2_pb2.py`` and its type stub from ``grpc_predict_v2.proto``.

    uv run python zenml_integrations/onnx/server/proto/regenerate.py

protoc's own Python output registers the messages in protobuf's default
descriptor pool, where ``tritonclient.grpc`` and ``kserve`` register theirs
under the same ``inference.*`` names: a process importing the server and one
of them would fail with "duplicate symbol". This writes a module that adds the
compiled file to a private pool instead, and keeps protoc's ``.pyi`` for mypy.
Needs ``grpcio-tools`` (a development tool; the server needs only protobuf).
"""

from __future__ import annotations

import base64
import subprocess
import sys
import tempfile
from pathlib import Path

from google.protobuf import descriptor_pb2

HERE = Path(__file__).resolve().parent
PROTO = HERE / "grpc_predict_v2.proto"
MODULE = HERE / "grpc_predict_v2_pb2.py"

HEADER = '''"""Generated from grpc_predict_v2.proto by regenerate.py: do not edit.

The messages live in a private descriptor pool, so that this module imports
beside tritonclient.grpc or kserve, which register the same names globally.
"""

import base64

from google.protobuf import descriptor_pool, message_factory

POOL = descriptor_pool.DescriptorPool()
DESCRIPTOR = POOL.AddSerializedFile(
    base64.b64decode(
{chunks}
    )
)
_MESSAGES = DESCRIPTOR.message_types_by_name
'''
# base64 in short double-quoted lines: the module stays as ruff formats it.
CHUNK = 76


def main() -> None:
    """Compile the proto, then write the module and its stub beside it."""
    with tempfile.TemporaryDirectory() as scratch:
        descriptor_set = Path(scratch) / "set.pb"
        subprocess.run(
            [sys.executable, "-m", "grpc_tools.protoc", f"-I{HERE}",
             f"--descriptor_set_out={descriptor_set}", f"--pyi_out={HERE}", str(PROTO)],
            check=True,
        )  # fmt: skip
        files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes()).file
    (compiled,) = files
    encoded = base64.b64encode(compiled.SerializeToString()).decode()
    chunks = "\n".join(
        f'        "{encoded[start : start + CHUNK]}"' for start in range(0, len(encoded), CHUNK)
    )
    lines = [HEADER.format(chunks=chunks)]
    lines += [
        f'{message.name} = message_factory.GetMessageClass(_MESSAGES["{message.name}"])\n'
        for message in compiled.message_type
    ]
    MODULE.write_text("".join(lines), encoding="utf-8")
    print(f"wrote {MODULE.relative_to(Path.cwd())} and its .pyi")


if __name__ == "__main__":
    main()
