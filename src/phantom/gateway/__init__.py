"""The HTTP gateway: composes the contexts' routers into one application."""

from phantom.gateway.app import create_app

__all__ = ["create_app"]
