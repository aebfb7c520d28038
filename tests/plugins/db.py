"""Fixtures for the db area."""
