"""Over-allocation of usage plans: the bar says what is billed and when (rule USE-3), the
subscribed quantity follows what the billing run billed (USE-3, DEV-1), and the location
arithmetic is shown location by location (LOC-1, LOC-2)."""
from __future__ import annotations

import html
import re

from portal.db import db
from portal.models import Device, Location, Subscription
from support.billing import DEC1, account, cards_for_demo, invoices_of, lines_of, run, sub_of
from support.pages import bars, counted_queries


JAN1 = DEC1.replace(year=2027, month=1)


def page(client, **headers):
    return html.unescape(client.get("/subscription/", headers=headers).get_data(as_text=True))


def overage_note(text):
    found = re.search(r'<p class="over-billing"[^>]*>\s*(.*?)\s*</p>', text, re.S)
    return found and " ".join(found.group(1).split())


def unbilled_note(text):
    found = re.search(r'<p class="unbilled-note" data-unbilled="(\d+)">\s*(.*?)\s*</p>', text, re.S)
    return found and (int(found.group(1)), " ".join(found.group(2).split()))


def breakdown(text):
    return [(name, int(devices), int(needs)) for name, devices, needs in re.findall(
        r'data-location="([^"]+)" data-devices="(\d+)" data-needs="(\d+)"', text)]


def add_devices(app, location_name, *serials):
    with app.app_context():
        loc = Location.get(Location.name == location_name)
        for serial in serials:
            Device.create(account=loc.account_id, location=loc, serial=serial)


def test_use3_bar_says_the_overage_its_amount_and_date_before_billing(app, client, auth):
    auth.login(as_="admin@northwind.example")
    text = page(client)
    assert bars(text)[0] == (7, 6, "over")
    assert overage_note(text) == ("The 1 extra location subscription is billed on Dec 1, 2026: "
                                  "1 × $49.00 = $49.00. From then on it is part of your "
                                  "subscription.")
    assert 'data-overage="1" data-overage-amount="49.00" data-overage-on="2026-12-01"' in text
    # eight more devices in York: 11 there need 3 location subscriptions (LOC-1), 9 in all
    add_devices(app, "York", *(f"NW-york-{n:02d}" for n in range(4, 12)))
    text = page(client)
    assert bars(text)[0] == (9, 6, "over")
    assert overage_note(text) == ("The 3 extra location subscriptions are billed on Dec 1, "
                                  "2026: 3 × $49.00 = $147.00. From then on they are part of "
                                  "your subscription.")


def test_use3_overage_is_what_the_billing_run_bills_on_top(app, client, auth):
    auth.login(as_="admin@northwind.example")
    add_devices(app, "York", *(f"NW-york-{n:02d}" for n in range(4, 12)))
    assert 'data-overage-amount="147.00"' in page(client)
    with app.app_context():
        cards_for_demo()
        north = account("Northwind Retail")
        run(app, DEC1)
        plan_line = lines_of(invoices_of(north, period_start=DEC1)[0])[0]
    assert plan_line.quantity - 6 == 3 and plan_line.amount - 6 * plan_line.unit_price == 147


def test_use3_units_billed_are_no_longer_over(app, client, auth):
    auth.login(as_="admin@northwind.example")
    assert bars(page(client))[0] == (7, 6, "over")
    with app.app_context():
        cards_for_demo()
        run(app, DEC1)
        north = account("Northwind Retail")
        billed = lines_of(invoices_of(north, period_start=DEC1)[0])[0].quantity
        assert billed == 7 and sub_of(north, "locations").quantity == billed
    text = page(client)
    assert bars(text)[0] == (7, 7, "full") and "7 used of 7 subscribed" in text
    assert overage_note(text) is None and "Over your subscription" not in text
    # a new device after billing is over again, and billed at the following payment date
    add_devices(app, "Hull", "NW-hull-03", "NW-hull-04", "NW-hull-05")
    text = page(client)
    assert bars(text)[0] == (8, 7, "over")
    assert "The 1 extra location subscription is billed on Jan 1, 2027" in overage_note(text)


