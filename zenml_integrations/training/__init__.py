"""Training building blocks that ZenML steps wire together: data, models, metrics."""
