"""What the page speed-ups keep: compiled SQL (portal.db.Prepared) returns what the query
itself returns, and template translations looked up once per request still follow every
change of language within the request (portal.i18n.translations)."""
from __future__ import annotations

import pytest
from flask import render_template_string
from flask_babel import force_locale, refresh
from peewee import JOIN

from portal.db import Prepared, db
from portal.models import Account, Plan, Subscription, User


def test_prepared_returns_the_rows_and_joined_models_of_the_query(app):
    users = Prepared(lambda account_id: User.select(User, Account)
                     .join(Account, JOIN.LEFT_OUTER).where(User.account == account_id)
                     .order_by(User.id))
    with app.app_context():
        db.connect(reuse_if_open=True)
        for account in Account.select():
            expected = list(User.select(User, Account).join(Account, JOIN.LEFT_OUTER)
                            .where(User.account == account.id).order_by(User.id))
            got = users(account.id)  # the same SQL each time, new parameters
            assert [(u.id, u.email, u.role) for u in got] == \
                   [(u.id, u.email, u.role) for u in expected]
            assert all(u.account.name == account.name for u in got)
        assert users(10**9) == []


def test_prepared_sees_writes_made_after_it_compiled(app):
    subs = Prepared(lambda account_id: Subscription.select(Subscription, Plan).join(Plan)
                    .where(Subscription.account == account_id).order_by(Subscription.id))
    with app.app_context():
        db.connect(reuse_if_open=True)
        sub = Subscription.select().first()
        before = subs(sub.account_id)
        Subscription.update(quantity=sub.quantity + 7).where(Subscription.id == sub.id).execute()
        after = subs(sub.account_id)
        assert [s.quantity for s in after if s.id == sub.id] == [sub.quantity + 7]
        assert len(after) == len(before) and after[0].plan.code == before[0].plan.code


def test_prepared_refuses_a_query_whose_parameters_are_not_its_arguments(app):
    # The LIMIT is a bound parameter of its own: cached SQL could not run with new values.
    first = Prepared(lambda email: User.select().where(User.email == email).limit(1))
    with app.app_context():
        db.connect(reuse_if_open=True)
        with pytest.raises(ValueError, match="binds"):
            first("admin@northwind.example")


GREETING = "{{ _('Manage subscription') }}"


def test_template_translations_follow_force_locale_and_refresh(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert render_template_string(GREETING) == "Manage subscription"
        with force_locale("fr"):  # a document in the account's language
            french = render_template_string(GREETING)
        assert french != "Manage subscription" and "abonnement" in french.lower()
        assert render_template_string(GREETING) == "Manage subscription"  # back again
        with force_locale("fr"):
            refresh()  # within a forced locale refresh keeps the forced one
            assert render_template_string(GREETING) == french
        assert render_template_string(GREETING) == "Manage subscription"


def test_each_request_gets_its_own_language(app):
    for lang, check in (("fr", "abonnement"), ("en", "Manage subscription"), ("fr", "abonnement")):
        with app.test_request_context(headers={"Accept-Language": lang}):
            assert check.lower() in render_template_string(GREETING).lower()
