"""What a project's steps call when one job spans several plugins.

A step stays wiring: it calls one of these functions and returns its typed
result, so a fix here reaches every generated project with ``pip install -U``.
"""
