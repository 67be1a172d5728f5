"""EU VAT (rule TAX-2) through the real plugin manager: each case with sellers and buyers
in FR, DE, NL and BE, and buyers outside the EU (US, CH); rates picked by date; an
optional VIES check answered by a local fake server (nothing reaches VIES)."""
import datetime as dt
import json
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import threading

import pytest

from portal.billing.taxes import DraftLine, Party, TaxDraft, tax_lines
from portal.plugins import make_plugin_manager, tax_eu_vat

VAT_IDS = {"FR": "FR40303265045", "DE": "DE136695976", "NL": "NL004495445B01",
           "BE": "BE0403019261"}
RATES = {"FR": Decimal("20"), "DE": Decimal("19"), "NL": Decimal("21"), "BE": Decimal("21")}
DAY = dt.date(2026, 11, 23)
CONFIG = {"TAXES": "eu_vat"}


def party(country, business=False):
    return Party(f"Company {country}", ("1 Street",), "1000", "City", country,
                 VAT_IDS.get(country, "") if business else "")


def document(*amounts, day=DAY):
    return TaxDraft("invoice", tuple(DraftLine("x", Decimal(a)) for a in amounts), "EUR", day)


@pytest.fixture
def hook():
    pm = make_plugin_manager(CONFIG)

    def ask(doc, seller, buyer, config=CONFIG):
        return pm.hook.portal_tax_lines(document=doc, seller=seller, buyer=buyer, config=config)
    return ask


@pytest.mark.parametrize("country", sorted(VAT_IDS))
@pytest.mark.parametrize("business", [False, True])
def test_tax2_domestic_sale_pays_the_seller_country_rate(hook, country, business):
    [line] = hook(document("100.00", "49.99"), party(country, True), party(country, business))
    assert line.rate == RATES[country] and line.base == Decimal("149.99")
    assert line.amount == (Decimal("149.99") * RATES[country] / 100).quantize(Decimal("0.01"))
    assert line.mention == ""


@pytest.mark.parametrize("seller,buyer", [("FR", "DE"), ("NL", "FR"), ("BE", "NL"),
                                          ("DE", "BE")])
def test_tax2_eu_business_with_valid_vat_id_is_reverse_charged(hook, seller, buyer):
    [line] = hook(document("100.00"), party(seller, True), party(buyer, True))
    assert (line.rate, line.amount, line.base) == (Decimal("0"), Decimal("0.00"),
                                                    Decimal("100.00"))
    assert "Reverse charge" in line.mention and "Article 196" in line.mention


@pytest.mark.parametrize("seller,buyer", [("FR", "DE"), ("NL", "FR"), ("BE", "NL"),
                                          ("DE", "BE")])
def test_tax2_eu_consumer_pays_the_buyer_country_rate(hook, seller, buyer):
    [line] = hook(document("100.00"), party(seller, True), party(buyer, False))
    assert line.rate == RATES[buyer] and line.amount == RATES[buyer].quantize(Decimal("0.01"))
    assert line.country == buyer


def test_tax2_invalid_or_foreign_vat_id_is_taxed_as_a_consumer(hook):
    bad = Party("Kunde", country="DE", tax_id="DE136695977")  # checksum wrong
    [line] = hook(document("100.00"), party("FR", True), bad)
    assert line.rate == Decimal("19")
    french_id_in_germany = Party("Kunde", country="DE", tax_id=VAT_IDS["FR"])
    [line] = hook(document("100.00"), party("FR", True), french_id_in_germany)
    assert line.rate == Decimal("19")


@pytest.mark.parametrize("buyer", ["US", "CH"])
@pytest.mark.parametrize("seller", ["FR", "NL"])
def test_tax2_outside_the_eu_no_vat_with_the_mention(hook, seller, buyer):
    [line] = hook(document("250.00"), party(seller, True), party(buyer, True))
    assert line.amount == Decimal("0.00") and line.rate == 0
    assert "outside the EU" in line.mention and "Article 44" in line.mention


def test_tax2_rate_in_force_on_the_document_date(hook):
    seller, buyer = party("FR", True), party("FI")
    [before] = hook(document("100.00", day=dt.date(2024, 8, 31)), seller, buyer)
    [after] = hook(document("100.00", day=dt.date(2024, 9, 1)), seller, buyer)
    assert (before.rate, after.rate) == (Decimal("24"), Decimal("25.5"))


def test_tax2_rates_file_names_its_source_and_covers_the_eu():
    data = json.loads(tax_eu_vat.RATES_FILE.read_text())
    assert "European Commission" in data["source"]
    assert len(data["rates"]) == 27
    for periods in data["rates"].values():
        for period in periods:
            dt.date.fromisoformat(period["from"])
            Decimal(period["rate"])


def test_tax3_rounded_once_per_rate_not_per_line(hook):
    # 7 x 0.07 at 20 %: per line 0.01 x 7 = 0.07; on the sum 0.49 x 20 % = 0.098 -> 0.10
    [line] = hook(document(*["0.07"] * 7), party("FR", True), party("FR"))
    assert line.amount == Decimal("0.10")


class FakeVies:
    """A local stand-in for VIES's REST check: numbers in ``unknown`` are not registered."""

    def __init__(self, unknown=()):
        self.unknown, self.asked = set(unknown), []

    def __enter__(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                number = body["countryCode"] + body["vatNumber"]
                fake.asked.append(number)
                answer = json.dumps({"valid": number not in fake.unknown}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/check-vat-number"
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_tax2_vies_refusal_makes_a_business_a_consumer(app_ctx, app):
    buyer = party("DE", True)
    with FakeVies(unknown={VAT_IDS["DE"]}) as vies:
        app.config.update(TAXES="eu_vat", SELLER_COUNTRY="FR", VIES_URL=vies.url)
        seller = party("FR", True)
        [line] = tax_lines(document("100.00"), seller, buyer)
        assert vies.asked == [VAT_IDS["DE"]]
        assert line.rate == Decimal("19")
        vies.unknown.clear()
        [line] = tax_lines(document("100.00"), seller, buyer)
        assert line.rate == 0 and "Reverse charge" in line.mention


def test_tax2_vies_down_falls_back_to_the_checksum(app_ctx, app):
    app.config.update(TAXES="eu_vat", VIES_URL="http://127.0.0.1:9/nothing-listens")
    [line] = tax_lines(document("100.00"), party("FR", True), party("DE", True))
    assert line.rate == 0
