"""What the tests share, apart from the tests themselves (no test module imports another).

Modules with fixtures are pytest plugins, listed in ``pytest_plugins`` of tests/conftest.py,
so a test just names the fixture:

- ``support.api``: ``tokens`` (API tokens) and ``smtp_server`` (a real aiosmtpd server);
  helpers ``call``, ``snapshot``, ``csrf_token``, ``login``, ``parts``.
- ``support.fake_braintree``: ``fake_braintree`` (a local server the real SDK talks to);
  the class ``FakeBraintree``.
- ``support.history``: ``history_app`` (the demo with its year of history, per module).

Plain helpers, imported by the tests that use them (``from support.billing import run``):

- ``support.database``: ``DEMO_TODAY``, the PostgreSQL helpers, ``database_text``.
- ``support.billing``: cards, due subscriptions, billing runs, PDFs read back.
- ``support.changes``: the plan-change wizard walked through its forms.
- ``support.routes``: every route with who may call it (the authorization matrix's table),
  one object of every kind, and a snapshot of every row.
- ``support.pages``: reading figures back from rendered pages.
- ``support.ledger_gateway``: the ledger gateway double (a plugin of the portal, loaded by
  tests/billing_cli.py in subprocesses).

tests/test_test_layout.py keeps it so.
"""
