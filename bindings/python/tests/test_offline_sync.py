"""Offline recording and sync against the real server: the outbox survives a dead network
and an app restart, arrives once, double cash is flagged for the treasurer, and the
reconciliation view follows the cash."""

from __future__ import annotations

import re
import sqlite3

import pytest

import kobiri_testkit as kit

RECEIPT = re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$")


def rest_payments(api, circle):
    """The tontine's payments as the treasurer lists them over REST, by id."""
    listed = api.get(f"/api/v1/payments?tontine_id={circle.id}&page_size=100", circle.treasurer.access)
    assert listed["total"] == len(listed["items"])
    return {p["id"]: p for p in listed["items"]}


def test_cash_recorded_offline_survives_a_dead_network_and_a_restart(phones, circle, api, kobiri):
    # Enroll and pull while the network works, then the app stops.
    online = phones.enrolled("collector", circle.collector)
    device = online.sync_status().device_id
    phones.close(online)
    del online

    # The app restarts in the field, with no server reachable.
    offline = phones.open("collector", kit.dead_url())
    awa = circle.members[0]
    receipt = offline.record_cash_payment(circle.id, circle.session_id, circle.member_id(awa), "5000")
    assert RECEIPT.match(receipt.receipt_code), receipt.receipt_code
    assert (receipt.amount, receipt.currency) == ("5000", "XOF")
    assert receipt.member_name == awa.full_name
    assert receipt.tontine_name == circle.tontine["name"]
    assert receipt.session_number == 1
    [pending] = offline.list_payments(circle.id)
    assert pending.id == receipt.payment_id
    assert pending.sync_state == kobiri.SyncState.PENDING
    assert pending.recorded_here
    assert (pending.status, pending.method) == ("en_attente", "especes")
    assert pending.receipt_code == receipt.receipt_code

    with pytest.raises(kobiri.MobileError.Network) as info:
        offline.sync()
    assert info.value.code() == "network"
    status = offline.sync_status()
    assert status.pending_count == 1
    assert status.oldest_pending_age_seconds is not None and status.oldest_pending_age_seconds >= 0
    assert status.last_error, "the failed sync is noted for the app"
    assert status.device_id == device
    view = offline.reconciliation()
    assert [i.subject_id for i in view.pending] == [receipt.payment_id]
    assert view.pending[0].receipt_code == receipt.receipt_code
    assert view.pending[0].kind == "record_cash_payment"
    assert view.accepted == []
    assert [(c.tontine_id, c.currency, c.amount) for c in view.cash_held] == [(circle.id, "XOF", "5000")]
    # Nothing reached the server.
    assert rest_payments(api, circle) == {}
    phones.close(offline)
    del offline

    # Back in network range: the same database, the live server.
    back = phones.open("collector")
    assert back.sync_status().pending_count == 1
    report = back.sync()
    assert (report.pushed, report.applied, report.flagged, report.rejected) == (1, 1, 0, 0)
    assert not report.has_more
    status = back.sync_status()
    assert status.pending_count == 0
    assert status.oldest_pending_age_seconds is None
    assert status.last_error is None
    [synced] = back.list_payments(circle.id)
    assert synced.id == receipt.payment_id
    assert synced.sync_state == kobiri.SyncState.APPLIED
    assert synced.receipt_code == receipt.receipt_code

    on_server = rest_payments(api, circle)
    assert list(on_server) == [receipt.payment_id]
    payment = on_server[receipt.payment_id]
    assert payment["receipt_code"] == receipt.receipt_code
    assert payment["amount"] == "5000"
    assert payment["method"] == "especes"
    assert payment["status"] == "en_attente"
    assert payment["member_id"] == circle.member_id(awa)
    assert payment["session_id"] == circle.session_id
    assert payment["device_id"] == device
    assert payment["recorded_by_id"] == circle.collector.id
    # The member can check the receipt they were handed.
    checked = api.get(f"/api/v1/receipts/{receipt.receipt_code}", awa.access)
    assert checked["amount"] == "5000"

    # Syncing again sends nothing twice.
    again = back.sync()
    assert (again.pushed, again.applied, again.duplicates) == (0, 0, 0)
    assert len(rest_payments(api, circle)) == 1


