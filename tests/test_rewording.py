"""Phrases stored at issue, said again in the reader's language (issue 13, item 4)."""
import pytest

from portal.billing import wording as w
from portal.billing.rewording import reword


@pytest.mark.parametrize("msgid, params", [
    (w.CARD, {"brand": "American Express", "last4": "0005"}),
    (w.RECORDED_BY_OPERATOR, {}),
    (w.CARRIED_FROM, {"number": "INV-000007"}),
    (w.CREDIT_NOTE_LINE, {"note": "CN-1", "invoice": "INV-2"}),
    (w.PRORATION_LINE, {"old": "Team", "new": "Business", "users": 5, "addons": 2,
                        "day": "Dec 5, 2026"}),  # a day that is no ISO day stays as written
])
def test_every_phrase_goes_both_ways(msgid, params):
    english, french = w.say("en", msgid, **params), w.say("fr", msgid, **params)
    assert reword(english, "fr") == french != english or not params and french == english
    assert reword(french, "en") == english


def test_nested_phrases_and_unknown_text():
    line = w.say("fr", w.PRO_RATA, line=w.say("fr", w.PLAN_LINE["annual"], plan="Team",
                                              units=w.say("fr", w.UNITS["seat"])),
                 days=9, month_days=30)
    assert reword(line, "en") == "Team, annual (seats) (pro rata 9/30 days)"
    card = w.say("fr", w.CARD_PAYMENT, card=w.say("fr", w.CARD, brand="Visa", last4="1881"))
    assert reword(card, "en") == "Card payment: Visa ending 1881"
    assert reword("Card payment: Visa ending 1881", "fr") == card
    plan = w.say("en", w.PLAN_LINE["monthly"], plan="Team, Pro", units="seats")
    assert reword(reword(plan, "fr"), "en") == plan != reword(plan, "fr")
    assert reword("Paid by cheque #12", "fr") == "Paid by cheque #12"
    assert reword(w.say("fr", w.CARD_PAYMENT, card="braintree"), "en") == \
        "Card payment: braintree"


def test_proration_line_prints_the_readers_date_and_no_arrow():
    """Issue 17: no "->" and no ISO dates on invoice lines; Babel dates in the reader's
    language (the day is stored as an ISO day, said as a date when printed)."""
    stored = w.say("fr", w.PRORATION_LINE, old="Team", new="Business", users=5, addons=2,
                   day="2026-12-05")
    assert "->" not in stored
    assert reword(stored, "en") == ("Change from Team to Business (5 + 2 add-on), prorated "
                                    "from Dec 5, 2026 to the next payment date")
    french = reword(stored, "fr")
    assert "5 déc. 2026" in french and "2026-12-05" not in french and "->" not in french
