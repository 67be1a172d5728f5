"""Accounts: what lets a user or an integration in (API tokens)."""
