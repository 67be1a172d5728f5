"""The metrics page keeps its figures per worker (portal/metrics/kept.py, issue #20) and
never shows them stale after a change an operator would look for (MET-1, MET-2: the
figures are the billing records'): each kind of change, made through the service that
makes it, shows on the very next request; a change no new row announces shows once the
backstop expires, and the page says when its figures were computed."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from portal.billing import changes, dunning, trials
from portal.billing.invoices import Line, issue_credit_note, issue_invoice, mark_paid
from portal.catalogue import start_subscription
from portal.db import db
from portal.metrics import kept
from portal.models import Account, PendingChange, Plan, Subscription
from portal.statuses import LineKind
from portal.views.operator.metrics import EXTENSION
from support.database import DEMO_TODAY
from support.pages import counted_queries

pytestmark = pytest.mark.app_config(TODAY=DEMO_TODAY)


class Clock:
    """The kept figures' timer, moved by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def timer(app):
    clock = Clock()
    app.extensions[EXTENSION] = kept.Kept(timer=clock)
    return clock


@pytest.fixture
def operator(client, auth, timer):
    auth.login(as_="operator@example.com")
    return client


def figure(client, name: str) -> Decimal:
    response = client.get("/operator/metrics")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    [tag] = [t for t in re.findall(rf'<[^>]*\bdata-metric="{name}"[^>]*>', page)
             if 'data-currency="USD"' in t]
    return Decimal(re.search(r'data-value="([^"]*)"', tag).group(1))


def change(app, action):
    with app.app_context():
        db.connect(reuse_if_open=True)
        with db.atomic():
            action()
        db.close()


def account(name: str) -> Account:
    return Account.get(Account.name == name)


def test_nothing_changed_nothing_computed(app, operator):
    """The second request reads the stamp alone (one statement besides the session's) and
    shows the same figures, computed at the same time."""
    first = operator.get("/operator/metrics").get_data(as_text=True)
    with counted_queries() as counted:
        second = operator.get("/operator/metrics").get_data(as_text=True)
    assert counted.count <= 3, counted.count
    assert app.extensions[EXTENSION].hits == 1
    stamp = re.compile(r'data-computed-at="([^"]+)"')
    assert stamp.search(first).group(1) == stamp.search(second).group(1)
    assert "Figures as of" in second


def test_met1_a_new_subscription_counts_on_the_next_request(app, operator):
    before = figure(operator, "mrr")
    change(app, lambda: start_subscription(account("Corner Bakeries"),
                                           Plan.get(Plan.code == "team"), interval="monthly",
                                           quantity=4, start=DEMO_TODAY))
    assert figure(operator, "mrr") > before
    assert figure(operator, "active_subscriptions") == 5


def test_tri1_a_trial_ending_shows_on_the_next_request(app, operator):
    """A trial's end changes its subscription in place; the audit entry written with it
    is a new stamp."""
    change(app, lambda: start_subscription(account("Corner Bakeries"),
                                           Plan.get(Plan.code == "team"), interval="monthly",
                                           quantity=2, start=DEMO_TODAY - dt.timedelta(days=14),
                                           trial_days=14))
    assert figure(operator, "trials_active") == 1

    def end():
        trial = Subscription.get(Subscription.status == "trialing")
        trials.finish([trial], {}, DEMO_TODAY)

    change(app, end)
    assert figure(operator, "trials_active") == 0
    assert figure(operator, "trials_ended") == 1


def unpaid_invoice(amount="90.00"):
    return issue_invoice(account("Atelier Space"),
                         [Line.flat(LineKind.PRORATION, "Seats", Decimal(amount))],
                         day=DEMO_TODAY - dt.timedelta(days=10),
                         due_on=DEMO_TODAY - dt.timedelta(days=10))


def test_a_new_invoice_past_due_and_its_credit_note_show_at_once(app, operator):
    assert figure(operator, "past_due") == 0
    change(app, unpaid_invoice)
    assert figure(operator, "past_due") == Decimal("90.00")
    change(app, lambda: issue_credit_note(account("Atelier Space").invoices.get(),
                                          Decimal("15.00"), "Goodwill", day=DEMO_TODAY))
    assert figure(operator, "past_due") == Decimal("75.00")


def test_a_failed_payment_recovered_shows_at_once(app, operator):
    """A dunning step is an in-place update (seen with its invoice here); the payment that
    recovers it writes a receipt: the recovered amount and the past due change on the next
    request."""
    def failed():
        dunning.record_failure(unpaid_invoice(), day=DEMO_TODAY - dt.timedelta(days=10),
                               config={})

    change(app, failed)
    assert figure(operator, "recovered_by_dunning") == 0
    assert figure(operator, "past_due") == Decimal("90.00")
    change(app, lambda: mark_paid(account("Atelier Space").invoices.get(), reference="wire 7",
                                  day=DEMO_TODAY))
    assert figure(operator, "recovered_by_dunning") == Decimal("90.00")
    assert figure(operator, "past_due") == 0


def test_a_new_day_computes_afresh(app, operator):
    first = operator.get("/operator/metrics").get_data(as_text=True)
    app.config["TODAY"] = DEMO_TODAY + dt.timedelta(days=1)
    second = operator.get("/operator/metrics").get_data(as_text=True)
    assert app.extensions[EXTENSION].hits == 0
    assert first != second


def test_a_change_no_row_announces_shows_when_the_backstop_expires(app, operator, timer):
    """The billing run applying a scheduled cancellation changes the subscription in place
    and writes no row: the figures keep their stamp until ``kept.TTL`` seconds have passed
    since they were computed, then the churn shows."""
    def scheduled():
        PendingChange.create(subscription=account("Atelier Space").subscriptions.get(),
                             effective_on=DEMO_TODAY, cancel=True)

    change(app, scheduled)
    before = figure(operator, "mrr")

    def applied():
        sub = account("Atelier Space").subscriptions.get()
        changes.apply_due_changes(sub, DEMO_TODAY)

    change(app, applied)
    timer.now += kept.TTL - 1
    assert figure(operator, "mrr") == before  # within the backstop: as computed
    timer.now += 2
    assert figure(operator, "mrr") < before


def test_the_rendered_figures_are_kept_per_language(app, operator):
    """The figures are rendered once per computation *and* locale: a French reader after
    an English one reads French (words, amounts and months)."""
    operator.get("/operator/")  # the welcome message is shown there, not on the figures
    english = operator.get("/operator/metrics", headers={"Accept-Language": "en"})
    french = operator.get("/operator/metrics", headers={"Accept-Language": "fr"})
    again = operator.get("/operator/metrics", headers={"Accept-Language": "en"})
    assert "Figures as of" in english.get_data(as_text=True)
    assert "Chiffres à" in french.get_data(as_text=True)
    assert "Figures as of" not in french.get_data(as_text=True)
    assert again.get_data(as_text=True) == english.get_data(as_text=True)
    assert app.extensions[EXTENSION].hits == 2  # computed once for both languages
