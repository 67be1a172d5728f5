"""Error pages: HTML for people, JSON ``{"error": {"code", "message"}}`` under /api/."""
import logging

import peewee
from flask import jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("portal")


def _respond(status: int, code: str, message: str):
    if request.path.startswith("/api/"):
        return jsonify(error={"code": code, "message": message}), status
    return render_template("errors/error.html", status=status, message=message), status


def init_app(app) -> None:
    """Register the error handlers."""

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return _respond(400, "csrf_failed",
                        _("The form expired or was sent from elsewhere. Reload the page and "
                          "try again."))

    @app.errorhandler(HTTPException)
    def http_error(exc):
        messages = {403: _("You do not have access to this page."),
                    404: _("This page does not exist."),
                    405: _("This method is not allowed here."),
                    413: _("What was sent is too large for this page. Nothing was saved."),
                    429: _("Too many attempts. Wait a minute, then try again.")}
        response = _respond(exc.code, exc.name.lower().replace(" ", "_"),
                            messages.get(exc.code, exc.description))
        if getattr(exc, "valid_methods", None):  # 405 says what is allowed (RFC 9110)
            response = make_response(response)
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(peewee.OperationalError)
    @app.errorhandler(peewee.InterfaceError)
    def database_unavailable(exc):
        """Database locked or unreachable: a 503 that touches no database (no user lookup)."""
        log.error("database unavailable: %s", exc)
        message = _("The service is busy or under maintenance. Please try again in a moment; "
                    "nothing was changed.")
        if request.path.startswith("/api/"):
            response = jsonify(error={"code": "database_unavailable", "message": message})
        else:
            response = app.make_response(render_template("errors/unavailable.html",
                                                         message=message))
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response
