"""Production monitoring: served traffic against the training reference, exported to Prometheus."""
