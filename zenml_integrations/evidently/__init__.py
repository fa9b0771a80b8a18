"""Evidently 0.7 drift gate: a fast verdict from per-column tests, and a separate HTML report."""
