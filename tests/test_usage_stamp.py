"""The usage stamp and the usage cache (rules USE-1, LOC-1, DEV-1, DEV-3, ACC-4).

Triggers renew ``account.usage_stamp`` whenever the account's devices, locations or users
change, whatever writes them (ORM or raw SQL); the subscription page reuses the usage
counted under the current stamp, so it never shows a stale count.
"""
import re

import pytest

from portal.billing import pricing
from portal.db import db
from portal.models import Account, Device, Location, Membership, Subscription, User


def stamp(name):
    return Account.get(Account.name == name).usage_stamp


def used(page):
    return [int(n) for n in re.findall(r'data-used="(\d+)"', page)]


@pytest.fixture
def northwind(app_ctx):
    return Account.get(Account.name == "Northwind Retail")


@pytest.mark.parametrize("change", [
    lambda a: Device.create(account=a, location=Location.get(Location.name == "York"),
                            serial="NW-new"),
    lambda a: Device.update(active=False).where(Device.serial == "NW-york-01").execute(),
    lambda a: Device.delete().where(Device.serial == "NW-york-01").execute(),
    lambda a: Location.update(active=False).where(Location.name == "Hull").execute(),
    lambda a: Location.create(account=a, name="Durham", external_id="durham"),
    lambda a: Membership.update(active=False).where(
        Membership.user == User.get(User.email == "member@northwind.example").id).execute(),
    lambda a: Membership.update(holds_addon_license=True).where(
        Membership.user == User.get(User.email == "member@northwind.example").id).execute(),
    lambda a: Membership.create(user=User.get(User.email == "admin@corner.example"), account=a),
    lambda a: db.execute_sql("UPDATE device SET active = %s WHERE serial = %s"
                             .replace("%s", db.obj.param), (False, "NW-hull-01")),
], ids=["device added", "device removed", "device deleted", "location removed",
        "location added", "member deactivated", "add-on license", "membership added",
    "raw SQL"])
def test_use1_every_change_to_counted_data_renews_the_stamp(northwind, change):
    before, other = northwind.usage_stamp, stamp("Corner Bakeries")
    change(northwind)
    assert stamp("Northwind Retail") != before
    assert stamp("Corner Bakeries") == other  # another account's cache stays valid


def test_changes_that_count_nothing_keep_the_stamp(northwind):
    before = northwind.usage_stamp
    # issue 15: a person's own columns (a logout's new session key, a language, a name)
    # and a membership's date count nothing (the trigger was on every user update)
    member = User.get(User.email == "member@northwind.example")
    member.end_sessions()
    User.update(language="fr", name="Mike M.").where(User.id == member.id).execute()
    Membership.update(created_at=member.created_at).where(Membership.user == member.id).execute()
    Subscription.update(quantity=7).where(Subscription.account == northwind).execute()
    Account.update(address_line1="elsewhere").where(Account.id == northwind.id).execute()
    assert stamp("Northwind Retail") == before


def test_dev3_removing_the_replaced_device_renews_the_replacements_account(northwind):
    york = Location.get(Location.name == "York")
    original = Device.get(Device.serial == "NW-york-01")
    Device.create(account=northwind, location=york, serial="NW-rma", rma_replacement_of=original)
    before_stamp = stamp("Northwind Retail")
    before = pricing.account_usage(northwind.id, stamp=before_stamp)
    Device.update(active=False).where(Device.id == original.id).execute()
    after = pricing.account_usage(northwind.id, stamp=stamp("Northwind Retail"))
    assert stamp("Northwind Retail") != before_stamp
    assert after.devices == before.devices  # the replacement now counts in its place


def test_use1_same_stamp_reuses_the_count_without_a_query(northwind):
    first = pricing.account_usage(northwind.id, stamp=northwind.usage_stamp)
    statements = []
    original = db.obj.execute_sql
    db.obj.execute_sql = lambda sql, *a, **k: statements.append(sql) or original(sql, *a, **k)
    try:
        again = pricing.account_usage(northwind.id, stamp=northwind.usage_stamp)
        fresh = pricing.account_usage(northwind.id)  # no stamp: always counted
    finally:
        del db.obj.execute_sql
    assert again == first == fresh
    assert len(statements) == 1


def test_loc1_page_shows_a_change_at_once_even_after_caching(app, client, auth):
    auth.login(as_="admin@northwind.example")
    assert used(client.get("/subscription/").get_data(as_text=True))[0] == 7
    assert used(client.get("/subscription/").get_data(as_text=True))[0] == 7  # cached
    with app.app_context():
        db.connect(reuse_if_open=True)
        flagship = Location.get(Location.name == "Leeds Flagship")
        # raw SQL, as another tool might: 9 -> 13 devices, LOC-1 needs 4 instead of 3
        for i in range(4):
            db.execute_sql("INSERT INTO device (account_id, location_id, serial, active, "
                           "created_at) VALUES (%s, %s, %s, %s, %s)".replace("%s", db.obj.param),
                           (flagship.account_id, flagship.id, f"NW-raw-{i}", True,
                            "2026-11-23 10:00:00"))
    assert used(client.get("/subscription/").get_data(as_text=True))[0] == 8
    with app.app_context():
        db.connect(reuse_if_open=True)
        Location.update(active=False).where(Location.name == "Leeds Flagship").execute()
    assert used(client.get("/subscription/").get_data(as_text=True))[0] == 4  # DEV-1


def test_acc4_seat_bar_follows_member_deactivation(app, client, auth):
    auth.login(as_="admin@atelier.example")
    assert used(client.get("/subscription/").get_data(as_text=True))[0] == 4
    with app.app_context():
        db.connect(reuse_if_open=True)
        Membership.update(active=False).where(
            Membership.user == User.get(User.email == "ben@atelier.example").id).execute()
    assert used(client.get("/subscription/").get_data(as_text=True)) == [3, 1]
