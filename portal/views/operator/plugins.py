"""The plugins this deployment runs."""
from flask import render_template

from ... import plugins
from . import bp


@bp.route("/plugins")
def plugin_list():
    """Every active plugin, its version and the hooks it implements."""
    return render_template("operator/plugins.html",
                           plugins=plugins.describe(plugins.plugin_manager()))
