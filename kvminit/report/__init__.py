"""Rendering of results: text, JSON, tables and fw_cfg blobs. Never decides anything."""
