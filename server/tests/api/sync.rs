// Over 400 lines on purpose: the tests of one area, each standing alone; splitting them by size
// would separate the tests of one rule.
//! `/sync` over HTTP: devices, exactly-once pushes, flags, integrity incidents, pulls with
//! checksums, receipts, and the bad input the protocol must survive.

use std::collections::{BTreeMap, HashMap};

use kobiri_core::{
    DeviceId, MemberId, PaymentId, SessionId, TontineId,
    sync::{
        self, Entity, Mutation, MutationKind, Outcome, PROTOCOL_VERSION, PageStatus, ScopeCursor,
        SyncRequest, SyncResponse, ZERO_HASH, mutation_hash, row_digest, scope_checksum,
    },
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::dual_test;
use crate::helpers::*;
use crate::payments::{Circle, circle};

/// One scope's rows on the phone, by (entity, id).
type ScopeRows = BTreeMap<(String, Uuid), BTreeMap<String, String>>;

/// A phone as the server sees it: an enrolled device that numbers and chains its mutations.
pub struct Phone {
    pub device: DeviceId,
    pub token: String,
    seq: u64,
    last: [u8; 32],
    /// The phone's copy of each scope: rows by (entity, id), and the cursor.
    rows: HashMap<TontineId, ScopeRows>,
    cursors: HashMap<TontineId, u64>,
}

impl Phone {
    pub async fn enroll(app: &Http, user: &TestUser) -> Phone {
        let body = json!({"name": "Téléphone de terrain", "platform": "android"});
        let enrolled = assert_status(
            app.post("/api/v1/devices", user.token(), &body).await,
            StatusCode::CREATED,
        )
        .await;
        Phone {
            device: DeviceId::from_uuid(enrolled["device_id"].as_str().unwrap().parse().unwrap()),
            token: enrolled["access_token"].as_str().unwrap().to_owned(),
            seq: 0,
            last: ZERO_HASH,
            rows: HashMap::new(),
            cursors: HashMap::new(),
        }
    }

    pub fn record(&mut self, kind: MutationKind) -> Mutation {
        self.seq += 1;
        let m = Mutation {
            device_id: self.device,
            seq: self.seq,
            prev_hash: self.last,
            recorded_at: chrono::Utc::now().timestamp(),
            kind,
        };
        self.last = mutation_hash(&m);
        m
    }

    pub fn pay(&mut self, c: &Circle, member: &TestUser, session: &str) -> Mutation {
        self.record(MutationKind::RecordCashPayment {
            payment_id: PaymentId::new(),
            tontine_id: TontineId::from_uuid(c.id().parse().unwrap()),
            session_id: SessionId::from_uuid(session.parse().unwrap()),
            member_id: MemberId::from_uuid(c.member_id(member).parse().unwrap()),
            amount: "5000".to_owned(),
            currency: "XOF".to_owned(),
        })
    }

    pub fn request(&self, mutations: Vec<Mutation>) -> SyncRequest {
        SyncRequest {
            protocol_version: PROTOCOL_VERSION,
            device_id: self.device,
            mutations,
            cursors: self
                .cursors
                .iter()
                .map(|(t, c)| ScopeCursor {
                    tontine_id: *t,
                    cursor: *c,
                })
                .collect(),
        }
    }

    /// Pushes in CBOR, applies the answer to the phone's copy, checks every checksum.
    pub async fn sync(&mut self, app: &Http, mutations: Vec<Mutation>) -> SyncResponse {
        let body = sync::encode_request(&self.request(mutations));
        let resp = app
            .client
            .post(app.url("/sync"))
            .bearer_auth(&self.token)
            .header("content-type", "application/cbor")
            .header("accept", "application/cbor")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let answer = sync::decode_response(&resp.bytes().await.unwrap()).unwrap();
        self.apply(&answer);
        answer
    }

    fn apply(&mut self, answer: &SyncResponse) {
        for scope in &answer.scopes {
            let rows = self.rows.entry(scope.tontine_id).or_default();
            if scope.status == PageStatus::MustReset {
                rows.clear();
                self.cursors.insert(scope.tontine_id, 0);
                continue;
            }
            for change in &scope.changes {
                let key = (change.entity.as_str().to_owned(), change.id);
                match &change.row {
                    Some(row) => {
                        rows.insert(key, row.clone());
                    }
                    None => {
                        rows.remove(&key);
                    }
                }
            }
            self.cursors.insert(scope.tontine_id, scope.cursor);
            if let Some(expected) = &scope.checksum {
                let mine = scope_checksum(
                    rows.iter()
                        .map(|((e, id), row)| row_digest(e.parse::<Entity>().unwrap(), *id, row)),
                );
                assert_eq!(
                    &mine, expected,
                    "the phone's copy differs from the server's"
                );
            }
        }
    }

    /// Syncs until every scope is up to date.
    pub async fn pull_all(&mut self, app: &Http) {
        for _ in 0..20 {
            let answer = self.sync(app, Vec::new()).await;
            if answer
                .scopes
                .iter()
                .all(|s| s.status == PageStatus::UpToDate)
            {
                return;
            }
        }
        panic!("the pull never finished");
    }

    fn members(&self, t: TontineId) -> Vec<&BTreeMap<String, String>> {
        self.rows[&t]
            .iter()
            .filter(|((e, _), _)| e == "member")
            .map(|(_, row)| row)
            .collect()
    }

    fn payments(&self, t: TontineId) -> Vec<&BTreeMap<String, String>> {
        self.rows[&t]
            .iter()
            .filter(|((e, _), _)| e == "payment")
            .map(|(_, row)| row)
            .collect()
    }
}

pub fn tontine(c: &Circle) -> TontineId {
    TontineId::from_uuid(c.id().parse().unwrap())
}

pub fn session(c: &Circle) -> String {
    c.session["id"].as_str().unwrap().to_owned()
}

pub fn outcomes(answer: &SyncResponse) -> Vec<&'static str> {
    answer
        .outcomes
        .iter()
        .map(|o| match o.outcome {
            Outcome::Applied => "applied",
            Outcome::Duplicate => "duplicate",
            Outcome::Rejected { .. } => "rejected",
            Outcome::Flagged { .. } => "flagged",
        })
        .collect()
}

