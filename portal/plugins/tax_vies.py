"""An optional check of EU VAT numbers with the European Commission's VIES service
(``portal_vat_id_valid``), on when PORTAL_VIES_URL is set.

It POSTs ``{"countryCode", "vatNumber"}`` to the URL (VIES's REST check-vat-number
endpoint) and reads ``valid``. Any failure (timeout, an answer it cannot read) answers
None: the number then counts on its checksum alone, so an outage of VIES never blocks
an invoice. The tests point it at a local fake; nothing in them reaches VIES.
"""
from __future__ import annotations

import json
import logging
import urllib.request

from ..hookspecs import hookimpl

log = logging.getLogger("portal.tax_vies")
TIMEOUT = 10


@hookimpl
def portal_vat_id_valid(vat_id, config):
    url = (config or {}).get("VIES_URL") or ""
    if not url:
        return None
    number = "".join(ch for ch in vat_id.upper() if ch.isalnum())
    body = json.dumps({"countryCode": number[:2], "vatNumber": number[2:]}).encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310
            valid = json.loads(answer.read()).get("valid")
    except Exception as exc:  # VIES down or changed: decide on the checksum
        log.warning("VIES check of %s failed: %s", number[:2], exc)
        return None
    return valid if isinstance(valid, bool) else None
