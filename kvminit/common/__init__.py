"""Leaf helpers that config and kvm share: TOML in and out, hints, the base error.

Nothing here imports anything else of kvminit, so every layer may use it.
"""
