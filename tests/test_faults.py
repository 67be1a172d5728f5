"""Database locked or unreachable at request time -> a clear 503, not a traceback."""
import sqlite3

import pytest

from portal.testing.served import free_port
from support.people import membership


@pytest.mark.parametrize("path", ["/login", "/subscription/"])
def test_unreachable_database_gives_503_page(make_app, path):
    app = make_app(DATABASE_URL=f"postgresql://portal@127.0.0.1:{free_port()}/nope")
    response = app.test_client().get(path)
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "Temporarily unavailable" in page and "nothing was changed" in page
    assert "Traceback" not in page and response.headers["Retry-After"] == "5"


def test_locked_sqlite_database_gives_503_and_changes_nothing(make_app, database_url,
                                                              auth_for):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite locking")
    from portal.models import User

    app = make_app(SQLITE_BUSY_TIMEOUT_MS=200)
    client = app.test_client()
    auth = auth_for(client)
    auth.login(as_="admin@atelier.example")
    token = auth.csrf_token("/admin/members")
    with app.app_context():
        ben = User.get(User.email == "ben@atelier.example")
    blocker = sqlite3.connect(database_url.split(":///", 1)[1], timeout=0)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
    try:
        response = client.post(f"/admin/members/{ben.id}/deactivate",
                               data={"csrf_token": token})
    finally:
        blocker.rollback()
        blocker.close()
    assert response.status_code == 503
    assert "Temporarily unavailable" in response.get_data(as_text=True)
    with app.app_context():
        assert membership(ben.email).active is True
