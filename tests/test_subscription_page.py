"""The Manage Subscription page: rules USE-1, USE-2, LOC-1, LOC-2, SUB-1, SUB-2, SUB-3, DEV-1."""
import re

import pytest

from portal.models import Device, Location
from support.pages import bars


def test_use1_use2_chain_admin_sees_totals_and_three_kinds_of_bars(client, auth):
    auth.login(as_="admin@northwind.example")
    page = client.get("/subscription/").get_data(as_text=True)
    assert re.search(r'data-total="devices"><b>15</b>', page)
    assert re.search(r'data-total="locations"><b>5</b>', page)
    assert bars(page) == [(7, 6, "over"), (2, 2, "full"), (0, 1, "ok")]
    # USE-2: numbers printed beside the colours, overflow named
    assert "7 used of 6 subscribed" in page and "Over your subscription: <b>1</b>" in page


def test_use2_member_sees_the_same_page_read_only(client, auth):
    auth.login(as_="member@northwind.example")
    page = client.get("/subscription/").get_data(as_text=True)
    assert bars(page)[0] == (7, 6, "over")
    assert "/admin/" not in page


def test_loc1_adding_a_fifth_device_adds_a_location_subscription(app, client, auth):
    auth.login(as_="admin@northwind.example")
    with app.app_context():
        york = Location.get(Location.name == "York")
        Device.create(account=york.account_id, location=york, serial="NW-york-04")
        Device.create(account=york.account_id, location=york, serial="NW-york-05")
    assert bars(client.get("/subscription/").get_data(as_text=True))[0] == (8, 6, "over")


def test_dev1_page_explains_removal_lowers_next_bill_and_export(client, auth):
    auth.login(as_="admin@corner.example")
    page = client.get("/subscription/").get_data(as_text=True)
    assert bars(page) == [(3, 5, "ok")]
    assert "lowers the quantity billed from the next payment date" in page
    assert "Export its data first" in page


def test_seat_plan_bars_count_active_members_and_addons(client, auth):
    auth.login(as_="admin@atelier.example")
    page = client.get("/subscription/").get_data(as_text=True)
    assert bars(page) == [(4, 5, "ok"), (2, 2, "full")]  # Eve and Finn are deactivated
    assert 'data-total="seats"><b>4</b>' in page


def test_sub1_sub2_sub3_active_subscriptions_tab(client, auth):
    auth.login(as_="admin@northwind.example")
    page = client.get("/subscription/active").get_data(as_text=True)
    assert "Foot traffic: per location" in page and "Monthly" in page
    assert 'data-list-price="49.00"' in page and "$49.00" in page
    assert "not the amount billed" in page  # SUB-2
    assert 'data-estimate="343.00"' in page  # 7 x 49.00 from live usage
    assert "Dec 1, 2026" in page  # next payment date: first of next month
    assert "Renews automatically" in page  # SUB-3
    assert "xpir" not in page  # no expiry date anywhere


def test_sub1_annual_seat_plan_shows_add_ons_and_renewal_date(client, auth):
    auth.login(as_="admin@atelier.example")
    page = client.get("/subscription/active").get_data(as_text=True)
    assert "Annual" in page and "2 add-on licenses" in page
    assert "Nov 1, 2027" in page and 'data-estimate="2754.00"' in page


@pytest.mark.parametrize("path, marker", [("/subscription/", 'id="usage-tab"'),
                                           ("/subscription/active", 'id="active-tab"')])
def test_tabs_full_page_and_htmx_partial(client, auth, path, marker):
    auth.login()
    full = client.get(path).get_data(as_text=True)
    assert full.startswith("<!doctype html>") and marker in full
    partial = client.get(path, headers={"HX-Request": "true"})
    text = partial.get_data(as_text=True)
    assert marker in text and "<html" not in text and text.lstrip().startswith('<div id="tabs"')


def test_tabs_are_plain_links_without_javascript(client, auth):
    auth.login()
    page = client.get("/subscription/").get_data(as_text=True)
    assert 'href="/subscription/active"' in page and 'hx-get="/subscription/active"' in page


def test_locale_formats_money_and_dates_in_french(client, auth):
    auth.login()
    page = client.get("/subscription/active",
                      headers={"Accept-Language": "fr-FR,fr;q=0.9"}).get_data(as_text=True)
    assert "49,00\xa0$US" in page or "49,00\u202f$US" in page
    assert "1 déc. 2026" in page


def test_sub2_estimate_shows_how_it_is_made_up(client, auth):
    """The location plan bills today's 7 location subscriptions, not the 6 subscribed."""
    auth.login(as_="admin@northwind.example")
    page = client.get("/subscription/active").get_data(as_text=True)
    assert 'data-estimate="343.00"' in page and 'data-billed-quantity="7"' in page
    assert "7 × $49.00" in page
    assert "2 × $25.00 + 1 × $10.00" in page  # seats and the add-on license
    assert "+ 1 add-on license<" in page and "+ $10.00 per add-on license" in page
