"""An account's locations and devices: the service behind the API and the operator
screens (rules DEV-1, DEV-2, DEV-3, LOC-1, LOC-2). Members are memberships:
portal/accounts/memberships.py.

Every function is idempotent on its external id (a location's external id, a device's
serial): sending the same thing again changes nothing and says
``unchanged``. Each runs in one transaction and, when it refuses, raises
``InventoryError`` having written nothing. Quantities are not stored anywhere: the
billing engine counts the live rows (LOC-2), so removing a device lowers the next bill
(DEV-1) with nothing else to update.
"""
from __future__ import annotations

from dataclasses import dataclass

import peewee as pw
from flask_babel import gettext as _

from ..db import db, write_transaction
from ..events import DeviceAdded, emit
from ..models import Account, AuditEvent, Device, Location, utcnow
from ..plugins import plugin_manager



class InventoryError(Exception):
    """A refusal: a machine ``code``, a sentence for people, an HTTP status, the field."""

    def __init__(self, code: str, message: str, status: int = 409, field: str | None = None):
        super().__init__(message)
        self.code, self.message, self.status, self.field = code, message, status, field


@dataclass(frozen=True)
class Change:
    """What a call did: ``result`` is created, reactivated, moved, updated, removed,
    activated, deactivated or unchanged."""

    obj: object
    result: str

    @property
    def created(self) -> bool:
        return self.result == "created"


def _audit(account, actor, action: str, detail: str) -> None:
    AuditEvent.create(account=account.id, actor=actor, action=action, detail=detail)


# --- locations ---

def location_of(account: Account, external_id: str, *, active_only=False) -> Location:
    """The account's location with this external id, or a 404 refusal (no leak)."""
    query = Location.select().where((Location.account == account.id)
                                    & (Location.external_id == external_id))
    if active_only:
        query = query.where(Location.active == True)  # noqa: E712
    found = query.first()
    if found is None:
        raise InventoryError("unknown_location",
                             _("No location with this external id in this account."), 404)
    return found


def put_location(account: Account, external_id: str, name: str | None = None,
                 actor=None) -> Change:
    """Add a location, or bring a removed one back, or rename it (LOC-1: it counts at once)."""
    with write_transaction():
        loc = Location.get_or_none((Location.account == account.id)
                                   & (Location.external_id == external_id))
        if loc is None:
            try:
                with db.atomic():
                    loc = Location.create(account=account.id, external_id=external_id,
                                          name=name or external_id)
            except pw.IntegrityError:  # the same call, retried concurrently, won
                return Change(location_of(account, external_id), "unchanged")
            _audit(account, actor, "location.add", external_id)
            return Change(loc, "created")
        result = "unchanged"
        if not loc.active:
            loc.active, loc.removed_at, result = True, None, "reactivated"
        if name and name != loc.name:
            loc.name, result = name, ("updated" if result == "unchanged" else result)
        if result != "unchanged":
            loc.save()
            _audit(account, actor, f"location.{result}", external_id)
        return Change(loc, result)


def remove_location(account: Account, external_id: str, actor=None) -> Change:
    """Remove a location and the devices standing there (DEV-1: billed less from the next
    payment date on)."""
    with write_transaction():
        loc = location_of(account, external_id)
        now = utcnow()
        removed = (Location.update(active=False, removed_at=now)
                   .where((Location.id == loc.id) & (Location.active == True))  # noqa: E712
                   .execute())
        if not removed:
            return Change(loc, "unchanged")
        (Device.update(active=False, removed_at=now)
         .where((Device.location == loc.id) & (Device.active == True)).execute())  # noqa: E712
        _audit(account, actor, "location.remove", external_id)
        return Change(Location.get_by_id(loc.id), "removed")


# --- devices ---

def device_of(account: Account, serial: str, field: str | None = None) -> Device:
    """The account's device with this serial, or a refusal (404 in a path, 422 in a body)."""
    found = Device.get_or_none((Device.account == account.id) & (Device.serial == serial))
    if found is None:
        raise InventoryError("unknown_device", _("No device with this serial in this account."),
                             422 if field else 404, field)
    return found


