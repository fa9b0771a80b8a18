#!/usr/bin/env bash
# Install the kit with every extra at the newest (or lowest allowed) releases in a scratch
# virtualenv, print the versions that matter, and run the unit and template tiers, which
# hold the conversion parity cases (tests/unit/onnx/test_convert.py). uv.lock is not used.
#
#   scripts/check-versions.sh newest|lowest [python]    (make check-newest, make check-lowest)
set -euo pipefail

mode=${1:?usage: $0 newest|lowest [python]}
python=${2:-${UV_PYTHON:-3.11}}
uv=${UV:-uv}
case "$mode" in
  newest) resolution=highest ;;
  lowest) resolution=lowest-direct ;;  # our own lower bounds; their dependencies newest
  *) echo "mode must be newest or lowest, not '$mode'" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
venv=$(mktemp -d "${TMPDIR:-/tmp}/check-$mode-XXXXXX")/venv
trap 'rm -rf "$(dirname "$venv")"' EXIT
"$uv" venv --quiet --python "$python" "$venv"
# The tests import this checkout's source (pytest's pythonpath); the environment holds the
# releases under test.
# Test tools at their newest, then the kit at the resolution under test.
"$uv" pip install --quiet --python "$venv/bin/python" --group "$root/pyproject.toml:dev"
"$uv" pip install --quiet --python "$venv/bin/python" --resolution "$resolution" "$root[all]"

echo "== $mode releases ($resolution) on $("$venv/bin/python" --version)"
"$uv" pip list --python "$venv/bin/python" --format freeze | grep -iE \
  '^(zenml|mlflow|scikit-learn|skl2onnx|onnx|onnxruntime|numpy|pandas|pyarrow|pydantic|evidently|great-expectations|feast|prometheus-client|protobuf|kubernetes|uvicorn|orjson|python-rapidjson)=='
cd "$root"
# The reserved-name list is checked against uv.lock's environment, not this one.
"$venv/bin/python" -m pytest -q -n 2 tests/unit tests/template \
  --deselect tests/template/test_copier_answers.py::test_given_the_stdlib_and_the_locked_packages_then_the_validator_lists_every_name
