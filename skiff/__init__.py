"""skiff: a small Kubernetes-compatible cluster written in Python."""

__version__ = "0.1.0"