pub async fn post_sync(
    app: &Http,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    app.client
        .post(app.url("/sync"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

dual_test!(
    devices_enroll_list_and_revoke_cuts_the_phone_off,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let mut phone = Phone::enroll(&app, &c.collector).await;
        let list = assert_status(
            app.get("/api/v1/devices", c.collector.token()).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(list[0]["device_id"], phone.device.to_string());
        // Someone else's device: not theirs to sync or revoke.
        let other = phone.request(Vec::new());
        let resp = post_sync(
            &app,
            c.treasurer.token().unwrap(),
            "application/cbor",
            sync::encode_request(&other),
        )
        .await;
        assert_error(resp, StatusCode::FORBIDDEN, "forbidden").await;
        let path = format!("/api/v1/devices/{}", phone.device);
        assert_error(
            app.delete(&path, c.treasurer.token()).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        // The owner revokes it: /sync refuses it at once.
        let revoked =
            assert_status(app.delete(&path, c.collector.token()).await, StatusCode::OK).await;
        assert!(revoked["revoked_at"].is_string());
        let m = phone.pay(&c, &c.members[0], &session(&c));
        let request = sync::encode_request(&phone.request(vec![m]));
        // The device's own session died with it.
        let resp = post_sync(&app, &phone.token, "application/cbor", request.clone()).await;
        assert_error(resp, StatusCode::UNAUTHORIZED, "session_revoked").await;
        // Logged in again, the collector still cannot sync from the revoked device.
        let collector = app.relogin(&c.collector).await;
        let resp = post_sync(
            &app,
            collector.token().unwrap(),
            "application/cbor",
            request,
        )
        .await;
        assert_error(resp, StatusCode::FORBIDDEN, "device_revoked").await;
        assert_eq!(app.security_events("revoked_device", None).await, 1);
    }
);

dual_test!(
    device_refresh_tokens_are_bound_and_revoked_with_the_device,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let body = json!({"name": "Téléphone", "platform": "ios"});
        let enrolled = assert_status(
            app.post("/api/v1/devices", c.collector.token(), &body)
                .await,
            StatusCode::CREATED,
        )
        .await;
        let refresh = enrolled["refresh_token"].as_str().unwrap();
        let pair = assert_status(app.refresh(refresh).await, StatusCode::OK).await;
        let path = format!(
            "/api/v1/devices/{}",
            enrolled["device_id"].as_str().unwrap()
        );
        assert_status(app.delete(&path, c.collector.token()).await, StatusCode::OK).await;
        let resp = app.refresh(pair["refresh_token"].as_str().unwrap()).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
);

dual_test!(
    cash_payments_arrive_exactly_once_as_rest_payments,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let mut phone = Phone::enroll(&app, &c.collector).await;
        let batch = vec![
            phone.pay(&c, &c.members[0], &session(&c)),
            phone.pay(&c, &c.members[1], &session(&c)),
        ];
        let first = phone.sync(&app, batch.clone()).await;
        assert_eq!(outcomes(&first), ["applied", "applied"]);
        // The answer was lost: the same batch again changes nothing.
        let again = phone.sync(&app, batch.clone()).await;
        assert_eq!(outcomes(&again), ["duplicate", "duplicate"]);
        let path = with_query("/api/v1/payments", &[("tontine_id", c.id())]);
        let listed = assert_status(app.get(&path, c.treasurer.token()).await, StatusCode::OK).await;
        assert_eq!(listed["total"], 2);
        let receipt = sync::receipt_code(&batch[0]).to_string();
        let mine = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["receipt_code"] == receipt.as_str())
            .unwrap();
        assert_eq!(mine["status"], "en_attente");
        assert_eq!(mine["method"], "especes");
        assert_eq!(mine["device_id"], phone.device.to_string());
        assert_eq!(mine["recorded_by_id"], c.collector.id.as_str());
        // The member checks the receipt; a stranger cannot.
        let path = format!("/api/v1/receipts/{receipt}");
        let checked =
            assert_status(app.get(&path, c.members[0].token()).await, StatusCode::OK).await;
        assert_eq!(checked["amount"], "5000");
        let stranger = app.user("stranger").await;
        assert_error(
            app.get(&path, stranger.token()).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        assert_error(
            app.get("/api/v1/receipts/nope", c.members[0].token()).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        )
        .await;
        // The phone's copy holds both payments, flagged false, and agrees on the checksum.
        phone.pull_all(&app).await;
        assert_eq!(phone.payments(tontine(&c)).len(), 2);
    }
);

dual_test!(
    checksums_stay_right_while_a_scope_takes_payments_and_when_its_other_rows_change,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let mut phone = Phone::enroll(&app, &c.collector).await;
        let mut lagging = Phone::enroll(&app, &c.treasurer).await;
        phone.pull_all(&app).await;
        lagging.pull_all(&app).await;
        // Payments only: the server digests the scope's other rows once and reuses them. Every
        // answer's checksum is checked against the phone's copy (`Phone::apply`).
        for member in &c.members {
            let paid = phone.pay(&c, member, &session(&c));
            assert_eq!(outcomes(&phone.sync(&app, vec![paid]).await), ["applied"]);
        }
        // A row other than a payment changes on the server: a member joins.
        let newcomer = app.user("newcomer").await;
        let added = app
            .add_existing(&c.president, c.id(), &newcomer, "membre")
            .await;
        let newcomer_member = added["id"].as_str().unwrap();
        let paid = phone.record(MutationKind::RecordCashPayment {
            payment_id: PaymentId::new(),
            tontine_id: tontine(&c),
            session_id: SessionId::from_uuid(session(&c).parse().unwrap()),
            member_id: MemberId::from_uuid(newcomer_member.parse().unwrap()),
            amount: "5000".to_owned(),
            currency: "XOF".to_owned(),
        });
        let answer = phone.sync(&app, vec![paid]).await;
        assert_eq!(outcomes(&answer), ["applied"]);
        let rows = &phone.rows[&tontine(&c)];
        assert!(
            rows.contains_key(&("member".to_owned(), newcomer_member.parse().unwrap())),
            "the new member reached the phone"
        );
        // Payments after the change reuse the digests taken after it.
        phone.pull_all(&app).await;
        // A device whose cursor is older than everything above catches up and agrees too.
        lagging.pull_all(&app).await;
        assert_eq!(lagging.payments(tontine(&c)).len(), 3);
        assert_eq!(phone.payments(tontine(&c)).len(), 3);
    }
);

dual_test!(
    cash_that_arrives_by_sync_sends_the_member_a_receipt_once,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let mut phone = Phone::enroll(&app, &c.collector).await;
        let pay = phone.pay(&c, &c.members[0], &session(&c));
        let receipt = sync::receipt_code(&pay).to_string();
        let MutationKind::RecordCashPayment { payment_id, .. } = &pay.kind else {
            unreachable!()
        };
        let payment_id = payment_id.to_string();
        assert_eq!(
            outcomes(&phone.sync(&app, vec![pay.clone()]).await),
            ["applied"]
        );
        assert_eq!(outcomes(&phone.sync(&app, vec![pay]).await), ["duplicate"]);
        // The batch queued a job for its receipts, not the messages themselves.
        assert!(app.outbox_rows().await.is_empty());
        assert_eq!(app.run_jobs().await, 1);
        // The job run again (a crash before it was marked done) writes nothing more.
        app.execute(
            "UPDATE jobs SET status = $1 WHERE kind = 'receipts' AND id <> $2",
            "pending",
            uuid::Uuid::nil(),
        )
        .await;
        assert_eq!(app.run_jobs().await, 1);
        // Queued by SMS to the member's phone, once, and not copied to the in-app inbox.
        let sms: Vec<_> = app
            .store
            .list_outbox()
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.channel == kobiri_core::Channel::Sms)
            .collect();
        assert_eq!(sms.len(), 1);
        assert_eq!(sms[0].recipient, c.members[0].phone);
        let text = app.last_sms_to(&c.members[0].phone).await.unwrap();
        assert!(
            text.contains(&receipt) && text.contains("5000 XOF"),
            "{text}"
        );
        assert!(inbox_receipts(&app, &c.members[0]).await.is_empty());
        // The other member paid nothing and got nothing.
        assert!(inbox_receipts(&app, &c.members[1]).await.is_empty());
        assert_eq!(app.outbox.sms().len(), 1);
        // Validation keeps the code the member already holds, and confirms with it.
        let validated = assert_status(
            app.post(
                &format!("/api/v1/payments/{payment_id}/validate"),
                c.treasurer.token(),
                &json!({"action": "approve"}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(validated["receipt_code"], receipt.as_str());
    }
);

/// The payment confirmations in `member`'s in-app inbox.
async fn inbox_receipts(app: &TestApp, member: &TestUser) -> Vec<Value> {
    let inbox = assert_status(
        app.get("/api/v1/notifications", member.token()).await,
        StatusCode::OK,
    )
    .await;
    inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "confirmation_paiement")
        .cloned()
        .collect()
}

dual_test!(
    a_member_who_turned_sms_off_finds_the_receipt_in_the_app,
    |app| async move {
        let c = circle(&app, json!({})).await;
        assert_status(
            app.put(
                "/api/v1/notifications/preferences",
                c.members[0].token(),
                &json!({"preferences": [
                    {"type": "confirmation_paiement", "channel": "sms", "enabled": false}
                ]}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let mut phone = Phone::enroll(&app, &c.collector).await;
        let pay = phone.pay(&c, &c.members[0], &session(&c));
        let receipt = sync::receipt_code(&pay).to_string();
        assert_eq!(outcomes(&phone.sync(&app, vec![pay]).await), ["applied"]);
        app.run_jobs().await;
        let inbox = inbox_receipts(&app, &c.members[0]).await;
        assert_eq!(inbox.len(), 1, "{inbox:?}");
        assert!(inbox[0]["message"].as_str().unwrap().contains(&receipt));
        assert!(app.outbox_rows().await.is_empty());
    }
);

dual_test!(
    a_receipt_code_already_given_is_flagged_and_the_batch_goes_through,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let mut phone = Phone::enroll(&app, &c.collector).await;
        let first = phone.pay(&c, &c.members[0], &session(&c));
        let second = phone.pay(&c, &c.members[1], &session(&c));
        assert_eq!(
            outcomes(&phone.sync(&app, vec![first.clone()]).await),
            ["applied"]
        );
        // Receipt codes are 40 bits: give the next payment's code to the first one, as a
        // collision would.
        let code = sync::receipt_code(&second).to_string();
        let MutationKind::RecordCashPayment { payment_id, .. } = &first.kind else {
            unreachable!()
        };
        app.execute(
            "UPDATE payments SET receipt_code = $1 WHERE id = $2",
            &code,
            payment_id.as_uuid(),
        )
        .await;
        let answer = phone.sync(&app, vec![second]).await;
        let Outcome::Flagged { reason } = &answer.outcomes[0].outcome else {
            panic!("{answer:?}")
        };
        assert!(reason.contains(&code), "{reason}");
        let flags = assert_status(
            app.get(
                &format!("/api/v1/tontines/{}/flags", c.id()),
                c.treasurer.token(),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(flags[0]["code"], "receipt_collision", "{flags}");
        // The cash is there, without the code that belongs to the other payment.
        let path = with_query("/api/v1/payments", &[("tontine_id", c.id())]);
        let listed = assert_status(app.get(&path, c.treasurer.token()).await, StatusCode::OK).await;
        assert_eq!(listed["total"], 2);
        let codes: Vec<&Value> = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| &p["receipt_code"])
            .collect();
        assert!(
            codes.contains(&&Value::Null) && codes.contains(&&json!(code)),
            "{listed}"
        );
    }
);

dual_test!(
    late_and_double_cash_is_flagged_then_resolved_by_the_treasurer,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let mut a = Phone::enroll(&app, &c.collector).await;
        let mut b = Phone::enroll(&app, &c.treasurer).await;
        let sid = session(&c);
        let from_a = a.pay(&c, &c.members[0], &sid);
        let from_b = b.pay(&c, &c.members[0], &sid);
        assert_eq!(outcomes(&a.sync(&app, vec![from_a]).await), ["applied"]);
        let answer = b.sync(&app, vec![from_b.clone()]).await;
        assert_eq!(outcomes(&answer), ["flagged"]);
        // The session closes on the server while a phone is offline: its cash is kept, flagged.
        let close = format!("/api/v1/sessions/{sid}/close");
        assert_status(
            app.post(&close, c.president.token(), &json!({"force": true}))
                .await,
            StatusCode::OK,
        )
        .await;
        let late = a.pay(&c, &c.members[1], &sid);
        let answer = a.sync(&app, vec![late]).await;
        let Outcome::Flagged { reason } = &answer.outcomes[0].outcome else {
            panic!("{answer:?}")
        };
        assert!(reason.contains("séance"), "{reason}");
        let flags_path = format!("/api/v1/tontines/{}/flags", c.id());
        let flags = assert_status(
            app.get(&flags_path, c.treasurer.token()).await,
            StatusCode::OK,
        )
        .await;
        let flags = flags.as_array().unwrap();
        assert_eq!(flags.len(), 2);
        let codes: Vec<_> = flags.iter().map(|f| f["code"].as_str().unwrap()).collect();
        assert!(
            codes.contains(&"duplicate_payment") && codes.contains(&"session_closed"),
            "{codes:?}"
        );
        // Each flag is counted for operators, under its code.
        for code in ["duplicate_payment", "session_closed"] {
            assert_eq!(
                app.security_events("sync_flag", Some(code)).await,
                1,
                "{code}"
            );
        }
        assert_error(
            app.get(&flags_path, c.collector.token()).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        // The duplicate is rejected: it is cancelled, and the phone sees it at its next sync.
        let dup = flags
            .iter()
            .find(|f| f["code"] == "duplicate_payment")
            .unwrap();
        // A flagged payment is not validated before its flag is resolved.
        let payment = dup["payment_id"].as_str().unwrap();
        let validate = format!("/api/v1/payments/{payment}/validate");
        let approve = json!({"action": "approve"});
        let resp = app.post(&validate, c.president.token(), &approve).await;
        assert_error(resp, StatusCode::BAD_REQUEST, "business_rule").await;
        let resolve = format!("{flags_path}/{}/resolve", dup["id"].as_str().unwrap());
        let body = json!({"resolution": "rejete", "note": "Double saisie, espèces rendues"});
        let done = assert_status(
            app.post(&resolve, c.president.token(), &body).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(done["status"], "resolu");
        assert_error(
            app.post(&resolve, c.president.token(), &body).await,
            StatusCode::CONFLICT,
            "conflict",
        )
        .await;
        b.pull_all(&app).await;
        let MutationKind::RecordCashPayment { payment_id, .. } = &from_b.kind else {
            unreachable!()
        };
        let row = &b.rows[&tontine(&c)][&("payment".to_owned(), payment_id.as_uuid())];
        assert_eq!(row["status"], "annule");
        assert_eq!(row["flagged"], "false");
        // Accepting the late one puts it in the validation queue.
        let late_flag = flags
            .iter()
            .find(|f| f["code"] == "session_closed")
            .unwrap();
        let resolve = format!("{flags_path}/{}/resolve", late_flag["id"].as_str().unwrap());
        let body = json!({"resolution": "accepte", "note": "Remis au trésorier"});
        assert_status(
            app.post(&resolve, c.treasurer.token(), &body).await,
            StatusCode::OK,
        )
        .await;
    }
);

dual_test!(
    gaps_and_broken_chains_are_incidents_for_the_managers,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let mut phone = Phone::enroll(&app, &c.collector).await;
        let sid = session(&c);
        let first = phone.pay(&c, &c.members[0], &sid);
        let _deleted_by_hand = phone.pay(&c, &c.members[1], &sid);
        let third = phone.pay(&c, &c.president, &sid);
        let answer = phone.sync(&app, vec![first, third.clone()]).await;
        assert_eq!(outcomes(&answer), ["applied", "rejected"]);
        let Outcome::Rejected { code, message } = &answer.outcomes[1].outcome else {
            unreachable!()
        };
        assert_eq!(code, "sequence_gap");
        assert!(message.contains('2'), "{message}");
        // A forged link: the mutation claims another predecessor.
        let mut forged = phone.pay(&c, &c.treasurer, &sid);
        forged.seq = 2;
        forged.prev_hash = [9; 32];
        let answer = phone.sync(&app, vec![forged]).await;
        assert_eq!(outcomes(&answer), ["flagged"]);
        let path = format!("/api/v1/tontines/{}/incidents", c.id());
        let incidents =
            assert_status(app.get(&path, c.treasurer.token()).await, StatusCode::OK).await;
        let kinds: Vec<_> = incidents
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["kind"].as_str().unwrap())
            .collect();
        assert!(
            kinds.contains(&"sequence_gap") && kinds.contains(&"broken_chain"),
            "{kinds:?}"
        );
        for kind in ["sequence_gap", "broken_chain"] {
            let counted = app.security_events("integrity_incident", Some(kind)).await;
            let listed = kinds.iter().filter(|k| **k == kind).count() as u64;
            assert_eq!(counted, listed, "{kind}");
        }
        assert_error(
            app.get(&path, c.members[0].token()).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
);

dual_test!(
    pulls_are_scoped_paged_and_reset_when_too_new,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let mut collector = Phone::enroll(&app, &c.collector).await;
        let m = collector.pay(&c, &c.members[0], &session(&c));
        let m2 = collector.pay(&c, &c.members[1], &session(&c));
        collector.sync(&app, vec![m, m2]).await;
        collector.pull_all(&app).await;
        let t = tontine(&c);
        assert_eq!(collector.payments(t).len(), 2);
        let members = collector.rows[&t]
            .keys()
            .filter(|(e, _)| e == "member")
            .count();
        assert_eq!(members, 5);
        // The collector sees both in full (with their receipt codes); no row carries a phone
        // number or a provider reference.
        for p in collector.payments(t) {
            assert!(p.contains_key("receipt_code"), "{p:?}");
            assert!(!p.contains_key("phone_number") && !p.contains_key("operator_transaction_id"));
        }
        // A plain member sees who paid how much (the REST rule): their own payment in full,
        // the other's without its receipt code.
        let mut member = Phone::enroll(&app, &c.members[0]).await;
        member.pull_all(&app).await;
        let seen = member.payments(t);
        assert_eq!(seen.len(), 2);
        for p in &seen {
            assert_eq!(p["amount"], "5000");
            let own = p["user_id"] == c.members[0].id.as_str();
            assert_eq!(p.contains_key("receipt_code"), own, "{p:?}");
            assert!(!p.contains_key("phone_number") && !p.contains_key("operator_transaction_id"));
        }
        // Nothing new: up to date, no changes.
        let answer = member.sync(&app, Vec::new()).await;
        assert!(
            answer
                .scopes
                .iter()
                .all(|s| s.changes.is_empty() && s.status == PageStatus::UpToDate)
        );
        // A cursor from the future (a restored server): must_reset, then a full pull agrees.
        member.cursors.insert(t, 1_000_000);
        let answer = member.sync(&app, Vec::new()).await;
        assert_eq!(answer.scopes[0].status, PageStatus::MustReset);
        member.pull_all(&app).await;
        assert_eq!(member.payments(t).len(), 2);
    }
);

dual_test!(
    bad_sync_input_gets_clear_errors_and_changes_nothing,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let mut phone = Phone::enroll(&app, &c.collector).await;
        let token = phone.token.clone();
        let resp = post_sync(
            &app,
            &token,
            "application/cbor",
            b"\xff\x00garbage".to_vec(),
        )
        .await;
        assert_error(
            resp,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_sync_request",
        )
        .await;
        // Deep nesting (a CBOR bomb).
        let bomb = [vec![0x81u8; 10_000], vec![0]].concat();
        let resp = post_sync(&app, &token, "application/cbor", bomb).await;
        assert_error(
            resp,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_sync_request",
        )
        .await;
        let resp = post_sync(&app, &token, "text/plain", b"hello".to_vec()).await;
        assert_error(
            resp,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
        // A newer client: 400; an older one: upgrade_required, nothing applied.
        let m = phone.pay(&c, &c.members[0], &session(&c));
        let mut future = phone.request(vec![m.clone()]);
        future.protocol_version = PROTOCOL_VERSION + 1;
        let resp = post_sync(
            &app,
            &token,
            "application/cbor",
            sync::encode_request(&future),
        )
        .await;
        assert_error(
            resp,
            StatusCode::BAD_REQUEST,
            "protocol_version_unsupported",
        )
        .await;
        let mut old = phone.request(vec![m.clone()]);
        old.protocol_version = 0;
        let resp = post_sync(&app, &token, "application/cbor", sync::encode_request(&old)).await;
        let answer = sync::decode_response(&resp.bytes().await.unwrap()).unwrap();
        assert!(answer.upgrade_required && answer.outcomes.is_empty());
        // An oversized batch.
        let mut big = phone.request(Vec::new());
        big.mutations = (0..=sync::MAX_BATCH).map(|_| m.clone()).collect();
        let resp = post_sync(&app, &token, "application/cbor", sync::encode_request(&big)).await;
        assert_error(
            resp,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_sync_request",
        )
        .await;
        // A tontine the user is not in, and an unknown kind, are rejected but counted.
        let mut stranger = m.clone();
        if let MutationKind::RecordCashPayment { tontine_id, .. } = &mut stranger.kind {
            *tontine_id = TontineId::new();
        }
        let stranger = Mutation {
            prev_hash: ZERO_HASH,
            seq: 1,
            ..stranger
        };
        let answer = phone.sync(&app, vec![stranger.clone()]).await;
        let Outcome::Rejected { code, .. } = &answer.outcomes[0].outcome else {
            panic!("{answer:?}")
        };
        assert_eq!(code, "not_found");
        // JSON works too, with zstd on the way in: the next number is 2.
        let next = Mutation {
            seq: 2,
            prev_hash: mutation_hash(&stranger),
            ..m
        };
        let json_body = serde_json::to_vec(&phone.request(vec![next])).unwrap();
        let compressed = zstd_compress(&json_body);
        let resp = app
            .client
            .post(app.url("/sync"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .header("content-encoding", "zstd")
            .body(compressed)
            .send()
            .await
            .unwrap();
        let body: Value = assert_status(resp, StatusCode::OK).await;
        assert_eq!(body["outcomes"][0]["outcome"]["outcome"], "applied");
        let path = with_query("/api/v1/payments", &[("tontine_id", c.id())]);
        let listed = assert_status(app.get(&path, c.treasurer.token()).await, StatusCode::OK).await;
        assert_eq!(listed["total"], 1);
    }
);

fn zstd_compress(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 3).unwrap()
}

dual_test!(
    unknown_kinds_are_rejected_and_counted_and_clocks_ahead_are_flagged,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let mut phone = Phone::enroll(&app, &c.collector).await;
        // A kind this server does not know, in otherwise valid bytes (same length, so the
        // CBOR stays well-formed).
        let m = phone.pay(&c, &c.members[0], &session(&c));
        let valid = sync::to_canonical_cbor(&m);
        let at = valid
            .windows(19)
            .position(|w| w == b"record_cash_payment")
            .unwrap();
        let mut unknown = valid.clone();
        unknown[at..at + 19].copy_from_slice(b"record_gold_payment");
        let body = sync::encode_request(&phone.request(vec![m.clone()]));
        let at = body
            .windows(valid.len())
            .position(|w| w == valid.as_slice())
            .unwrap();
        let mut body = body;
        body[at..at + valid.len()].copy_from_slice(&unknown);
        let resp = post_sync(&app, &phone.token, "application/cbor", body).await;
        let answer = sync::decode_response(&resp.bytes().await.unwrap()).unwrap();
        let Outcome::Rejected { code, .. } = &answer.outcomes[0].outcome else {
            panic!("{answer:?}")
        };
        assert_eq!(code, "unknown_mutation_kind");
        // Refused for good, it still counts: the next number links to its bytes.
        phone.last = sync::RawMutation::from_bytes(unknown).hash();
        let ahead = {
            let mut m = phone.pay(&c, &c.members[0], &session(&c));
            m.recorded_at += 3 * 24 * 3600;
            phone.last = mutation_hash(&m);
            m
        };
        let behind = {
            let mut m = phone.pay(&c, &c.members[1], &session(&c));
            m.recorded_at -= 3 * 24 * 3600;
            phone.last = mutation_hash(&m);
            m
        };
        let answer = phone.sync(&app, vec![ahead, behind]).await;
        assert_eq!(outcomes(&answer), ["flagged", "applied"], "{answer:?}");
        let Outcome::Flagged { reason } = &answer.outcomes[0].outcome else {
            unreachable!()
        };
        assert!(reason.contains("horloge"), "{reason}");
    }
);

dual_test!(a_payment_id_is_used_once, |app| async move {
    let c = circle(&app, json!({})).await;
    let mut phone = Phone::enroll(&app, &c.collector).await;
    let first = phone.pay(&c, &c.members[0], &session(&c));
    let MutationKind::RecordCashPayment { payment_id, .. } = first.kind.clone() else {
        unreachable!()
    };
    let reuse = |m: Mutation| {
        let mut m = m;
        if let MutationKind::RecordCashPayment { payment_id: id, .. } = &mut m.kind {
            *id = payment_id;
        }
        m
    };
    // The same id twice in one batch, then again in a later batch.
    let mut second = phone.pay(&c, &c.members[1], &session(&c));
    second = reuse(second);
    second.prev_hash = mutation_hash(&first);
    phone.last = mutation_hash(&second);
    let answer = phone.sync(&app, vec![first, second.clone()]).await;
    assert_eq!(outcomes(&answer), ["applied", "rejected"]);
    let mut third = reuse(phone.pay(&c, &c.president, &session(&c)));
    third.prev_hash = mutation_hash(&second);
    let answer = phone.sync(&app, vec![third]).await;
    let Outcome::Rejected { code, .. } = &answer.outcomes[0].outcome else {
        panic!("{answer:?}")
    };
    assert_eq!(code, "conflict");
    let path = with_query("/api/v1/payments", &[("tontine_id", c.id())]);
    let listed = assert_status(app.get(&path, c.treasurer.token()).await, StatusCode::OK).await;
    assert_eq!(listed["total"], 1);
});

dual_test!(
    a_member_added_offline_can_pay_in_the_same_batch,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let mut phone = Phone::enroll(&app, &c.president).await;
        let member_id = MemberId::new();
        let add = phone.record(MutationKind::AddMember {
            member_id,
            tontine_id: tontine(&c),
            user_id: kobiri_core::UserId::new(),
            phone: "+221765551299".to_owned(),
            first_name: "Mame Diarra".to_owned(),
            last_name: "Kane".to_owned(),
        });
        let pay = phone.record(MutationKind::RecordCashPayment {
            payment_id: PaymentId::new(),
            tontine_id: tontine(&c),
            session_id: SessionId::from_uuid(session(&c).parse().unwrap()),
            member_id,
            amount: "5000".to_owned(),
            currency: "XOF".to_owned(),
        });
        let answer = phone.sync(&app, vec![add, pay]).await;
        assert_eq!(outcomes(&answer), ["applied", "applied"]);
        let path = format!("/api/v1/tontines/{}/members", c.id());
        let members =
            assert_status(app.get(&path, c.president.token()).await, StatusCode::OK).await;
        assert!(
            members
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["id"] == member_id.to_string())
        );
        // The phone gets the names as given, even a first name of two words.
        let row = &phone.rows[&tontine(&c)][&("member".to_owned(), member_id.as_uuid())];
        assert_eq!(row["first_name"], "Mame Diarra");
        assert_eq!(row["last_name"], "Kane");
        // A collector may not add members, offline or not.
        let mut collector = Phone::enroll(&app, &c.collector).await;
        let add = collector.record(MutationKind::AddMember {
            member_id: MemberId::new(),
            tontine_id: tontine(&c),
            user_id: kobiri_core::UserId::new(),
            phone: "+221765551300".to_owned(),
            first_name: "Fatou".to_owned(),
            last_name: "Sow".to_owned(),
        });
        let answer = collector.sync(&app, vec![add]).await;
        let Outcome::Rejected { code, .. } = &answer.outcomes[0].outcome else {
            panic!("{answer:?}")
        };
        assert_eq!(code, "forbidden");
    }
);

dual_test!(
    an_account_added_offline_is_claimed_only_with_the_code_sent_to_its_phone,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let mut phone = Phone::enroll(&app, &c.president).await;
        let user_id = kobiri_core::UserId::new();
        let add = phone.record(MutationKind::AddMember {
            member_id: MemberId::new(),
            tontine_id: tontine(&c),
            user_id,
            phone: "+221765551301".to_owned(),
            first_name: "Coumba".to_owned(),
            last_name: "Ba".to_owned(),
        });
        let answer = phone.sync(&app, vec![add]).await;
        assert_eq!(outcomes(&answer), ["applied"]);
        let body = registration("intrus@example.sn", "+221765551301");
        assert_error(
            app.post("/api/v1/auth/register", None, &body).await,
            StatusCode::CONFLICT,
            "phone_needs_verification",
        )
        .await;
        assert!(
            app.stored_user(&user_id.to_string())
                .await
                .password_hash
                .is_none()
        );
        let code = code_in(
            &app.last_sms_to("+221765551301")
                .await
                .expect("a code by SMS"),
        );
        let claimed = assert_status(
            app.post(
                "/api/v1/auth/register",
                None,
                &with(body, "phone_code", json!(code)),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(claimed["id"], user_id.to_string());
    }
);

dual_test!(
    an_offline_add_member_of_a_registered_phone_invites_that_account_instead,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let mut phone = Phone::enroll(&app, &c.president).await;
        let registered = app.user("registered").await;
        let add = phone.record(MutationKind::AddMember {
            member_id: MemberId::new(),
            tontine_id: tontine(&c),
            user_id: kobiri_core::UserId::new(),
            phone: registered.phone.clone(),
            first_name: "Autre".to_owned(),
            last_name: "Nom".to_owned(),
        });
        let answer = phone.sync(&app, vec![add]).await;
        let Outcome::Rejected { code, .. } = &answer.outcomes[0].outcome else {
            panic!("{answer:?}")
        };
        assert_eq!(code, "conflict");
        let invitations = assert_status(
            app.get("/api/v1/invitations", registered.token()).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(invitations[0]["tontine_id"], c.id());
        let path = format!("/api/v1/tontines/{}/members", c.id());
        let members =
            assert_status(app.get(&path, c.president.token()).await, StatusCode::OK).await;
        assert!(
            members
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m["user_id"] != registered.id.as_str())
        );
    }
);

dual_test!(
    a_device_refresh_whose_answer_was_lost_can_be_retried_once,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let body = json!({"name": "Téléphone", "platform": "android"});
        let enrolled = assert_status(
            app.post("/api/v1/devices", c.collector.token(), &body)
                .await,
            StatusCode::CREATED,
        )
        .await;
        let first = enrolled["refresh_token"].as_str().unwrap();
        // The answer to this refresh is lost on the way to the phone…
        let lost = assert_status(app.refresh(first).await, StatusCode::OK).await;
        // … so the phone presents the same token again: it gets a new pair.
        let retried = assert_status(app.refresh(first).await, StatusCode::OK).await;
        assert_ne!(retried["refresh_token"], lost["refresh_token"]);
        let next = app
            .refresh(retried["refresh_token"].as_str().unwrap())
            .await;
        assert_status(next, StatusCode::OK).await;
        // The lost pair is dead, and a second replay is a re-use.
        let resp = app.refresh(lost["refresh_token"].as_str().unwrap()).await;
        assert_error(resp, StatusCode::UNAUTHORIZED, "token_reused").await;
        assert_error(
            app.refresh(first).await,
            StatusCode::UNAUTHORIZED,
            "token_reused",
        )
        .await;
    }
);

dual_test!(
    member_rows_carry_phones_only_for_those_who_see_members_contacts,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let t = tontine(&c);
        // The collector syncs first, so the server has digested the rows with phones; the
        // member's view must not reuse them (the phone checks every checksum it gets).
        let mut collector = Phone::enroll(&app, &c.collector).await;
        collector.pull_all(&app).await;
        let mut member = Phone::enroll(&app, &c.members[0]).await;
        member.pull_all(&app).await;
        let with_phone = |p: &Phone| {
            p.members(t)
                .iter()
                .filter(|row| row.contains_key("phone"))
                .count()
        };
        let everyone = collector.members(t).len();
        assert!(everyone >= 4, "{everyone}");
        assert_eq!(with_phone(&collector), everyone);
        assert_eq!(member.members(t).len(), everyone);
        assert_eq!(with_phone(&member), 0);
        // Both stay in step afterwards.
        collector.pull_all(&app).await;
        member.pull_all(&app).await;
    }
);
