"""Feast feature store: one set of feature definitions for training and serving."""