def test_a_second_payment_from_another_phone_is_flagged(phones, circle, api, kobiri):
    awa = circle.member_id(circle.members[0])
    collector = phones.enrolled("collector", circle.collector)
    first = collector.record_cash_payment(circle.id, circle.session_id, awa, "5000")
    assert collector.sync().applied == 1

    # The treasurer, on their own enrolled phone, takes Awa's cash a second time.
    treasurer = phones.enrolled("treasurer", circle.treasurer)
    assert treasurer.sync_status().device_id != collector.sync_status().device_id
    second = treasurer.record_cash_payment(circle.id, circle.session_id, awa, "5000")
    report = treasurer.sync()
    assert (report.pushed, report.applied, report.flagged, report.rejected) == (1, 0, 1, 0)

    view = treasurer.reconciliation()
    assert view.accepted == [] and view.pending == [] and view.rejected == []
    [flagged] = view.flagged
    assert flagged.subject_id == second.payment_id
    assert flagged.receipt_code == second.receipt_code
    assert flagged.message, "the server's reason is kept for the app"
    # Flagged cash is still cash in the treasurer's hands.
    assert [(c.tontine_id, c.amount) for c in view.cash_held] == [(circle.id, "5000")]
    mine = {p.id: p for p in treasurer.list_payments(circle.id)}
    assert mine[second.payment_id].sync_state == kobiri.SyncState.FLAGGED
    assert mine[first.payment_id].sync_state == kobiri.SyncState.APPLIED
    assert not mine[first.payment_id].recorded_here

    flags = api.get(f"/api/v1/tontines/{circle.id}/flags", circle.treasurer.access)
    assert [(f["code"], f["payment_id"], f["status"]) for f in flags] == [
        ("duplicate_payment", second.payment_id, "ouvert")
    ]
    assert flags[0]["device_id"] == treasurer.sync_status().device_id
    # Both payments are on the server: cash is never dropped.
    assert set(rest_payments(api, circle)) == {first.payment_id, second.payment_id}

    # The collector's view is unchanged: its payment was accepted.
    collector.pull()
    assert [i.subject_id for i in collector.reconciliation().accepted] == [first.payment_id]
    assert collector.reconciliation().flagged == []


def test_reconciliation_follows_the_cash_until_the_treasurer_validates(phones, circle, api, kobiri):
    collector = phones.enrolled("collector", circle.collector)
    sid = circle.session_id
    awa, moussa = (circle.member_id(m) for m in circle.members)
    one = collector.record_cash_payment(circle.id, sid, awa, "5000")
    two = collector.record_cash_payment(circle.id, sid, moussa, "5000")
    view = collector.reconciliation()
    assert [i.seq for i in view.pending] == [1, 2]
    assert [c.amount for c in view.cash_held] == ["10000"]

    report = collector.sync()
    assert (report.pushed, report.applied) == (2, 2)
    view = collector.reconciliation()
    assert {i.subject_id for i in view.accepted} == {one.payment_id, two.payment_id}
    assert view.pending == []
    # Accepted by the server, not handed over yet: the collector still holds it all.
    assert [(c.tontine_id, c.currency, c.amount) for c in view.cash_held] == [(circle.id, "XOF", "10000")]

    # The treasurer validates Awa's payment (four eyes: not the one who recorded it).
    validated = api.post(f"/api/v1/payments/{one.payment_id}/validate", circle.treasurer.access, {"action": "approve"})
    assert validated["status"] == "valide"
    collector.pull()
    assert [c.amount for c in collector.reconciliation().cash_held] == ["5000"]
    statuses = {p.id: p.status for p in collector.list_payments(circle.id)}
    assert statuses == {one.payment_id: "valide", two.payment_id: "en_attente"}
    [session] = [s for s in collector.list_sessions(circle.id) if s.id == sid]
    assert session.collected_amount == "5000"


def test_cash_the_server_refuses_is_still_held(phones, circle, api, kobiri):
    collector = phones.enrolled("collector", circle.collector)
    awa = circle.member_id(circle.members[0])
    receipt = collector.record_cash_payment(circle.id, circle.session_id, awa, "5000")
    # While the phone is out of range, the president makes the collector a plain member.
    api.call(
        "PUT",
        f"/api/v1/tontines/{circle.id}/members/{circle.member_id(circle.collector)}",
        circle.president.access,
        {"role": "membre"},
    )
    report = collector.sync()
    assert (report.pushed, report.applied, report.rejected) == (1, 0, 1)
    view = collector.reconciliation()
    [rejected] = view.rejected
    assert (rejected.subject_id, rejected.outcome_code) == (receipt.payment_id, "forbidden")
    # Refused as a record, the cash is still in the collector's hands until handed back.
    assert [(c.tontine_id, c.currency, c.amount) for c in view.cash_held] == [(circle.id, "XOF", "5000")]
    assert rest_payments(api, circle) == {}
    # The phone has pulled the new role: cash for others is now refused before queueing.
    with pytest.raises(kobiri.MobileError.Forbidden):
        collector.record_cash_payment(circle.id, circle.session_id, awa, "5000")
    assert collector.sync_status().pending_count == 0


