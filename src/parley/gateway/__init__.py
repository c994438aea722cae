"""The OpenAI- and OpenRouter-compatible gateway (`parley serve`)."""

from parley.gateway.app import create_app

__all__ = ["create_app"]
