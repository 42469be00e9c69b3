"""Errors of the kernel-interface room that callers catch without loading the rest."""

from __future__ import annotations


class ProfileError(Exception):
    """A host profile that cannot be used."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")
