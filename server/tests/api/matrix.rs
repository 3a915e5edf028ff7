// Over 400 lines on purpose: the tests of one area, each standing alone; splitting them by size
// would separate the tests of one rule.
//! The authorization matrix: every endpoint of `/api/v1` × six callers, with the status the
//! contract (`shared/api-contract.md`, `core::permission`) gives each.
//!
//! Callers: `outsider` (registered, not in the tontine), the four roles of one tontine
//! (`membre`, `collecteur`, `tresorier`, `president`) and `admin` (a platform admin who is not
//! in the tontine). Each (row, caller) run gets a fresh small tontine built over HTTP, so what
//! one run changes never shows in another. The six accounts are registered once per engine.
//!
//! Endpoints outside a tontine: auth endpoints act on the caller's own account (everyone gets
//! the same answer); `/users/{id}` targets the `membre` account (self for `membre`, a co-member
//! for the other roles, a stranger for `outsider`); notifications are the caller's own, except
//! `send-reminder`, which is about the fixture's open session.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::dual_test_with;
use crate::helpers::*;
use crate::tontines::create_tontine;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Outsider,
    Membre,
    Collecteur,
    Tresorier,
    President,
    Admin,
}

impl Role {
    /// The columns of the matrix, in the order of `Row::expected`.
    const ALL: [Role; 6] = [
        Role::Outsider,
        Role::Membre,
        Role::Collecteur,
        Role::Tresorier,
        Role::President,
        Role::Admin,
    ];

    fn name(self) -> &'static str {
        match self {
            Role::Outsider => "outsider",
            Role::Membre => "membre",
            Role::Collecteur => "collecteur",
            Role::Tresorier => "tresorier",
            Role::President => "president",
            Role::Admin => "admin",
        }
    }
}

/// What a run needs before its request. The tontine stages build on each other, in order:
/// `Started` has everything `Passages` has, and so on down to `Tontine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Setup {
    Nothing,
    /// A fresh refresh token of the caller (`fx.refresh`).
    FreshLogin,
    /// A password-reset code sent to the caller's e-mail (`fx.secret`).
    ResetCode,
    /// An e-mail verification code sent to the caller (`fx.secret`).
    VerifyCode,
    /// A tontine created by the president, with the tresorier, collecteur and membre added.
    Tontine,
    /// … and two sessions planned, none open.
    Planned,
    /// … and the first session open.
    Open,
    /// … and a payment recorded by the collecteur for the membre (`en_attente`).
    Paid,
    /// … and the payout order set with the membre first (`fx.passage` is the membre's
    /// passage, `programme`, on the first session).
    Passages,
    /// … and the membre's passage started (`en_cours`).
    Started,
    /// … and the payment validated by the president (`fx.receipt` is its receipt code): the
    /// pot of the membre's passage (number 1, on the first session) holds 5000.
    Receipt,
    /// … and a payout of that pot asked for by the tresorier, waiting for a second manager
    /// (the matrix's approval threshold is below 5000).
    Requested,
}

/// What a run leaves behind that later runs must not see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Undo {
    Nothing,
    /// The outsider joined the fixture's tontine: leave it, so the outsider still shares no
    /// tontine with the membre (`GET /users/{id}` depends on it).
    OutsiderLeaves,
    /// The membre's account was deactivated: the admin reactivates it (through the API, so
    /// no cache keeps the old state), and the membre logs in again (deactivation closed
    /// their sessions).
    ReactivateMembre,
    /// The caller's sessions were closed (password changed or reset): they log in again.
    Relogin,
}

/// The ids and secrets a run's path and body are made of.
#[derive(Debug, Default)]
struct Fx {
    /// A number unique to the run.
    run: usize,
    /// The caller's e-mail.
    email: String,
    refresh: String,
    secret: String,
    /// The membre's user id: the target of `/users/{id}`.
    membre_user: String,
    tontine: String,
    code: String,
    president_member: String,
    membre_member: String,
    /// Every member id of the tontine.
    members: Vec<String>,
    /// The first session.
    session: String,
    /// The payment the collecteur recorded for the membre.
    payment: String,
    /// The membre's passage.
    passage: String,
    /// The membre's enrolled device.
    device: String,
    /// An id that names nothing (an invitation nobody sent).
    nobody: String,
    /// The receipt code of the validated payment.
    receipt: String,
    /// An id no flag has.
    flag: String,
}

