"""Hostile inputs: files from pull requests that try to hang, exhaust or crash kvminit."""
