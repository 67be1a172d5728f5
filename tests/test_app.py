"""The app factory, configuration, CLI, demo data, migrations and plugins."""
import pytest
from peewee_migrate import Router

from portal import config, create_app, demo, plugins
from portal.db import db, migrations_dir
from portal.models import MODELS, Account, User


def test_refuses_default_secret_key_outside_demo(tmp_path):
    with pytest.raises(RuntimeError, match="PORTAL_SECRET_KEY"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "DEMO": True})


def test_settings_come_from_portal_environment_variables():
    values = config.from_environ({"PORTAL_PLUGINS": "a, b", "PORTAL_DEMO": "yes",
                                  "PORTAL_DATABASE_URL": "postgresql://u@h:1/d"})
    assert values["PLUGINS"] == ("a", "b") and values["DEMO"] is True
    assert values["DATABASE_URL"] == "postgresql://u@h:1/d"
    assert values["GATEWAY"] == "fake"


def test_readme_documents_every_setting():
    readme = (migrations_dir().parent / "README.md").read_text()
    missing = [s.env for s in config.SETTINGS if f"`{s.env}`" not in readme]
    assert not missing


def test_default_database_is_sqlite_in_instance_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    app = create_app({"TESTING": True, "DEMO": True})
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path}/portal.sqlite3"


def _schema(database):
    tables = {}
    for table in database.get_tables():
        if table == "migratehistory":
            continue
        columns = sorted((c.name, c.data_type.upper(), c.null) for c in database.get_columns(table))
        indexes = sorted((tuple(i.columns), i.unique) for i in database.get_indexes(table))
        tables[table] = (columns, indexes)
    return tables


def test_migrations_match_the_models(app_ctx, tmp_path):
    """The schema `portal init` builds equals the one the models declare."""
    from peewee import SqliteDatabase

    router = Router(db.obj, migrate_dir=str(migrations_dir()))
    assert router.diff == []  # every migration applied
    if not isinstance(db.obj, SqliteDatabase):
        pytest.skip("the model-declared schema is built on SQLite only")
    migrated = _schema(db.obj)
    fresh = SqliteDatabase(str(tmp_path / "fresh.db"))
    with fresh.bind_ctx(MODELS):
        fresh.create_tables(MODELS)
        declared = _schema(fresh)
    assert migrated == declared


def test_demo_command_is_idempotent_and_prints_logins(runner, app):
    with app.app_context():
        before = User.select().count(), Account.select().count()
    for _ in range(2):
        result = runner.invoke(args=["demo"])
        assert result.exit_code == 0, result.output
    assert "operator@example.com" in result.output
    assert f"password '{demo.PASSWORD}'" in result.output
    with app.app_context():
        assert (User.select().count(), Account.select().count()) == before


def test_init_command_applies_migrations(runner):
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0 and "Database ready" in result.output


def test_demo_logins_listed_in_readme():
    readme = (migrations_dir().parent / "README.md").read_text()
    for email, _ in demo.LOGINS:
        assert email in readme


def test_default_plugins_registered_and_disable_setting(make_app):
    app = make_app()
    names = {info.name for info in plugins.describe(plugins.plugin_manager(app))}
    assert {"gateway_fake", "notify_outbox", "render_weasyprint"} <= names
    app = make_app(DISABLE_PLUGINS=("notify_outbox",))
    pm = plugins.plugin_manager(app)
    assert pm.get_plugin("notify_outbox") is None
    info = {i.name: i for i in plugins.describe(pm)}["notify_outbox"]
    assert not info.enabled and "PORTAL_DISABLE_PLUGINS" in info.why


def test_operator_plugins_page_lists_plugins_versions_and_hooks(client, auth):
    auth.login(as_="operator@example.com")
    page = client.get("/operator/plugins").get_data(as_text=True)
    assert 'data-plugin="gateway_fake"' in page and "portal_register_gateways" in page
    assert "0.1.0" in page


def test_a_test_plugin_wins_over_the_trylast_default(app):
    from portal.gateways import Gateway, active_gateway
    from portal.hookspecs import hookimpl

    class Mine(Gateway):
        name = "fake"

    class Plugin:
        @hookimpl
        def portal_register_gateways(self, register, config):
            register(Mine())

    pm = plugins.plugin_manager(app)
    pm.register(Plugin(), name="mine")
    try:
        assert isinstance(active_gateway(pm, app.config), Mine)
    finally:
        pm.unregister(name="mine")


def test_hook_tracing_logs_calls(make_app, caplog):
    app = make_app(TRACE_HOOKS=True)
    from portal.gateways import registered_gateways

    with caplog.at_level("INFO", logger="portal.plugins"):
        registered_gateways(plugins.plugin_manager(app), app.config)
    assert "portal_register_gateways" in caplog.text
