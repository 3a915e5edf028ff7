"""The client as an app starts it: open, log in, enroll, pull, read the lists; and the typed
errors that cross the FFI as Python exceptions with stable codes."""

from __future__ import annotations

import re
import uuid

import pytest

import kobiri_testkit as kit

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def raised(kobiri, call, *args):
    """The MobileError `call(*args)` raises (fails the test if it returns)."""
    with pytest.raises(kobiri.MobileError) as info:
        call(*args)
    error = info.value
    # Every error carries its French message for the user, and none is blank as an exception.
    assert error.user_message().strip(), repr(error)
    assert str(error).strip(), repr(error)
    return error


def test_an_empty_database_has_nothing_pending_and_no_device(phones):
    client = phones.open("empty")
    status = client.sync_status()
    assert status.pending_count == 0
    assert status.oldest_pending_age_seconds is None
    assert status.last_error is None
    assert status.last_sync_at is None
    assert status.cursors == []
    assert status.device_id is None
    assert client.list_tontines() == []
    view = client.reconciliation()
    assert (view.accepted, view.flagged, view.rejected, view.pending, view.cash_held) == ([], [], [], [], [])


def test_login_and_enrollment_are_idempotent(phones, circle, api):
    client = phones.open("collector")
    client.login(circle.collector.email, kit.PASSWORD)
    device = client.enroll_device("Téléphone d'Aminata", "android")
    assert UUID.match(device), device
    # Enrolling again answers the stored id and enrolls nothing new on the server.
    assert client.enroll_device("Un autre nom", "ios") == device
    assert client.sync_status().device_id == device
    listed = api.get("/api/v1/devices", circle.collector.access)
    assert [d["device_id"] for d in listed] == [device]
    # Logging in again (by phone number this time) keeps the device.
    client.login(circle.collector.phone, kit.PASSWORD)
    assert client.enroll_device("x", "android") == device
    assert len(api.get("/api/v1/devices", circle.collector.access)) == 1


def test_pull_brings_the_tontine_its_members_and_sessions(phones, circle):
    client = phones.open("collector")
    client.login(circle.collector.email, kit.PASSWORD)
    client.enroll_device("Téléphone", "android")
    report = client.pull()
    assert report.pushed == 0
    assert report.pulled_changes > 0
    assert not report.has_more

    [tontine] = client.list_tontines()
    assert tontine.id == circle.id
    assert tontine.name == circle.tontine["name"]
    assert tontine.currency == "XOF"
    assert tontine.contribution_amount == "5000"
    assert tontine.frequency == "mensuel"

    members = client.list_members(circle.id)
    roles = {m.id: m.role for m in members}
    assert roles == {
        circle.member_id(circle.president): "president",
        circle.member_id(circle.treasurer): "tresorier",
        circle.member_id(circle.collector): "collecteur",
        circle.member_id(circle.members[0]): "membre",
        circle.member_id(circle.members[1]): "membre",
    }
    awa = next(m for m in members if m.id == circle.member_id(circle.members[0]))
    assert (awa.first_name, awa.last_name, awa.user_id) == ("Awa", "Diop", circle.members[0].id)
    assert awa.is_active
    assert all(m.sync_state == phones.kobiri.SyncState.APPLIED for m in members)

    sessions = client.list_sessions(circle.id)
    assert [s.session_number for s in sessions] == [1, 2, 3, 4, 5]
    assert [s.id for s in sessions] == [s["id"] for s in circle.sessions]
    assert sessions[0].status == "en_cours"
    assert all(s.status == "programmee" for s in sessions[1:])
    assert sessions[0].collected_amount == "0"
    assert client.list_payments(circle.id) == []

    status = client.sync_status()
    assert [c.tontine_id for c in status.cursors] == [circle.id]
    assert status.cursors[0].cursor > 0
    assert status.last_sync_at is not None
    assert status.last_error is None
    # Pulling again with nothing new changes nothing.
    again = client.pull()
    assert again.pulled_changes == 0
    assert client.sync_status().cursors[0].cursor == status.cursors[0].cursor