struct Row {
    method: &'static str,
    /// The template, exactly as in `/openapi.json`. `{tontine_id}` and `{id}` after
    /// `tontines` are the fixture's tontine; `{id}` after `sessions`, `payments`, `passages`
    /// is its first session, the membre's payment, the membre's passage; after `users`, the
    /// membre's account; `{member_id}` is the membre's membership.
    path: &'static str,
    setup: Setup,
    /// The JSON body (`Value::Null`: none).
    body: fn(&Fx) -> Value,
    /// No token needed (and none declared in the spec): no 401 check.
    public: bool,
    undo: Undo,
    /// outsider, membre, collecteur, tresorier, president, admin.
    expected: [u16; 6],
}

const BASE: Row = Row {
    method: "GET",
    path: "",
    setup: Setup::Nothing,
    body: |_| Value::Null,
    public: false,
    undo: Undo::Nothing,
    expected: [0; 6],
};

/// Every member of the tontine may see it; outsiders get a 404 (its existence does not leak).
const MEMBERS_SEE: [u16; 6] = [404, 200, 200, 200, 200, 200];
/// President and admin only (UpdateTontine, ManageMembers, ManagePassages…).
const PRESIDENT_ONLY: [u16; 6] = [404, 403, 403, 403, 200, 200];
/// Tresorier and up (sessions, validation, payouts, reminders, audit).
const TRESORIER_UP: [u16; 6] = [404, 403, 403, 200, 200, 200];
const TRESORIER_UP_CREATED: [u16; 6] = [404, 403, 403, 201, 201, 201];

/// Served but not in the spec (none today: every route is documented).
const UNDOCUMENTED: &[(&str, &str)] = &[];