def test_cursors_move_when_the_server_changes(phones, circle, api):
    collector = phones.enrolled("collector", circle.collector)
    before = {c.tontine_id: c.cursor for c in collector.sync_status().cursors}
    assert list(before) == [circle.id]

    # The president adds a member without a smartphone, online.
    added = api.post(
        f"/api/v1/tontines/{circle.id}/members",
        circle.president.access,
        {"phone": "+221781234567", "first_name": "Khady", "last_name": "Sarr", "role": "membre"},
        expect=201,
    )
    report = collector.pull()
    assert report.pulled_changes > 0
    after = {c.tontine_id: c.cursor for c in collector.sync_status().cursors}
    assert after[circle.id] > before[circle.id]
    names = {m.id: (m.first_name, m.last_name) for m in collector.list_members(circle.id)}
    assert names[added["id"]] == ("Khady", "Sarr")
    # A payment recorded online by the treasurer reaches the phone too.
    api.post(
        "/api/v1/payments",
        circle.treasurer.access,
        {"tontine_id": circle.id, "session_id": circle.session_id, "amount": "5000",
         "method": "especes", "member_id": added["id"]},
        expect=201,
    )
    collector.pull()
    assert collector.sync_status().cursors[0].cursor > after[circle.id]
    [payment] = collector.list_payments(circle.id)
    assert (payment.member_id, payment.member_name) == (added["id"], "Khady Sarr")
    assert not payment.recorded_here
    assert payment.sync_state == phones.kobiri.SyncState.APPLIED


def test_the_president_adds_a_member_offline_then_takes_their_cash(phones, circle, api, kobiri):
    president = phones.enrolled("president", circle.president)
    with pytest.raises(kobiri.MobileError.Validation) as info:
        president.record_member(circle.id, "pas un numéro", "Ousmane", "Gueye")
    assert (info.value.code(), info.value.field) == ("validation", "phone")
    new_id = president.record_member(circle.id, "+221 76 555 12 34", "Ousmane", "Gueye")
    local = {m.id: m for m in president.list_members(circle.id)}
    assert local[new_id].sync_state == kobiri.SyncState.PENDING
    assert (local[new_id].first_name, local[new_id].role) == ("Ousmane", "membre")
    assert president.sync().applied == 1
    synced = {m.id: m for m in president.list_members(circle.id)}
    assert synced[new_id].sync_state == kobiri.SyncState.APPLIED
    on_server = api.get(f"/api/v1/tontines/{circle.id}/members", circle.president.access)
    assert new_id in {m["id"] for m in on_server}

    receipt = president.record_cash_payment(circle.id, circle.session_id, new_id, "5000")
    assert receipt.member_name == "Ousmane Gueye"
    assert president.sync().applied == 1
    assert rest_payments(api, circle)[receipt.payment_id]["member_id"] == new_id


def test_a_member_and_their_first_payment_in_one_sync(phones, circle, api, kobiri):
    president = phones.enrolled("president", circle.president)
    new_id = president.record_member(circle.id, "+221765551299", "Binta", "Kane")
    receipt = president.record_cash_payment(circle.id, circle.session_id, new_id, "5000")
    report = president.sync()
    assert president.reconciliation().rejected == []
    assert (report.pushed, report.applied, report.rejected) == (2, 2, 0)
    assert receipt.payment_id in rest_payments(api, circle)


def test_a_collector_may_not_add_members(phones, circle, api, kobiri):
    collector = phones.enrolled("collector", circle.collector)
    before = {m.id for m in collector.list_members(circle.id)}
    # Refused on the phone with the server's rule (only the president adds members), before
    # anything is queued: the collector learns it at once, not at the next sync.
    with pytest.raises(kobiri.MobileError.Forbidden) as info:
        collector.record_member(circle.id, "+221765551234", "Ousmane", "Gueye")
    e = info.value
    assert e.code() == "forbidden"
    assert e.detail and e.user_message() == e.detail
    assert {m.id for m in collector.list_members(circle.id)} == before
    assert collector.sync_status().pending_count == 0
    report = collector.sync()
    assert (report.pushed, report.applied, report.rejected) == (0, 0, 0)
    view = collector.reconciliation()
    assert (view.pending, view.rejected) == ([], [])
    on_server = api.get(f"/api/v1/tontines/{circle.id}/members", circle.president.access)
    assert {m["id"] for m in on_server} == before


