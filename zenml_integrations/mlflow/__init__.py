"""MLflow model registry helpers: semantic versions, aliases and the quality gate."""
