"""Fixtures for the site area."""
