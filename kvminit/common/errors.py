"""The base of every exception kvminit raises on purpose."""

from __future__ import annotations


class KvminitError(Exception):
    """Something kvminit refuses or cannot do, with a message for the user."""
