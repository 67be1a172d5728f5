"""Browser tests (headless chromium through Playwright); fixtures in conftest.py.

A package, so that its conftest is imported as ``browser.conftest`` and never shadows
``tests/conftest.py``.
"""