def test_use3_subscribed_follows_the_bill_in_the_issuing_transaction(app):
    with app.app_context():
        cards_for_demo()
        north = account("Northwind Retail")
        # a gateway that fails after the invoice is issued does not undo the true-up: the
        # invoice and the quantity are committed together, before any gateway call
        report = run(app, DEC1)
        assert report.invoiced >= 3
        sub = sub_of(north, "locations")
        invoice = invoices_of(north, period_start=DEC1)[0]
        assert (sub.quantity, lines_of(invoice)[0].quantity) == (7, 7)
        again = run(app, DEC1)  # nothing due twice: nothing changes
        assert again.invoiced == 0 and sub_of(north, "locations").quantity == 7


def test_dev1_fewer_devices_lower_the_next_bill_and_then_the_subscribed_quantity(
        app, client, auth):
    with app.app_context():
        cards_for_demo()
        run(app, DEC1)
        corner, north = account("Corner Bakeries"), account("Northwind Retail")
        # the device plan was subscribed for 5 with 3 devices: it bills 3, subscribes 3
        assert sub_of(corner, "devices").quantity == 3
        # Leeds Flagship goes from 9 devices (3 subscriptions) to 4 (1 subscription)
        leeds = Location.get(Location.name == "Leeds Flagship")
        gone = [d.id for d in Device.select().where(Device.location == leeds)
                .order_by(Device.id.desc()).limit(5)]
        Device.update(active=False).where(Device.id.in_(gone)).execute()
    auth.login(as_="admin@northwind.example")
    text = page(client)
    # paid for December: 7 subscribed until the next payment date, 2 of them unused
    assert bars(text)[0] == (5, 7, "ok") and overage_note(text) is None
    assert "lowers the quantity billed from the next payment date" in text
    assert unbilled_note(text) == (2, "2 subscribed location subscriptions are not needed: "
                                      "they are no longer billed from Jan 1, 2027.")
    with app.app_context():
        run(app, JAN1)
        january = invoices_of(north, period_start=JAN1)[0]
        assert lines_of(january)[0].quantity == 5
        assert sub_of(north, "locations").quantity == 5
    text = page(client)
    assert bars(text)[0] == (5, 5, "full") and unbilled_note(text) is None


def test_seat_plans_keep_the_quantity_bought(app):
    with app.app_context():
        cards_for_demo()
        run(app, DEC1)
        north = account("Northwind Retail")
        assert (sub_of(north, "team").quantity, sub_of(north, "team").addon_quantity) == (2, 1)


def test_loc1_breakdown_explains_the_location_subscriptions(client, auth):
    auth.login(as_="admin@northwind.example")
    text = page(client)
    assert re.search(r'data-total="locations"><b>5</b>', text)
    rows = breakdown(text)
    assert rows == [("Bradford Pop-up", 0, 1), ("Hull", 2, 1), ("Leeds Flagship", 9, 3),
                    ("Sheffield", 1, 1), ("York", 3, 1)]
    assert sum(n for _, _, n in rows) == bars(text)[0][0] == 7  # LOC-2: the bar's "used"
    assert sum(d for _, d, _ in rows) == 15
    assert "Why 7 location subscriptions for 5 locations?" in text
    assert "<details" in text and "<script" not in text.split('id="usage-tab"')[1]


def test_loc1_breakdown_is_only_for_location_plans(client, auth):
    auth.login(as_="admin@corner.example")
    assert breakdown(page(client)) == [] and 'data-breakdown' not in page(client)


def test_loc1_breakdown_follows_a_moved_device_with_the_same_totals(app, client, auth):
    auth.login(as_="admin@northwind.example")
    first = page(client)
    with app.app_context():  # York 3 -> 2, Hull 2 -> 3: still 1 each, totals unchanged
        york, hull = Location.get(Location.name == "York"), Location.get(Location.name == "Hull")
        device = Device.select().where(Device.location == york).first()
        Device.update(location=hull).where(Device.id == device.id).execute()
        Location.update(name="Hull Docks").where(Location.id == hull.id).execute()
    second = page(client)
    assert bars(second) == bars(first)
    assert ("Hull Docks", 3, 1) in breakdown(second) and ("York", 2, 1) in breakdown(second)


