"""The production configuration of docs/deploy.md, booted for real and smoke-tested.

PostgreSQL (the throwaway server scripts/test starts), gunicorn with three workers and a
huey worker, all configured from an environment file like deploy/portal.env.example.
Then, through HTTP: login, the subscription page, an API call (whose notification the
huey worker delivers), a billing run and a PDF download.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_URL = os.environ.get("PORTAL_TEST_POSTGRES_URL", "")

pytestmark = [pytest.mark.deploy,
              pytest.mark.skipif(not PG_URL, reason="needs PORTAL_TEST_POSTGRES_URL "
                                                    "(make test starts a PostgreSQL server)")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_file_values(path: Path) -> dict:
    """KEY=value lines, as systemd's EnvironmentFile reads them."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


@pytest.fixture(scope="module")
def database():
    """A fresh database on the test PostgreSQL server."""
    import psycopg

    name = f"smoke_{secrets.token_hex(4)}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def deployment(database, tmp_path_factory):
    """gunicorn (3 workers) + huey worker from an environment file; yields (url, env)."""
    folder = tmp_path_factory.mktemp("deploy")
    env_path = folder / "portal.env"
    env_path.write_text("\n".join([
        f"PORTAL_SECRET_KEY={secrets.token_hex(32)}",
        f"PORTAL_DATABASE_URL={database}",  # plain, as the example: the app pools it
        f"PORTAL_JOBS={database}",
        "PORTAL_PROXY_FIX=1",
        "PORTAL_PRODUCT_NAME=Smoke Portal",
        "PORTAL_SUPPORT_EMAIL=success@smoke.example",
        f"PORTAL_INSTANCE_PATH={folder / 'instance'}",
    ]) + "\n")
    env = {**os.environ, **env_file_values(env_path)}
    env.pop("PORTAL_TEST_DATABASE_URL", None)
    run = dict(cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=120)
    subprocess.run([BIN / "portal", "init"], **run)
    subprocess.run([BIN / "portal", "demo"], **run)
    port = free_port()
    logs = folder / "logs"
    logs.mkdir()
    web = subprocess.Popen([BIN / "gunicorn", "--workers", "3", "--bind", f"127.0.0.1:{port}",
                            "wsgi:app"], cwd=ROOT, env=env,
                           stdout=open(logs / "web.out", "w"), stderr=subprocess.STDOUT)
    worker = subprocess.Popen([BIN / "huey_consumer", "portal.worker.huey", "--workers", "2",
                               "--no-periodic"], cwd=ROOT, env=env,
                              stdout=open(logs / "worker.out", "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if requests.get(f"{url}/login", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not answer:\n" + (logs / "web.out").read_text())
        yield url, env, logs
    finally:
        for proc in (web, worker):
            proc.send_signal(signal.SIGTERM)
        for proc in (web, worker):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def login(url: str, email: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{url}/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = session.post(f"{url}/login", data={"email": email, "password": "portal-demo",
                                                  "csrf_token": token})
    assert response.status_code == 200 and "Wrong email" not in response.text
    return session


def csrf(session: requests.Session, page_url: str) -> str:
    return re.search(r'"X-CSRFToken": "([^"]+)"', session.get(page_url).text).group(1)


def test_production_configuration_smoke(deployment):
    url, env, logs = deployment

    # operator: the console lists the accounts; create an API token for the chain
    operator = login(url, "operator@example.com")
    accounts = operator.get(f"{url}/operator/").text
    account_id = re.search(r'href="/operator/accounts/(\d+)">Northwind Retail<', accounts).group(1)
    tokens_url = f"{url}/operator/accounts/{account_id}/tokens"
    created = operator.post(tokens_url, data={"name": "smoke",
                                              "csrf_token": csrf(operator, tokens_url)})
    api_token = re.search(r'value="([^"]+)"[^>]*data-testid="new-token"', created.text).group(1)

    # the product reports a new device through the API
    headers = {"Authorization": f"Bearer {api_token}"}
    response = requests.put(f"{url}/api/v1/devices/SMOKE-0001", headers=headers,
                            json={"location": "york"}, timeout=10)
    assert response.status_code == 201, response.text
    usage = requests.get(f"{url}/api/v1/usage", headers=headers, timeout=10).json()
    assert usage["devices"] == 17  # 15, the pop-up's reported today by the demo, this one

    # the huey worker, not the web request, delivers its notification to the outbox
    for _ in range(100):
        if "SMOKE-0001" in operator.get(f"{url}/operator/outbox").text:
            break
        time.sleep(0.3)
    else:
        pytest.fail("the worker delivered nothing:\n" + (logs / "worker.out").read_text())

    # the chain admin sees the bars, with the new device counted
    admin = login(url, "admin@northwind.example")
    page = admin.get(f"{url}/subscription/").text
    assert re.search(r'data-total="devices"><b>17</b>', page)
    # `portal demo` billed a year of history: the location plan's subscribed quantity
    # follows what its last invoice billed (rule USE-3), 7; the pop-up reported today
    # puts it one over, with the sentence that says when it is billed
    assert re.search(r'data-used="8" data-subscribed="7"\s+data-state="over"', page)
    assert "The 1 extra location subscription is billed on" in page

    # a billing run on the next payment date issues invoices
    today = dt.date.today()
    next_month = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    result = subprocess.run([BIN / "portal", "billing", "run", "--date", next_month.isoformat()],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr

    # and the admin downloads the invoice PDF at once (DOC-1)
    invoices = admin.get(f"{url}/admin/invoices").text
    pdf_path = re.search(r'href="(/documents/invoice/\d+\.pdf)"', invoices).group(1)
    pdf = admin.get(f"{url}{pdf_path}")
    assert pdf.headers["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "Northwind Retail" in text and "Smoke Portal" in text
