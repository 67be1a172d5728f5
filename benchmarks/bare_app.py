"""The yardstick of the throughput benchmarks (issue #20): a bare Flask endpoint.

``GET /bare`` reads the session (the portal's own signed login cookie: the same secret key
from the same settings, so a benchmark sends the same cookie to both), runs ONE query (the
session's account) and renders a trivial template file. It answers 401 without a logged-in
session, so a run without the cookie cannot be measured by mistake.

Connections: by default the portal's own handling (``portal.db.init_app``: peewee's pool,
a connection per worker thread, taken before a request and given back after it), so the
ratio compares the portal's pages with the framework's floor under the same database code.
``BARE_PER_REQUEST=1`` opens a connection before each request and closes it after (peewee's
Flask recipe; what the portal did until 2026-12-03), the yardstick of earlier figures.

Served by gunicorn with the same settings as the portal (benchmarks/wrkload.py GUNICORN):
``gunicorn --pythonpath benchmarks bare_app:app``. Reads PORTAL_DATABASE_URL and
PORTAL_SECRET_KEY (or the demo's default key with PORTAL_DEMO=1), like the portal.
"""
import os

from flask import Flask, abort, render_template, session
from playhouse.db_url import connect

from portal import config as settings
from portal import db as portal_db
from portal.models import Account
from portal.security import ACCOUNT_KEY

app = Flask(__name__)  # templates/bare.html beside this file, compiled once and cached
app.config.update(settings.from_environ())  # SECRET_KEY and DATABASE_URL, as the portal
app.config["DATABASE_URL"] = url = os.environ["PORTAL_DATABASE_URL"]
if os.environ.get("BARE_PER_REQUEST") == "1":
    portal_db.db.initialize(connect(url, pragmas=portal_db.SQLITE_PRAGMAS)
                            if url.startswith("sqlite") else connect(url))

    @app.before_request
    def _connect():
        portal_db.db.connect(reuse_if_open=True)

    @app.teardown_appcontext
    def _close(exc):
        if not portal_db.db.is_closed():
            portal_db.db.close()
else:
    portal_db.init_app(app)


@app.route("/bare")
def bare():
    """The session read, one query, a trivial template."""
    account_id = session.get(ACCOUNT_KEY)
    if account_id is None or session.get("_user_id") is None:
        abort(401)
    account = Account.get_by_id(account_id)
    return render_template("bare.html", account=account)
