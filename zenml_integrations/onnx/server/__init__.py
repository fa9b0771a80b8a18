"""A lean Open Inference Protocol (V2) server around onnxruntime, independent of ZenML.

Several versions of one model are loaded at once behind a router (canary,
sticky A/B, shadow, blue-green) guarded by an automatic rollback policy.
"""
