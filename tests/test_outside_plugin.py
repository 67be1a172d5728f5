"""The example outside plugin (examples/portal-webhook-channel), installed through the
``portal`` entry-point group: picked up when enabled, ignored when not or disabled."""
import json

import pytest

from portal import plugins
from portal.notifications import Notification, notify
from portal.testing.receiver import Receiver


@pytest.fixture
def receiver():
    """A real HTTP server on 127.0.0.1 that keeps what it is sent."""
    with Receiver() as server:
        yield server


def test_enabled_outside_plugin_receives_events(make_app, receiver):
    app = make_app(PLUGINS=("webhook",), WEBHOOK_URL=receiver.url, WEBHOOK_SECRET="k")
    info = {i.name: i for i in plugins.describe(plugins.plugin_manager(app))}["webhook"]
    assert info.enabled and not info.builtin
    assert "portal_register_notification_channels" in info.hooks
    with app.app_context():
        from portal.db import db

        with db.connection_context():
            notify(Notification("order_placed", None, ("a@example.com",), "Order", "text"))
    assert [json.loads(body)["kind"] for body in receiver.bodies] == ["order_placed"]


@pytest.mark.parametrize("config", [{}, {"PLUGINS": ("webhook",),
                                         "DISABLE_PLUGINS": ("webhook",)}])
def test_installed_plugin_not_enabled_or_disabled_is_ignored(make_app, config):
    app = make_app(**config)
    pm = plugins.plugin_manager(app)
    assert pm.get_plugin("webhook") is None
    info = {i.name: i for i in plugins.describe(pm)}["webhook"]
    assert not info.enabled and info.why


def test_enabled_without_settings_refuses_to_start_naming_them(make_app):
    with pytest.raises(RuntimeError, match="PORTAL_WEBHOOK_URL and PORTAL_WEBHOOK_SECRET"):
        make_app(PLUGINS=("*",))