def test_loc1_breakdown_costs_the_same_queries_at_any_number_of_locations(app, client, auth):
    auth.login(as_="admin@northwind.example")
    client.get("/subscription/")

    def queries_of_a_fresh_tab():  # every location listed (the page lists the first 25)
        with counted_queries() as counter:
            text = html.unescape(client.get("/subscription/?locations=all")
                                 .get_data(as_text=True))
        return counter.count, text

    with app.app_context():  # a change: the next page renders the tab afresh
        add_devices(app, "York", "NW-york-04")
    few, text = queries_of_a_fresh_tab()
    assert len(breakdown(text)) == 5
    with app.app_context():
        north = account("Northwind Retail")
        with db.atomic():
            for n in range(30):
                Location.create(account=north, name=f"Shop {n:02d}", external_id=f"s{n}")
    many, text = queries_of_a_fresh_tab()
    assert len(breakdown(text)) == 35 and many == few > 0


def test_use3_overage_sentence_in_french(app, client, auth):
    auth.login(as_="admin@northwind.example")
    add_devices(app, "York", *(f"NW-york-{n:02d}" for n in range(4, 12)))
    text = page(client, **{"Accept-Language": "fr"})
    note = overage_note(text)
    assert note.startswith("Les 3 abonnements de sites supplémentaires sont facturés le "
                           "1 déc. 2026")
    assert "3 × 49,00" in note and "147,00" in note and "extra" not in note
    assert "Pourquoi 9 abonnements de sites pour 5 sites ?" in text


def test_operator_sees_the_same_breakdown(client, auth, app):
    with app.app_context():
        north = account("Northwind Retail")
    auth.login(as_="operator@example.com")
    text = html.unescape(client.get(f"/operator/accounts/{north.id}").get_data(as_text=True))
    assert len(breakdown(text)) == 5 and overage_note(text).startswith("The 1 extra")


def test_sub_quantity_unchanged_for_cancelled_usage_plan_no_overage(app, client, auth):
    with app.app_context():
        sub = sub_of(account("Northwind Retail"), "locations")
        Subscription.update(status="cancelled").where(Subscription.id == sub.id).execute()
    auth.login(as_="admin@northwind.example")
    assert overage_note(page(client)) is None  # a cancelled plan is not billed (USE-3)


def test_dev1_device_plan_says_which_subscribed_devices_are_no_longer_billed(app, client,
                                                                             auth):
    auth.login(as_="admin@corner.example")
    text = page(client)
    assert bars(text) == [(3, 5, "ok")]
    assert unbilled_note(text) == (2, "2 subscribed devices are not in use: they are no "
                                      "longer billed from Dec 1, 2026.")
    french = page(client, **{"Accept-Language": "fr"})
    assert "2 appareils souscrits ne sont pas utilisés" in unbilled_note(french)[1]
    with app.app_context():
        cards_for_demo()
        run(app, DEC1)
    text = page(client)
    assert bars(text) == [(3, 3, "full")] and unbilled_note(text) is None


def test_seat_plans_have_no_overage_or_unbilled_sentence(client, auth):
    auth.login(as_="admin@atelier.example")
    text = page(client)
    assert bars(text) == [(4, 5, "ok"), (2, 2, "full")]
    assert unbilled_note(text) is None and overage_note(text) is None


