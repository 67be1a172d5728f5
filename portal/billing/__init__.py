"""The billing engine: pure Python, no Flask imports. Money flows only through here."""
