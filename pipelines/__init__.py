"""ZenML pipelines of the generated project."""
