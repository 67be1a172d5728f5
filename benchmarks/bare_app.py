"""The baseline of benchmarks/subscription_page.py: a bare Flask endpoint.

One query on the portal's database and a trivial template, with a connection opened
before each request and closed after it (peewee's Flask recipe, and what the portal did
until 2026-12-03): a fixed yardstick, so that ratios taken before and after the portal
kept its connections in a pool (portal/db.py) compare. ``BARE_POOLED=1`` gives it the
portal's own pooled connections instead (``portal.db.init_app``), for the stricter ratio.
Served by gunicorn with the same settings as the portal:
``gunicorn --pythonpath benchmarks bare_app:app``. Reads PORTAL_DATABASE_URL.
"""
import os

from flask import Flask, render_template
from playhouse.db_url import connect

from portal import db as portal_db
from portal.models import Account

app = Flask(__name__)  # templates/bare.html beside this file, compiled once and cached
app.config["DATABASE_URL"] = url = os.environ["PORTAL_DATABASE_URL"]
if os.environ.get("BARE_POOLED") == "1":
    portal_db.init_app(app)
else:
    portal_db.db.initialize(connect(url, pragmas=portal_db.SQLITE_PRAGMAS)
                            if url.startswith("sqlite") else connect(url))

    @app.before_request
    def _connect():
        portal_db.db.connect(reuse_if_open=True)

    @app.teardown_appcontext
    def _close(exc):
        if not portal_db.db.is_closed():
            portal_db.db.close()


@app.route("/bare")
def bare():
    """One query, a trivial template."""
    account = Account.select().order_by(Account.id).get()
    return render_template("bare.html", account=account)