def _check_replacement(device_id, original: Device) -> None:
    """DEV-3: one live replacement per device, never itself, never a loop."""
    if original.id == device_id:
        raise InventoryError("invalid_rma", _("A device cannot replace itself."), 422,
                             "replaces")
    other = (Device.select().where((Device.rma_replacement_of == original.id)
                                   & (Device.active == True)  # noqa: E712
                                   & (Device.id != (device_id or 0))).first())
    if other is not None:
        raise InventoryError("already_replaced",
                             _("Device %(serial)s already has a replacement: %(other)s.",
                               serial=original.serial, other=other.serial), 409, "replaces")
    seen, step = set(), original
    while step is not None and step.rma_replacement_of_id is not None and step.id not in seen:
        seen.add(step.id)
        if step.rma_replacement_of_id == device_id:
            raise InventoryError("invalid_rma", _("These devices would replace each other."),
                                 422, "replaces")
        step = Device.get_or_none(Device.id == step.rma_replacement_of_id)


def put_device(account: Account, serial: str, location: str, replaces: str | None = None,
               actor=None) -> Change:
    """Add a device at a location (or move or bring it back); a new device is announced
    to the account's people once (DEV-2), an RMA replacement never (DEV-3)."""
    announce_since = None
    with write_transaction():
        loc = Location.get_or_none((Location.account == account.id)
                                   & (Location.external_id == location)
                                   & (Location.active == True))  # noqa: E712
        if loc is None:
            raise InventoryError("unknown_location",
                                 _("No active location with this external id in this account; "
                                   "add the location first."), 422, "location")
        original = device_of(account, replaces, field="replaces") if replaces else None
        device = Device.get_or_none((Device.account == account.id) & (Device.serial == serial))
        if original is not None:
            _check_replacement(device.id if device else None, original)
        if device is None:
            try:
                with db.atomic():
                    device = Device.create(account=account.id, location=loc.id, serial=serial,
                                           rma_replacement_of=original)
            except pw.IntegrityError:  # the same call, retried concurrently, won
                return Change(device_of(account, serial), "unchanged")
            result, announce_since = "created", "new"
        elif not device.active:
            back = (Device.update(active=True, removed_at=None, location=loc.id,
                                  rma_replacement_of=original)
                    .where((Device.id == device.id) & (Device.active == False))  # noqa: E712
                    .execute())
            if not back:
                return Change(device_of(account, serial), "unchanged")
            result = "reactivated"
            announce_since = (device.removed_at or utcnow()).isoformat()
            device = Device.get_by_id(device.id)
        else:
            result = "unchanged"
            if device.location_id != loc.id:
                device.location, result = loc.id, "moved"
            if original is not None and device.rma_replacement_of_id != original.id:
                device.rma_replacement_of = original.id
                result = "updated" if result == "unchanged" else result
            if result != "unchanged":
                device.save()
        if result != "unchanged":
            _audit(account, actor, f"device.{result}", f"{serial} at {location}"
                   + (f", RMA replacement of {original.serial}" if original else ""))
    if announce_since and device.rma_replacement_of_id is None:
        announce_new_device(device, announce_since)
    return Change(device, result)


def remove_device(account: Account, serial: str, actor=None) -> Change:
    """Remove a device (DEV-1: billed less from the next payment date on)."""
    with write_transaction():
        device = device_of(account, serial)
        removed = (Device.update(active=False, removed_at=utcnow())
                   .where((Device.id == device.id) & (Device.active == True))  # noqa: E712
                   .execute())
        if not removed:
            return Change(device, "unchanged")
        _audit(account, actor, "device.remove", serial)
        return Change(Device.get_by_id(device.id), "removed")


def mark_rma(account: Account, serial: str, replaces: str | None, actor=None) -> Change:
    """Mark a device as the RMA replacement of another (DEV-3), or clear the mark (None)."""
    with write_transaction():
        device = device_of(account, serial)
        original = device_of(account, replaces, field="replaces") if replaces else None
        if (original.id if original else None) == device.rma_replacement_of_id:
            return Change(device, "unchanged")
        if original is not None:
            _check_replacement(device.id, original)
        device.rma_replacement_of = original.id if original else None
        device.save()
        _audit(account, actor, "device.rma" if original else "device.rma_cleared",
               f"{serial} replaces {original.serial}" if original else serial)
        return Change(device, "updated")


def announce_new_device(device: Device, since: str) -> None:
    """DEV-2: emit ``DeviceAdded`` (the notifier tells the account's admins and active
    members, once per device and ``since``: "new" or when it had been removed)."""
    emit(plugin_manager(), [DeviceAdded(device.account_id, device.id, since)])
