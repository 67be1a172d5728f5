"""The app as the gunicorn-served tests run it (``gunicorn --pythonpath tests served_app:app``):
configured from PORTAL_* variables like wsgi.py, with today pinned to PORTAL_TEST_TODAY
(YYYY-MM-DD) so the demo data's dates hold whatever day the suite runs."""
import datetime as dt
import os

from portal import create_app

app = create_app({"TODAY": dt.date.fromisoformat(os.environ["PORTAL_TEST_TODAY"])})
