"""The tenancy context: tenants, users, roles, API keys, tokens and quotas.

Other contexts import only :mod:`phantom.tenancy.api` (the principal and the
permission vocabulary) and :mod:`phantom.tenancy.events`.
"""

__all__: list[str] = []