def test_a_member_records_only_their_own_payment(phones, circle, api, kobiri):
    awa, moussa = circle.members
    phone = phones.enrolled("awa", awa)
    with pytest.raises(kobiri.MobileError.Forbidden) as info:
        phone.record_cash_payment(circle.id, circle.session_id, circle.member_id(moussa), "5000")
    assert info.value.code() == "forbidden"
    assert phone.sync_status().pending_count == 0
    receipt = phone.record_cash_payment(circle.id, circle.session_id, circle.member_id(awa), "5000")
    report = phone.sync()
    assert (report.pushed, report.applied, report.rejected) == (1, 1, 0)
    assert rest_payments(api, circle)[receipt.payment_id]["recorded_by_id"] == awa.id


def test_only_the_recorder_or_a_treasurer_corrects_a_payment(phones, circle, api, kobiri):
    # The treasurer records Awa's cash online; the collector sees it after a pull.
    paid = api.post(
        "/api/v1/payments",
        circle.treasurer.access,
        {"tontine_id": circle.id, "session_id": circle.session_id, "amount": "5000",
         "method": "especes", "member_id": circle.member_id(circle.members[0])},
        expect=201,
    )
    collector = phones.enrolled("collector", circle.collector)
    assert paid["id"] in {p.id for p in collector.list_payments(circle.id)}
    with pytest.raises(kobiri.MobileError.Forbidden) as info:
        collector.correct_payment(paid["id"], "0", "Erreur de saisie")
    assert info.value.code() == "forbidden"
    assert collector.sync_status().pending_count == 0
    # The president (who may validate payments) may.
    president = phones.enrolled("president", circle.president)
    president.correct_payment(paid["id"], "0", "Erreur de saisie")
    report = president.sync()
    assert (report.pushed, report.applied, report.rejected) == (1, 1, 0)
    assert rest_payments(api, circle)[paid["id"]]["status"] == "annule"


def test_a_phone_logged_in_before_the_user_was_kept_learns_it_at_its_next_sync(phones, circle, kobiri):
    """A database from before the phone kept who is logged in: recording is refused (the role
    is unknown, never guessed) until the next sync asks the server who the user is."""
    collector = phones.enrolled("collector", circle.collector)
    phones.close(collector)
    del collector
    with sqlite3.connect(phones.db("collector")) as conn:
        conn.execute("DELETE FROM meta WHERE key IN ('user_id', 'platform_role')")
    conn.close()
    old = phones.open("collector")
    awa = circle.member_id(circle.members[0])
    with pytest.raises(kobiri.MobileError.RoleUnknown) as info:
        old.record_cash_payment(circle.id, circle.session_id, awa, "5000")
    assert info.value.code() == "role_unknown"
    assert "synchronisez" in info.value.user_message()
    assert old.sync_status().pending_count == 0
    old.sync()
    old.record_cash_payment(circle.id, circle.session_id, awa, "5000")
    assert old.sync().applied == 1


def test_a_correction_to_zero_cancels_the_payment(phones, circle, api, kobiri):
    collector = phones.enrolled("collector", circle.collector)
    paid = collector.record_cash_payment(circle.id, circle.session_id, circle.member_id(circle.members[1]), "5000")
    assert collector.sync().applied == 1
    fix = collector.correct_payment(paid.payment_id, "0", "Erreur de saisie : Moussa n'a pas payé")
    assert (fix.amount, fix.member_name, fix.session_number) == ("0", "Moussa Ndiaye", 1)
    assert fix.payment_id != paid.payment_id
    assert RECEIPT.match(fix.receipt_code)
    # Already out of the cash held before the correction reaches the server.
    assert collector.reconciliation().cash_held == []
    report = collector.sync()
    assert (report.pushed, report.applied, report.rejected) == (1, 1, 0)
    view = collector.reconciliation()
    assert [i.kind for i in view.accepted] == ["record_cash_payment", "correct_payment"]
    assert view.cash_held == []
    local = {p.id: p for p in collector.list_payments(circle.id)}
    assert local[paid.payment_id].status == "annule"
    assert local[fix.payment_id].corrects == paid.payment_id
    assert rest_payments(api, circle)[paid.payment_id]["status"] == "annule"