def test_errors_before_login_and_enrollment_have_stable_codes(phones, kobiri):
    e = raised(kobiri, kobiri.KobiriClient.open, phones.db("bad"), "ftp://kobiri.example")
    assert isinstance(e, kobiri.MobileError.Validation)
    assert (e.code(), e.field) == ("validation", "server_url")

    client = phones.open("fresh")
    some = str(uuid.uuid4())
    e = raised(kobiri, client.record_cash_payment, some, some, some, "5000")
    assert isinstance(e, kobiri.MobileError.NotEnrolled)
    assert e.code() == "not_enrolled"
    assert e.detail == e.user_message()
    assert "enregistr" in e.detail
    e = raised(kobiri, client.sync)
    assert e.code() == "not_enrolled"
    e = raised(kobiri, client.record_member, some, "+221770000000", "Awa", "Diop")
    assert e.code() == "not_enrolled"
    e = raised(kobiri, client.enroll_device, "Téléphone", "android")
    assert isinstance(e, kobiri.MobileError.NotLoggedIn)
    assert e.code() == "not_logged_in"
    assert e.detail == e.user_message()
    assert "connect" in e.detail
    e = raised(kobiri, client.set_batch_size, 0)
    assert (e.code(), e.field) == ("validation", "batch_size")
    e = raised(kobiri, client.set_retry_policy, 0, 10)
    assert (e.code(), e.field) == ("validation", "max_tries")
    assert client.sync_status().pending_count == 0


def test_wrong_credentials_are_unauthorized(phones, circle, kobiri):
    client = phones.open("collector")
    e = raised(kobiri, client.login, circle.collector.email, "Mauvais2026")
    assert isinstance(e, kobiri.MobileError.Unauthorized)
    assert e.code() == "unauthorized"
    e = raised(kobiri, client.login, "personne@example.sn", kit.PASSWORD)
    assert e.code() == "unauthorized"


def test_recording_errors_name_the_field_or_what_is_missing(phones, circle, kobiri):
    client = phones.enrolled("collector", circle.collector)
    tid, sid = circle.id, circle.session_id
    awa = circle.member_id(circle.members[0])
    unknown = str(uuid.uuid4())

    for amount in ["4000", "5001", "0", "-5000", "cinq mille", "5000.5"]:
        e = raised(kobiri, client.record_cash_payment, tid, sid, awa, amount)
        assert isinstance(e, kobiri.MobileError.Validation), (amount, e)
        assert (e.code(), e.field) == ("validation", "amount"), amount

    e = raised(kobiri, client.record_cash_payment, tid, sid, unknown, "5000")
    assert isinstance(e, kobiri.MobileError.NotFound)
    assert e.code() == "not_found"
    assert e.what == "membre"
    e = raised(kobiri, client.record_cash_payment, tid, unknown, awa, "5000")
    assert (e.code(), e.what) == ("not_found", "séance")
    e = raised(kobiri, client.record_cash_payment, unknown, sid, awa, "5000")
    assert (e.code(), e.what) == ("not_found", "tontine")
    e = raised(kobiri, client.record_cash_payment, tid, sid, "pas-un-id", "5000")
    assert (e.code(), e.field) == ("validation", "member_id")
    e = raised(kobiri, client.correct_payment, unknown, "0", "Erreur de saisie")
    assert (e.code(), e.what) == ("not_found", "paiement")
    # A collector may not add members at all: the role is checked before the fields.
    e = raised(kobiri, client.record_member, tid, "pas un numéro", "Awa", "Diop")
    assert isinstance(e, kobiri.MobileError.Forbidden)
    assert e.code() == "forbidden"

    # None of the refused calls queued anything.
    assert client.sync_status().pending_count == 0
    assert client.list_payments(tid) == []


def test_a_revoked_device_is_unauthorized(phones, circle, api, kobiri):
    client = phones.enrolled("collector", circle.collector)
    device = client.sync_status().device_id
    api.delete(f"/api/v1/devices/{device}", circle.collector.access)
    client.record_cash_payment(circle.id, circle.session_id, circle.member_id(circle.members[0]), "5000")
    e = raised(kobiri, client.sync)
    assert isinstance(e, kobiri.MobileError.Unauthorized)
    assert e.code() == "unauthorized"
    status = client.sync_status()
    # The cash stays on the phone, and the app can show why.
    assert status.pending_count == 1
    assert status.last_error
