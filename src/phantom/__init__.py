"""Phantom ML: a multi-tenant machine-learning platform."""

__all__ = ["__version__"]

__version__ = "0.1.0"
