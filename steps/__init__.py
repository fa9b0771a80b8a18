"""ZenML steps of the generated project: thin wiring over ``zenml_integrations``."""