#[rustfmt::skip]
const ROWS: &[Row] = &[
    // ---- auth: no role dimension; each caller acts on their own account
    Row { method: "POST", path: "/api/v1/auth/register", public: true, expected: [201; 6],
        body: |f| json!({"email": format!("matrix-new-{}@example.sn", f.run),
            "phone": format!("+22176{:07}", f.run), "password": PASSWORD,
            "confirm_password": PASSWORD, "first_name": "Ndeye", "last_name": "Fall"}), ..BASE },
    Row { method: "POST", path: "/api/v1/auth/login", public: true, expected: [200; 6],
        body: |f| json!({"email": f.email, "password": PASSWORD}), ..BASE },
    Row { method: "POST", path: "/api/v1/auth/refresh", public: true, expected: [200; 6],
        setup: Setup::FreshLogin, body: |f| json!({"refresh_token": f.refresh}), ..BASE },
    Row { method: "POST", path: "/api/v1/auth/logout", public: true, expected: [200; 6],
        setup: Setup::FreshLogin, body: |f| json!({"refresh_token": f.refresh}), ..BASE },
    Row { method: "GET", path: "/api/v1/auth/me", expected: [200; 6], ..BASE },
    // The same password again: allowed, and later runs still log in with it.
    Row { method: "POST", path: "/api/v1/auth/change-password", expected: [200; 6],
        body: |_| json!({"current_password": PASSWORD, "new_password": PASSWORD,
            "confirm_password": PASSWORD}), undo: Undo::Relogin, ..BASE },
    Row { method: "POST", path: "/api/v1/auth/forgot-password", public: true, expected: [200; 6],
        body: |f| json!({"email": f.email}), ..BASE },
    Row { method: "POST", path: "/api/v1/auth/reset-password", public: true, expected: [200; 6],
        setup: Setup::ResetCode,
        body: |f| json!({"email": f.email, "code": f.secret, "new_password": PASSWORD,
            "confirm_password": PASSWORD}), undo: Undo::Relogin },
    Row { method: "POST", path: "/api/v1/auth/send-verification", expected: [200; 6],
        body: |_| json!({"channel": "email"}), ..BASE },
    Row { method: "POST", path: "/api/v1/auth/verify", expected: [200; 6],
        setup: Setup::VerifyCode, body: |f| json!({"channel": "email", "code": f.secret}), ..BASE },

    // ---- users: the target is the membre's account
    Row { method: "GET", path: "/api/v1/users", expected: [403, 403, 403, 403, 403, 200], ..BASE },
    // Self, co-members and admins see it; a stranger gets a 404.
    Row { method: "GET", path: "/api/v1/users/{id}", setup: Setup::Tontine, expected: MEMBERS_SEE,
        ..BASE },
    // Self or admin. Co-members may see the account, so refusing them is a 403 (nothing to
    // hide); a stranger, who may not see it, gets a 404.
    Row { method: "PUT", path: "/api/v1/users/{id}", setup: Setup::Tontine,
        body: |_| json!({"city": "Thiès"}), expected: [404, 200, 403, 403, 403, 200], ..BASE },
    Row { method: "DELETE", path: "/api/v1/users/{id}", setup: Setup::Tontine,
        undo: Undo::ReactivateMembre, expected: [404, 200, 403, 403, 403, 200], ..BASE },

    // ---- notifications: the caller's own inbox and choices
    Row { method: "GET", path: "/api/v1/notifications", expected: [200; 6], ..BASE },
    Row { method: "GET", path: "/api/v1/notifications/unread-count", expected: [200; 6], ..BASE },
    Row { method: "POST", path: "/api/v1/notifications/mark-read", expected: [200; 6],
        body: |_| json!({"all": true}), ..BASE },
    Row { method: "GET", path: "/api/v1/notifications/preferences", expected: [200; 6], ..BASE },
    Row { method: "PUT", path: "/api/v1/notifications/preferences", expected: [200; 6],
        body: |_| json!({"preferences": [
            {"type": "information", "channel": "email", "enabled": true}]}), ..BASE },
    Row { method: "POST", path: "/api/v1/notifications/send-reminder", setup: Setup::Open,
        body: |f| json!({"session_id": f.session}), expected: TRESORIER_UP, ..BASE },
    // SMS gateways' delivery reports are public: a token in the URL authenticates the gateway,
    // not a user (404 here: no SMS_DELIVERY_REPORT_TOKEN is configured).
    Row { method: "POST", path: "/api/v1/notifications/delivery-reports/{gateway}",
        public: true, body: |_| json!({}), expected: [404; 6], ..BASE },

    // ---- tontines and members
    Row { method: "POST", path: "/api/v1/tontines", expected: [201; 6],
        body: |_| json!({"name": "Tontine des voisins", "type": "rotative",
            "frequency": "mensuel", "contribution_amount": 5000, "start_date": "2027-01-31"}),
        ..BASE },
    Row { method: "GET", path: "/api/v1/tontines", setup: Setup::Tontine, expected: [200; 6],
        ..BASE },
    Row { method: "GET", path: "/api/v1/tontines/{id}", setup: Setup::Tontine,
        expected: MEMBERS_SEE, ..BASE },
    Row { method: "PUT", path: "/api/v1/tontines/{id}", setup: Setup::Tontine,
        body: |_| json!({"name": "Tontine renommée"}), expected: PRESIDENT_ONLY, ..BASE },
    Row { method: "DELETE", path: "/api/v1/tontines/{id}", setup: Setup::Tontine,
        expected: PRESIDENT_ONLY, ..BASE },
    // Anyone with the code may join: the outsider and the admin join (201), members are
    // already in (409).
    Row { method: "POST", path: "/api/v1/tontines/join", setup: Setup::Tontine,
        body: |f| json!({"code": f.code}), undo: Undo::OutsiderLeaves,
        expected: [201, 409, 409, 409, 409, 201], ..BASE },
    // A person without a smartphone, added by phone.
    Row { method: "POST", path: "/api/v1/tontines/{id}/members", setup: Setup::Tontine,
        body: |_| json!({"phone": "+221780000042", "first_name": "Coumba", "last_name": "Sow"}),
        expected: [404, 403, 403, 403, 201, 201], ..BASE },
    Row { method: "GET", path: "/api/v1/tontines/{id}/members", setup: Setup::Tontine,
        expected: MEMBERS_SEE, ..BASE },
    // The caller's own invitations (none here); answering one that is not theirs is a 404
    // for everyone (`invitations.rs` tests the invited person's answers).
    Row { method: "GET", path: "/api/v1/invitations", expected: [200; 6], ..BASE },
    Row { method: "POST", path: "/api/v1/invitations/{id}/accept", expected: [404; 6], ..BASE },
    Row { method: "POST", path: "/api/v1/invitations/{id}/refuse", expected: [404; 6], ..BASE },
    // Promoting the membre: only the president (or an admin) may.
    Row { method: "PUT", path: "/api/v1/tontines/{id}/members/{member_id}",
        setup: Setup::Tontine, body: |_| json!({"role": "tresorier"}), expected: PRESIDENT_ONLY,
        ..BASE },
    // Members leave (200); the last president may not while others remain (400, business
    // rule); an admin who is not a member has no membership to end (404).
    Row { method: "POST", path: "/api/v1/tontines/{id}/leave", setup: Setup::Tontine,
        body: |_| json!({}), expected: [404, 200, 200, 200, 400, 404], ..BASE },
    Row { method: "GET", path: "/api/v1/tontines/{id}/stats", setup: Setup::Tontine,
        expected: MEMBERS_SEE, ..BASE },
    Row { method: "GET", path: "/api/v1/tontines/{id}/audit", setup: Setup::Paid,
        expected: TRESORIER_UP, ..BASE },

    // ---- sessions
    Row { method: "POST", path: "/api/v1/sessions", setup: Setup::Tontine,
        body: |f| json!({"tontine_id": f.tontine, "scheduled_date": "2027-06-01",
            "due_date": "2027-06-05"}), expected: TRESORIER_UP_CREATED, ..BASE },
    Row { method: "POST", path: "/api/v1/sessions/generate/{tontine_id}", setup: Setup::Tontine,
        body: |_| json!({"count": 1}), expected: TRESORIER_UP_CREATED, ..BASE },
    Row { method: "GET", path: "/api/v1/sessions/tontine/{tontine_id}", setup: Setup::Planned,
        expected: MEMBERS_SEE, ..BASE },
    Row { method: "GET", path: "/api/v1/sessions/{id}", setup: Setup::Planned,
        expected: MEMBERS_SEE, ..BASE },
    Row { method: "POST", path: "/api/v1/sessions/{id}/open", setup: Setup::Planned,
        body: |_| json!({"send_notifications": true}), expected: TRESORIER_UP, ..BASE },
    // Payments are missing, hence `force`.
    Row { method: "POST", path: "/api/v1/sessions/{id}/close", setup: Setup::Open,
        body: |_| json!({"force": true}), expected: TRESORIER_UP, ..BASE },
    Row { method: "GET", path: "/api/v1/sessions/{id}/stats", setup: Setup::Open,
        expected: MEMBERS_SEE, ..BASE },

    // ---- payments
    // Cash for the president: recording for another member takes a collecteur (the membre
    // gets 403); the president records their own; an admin records for a member.
    Row { method: "POST", path: "/api/v1/payments", setup: Setup::Open,
        body: |f| json!({"tontine_id": f.tontine, "amount": 5000, "method": "especes",
            "member_id": f.president_member}),
        expected: [404, 403, 201, 201, 201, 201], ..BASE },
    // Everyone lists their own payments.
    Row { method: "GET", path: "/api/v1/payments", setup: Setup::Paid, expected: [200; 6],
        ..BASE },
    Row { method: "GET", path: "/api/v1/payments/tontine/{tontine_id}", setup: Setup::Paid,
        expected: MEMBERS_SEE, ..BASE },
    Row { method: "GET", path: "/api/v1/tontines/{id}/payments", setup: Setup::Paid,
        expected: MEMBERS_SEE, ..BASE },
    // The payer (the membre), the collecteur and up, admins.
    Row { method: "GET", path: "/api/v1/payments/{id}", setup: Setup::Paid,
        expected: MEMBERS_SEE, ..BASE },
    // President or tresorier. The collecteur gets 403 twice over: not a validator, and the
    // one who recorded it (four eyes).
    Row { method: "POST", path: "/api/v1/payments/{id}/validate", setup: Setup::Paid,
        body: |_| json!({"action": "approve"}), expected: TRESORIER_UP, ..BASE },

    // Mobile money: a member pays their own contribution. No provider is configured in the
    // matrix, so members get 400 provider_not_configured after every access check; an admin
    // who is not a member has no contribution to pay (403).
    Row { method: "POST", path: "/api/v1/payments/initiate", setup: Setup::Open,
        body: |f| json!({"session_id": f.session, "method": "wave",
            "phone_number": "+221770000077"}),
        expected: [404, 400, 400, 400, 400, 403], ..BASE },
    // Provider callbacks are public: the provider authenticates itself (signature, token,
    // status re-query), not a user, so every caller gets the same answer (404 here: no
    // provider is configured).
    Row { method: "POST", path: "/api/v1/payments/callback/{provider}", public: true,
        setup: Setup::Paid, body: |_| json!({}), expected: [404; 6], ..BASE },
    Row { method: "PUT", path: "/api/v1/payments/callback/{provider}", public: true,
        setup: Setup::Paid, body: |_| json!({}), expected: [404; 6], ..BASE },

    // ---- passages (payout order)
    Row { method: "POST", path: "/api/v1/passages/generate/{tontine_id}", setup: Setup::Tontine,
        body: |_| json!({"method": "alphabetical"}), expected: PRESIDENT_ONLY, ..BASE },
    Row { method: "PUT", path: "/api/v1/passages/order/{tontine_id}", setup: Setup::Tontine,
        body: |f| json!({"passages": f.members.iter().enumerate()
            .map(|(i, m)| json!({"member_id": m, "order_number": i + 1}))
            .collect::<Vec<_>>()}),
        expected: PRESIDENT_ONLY, ..BASE },
    Row { method: "GET", path: "/api/v1/passages/tontine/{tontine_id}", setup: Setup::Passages,
        expected: MEMBERS_SEE, ..BASE },
    Row { method: "GET", path: "/api/v1/passages/tontine/{tontine_id}/schedule",
        setup: Setup::Passages, expected: MEMBERS_SEE, ..BASE },
    Row { method: "POST", path: "/api/v1/passages/{id}/start", setup: Setup::Passages,
        body: |_| json!({}), expected: TRESORIER_UP, ..BASE },
    // The pot holds 5000, above the matrix's approval threshold: the payout waits (202).
    Row { method: "POST", path: "/api/v1/passages/{id}/payout", setup: Setup::Receipt,
        body: |_| json!({"payout_method": "especes", "amount": 5000}),
        expected: [404, 403, 403, 202, 202, 202], ..BASE },
    // Another manager than the requester (the tresorier) approves: four eyes.
    Row { method: "POST", path: "/api/v1/passages/{id}/payout/approve", setup: Setup::Requested,
        body: |_| json!({}), expected: [404, 403, 403, 403, 200, 200], ..BASE },
    Row { method: "POST", path: "/api/v1/passages/{id}/payout/reject", setup: Setup::Requested,
        body: |_| json!({"reason": "Pas ce mois-ci"}), expected: TRESORIER_UP, ..BASE },
    Row { method: "GET", path: "/api/v1/passages/{id}/payout-requests", setup: Setup::Requested,
        expected: TRESORIER_UP, ..BASE },
    // The beneficiary (the membre) or a manager asks for a code to a payout number…
    Row { method: "POST", path: "/api/v1/passages/{id}/payout-phone", setup: Setup::Passages,
        body: |_| json!({"phone": "+221770000078"}),
        expected: [404, 200, 403, 200, 200, 200], ..BASE },
    // … and confirms it (no code was sent here: the allowed callers get 400 invalid_code).
    Row { method: "POST", path: "/api/v1/passages/{id}/payout-phone/confirm",
        setup: Setup::Passages, body: |_| json!({"phone": "+221770000078", "code": "000000"}),
        expected: [404, 400, 403, 400, 400, 400], ..BASE },
    // Only the beneficiary (the membre) confirms; not even the president or an admin.
    Row { method: "POST", path: "/api/v1/passages/{id}/confirm", setup: Setup::Receipt,
        body: |_| json!({"amount_received": 5000}),
        expected: [404, 200, 403, 403, 403, 403], ..BASE },
    Row { method: "POST", path: "/api/v1/passages/{id}/postpone", setup: Setup::Passages,
        body: |_| json!({"reason": "Voyage à Touba"}), expected: PRESIDENT_ONLY, ..BASE },

    // ---- sync: devices are the caller's own; `{id}` after `devices` is the membre's device
    Row { method: "POST", path: "/api/v1/devices", expected: [201; 6],
        body: |_| json!({"name": "Téléphone de terrain", "platform": "android"}), ..BASE },
    Row { method: "GET", path: "/api/v1/devices", expected: [200; 6], ..BASE },
    // The owner or an admin; anyone else must not learn that the device exists.
    Row { method: "DELETE", path: "/api/v1/devices/{id}", setup: Setup::Tontine,
        expected: [404, 200, 404, 404, 404, 200], ..BASE },
    // Only the owner registers a push token on their device, not even an admin.
    Row { method: "POST", path: "/api/v1/devices/{id}/push-token", setup: Setup::Tontine,
        body: |_| json!({"token": "fcm-token-de-la-membre", "platform": "android"}),
        expected: [404, 204, 404, 404, 404, 404], ..BASE },
    // The member who paid and whoever may see all payments.
    Row { method: "GET", path: "/api/v1/receipts/{receipt_code}", setup: Setup::Receipt,
        expected: MEMBERS_SEE, ..BASE },
    Row { method: "GET", path: "/api/v1/tontines/{id}/flags", setup: Setup::Tontine,
        expected: TRESORIER_UP, ..BASE },
    // Roles are checked before the flag is looked up: the unknown flag is a 404 only for
    // those allowed to resolve flags.
    Row { method: "POST", path: "/api/v1/tontines/{id}/flags/{flag_id}/resolve",
        setup: Setup::Tontine, body: |_| json!({"resolution": "accepte", "note": "Vu"}),
        expected: [404, 403, 403, 404, 404, 404], ..BASE },
    Row { method: "GET", path: "/api/v1/tontines/{id}/incidents", setup: Setup::Tontine,
        expected: TRESORIER_UP, ..BASE },
];

