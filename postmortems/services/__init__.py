"""Writes of post-mortems, templates and their reviews."""
