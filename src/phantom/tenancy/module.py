"""The tenancy context's module: its migrations and its inline projector.

The HTTP router and CLI commands join it in the next step.
"""

from __future__ import annotations

from phantom.kernel.module import Module
from phantom.tenancy.adapters.sql import TENANCY_MIGRATIONS, project_tenancy

__all__ = ["tenancy_module"]


def tenancy_module() -> Module:
    """The tenancy context's contribution to the running system."""
    return Module(
        name="tenancy",
        migrations=TENANCY_MIGRATIONS,
        projectors=[project_tenancy],
    )
