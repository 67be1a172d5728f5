"""The plugin manager: built-in plugins, outside ones from the ``portal`` entry points.

Configuration picks what runs: PORTAL_PLUGINS enables outside plugins by entry-point
name (``*`` for all), PORTAL_DISABLE_PLUGINS disables any plugin by name, defaults
included, and PORTAL_TRACE_HOOKS logs every hook call.
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from importlib.metadata import Distribution, entry_points, version

import pluggy

from .. import hookspecs

log = logging.getLogger("portal.plugins")

DEFAULT_PLUGINS = (
    "portal.plugins.gateway_fake",
    "portal.plugins.gateway_braintree",
    "portal.plugins.gateway_manual",
    "portal.plugins.notify_outbox",
    "portal.plugins.notify_email",
    "portal.plugins.notifier",
    "portal.plugins.render_weasyprint",
    "portal.plugins.tax_none",
    "portal.plugins.tax_eu_vat",
    "portal.plugins.tax_vies",
)


def short_name(module_name: str) -> str:
    """``portal.plugins.gateway_fake`` -> ``gateway_fake``."""
    return module_name.rsplit(".", 1)[-1]


class PortalPluginManager(pluggy.PluginManager):
    """pluggy's manager plus the plugins left out: name -> (version, why), shown on the
    operator's plugins page."""

    def __init__(self) -> None:
        super().__init__("portal")
        self.portal_skipped: dict[str, tuple[str, str]] = {}


def make_plugin_manager(config) -> PortalPluginManager:
    """Build the plugin manager for one app from its configuration."""
    pm = PortalPluginManager()
    pm.add_hookspecs(hookspecs)
    disabled = set(config.get("DISABLE_PLUGINS") or ())
    wanted = set(config.get("PLUGINS") or ())
    for module_name in DEFAULT_PLUGINS:
        name = short_name(module_name)
        if name in disabled:
            pm.portal_skipped[name] = (_own_version(), "disabled by PORTAL_DISABLE_PLUGINS")
            continue
        pm.register(importlib.import_module(module_name), name=name)
    for ep in entry_points(group="portal"):
        ver = ep.dist.version if ep.dist else "?"
        if ep.name in disabled:
            pm.portal_skipped[ep.name] = (ver, "disabled by PORTAL_DISABLE_PLUGINS")
        elif not ("*" in wanted or ep.name in wanted):
            pm.portal_skipped[ep.name] = (ver, "installed, not enabled in PORTAL_PLUGINS")
        else:
            pm.register(ep.load(), name=ep.name)
            _dist_of[ep.name] = ep.dist
    if config.get("TRACE_HOOKS"):
        pm.trace.root.setwriter(log.info)
        pm.enable_tracing()
    return pm


_dist_of: dict[str, Distribution | None] = {}


def _own_version() -> str:
    return version("portal")


@dataclass(frozen=True)
class PluginInfo:
    """What the operator's plugins page shows for one plugin."""

    name: str
    version: str
    hooks: tuple[str, ...]
    builtin: bool
    enabled: bool = True
    why: str = ""


def describe(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Every plugin, enabled or not, with its version and the hooks it implements."""
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        hooks = tuple(sorted(h.name for h in pm.get_hookcallers(plugin) or ()))
        dist = _dist_of.get(name)
        ver = _own_version() if dist is None else dist.version
        infos.append(PluginInfo(name, ver, hooks, builtin=dist is None))
    for name, (ver, why) in getattr(pm, "portal_skipped", {}).items():
        builtin = f"portal.plugins.{name}" in DEFAULT_PLUGINS
        infos.append(PluginInfo(name, ver, (), builtin=builtin, enabled=False, why=why))
    return sorted(infos, key=lambda i: (not i.enabled, i.name))


def init_app(app) -> None:
    """Create this app's plugin manager and keep it in ``app.extensions['portal.pm']``."""
    app.extensions["portal.pm"] = make_plugin_manager(app.config)
    from ..billing import taxes

    taxes.set_hook_provider(_current_tax_hook)


def _current_tax_hook():
    """The running app's hook caller and configuration, for the billing engine's taxes
    (TAX-1); None outside an app context (no tax)."""
    from flask import current_app

    if not current_app:
        return None
    return plugin_manager(current_app).hook, current_app.config


def plugin_manager(app=None) -> pluggy.PluginManager:
    """The plugin manager of ``app`` (default: the current app)."""
    if app is None:
        from flask import current_app as app
    return app.extensions["portal.pm"]
