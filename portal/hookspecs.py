"""Every plugin hook of the portal. Each docstring is the hook's reference documentation.

Write a plugin as a module (or object) with functions decorated ``@hookimpl`` and named
like the specs below; register it through the ``portal`` entry-point group.
"""
from pluggy import HookimplMarker, HookspecMarker

hookspec = HookspecMarker("portal")
hookimpl = HookimplMarker("portal")


@hookspec
def portal_register_gateways(register, config):
    """Register payment gateways.

    Call ``register(gateway)`` once for each gateway object your plugin provides; a
    gateway subclasses ``portal.gateways.Gateway`` (class-level ``name`` and
    ``accepted_brands``; methods ``client_snippet``, ``vault``, ``remove``, ``charge``,
    ``refund``, ``void``, ``find_by_idempotency_key``, ``parse_webhook``, and for the
    add-card page ``client_token``, ``csp_sources``, ``make_default``). ``config`` is
    the app's configuration mapping. Every implementation is called; the deployment
    picks one by name with PORTAL_GATEWAY. Return nothing. Check a gateway with the
    reusable suite ``portal.testing.gateway_contract.GatewayContract``.
    """


@hookspec
def portal_register_notification_channels(register, config):
    """Register notification channels.

    Call ``register(channel)`` for each channel object your plugin provides; a channel
    subclasses ``portal.notifications.Channel`` (class-level ``name``; method
    ``send(notification)`` that raises on failure so the delivery is retried). Every
    enabled channel receives every event (device added, order placed, quote ready,
    payment failed, receipt ready, survey answered). Return nothing.
    """


@hookspec(firstresult=True)
def portal_render_document(kind, html, stylesheet, context, config):
    """Render a document to PDF bytes.

    ``kind`` is ``"quote"``, ``"invoice"``, ``"receipt"`` or ``"credit_note"``; ``html``
    is the document already rendered from ``portal/templates/documents/<kind>.html``
    with the deployment's branding; ``stylesheet`` is its CSS (from
    ``documents/<kind>.css``, else ``documents/_style.css``), which the HTML does not
    contain: apply it as the document's first stylesheet (e.g. in a ``<style>`` element
    at the start of the head); ``context`` is the dict the templates received.
    Return the PDF as ``bytes``, or ``None`` to let the next renderer try. The first
    non-None answer wins; the built-in WeasyPrint renderer runs last.
    """


@hookspec
def portal_startup(app):
    """Called once when the app is created, after the built-in blueprints are registered.

    Use it to register a blueprint, a template folder or a CLI command. Return nothing.
    """