/// The six accounts, registered once per engine; indexed like `Role::ALL`.
struct Cast {
    users: Vec<TestUser>,
}

impl Cast {
    async fn register(app: &TestApp) -> Self {
        let mut users = Vec::new();
        for role in Role::ALL {
            let tag = format!("matrix-{}", role.name());
            users.push(match role {
                Role::Admin => app.admin(&tag).await,
                _ => app.user(&tag).await,
            });
        }
        Self { users }
    }

    fn user(&self, role: Role) -> &TestUser {
        &self.users[Self::index(role)]
    }

    fn index(role: Role) -> usize {
        Role::ALL.iter().position(|r| *r == role).unwrap()
    }

    /// A new session for `role`, whose former one was closed.
    async fn relogin(&mut self, app: &TestApp, role: Role) {
        let i = Self::index(role);
        self.users[i] = app.relogin(&self.users[i]).await;
    }
}

/// `POST path` as `user`, which must succeed (fixtures only); returns the JSON answer.
async fn post_ok(app: &TestApp, user: &TestUser, path: &str, body: Value) -> Value {
    success(app.post(path, user.token(), &body).await, path).await
}

/// `GET path` as `user`, which must succeed (fixtures only); returns the JSON answer.
async fn get_ok(app: &TestApp, user: &TestUser, path: &str) -> Value {
    success(app.get(path, user.token()).await, path).await
}

