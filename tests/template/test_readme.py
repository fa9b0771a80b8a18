"""The generated README tells what each stack recipe needs and how to find the served endpoint."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers.rendering import render


def test_given_the_readme_stack_table_then_it_lists_every_variable_each_recipe_requires(
    template_repo: Path, tmp_path: Path
) -> None:
    project = render(template_repo, tmp_path / "project", {})
    stacks = (project / "README.md").read_text().split("\n## Stacks\n")[1].split("\n## ")[0]

    rows = re.findall(r"^\| `(\w+)` \| (.+?) \|", stacks, flags=re.MULTILINE)
    assert {recipe for recipe, _ in rows} == {"kubernetes", "aws", "gcp", "azure"}
    for recipe, variables in rows:
        listed = set(re.findall(r"`(\w+)`", variables))
        # ${NAME} without a default (${NAME:-default} is optional) must be set before an apply.
        text = (project / "stacks" / f"{recipe}.yaml").read_text()
        required = set(re.findall(r"\$\{(\w+)\}", text))
        assert "SERVING_IMAGE" in required
        assert listed == required, recipe


def test_given_the_readme_requests_then_the_endpoint_is_asked_for_never_a_fixed_port(
    template_repo: Path, tmp_path: Path
) -> None:
    project = render(template_repo, tmp_path / "project", {"enable_feast": True})
    docs = [project / "README.md", *project.glob("docs/*.md")]

    for path in docs:
        assert not re.search(r"(localhost|127\.0\.0\.1):8000", path.read_text()), path
    readme = (project / "README.md").read_text()
    asked = "ENDPOINT=$(uv run mlops-kit server status churn_model | sed -n 's/^endpoint: //p')"
    assert readme.count(asked) == 2  # the quick start and the Feast section
    assert 'curl -s -X POST "$ENDPOINT"' in readme
