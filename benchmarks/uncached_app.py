"""The portal with its usage cache turned off, for comparison in subscription_page.py:
every page counts the account's devices afresh (what the first page after a change
costs). Served like wsgi:app: ``gunicorn --pythonpath benchmarks uncached_app:app``."""
from portal.billing import pricing
from wsgi import app  # noqa: F401  (what gunicorn serves)



class _Forgetful(dict):
    """A usage cache that keeps nothing: every page counts again."""

    def __setitem__(self, key, value):
        pass


pricing._USAGE_CACHE = _Forgetful()
