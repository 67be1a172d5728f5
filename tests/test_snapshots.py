"""The daily account snapshots (issue #18.5): the huey periodic task and the cron command
write one row per account and day, whatever runs them and how often."""
from __future__ import annotations

import datetime as dt

from portal import demo_trials, periodic
from portal.billing import pricing
from portal.metrics import snapshots
from portal.models import Account, AccountSnapshot, Device
from support.database import DEMO_TODAY

DAY = dt.date(2026, 11, 23)


def test_taking_a_day_twice_writes_it_once(app_ctx):
    accounts = Account.select().count()
    assert snapshots.take(DAY) == accounts
    assert snapshots.take(DAY) == 0
    assert AccountSnapshot.select().where(AccountSnapshot.day == DAY).count() == accounts


def test_a_snapshot_holds_the_billing_engines_usage_and_the_subscriptions(app_ctx):
    snapshots.take(DAY)
    north = Account.get(Account.name == "Northwind Retail")
    snap = AccountSnapshot.get((AccountSnapshot.account == north) & (AccountSnapshot.day == DAY))
    usage = pricing.account_usage(north.id)
    assert (snap.devices, snap.locations, snap.location_subscriptions, snap.seats) == (
        usage.devices, usage.locations, usage.location_subscriptions, usage.seats)
    assert snap.active_subscriptions == 2
    assert "locations:monthly:6+0" in snap.plans


def test_a_day_already_taken_keeps_its_first_figures(app_ctx):
    snapshots.take(DAY)
    north = Account.get(Account.name == "Northwind Retail")
    first = AccountSnapshot.get((AccountSnapshot.account == north) & (AccountSnapshot.day == DAY))
    Device.update(active=False).where(Device.account == north).execute()
    snapshots.take(DAY)
    snapshots.take(DAY + dt.timedelta(days=1))
    again = AccountSnapshot.get((AccountSnapshot.account == north) & (AccountSnapshot.day == DAY))
    nextday = AccountSnapshot.get((AccountSnapshot.account == north)
                                  & (AccountSnapshot.day == DAY + dt.timedelta(days=1)))
    assert again.devices == first.devices > 0
    assert nextday.devices == 0


def test_the_periodic_task_and_the_command_agree(app, runner):
    app.config["TODAY"] = DEMO_TODAY
    with app.app_context():
        written = periodic.daily_snapshots.call_local()
        assert written == Account.select().count()
    result = runner.invoke(args=["snapshots", "take"])
    assert result.exit_code == 0, result.output
    assert "0 snapshot(s) taken for 2026-11-23" in result.output
    result = runner.invoke(args=["snapshots", "take", "--date", "2026-11-24"])
    assert f"{written} snapshot(s) taken for 2026-11-24" in result.output
    with app.app_context():
        assert AccountSnapshot.select().count() == 2 * written


TRIAL_ACCOUNTS = {name for name, *_rest in demo_trials.TRIALS}


def test_the_demo_history_has_a_snapshot_per_account_and_day(history_app):
    from portal.db import db

    with history_app.app_context():
        db.connect(reuse_if_open=True)
        days = sorted({s.day for s in AccountSnapshot.select(AccountSnapshot.day)})
        assert days[-1] == DEMO_TODAY
        assert days[0] <= DEMO_TODAY - dt.timedelta(days=360)
        assert len(days) == (days[-1] - days[0]).days + 1  # no day missing
        # every account, every day from its first (the trial accounts of TRI-1 open later)
        for account in Account.select():
            mine = sorted(s.day for s in AccountSnapshot.select(AccountSnapshot.day)
                          .where(AccountSnapshot.account == account.id))
            assert mine[-1] == DEMO_TODAY and len(mine) == (mine[-1] - mine[0]).days + 1
            assert len(mine) == len(days) or account.name in TRIAL_ACCOUNTS, account.name
        db.close()


def test_the_worker_runs_the_snapshots_every_day_at_half_past_midnight():
    from portal import worker

    at = dt.datetime(2026, 11, 23, 0, 30)
    assert "daily_snapshots" in {t.name for t in worker.huey.read_periodic(at)}
    assert "daily_snapshots" not in {t.name for t in worker.huey.read_periodic(
        at + dt.timedelta(minutes=1))}
