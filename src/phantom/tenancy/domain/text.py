"""Validation of free-text labels: the kernel's, under the name tenancy uses."""

from __future__ import annotations

from phantom.kernel.text import clean_label

__all__ = ["clean_label"]
