"""Helpers for testing the portal and its plugins (importable from a plugin's own tests)."""
