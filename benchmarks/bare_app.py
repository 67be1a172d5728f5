"""The baseline of benchmarks/subscription_page.py: a bare Flask endpoint.

One query on the portal's database and a trivial template, with the portal's own
per-request connection handling (``portal.db.init_app``), served by gunicorn with the same
settings as the portal: ``gunicorn --pythonpath benchmarks bare_app:app``.
Reads PORTAL_DATABASE_URL.
"""
import os

from flask import Flask, render_template

from portal import db as portal_db
from portal.models import Account

app = Flask(__name__)  # templates/bare.html beside this file, compiled once and cached
app.config["DATABASE_URL"] = os.environ["PORTAL_DATABASE_URL"]
portal_db.init_app(app)

@app.route("/bare")
def bare():
    """One query, a trivial template."""
    account = Account.select().order_by(Account.id).get()
    return render_template("bare.html", account=account)