async fn success(resp: reqwest::Response, path: &str) -> Value {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert!(status.is_success(), "fixture: {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// The code in the last e-mail sent to `email`.
async fn emailed_code(app: &TestApp, email: &str) -> String {
    code_in(
        &app.last_email_to(email)
            .await
            .expect("an e-mail with a code"),
    )
}

/// A fresh fixture for one run of `caller`, as far as `setup` asks, built over HTTP by the
/// president (and the collecteur for the payment) without registering anyone.
async fn fixture(app: &TestApp, cast: &Cast, caller: Role, setup: Setup, run: usize) -> Fx {
    let me = cast.user(caller);
    let mut fx = Fx {
        run,
        email: me.email.clone(),
        membre_user: cast.user(Role::Membre).id.clone(),
        nobody: uuid::Uuid::now_v7().to_string(),
        ..Fx::default()
    };
    match setup {
        Setup::Nothing => return fx,
        Setup::FreshLogin => {
            fx.refresh = app.relogin(me).await.refresh;
            return fx;
        }
        Setup::ResetCode => {
            let body = json!({"email": me.email});
            post_ok(app, me, "/api/v1/auth/forgot-password", body).await;
            fx.secret = emailed_code(app, &me.email).await;
            return fx;
        }
        Setup::VerifyCode => {
            let body = json!({"channel": "email"});
            post_ok(app, me, "/api/v1/auth/send-verification", body).await;
            fx.secret = emailed_code(app, &me.email).await;
            return fx;
        }
        _ => {}
    }

    let president = cast.user(Role::President);
    let settings = json!({"max_members": 10, "start_date": app.clock_today()});
    let tontine = create_tontine(app, president, settings).await;
    fx.tontine = id(&tontine);
    fx.code = tontine["code"].as_str().unwrap().to_owned();
    let members_path = format!("/api/v1/tontines/{}/members", fx.tontine);
    for (role, name) in [
        (Role::Tresorier, "tresorier"),
        (Role::Collecteur, "collecteur"),
        (Role::Membre, "membre"),
    ] {
        let member = app
            .add_existing(president, &fx.tontine, cast.user(role), name)
            .await;
        if role == Role::Membre {
            fx.membre_member = id(&member);
        }
    }
    for m in get_ok(app, president, &members_path)
        .await
        .as_array()
        .unwrap()
    {
        if m["role"] == "president" {
            fx.president_member = id(m);
        }
        fx.members.push(id(m));
    }
    let body = json!({"name": "Téléphone de la membre", "platform": "android"});
    let device = post_ok(app, cast.user(Role::Membre), "/api/v1/devices", body).await;
    fx.device = device["device_id"]
        .as_str()
        .expect("a device id")
        .to_owned();
    fx.flag = uuid::Uuid::now_v7().to_string();

    if setup >= Setup::Planned {
        let path = format!("/api/v1/sessions/generate/{}", fx.tontine);
        let sessions = post_ok(app, president, &path, json!({"count": 2})).await;
        fx.session = id(&sessions[0]);
    }
    if setup >= Setup::Open {
        let path = format!("/api/v1/sessions/{}/open", fx.session);
        post_ok(app, president, &path, json!({"send_notifications": false})).await;
    }
    if setup >= Setup::Paid {
        let body = json!({"tontine_id": fx.tontine, "amount": 5000, "method": "especes",
            "member_id": fx.membre_member});
        let collecteur = cast.user(Role::Collecteur);
        fx.payment = id(&post_ok(app, collecteur, "/api/v1/payments", body).await);
    }
    if setup >= Setup::Passages {
        let path = format!("/api/v1/passages/order/{}", fx.tontine);
        let mut order: Vec<&String> = vec![&fx.membre_member];
        order.extend(fx.members.iter().filter(|m| **m != fx.membre_member));
        let body = json!({"passages": order.iter().zip(1..)
            .map(|(m, n)| json!({"member_id": m, "order_number": n})).collect::<Vec<_>>()});
        let resp = app.put(&path, president.token(), &body).await;
        let order = assert_status(resp, StatusCode::OK).await;
        let mine = order["passages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["member_id"] == fx.membre_member.as_str())
            .expect("the membre's passage");
        fx.passage = id(mine);
    }
    if setup >= Setup::Started {
        let path = format!("/api/v1/passages/{}/start", fx.passage);
        post_ok(app, president, &path, json!({})).await;
    }
    if setup >= Setup::Receipt {
        let path = format!("/api/v1/payments/{}/validate", fx.payment);
        let paid = post_ok(app, president, &path, json!({"action": "approve"})).await;
        fx.receipt = paid["receipt_code"]
            .as_str()
            .expect("a receipt code")
            .to_owned();
    }
    if setup >= Setup::Requested {
        let path = format!("/api/v1/passages/{}/payout", fx.passage);
        let body = json!({"payout_method": "especes", "amount": 5000});
        let resp = app
            .post(&path, cast.user(Role::Tresorier).token(), &body)
            .await;
        assert_status(resp, StatusCode::ACCEPTED).await;
    }
    fx
}

/// The concrete path of `row` for `fx` (see `Row::path`).
fn fill(row: &Row, fx: &Fx) -> String {
    let segments: Vec<&str> = row.path.split('/').collect();
    let mut out = Vec::new();
    for (i, seg) in segments.iter().enumerate() {
        let value = match *seg {
            "{tontine_id}" => &fx.tontine,
            "{member_id}" => &fx.membre_member,
            "{receipt_code}" => &fx.receipt,
            "{flag_id}" => &fx.flag,
            "{provider}" => {
                out.push("wave".to_owned());
                continue;
            }
            "{gateway}" => {
                out.push("africastalking".to_owned());
                continue;
            }
            "{id}" => match segments[i - 1] {
                "tontines" => &fx.tontine,
                "sessions" => &fx.session,
                "payments" => &fx.payment,
                "passages" => &fx.passage,
                "users" => &fx.membre_user,
                "devices" => &fx.device,
                "invitations" => &fx.nobody,
                other => panic!("{}: no fixture id for {{id}} after {other}", row.path),
            },
            _ => {
                out.push((*seg).to_owned());
                continue;
            }
        };
        assert!(
            !value.is_empty(),
            "{} {}: setup {:?} does not provide {seg}",
            row.method,
            row.path,
            row.setup
        );
        out.push(value.clone());
    }
    out.join("/")
}

/// Sends `row`'s request for `fx`, with `token` or none; returns the status and the body.
async fn send(app: &TestApp, row: &Row, fx: &Fx, token: Option<&str>) -> (u16, String) {
    let method = Method::from_bytes(row.method.as_bytes()).unwrap();
    let mut request = app.request(method, &fill(row, fx), token);
    let body = (row.body)(fx);
    if !body.is_null() {
        request = request.json(&body);
    }
    let resp = request.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

async fn undo(app: &TestApp, cast: &mut Cast, role: Role, row: &Row, fx: &Fx) {
    match row.undo {
        Undo::Nothing => {}
        Undo::OutsiderLeaves => {
            // Only the outsider's run made them a member; elsewhere this is a harmless 404.
            let path = format!("/api/v1/tontines/{}/leave", fx.tontine);
            app.post(&path, cast.user(Role::Outsider).token(), &json!({}))
                .await;
        }
        Undo::ReactivateMembre => {
            let path = format!("/api/v1/users/{}", fx.membre_user);
            let admin = cast.user(Role::Admin);
            let resp = app
                .put(&path, admin.token(), &json!({"is_active": true}))
                .await;
            success(resp, &path).await;
            cast.relogin(app, Role::Membre).await;
        }
        Undo::Relogin => cast.relogin(app, role).await,
    }
}

/// One row's results: the status per role, and without a token.
struct Outcome {
    got: [u16; 6],
    anonymous: Option<u16>,
}

/// The whole matrix, a mismatch shown as `got!expected`.
fn render(outcomes: &[Outcome]) -> String {
    let width = ROWS
        .iter()
        .map(|r| r.method.len() + r.path.len() + 1)
        .max()
        .unwrap_or(0);
    let mut out = format!("{:width$}", "");
    for role in Role::ALL {
        out.push_str(&format!(" {:>10}", role.name()));
    }
    out.push_str(&format!(" {:>10}\n", "no token"));
    for (row, outcome) in ROWS.iter().zip(outcomes) {
        out.push_str(&format!(
            "{:width$}",
            format!("{} {}", row.method, row.path)
        ));
        for (got, want) in outcome.got.iter().zip(row.expected) {
            let cell = if *got == want {
                got.to_string()
            } else {
                format!("{got}!{want}")
            };
            out.push_str(&format!(" {cell:>10}"));
        }
        let anonymous = match outcome.anonymous {
            None => "-".to_owned(),
            Some(401) => "401".to_owned(),
            Some(other) => format!("{other}!401"),
        };
        out.push_str(&format!(" {anonymous:>10}\n"));
    }
    out
}

/// Looser rate limits: the matrix logs in and asks for reset codes far more than a person.
fn roomy(config: &mut kobiri_server::config::Config) {
    config.payout_approval_threshold = "1000".parse().unwrap();
    config.rate_limits.login_failures_per_ip = 1000;
    config.rate_limits.login_failures_per_account = 1000;
    config.rate_limits.forgot_per_ip = 1000;
    config.rate_limits.forgot_per_account = 1000;
}

dual_test_with!(
    matrix_covers_every_documented_operation,
    roomy,
    |app| async move {
        let spec = assert_status(app.get("/openapi.json", None).await, StatusCode::OK).await;
        let mut documented = BTreeSet::new();
        let mut secured = BTreeSet::new();
        for (path, item) in spec["paths"].as_object().unwrap() {
            if !path.starts_with("/api/v1/") {
                continue;
            }
            for (method, op) in item.as_object().unwrap() {
                let method = method.to_uppercase();
                if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                    continue;
                }
                if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                    secured.insert((method.clone(), path.clone()));
                }
                documented.insert((method, path.clone()));
            }
        }
        let table: BTreeSet<(String, String)> = ROWS
            .iter()
            .map(|r| (r.method.to_owned(), r.path.to_owned()))
            .filter(|(m, p)| !UNDOCUMENTED.contains(&(m.as_str(), p.as_str())))
            .collect();
        assert_eq!(
            table.len(),
            ROWS.len() - UNDOCUMENTED.len(),
            "a row is listed twice"
        );
        let missing: Vec<_> = documented.difference(&table).collect();
        let extra: Vec<_> = table.difference(&documented).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "the matrix and /openapi.json disagree.\n\
             documented without a row (add one to ROWS): {missing:#?}\n\
             rows not documented: {extra:#?}"
        );
        for &(method, path) in UNDOCUMENTED {
            assert!(
                !documented.contains(&(method.to_owned(), path.to_owned())),
                "{method} {path} is documented now: drop it from UNDOCUMENTED"
            );
        }
        // The spec says which operations want a token; the table agrees.
        for row in ROWS
            .iter()
            .filter(|r| !UNDOCUMENTED.contains(&(r.method, r.path)))
        {
            let key = (row.method.to_owned(), row.path.to_owned());
            assert_eq!(
                secured.contains(&key),
                !row.public,
                "{} {}: `public` disagrees with the spec's security",
                row.method,
                row.path
            );
        }
    }
);

dual_test_with!(
    every_role_gets_the_contract_status_on_every_endpoint,
    roomy,
    |app| async move {
        let started = std::time::Instant::now();
        let mut cast = Cast::register(&app).await;
        let mut outcomes = Vec::new();
        let mut failures = Vec::new();
        let mut run = 0;
        for row in ROWS {
            let mut outcome = Outcome {
                got: [0; 6],
                anonymous: None,
            };
            for (column, role) in Role::ALL.into_iter().enumerate() {
                run += 1;
                let fx = fixture(&app, &cast, role, row.setup, run).await;
                if column == 0 && !row.public {
                    let (status, body) = send(&app, row, &fx, None).await;
                    outcome.anonymous = Some(status);
                    if status != 401 {
                        failures.push(format!(
                            "{} {} without a token: {status}, expected 401: {body}",
                            row.method, row.path
                        ));
                    }
                }
                let (status, body) = send(&app, row, &fx, cast.user(role).token()).await;
                outcome.got[column] = status;
                if status != row.expected[column] {
                    failures.push(format!(
                        "{} {} as {}: {status}, expected {}: {body}",
                        row.method,
                        row.path,
                        role.name(),
                        row.expected[column]
                    ));
                }
                undo(&app, &mut cast, role, row, &fx).await;
            }
            outcomes.push(outcome);
        }
        let matrix = render(&outcomes);
        eprintln!("{:?} in {:.1?}\n{matrix}", app.engine, started.elapsed());
        assert!(
            failures.is_empty(),
            "authorization matrix ({:?}), `got!expected` where they differ:\n{matrix}\n{}",
            app.engine,
            failures.join("\n")
        );
    }
);
