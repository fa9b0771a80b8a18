"""How a challenger reaches traffic: rollout settings, the router and the rollback policy.

Pure Python and numpy: the local server and the Kubernetes canary controller
share these rules, so a rollout behaves the same wherever it runs.
"""