def test_use3_sub4_a_scheduled_cancellation_or_plan_change_ends_the_overage_note(app, client,
                                                                                 auth):
    """The sentence states what the next payment date bills (rule SUB-4): a cancellation
    scheduled before it, or a move to another plan, leaves nothing to say; withdrawing it
    brings the sentence back. The usage tab is cached: the scheduled change renews the
    account's usage stamp (migration 020), so the cached tab never outlives it."""
    from portal.billing import orders
    from portal.billing.changes import Terms
    from portal.gateways import active_gateway
    from portal.models import Plan
    from portal.plugins import plugin_manager
    from support.changes import DEMO_TODAY

    auth.login(as_="admin@northwind.example")
    assert overage_note(page(client))  # rendered, and cached under the current stamp
    with app.app_context():
        sub = sub_of(account("Northwind Retail"), "locations")
        wanted = Terms(sub.plan, sub.interval, sub.quantity, 0)
        preview, digest = orders.review_state(sub, wanted, today=DEMO_TODAY, cancel=True)
        order, _ = orders.place_order(sub.id, wanted, review_key="use3-cancel",
                                   expected={"fingerprint": digest, **preview.figures()},
                                   today=DEMO_TODAY, cancel=True,
                                   gateway=active_gateway(plugin_manager(app), app.config))
        change_id = order.pending_change_id
    text = page(client)
    assert bars(text)[0] == (7, 6, "over")  # still over today...
    assert overage_note(text) is None  # ...but nothing is billed for it: the plan ends
    with app.app_context():
        orders.withdraw(sub_of(account("Northwind Retail"), "locations"), change_id,
                        today=DEMO_TODAY)
    assert overage_note(page(client)).startswith("The 1 extra location subscription")
    with app.app_context():  # a move to the devices plan: the location overage is not billed
        sub = sub_of(account("Northwind Retail"), "locations")
        devices = Plan.get(Plan.code == "devices")
        wanted = Terms(devices, sub.interval, 1, 0)
        preview, digest = orders.review_state(sub, wanted, today=DEMO_TODAY)
        orders.place_order(sub.id, wanted, review_key="use3-devices",
                           expected={"fingerprint": digest, **preview.figures()},
                           today=DEMO_TODAY,
                           gateway=active_gateway(plugin_manager(app), app.config))
    assert overage_note(page(client)) is None


def test_loc1_breakdown_shows_the_first_locations_and_every_one_on_request(app, client, auth):
    """Issue #20 (docs/decisions.md): the usage tab's per-location breakdown lists the
    first 25 locations by name, says how many there are and links to every one; the totals
    still count every location (LOC-1, LOC-2), and ``?locations=all`` lists them all,
    opened, on the page and in the htmx partial."""
    from portal.views.subscription import BREAKDOWN_ROWS

    auth.login(as_="admin@northwind.example")
    assert len(breakdown(page(client))) < BREAKDOWN_ROWS  # a few shops: all of them shown
    assert "data-breakdown-more" not in page(client)
    with app.app_context():
        account_id = Location.get(Location.name == "York").account_id
        for n in range(30):
            Location.create(account=account_id, name=f"Pop-up {n:02d}", external_id=f"pop-{n}")
    text = page(client)
    shown = breakdown(text)
    assert len(shown) == BREAKDOWN_ROWS and shown == sorted(shown, key=lambda r: r[0])
    used = bars(text)[0][0]  # every location counted in the total, shown or not
    assert f'<td class="num">{used}</td>' in text.split("data-location-total")[1]
    more = re.search(r'data-breakdown-more="(\d+)"', text)
    assert more and "Show every location" in text and 'href="/subscription/?locations=all"' in text
    full = html.unescape(client.get("/subscription/?locations=all").get_data(as_text=True))
    every = breakdown(full)
    assert len(every) == BREAKDOWN_ROWS + int(more.group(1)) and every[:BREAKDOWN_ROWS] == shown
    assert sum(needs for _name, _devices, needs in every) == used
    assert 'data-breakdown="locations" open' in full and "data-breakdown-more" not in full
    partial = client.get("/subscription/?locations=all", headers={"HX-Request": "true"})
    assert len(breakdown(partial.get_data(as_text=True))) == len(every)
    french = page(client, **{"Accept-Language": "fr"})
    assert "Afficher tous les sites" in french
