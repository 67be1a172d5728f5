"""The demo history's trials (rule TRI-1), made through the services as people would:
each account opened on its trial's first day, its subscription started with a 14-day
trial, a card added (or not) by its admin; the daily billing run of the history
(portal/demo_history.py) converts or ends each trial on its last day. What it leaves:

- Fjord Studio (admin@fjord.example): in its trial, a card on file, converts in 9 days;
- Kiosk Nord: its trial converted a week ago (a card on file), its first invoice paid;
- Maple Pop-up: its trial ended 12 days ago without a payment method: nothing charged.
"""
from __future__ import annotations

import datetime as dt

TRIAL_DAYS = 14
# name, admin email, admin name, days before today the trial started, a card on file
TRIALS = (("Fjord Studio", "admin@fjord.example", "Frida Admin", 4, True),
          ("Kiosk Nord", "admin@kiosk.example", "Karl Admin", 20, True),
          ("Maple Pop-up", "admin@maple.example", "Mia Admin", 25, False))
DETAILS = {"address_line1": "5 Harbour Lane", "postal_code": "BS1 5TT", "city": "Bristol",
           "country": "GB"}


def schedule(timeline, today: dt.date, gateway) -> None:
    """Each trial's first day on ``timeline``: open the account, start the trial, add
    the card."""
    for name, email, person, days_ago, card in TRIALS:
        timeline.on(today - dt.timedelta(days=days_ago),
                    lambda day, n=name, e=email, p=person, c=card: _start(day, n, e, p, c,
                                                                           gateway))


def _start(day, name, email, person, card, gateway) -> None:
    from . import demo, payments
    from .accounts import onboarding
    from .catalogue import start_subscription
    from .models import Plan

    account = onboarding.open_account(name, details=DETAILS, via="demo")
    admin = demo._user(email, person, account, role="admin")
    start_subscription(account, Plan.get(Plan.code == "team"), interval="monthly",
                       quantity=2, start=day, trial_days=TRIAL_DAYS)
    if card:
        payments.add_card(account, admin, "fake-valid-visa-nonce", gateway)
