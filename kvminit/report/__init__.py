"""Rendering of results: text, JSON, tables, validate reports and output files.

Never decides anything: what to say comes from the engine and the API.
"""
