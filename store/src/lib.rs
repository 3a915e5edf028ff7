// Over 400 lines on purpose: the Store traits, one per aggregate, read as the one contract of the
// storage boundary.
//! The storage boundary: domain operations on PostgreSQL or SQLite.
//!
//! Handlers see only the [`Store`] trait. Each aggregate has a trait of its operations
//! (`UserStore`, `TokenStore`, `CodeStore`…) and a module, `<aggregate>.rs` (`users.rs`,
//! `payments.rs`…), that holds its SQL (written once, with per-engine variants where the
//! dialects differ) and a macro with the Rust that binds parameters and maps rows once;
//! `postgres.rs` and `sqlite.rs` expand those macros for their engine with its queries. An
//! operation that changes several rows runs in one transaction that it owns.

/// Counts the rows of a listing and fetches one page of them: `$count` and `$list` take the
/// same leading parameters (`$bind`…); `$list` then takes LIMIT and OFFSET. Rows of type `$row`
/// become `$model`s.
macro_rules! fetch_page {
    ($pool:expr, $count:expr, $list:expr, $row:ty => $model:ty, $page:expr $(, $bind:expr)* $(,)?) => {{
        let total: i64 = sqlx::query_scalar($count)$(.bind($bind))*.fetch_one($pool).await?;
        let rows: Vec<$row> = sqlx::query_as($list)
            $(.bind($bind))*
            .bind($page.limit())
            .bind($page.offset())
            .fetch_all($pool)
            .await?;
        let items = rows
            .into_iter()
            .map(<$model>::try_from)
            .collect::<$crate::StoreResult<Vec<$model>>>()?;
        $crate::Page::new(items, u64::try_from(total).unwrap_or(0), $page)
    }};
}
pub(crate) use fetch_page;

pub mod audit;
mod codes;
mod decimal;
mod error;
mod invitations;
mod jobs;
mod members;
pub mod mobile_money;
mod models;
pub mod notifications;
mod outbox;
mod passages;
mod payments;
pub mod payouts;
pub mod postgres;
mod sessions;
pub mod sqlite;
mod sync;
mod tokens;
mod tontines;
mod users;

use std::sync::Arc;

use async_trait::async_trait;

pub use audit::{AuditEntry, AuditSource, NewAudit};
pub use decimal::DbDecimal;
pub use error::{StoreError, StoreResult, Unique};
pub use invitations::{Invitation, InvitationStatus, NewInvitation};
pub use jobs::{Job, JobKind, JobOutcome, JobStatus, MissedPayment, NewJob, SessionToSchedule};
pub use members::{AddMember, Member, MemberPatch, NewMember};
pub use mobile_money::{
    MobilePayment, MobilePayout, PaymentStart, PayoutReservation, PayoutSettlement, PollKind,
    PollTicket, Settlement,
};
pub use models::*;
pub use notifications::{MarkRead, NewNotification, Notification, Preference, Recipient};
pub use outbox::{
    ACCOUNT_CODE_KEY, Delivery, DeliveryRecorded, NewPushToken, OutboxEntry, OutboxMessage,
    OutboxOutcome, PushPlatform,
};
pub use passages::{
    NewPassage, Passage, PassageChange, PassageEdit, PassagePlan, ReplacePassages, SessionSlot,
};
pub use payments::{NewPayment, Payment, PaymentDecision, PaymentFilter};
pub use payouts::{
    Approval, NewPayoutPhone, NewPayoutRequest, PassageWrite, PayoutRejection, PayoutRequest,
    RequestStatus,
};
pub use sessions::{NewSession, Session, SessionChange};
pub use sync::{
    Applied, ChangeRef, Device, Flag, FlagResolution, Incident, NewDevice, NewFlag, NewIncident,
    NewRecordedMutation, PaymentKey, RecordedMutation, ScopeState, SyncBatch, SyncCancellation,
    SyncMember, SyncPayment, SyncPayoutConfirmation,
};
pub use tontines::{NewTontine, Tontine, TontineFilter, TontinePatch};

/// Every operation the server needs from its database.
pub trait Store:
    UserStore
    + TokenStore
    + CodeStore
    + TontineStore
    + MemberStore
    + SessionStore
    + PaymentStore
    + AuditStore
    + PassageStore
    + PayoutStore
    + NotificationStore
    + OutboxStore
    + JobStore
    + SyncStore
    + MobileMoneyStore
    + InvitationStore
    + HealthStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: UserStore
        + TokenStore
        + CodeStore
        + TontineStore
        + MemberStore
        + SessionStore
        + PaymentStore
        + AuditStore
        + PassageStore
        + PayoutStore
        + NotificationStore
        + OutboxStore
        + JobStore
        + SyncStore
        + MobileMoneyStore
        + InvitationStore
        + HealthStore
        + Send
        + Sync
        + 'static
{
}

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    Sqlite,
}

impl Engine {
    /// Both engines, SQLite (the default) first.
    pub const ALL: [Engine; 2] = [Engine::Sqlite, Engine::Postgres];

    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Sqlite => "sqlite",
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `sqlite` or `postgres` (the bench's `--engine`).
impl std::str::FromStr for Engine {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Engine::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| format!("unknown engine {s:?}: sqlite or postgres"))
    }
}

/// Connection-pool figures for `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

#[async_trait]
pub trait HealthStore {
    fn engine(&self) -> Engine;
    /// Round trip to the database.
    async fn ping(&self) -> StoreResult<()>;
    fn pool_stats(&self) -> PoolStats;
}

#[async_trait]
pub trait UserStore {
    async fn insert_user(&self, user: &NewUser) -> StoreResult<User>;
    /// Gives a password-less user (a member added by phone) their credentials and profile.
    /// Returns `None` when the user has meanwhile got a password.
    async fn claim_user(&self, id: UserId, user: &NewUser) -> StoreResult<Option<User>>;
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>>;
    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>>;
    async fn user_by_phone(&self, phone: &Phone) -> StoreResult<Option<User>>;
    async fn list_users(&self, search: Option<&str>, page: PageRequest) -> StoreResult<Page<User>>;
    async fn update_user(&self, id: UserId, patch: &UserPatch, now: Timestamp)
    -> StoreResult<User>;
    /// Sets a new password hash and revokes every refresh token of the user, atomically.
    async fn set_password(&self, id: UserId, hash: &str, now: Timestamp) -> StoreResult<()>;
    async fn record_login(&self, id: UserId, now: Timestamp) -> StoreResult<()>;
    /// Deactivates the user and revokes every refresh token, atomically.
    async fn deactivate_user(&self, id: UserId, now: Timestamp) -> StoreResult<User>;
    async fn mark_verified(
        &self,
        id: UserId,
        channel: VerifyChannel,
        now: Timestamp,
    ) -> StoreResult<User>;
}

#[async_trait]
pub trait TokenStore {
    async fn insert_refresh_token(&self, token: &NewRefreshToken) -> StoreResult<()>;
    async fn refresh_token_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<RefreshToken>>;
    /// Marks `old` used and stores `new` in its family, in one transaction. Returns
    /// `Rotation::AlreadyUsed` when `old` was used or revoked meanwhile (a race or a re-use).
    async fn rotate_refresh_token(
        &self,
        old_id: uuid::Uuid,
        new: &NewRefreshToken,
        now: Timestamp,
    ) -> StoreResult<Rotation>;
    async fn revoke_family(&self, family: TokenFamilyId, now: Timestamp) -> StoreResult<u64>;
    /// The owner of a session (a token family) while it is open: some token of the family
    /// is not revoked (rotation marks tokens used, not revoked). `None` once it was closed.
    async fn session_owner(&self, family: TokenFamilyId) -> StoreResult<Option<UserId>>;
}

#[async_trait]
pub trait CodeStore {
    /// Stores a new code with the outbox row that carries it, and retires every earlier live
    /// code of that user and purpose, in one transaction.
    async fn replace_code(&self, code: &NewCode) -> StoreResult<()>;
    /// The user's latest unconsumed code for `purpose`, expired or not.
    async fn latest_code(&self, user: UserId, purpose: CodePurpose) -> StoreResult<Option<Code>>;
    /// Counts one failed attempt and returns the new count.
    async fn record_failed_attempt(&self, id: uuid::Uuid) -> StoreResult<u32>;
    /// Consumes the code; `false` if it was consumed meanwhile.
    async fn consume_code(&self, id: uuid::Uuid, now: Timestamp) -> StoreResult<bool>;
    /// Whether the code can still be used: neither consumed, nor replaced by a newer code,
    /// nor expired.
    async fn code_is_live(&self, id: uuid::Uuid, now: Timestamp) -> StoreResult<bool>;
}

#[async_trait]
pub trait TontineStore {
    /// Creates the tontine and makes its creator a member (the president), atomically.
    async fn create_tontine(&self, t: &NewTontine, president: &NewMember) -> StoreResult<Tontine>;
    async fn tontine_by_id(&self, id: kobiri_core::TontineId) -> StoreResult<Option<Tontine>>;
    async fn tontine_by_code(
        &self,
        code: &kobiri_core::TontineCode,
    ) -> StoreResult<Option<Tontine>>;
    async fn list_tontines(
        &self,
        filter: TontineFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Tontine>>;
    /// The ids of the tontines where the user is an active member, newest first: the
    /// tontines of `list_tontines(TontineFilter::MemberOf(user), …)`, without their rows, and
    /// the deactivated ones too (a phone keeps syncing them).
    async fn tontine_ids_of_member(&self, user: UserId)
    -> StoreResult<Vec<kobiri_core::TontineId>>;
    async fn update_tontine(
        &self,
        id: kobiri_core::TontineId,
        patch: &TontinePatch,
        now: Timestamp,
    ) -> StoreResult<Tontine>;
}

#[async_trait]
pub trait MemberStore {
    /// The user's membership (active or former) of the tontine.
    async fn member_of(
        &self,
        tontine: kobiri_core::TontineId,
        user: UserId,
    ) -> StoreResult<Option<Member>>;
    async fn member_by_id(
        &self,
        tontine: kobiri_core::TontineId,
        member: kobiri_core::MemberId,
    ) -> StoreResult<Option<Member>>;
    async fn list_members(&self, tontine: kobiri_core::TontineId) -> StoreResult<Vec<Member>>;
    /// Adds (or re-activates) a member unless the tontine is full or they already belong,
    /// counting active members under a lock.
    /// Adds (or brings back) a member. With `accepts`, the pending invitation it answers is
    /// marked accepted in the same transaction, or nothing is written
    /// ([`AddMember::InvitationAnswered`]).
    async fn add_member(
        &self,
        member: &NewMember,
        accepts: Option<uuid::Uuid>,
    ) -> StoreResult<AddMember>;
    async fn update_member(
        &self,
        member: kobiri_core::MemberId,
        patch: &MemberPatch,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Whether two users are active members of a common tontine.
    async fn share_tontine(&self, a: UserId, b: UserId) -> StoreResult<bool>;
    /// Marks the member as gone; `false` when they are the last president and others remain.
    async fn leave_tontine(&self, member: &Member, now: Timestamp) -> StoreResult<bool>;
}

#[async_trait]
pub trait InvitationStore {
    /// A pending invitation; a second pending one for the same tontine and person is a
    /// `Conflict` (`invitations_pending_idx`).
    async fn insert_invitation(&self, invitation: &NewInvitation) -> StoreResult<()>;
    async fn invitation_by_id(&self, id: uuid::Uuid) -> StoreResult<Option<Invitation>>;
    /// The user's invitations in `status`, newest first (at most 100).
    async fn invitations_of(
        &self,
        user: UserId,
        status: InvitationStatus,
    ) -> StoreResult<Vec<Invitation>>;
    /// Accepts or refuses a pending invitation; `false` when it was no longer pending.
    async fn decide_invitation(
        &self,
        id: uuid::Uuid,
        status: InvitationStatus,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// The roles `viewer` holds in the tontines where both are active members.
    async fn roles_beside(
        &self,
        viewer: UserId,
        target: UserId,
    ) -> StoreResult<Vec<kobiri_core::TontineRole>>;
}

#[async_trait]
pub trait SessionStore {
    /// Plans sessions, numbering them after the tontine's last one, in one transaction.
    async fn create_sessions(&self, sessions: &[NewSession]) -> StoreResult<Vec<Session>>;
    async fn session_by_id(&self, id: kobiri_core::SessionId) -> StoreResult<Option<Session>>;
    async fn list_sessions(
        &self,
        tontine: kobiri_core::TontineId,
        status: Option<kobiri_core::SessionStatus>,
        page: PageRequest,
    ) -> StoreResult<Page<Session>>;
    /// The tontine's open (`en_cours`) session with the lowest number.
    async fn open_session_of(
        &self,
        tontine: kobiri_core::TontineId,
    ) -> StoreResult<Option<Session>>;
    /// Applies a status change if the session is still in `from`, with its audit entry and
    /// notifications; `false` when it was changed meanwhile.
    async fn change_session(&self, change: &SessionChange) -> StoreResult<bool>;
    /// The tontine's open (`en_cours`) sessions, lowest number first, each with what `member`
    /// has paid into it: what a payment that names no session chooses from, in two reads.
    async fn open_sessions_paid_by(
        &self,
        tontine: kobiri_core::TontineId,
        member: kobiri_core::MemberId,
    ) -> StoreResult<Vec<(Session, Vec<kobiri_core::PaymentFact>)>>;
}

#[async_trait]
pub trait AuditStore {
    /// A tontine's audit entries, newest first.
    async fn list_audit(
        &self,
        tontine: kobiri_core::TontineId,
        page: PageRequest,
    ) -> StoreResult<Page<AuditEntry>>;
}

#[async_trait]
pub trait PaymentStore {
    /// Stores a payment with its audit entry and notifications, in one transaction and without
    /// reading it back ([`Payment::recorded`] is what it stored). A second live payment of the
    /// member for the session is a `Conflict`.
    async fn insert_payment(
        &self,
        payment: &NewPayment,
        audit: &NewAudit,
        notifications: &[NewNotification],
    ) -> StoreResult<()>;
    async fn payment_by_id(&self, id: kobiri_core::PaymentId) -> StoreResult<Option<Payment>>;
    async fn list_payments(
        &self,
        filter: PaymentFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Payment>>;
    /// Approves or rejects a payment still `en_attente`; approving adds its amount to the
    /// session and the member, with the audit entry and notifications, in one transaction.
    /// `None` when it was decided meanwhile.
    /// Every payment of a tontine, whatever its status.
    async fn payments_of_tontine(
        &self,
        tontine: kobiri_core::TontineId,
    ) -> StoreResult<Vec<Payment>>;
    /// The payments with these ids (those that exist).
    async fn payments_by_ids(&self, ids: &[kobiri_core::PaymentId]) -> StoreResult<Vec<Payment>>;
    async fn decide_payment(&self, decision: &PaymentDecision) -> StoreResult<Option<Payment>>;
}

#[async_trait]
pub trait PassageStore {
    async fn passage_by_id(&self, id: kobiri_core::PassageId) -> StoreResult<Option<Passage>>;
    /// The tontine's passages in payout order.
    async fn list_passages(&self, tontine: kobiri_core::TontineId) -> StoreResult<Vec<Passage>>;
    /// The tontine's sessions (number, id, date), for dating passages.
    async fn session_slots(&self, tontine: kobiri_core::TontineId)
    -> StoreResult<Vec<SessionSlot>>;
    /// Replaces every passage of the tontine with `plan`, sets the members' order positions
    /// and the tontine's payout method and seed, with the audit entry, in one transaction.
    /// `Settled` (nothing written) once a passage is complete or paid.
    async fn replace_passages(&self, plan: &PassagePlan) -> StoreResult<ReplacePassages>;
    /// Applies a change if the passage is still in `from` (and, for a payout, not paid yet),
    /// with its audit entry and notifications; a confirmation also adds the amount to the
    /// member's `total_received`. A payout or a confirmation is refused (nothing written)
    /// above what its pot holds. `Changed` when the passage changed meanwhile.
    async fn change_passage(&self, change: &PassageChange) -> StoreResult<PassageWrite>;
}

/// What bounds payouts: pots, confirmed payout phones, payouts awaiting approval.
#[async_trait]
pub trait PayoutStore {
    /// The pot of `scope` for a payout of `passage` (its own payout left out): what was
    /// collected and validated, and what already left it. `None` scope: an empty pot.
    async fn pot(
        &self,
        tontine: kobiri_core::TontineId,
        scope: Option<kobiri_core::PotScope>,
        passage: kobiri_core::PassageId,
        currency: kobiri_core::Currency,
    ) -> StoreResult<kobiri_core::Pot>;
    /// Whether `user` confirmed `phone` (E.164) by code as a payout phone.
    async fn payout_phone_confirmed(&self, user: UserId, phone: &str) -> StoreResult<bool>;
    /// Records a confirmed payout phone with its audit entry, in one transaction.
    async fn confirm_payout_phone(&self, phone: &NewPayoutPhone) -> StoreResult<()>;
    /// Stores a payout awaiting approval with its audit entry; `false` when the passage
    /// already has one pending.
    async fn insert_payout_request(&self, request: &NewPayoutRequest) -> StoreResult<bool>;
    /// The passage's payout requests, newest first.
    async fn payout_requests(
        &self,
        passage: kobiri_core::PassageId,
    ) -> StoreResult<Vec<PayoutRequest>>;
    /// Refuses a pending request, with its audit entry; `false` when no longer pending.
    async fn reject_payout_request(&self, rejection: &PayoutRejection) -> StoreResult<bool>;
}

#[async_trait]
pub trait NotificationStore {
    /// The user's in-app notifications (the inbox), newest first.
    async fn list_notifications(
        &self,
        user: UserId,
        unread_only: bool,
        page: PageRequest,
    ) -> StoreResult<Page<Notification>>;
    async fn count_unread_notifications(&self, user: UserId) -> StoreResult<u64>;
    /// Marks the user's unread in-app notifications read (`lue`, `read_at = now`); returns how
    /// many changed. Ids of someone else's notifications change nothing.
    async fn mark_notifications_read(
        &self,
        user: UserId,
        which: &MarkRead,
        now: Timestamp,
    ) -> StoreResult<u64>;
    /// The choices the user stored (the defaults are not stored).
    async fn notification_preferences(&self, user: UserId) -> StoreResult<Vec<Preference>>;
    /// Inserts or replaces the choices, in one transaction.
    async fn set_notification_preferences(
        &self,
        user: UserId,
        choices: &[Preference],
    ) -> StoreResult<()>;
    /// The tontine's active members, with their stored choices for `kind`.
    async fn tontine_recipients(
        &self,
        tontine: kobiri_core::TontineId,
        kind: kobiri_core::NotificationType,
    ) -> StoreResult<Vec<Recipient>>;
    /// Writes notifications and their outbox rows in one transaction; returns how many were
    /// written (those whose dedup key exists are skipped).
    async fn write_notifications(&self, list: &[NewNotification]) -> StoreResult<u64>;
}

/// The outbox worker's operations, and device push tokens. Writing outbox rows is not here:
/// they are written with their notification, in the cause's transaction (see
/// `notifications::insert_notifications!`).
#[async_trait]
pub trait OutboxStore {
    /// Claims up to `limit` due rows (`en_attente`, `next_attempt_at <= now`, no live lease)
    /// until `lease_until`, counting the try: two workers never claim the same row, and a
    /// row whose worker died is claimed again once its lease has passed.
    async fn claim_outbox(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>>;
    /// Records how a claimed try ended, on the outbox row and (when final) on its
    /// notification (status, `sent_at`), in one transaction; `false` when the lease was lost
    /// to another worker.
    async fn finish_outbox(
        &self,
        message: &OutboxMessage,
        outcome: &OutboxOutcome,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Applies a gateway's delivery report to the SMS row its message id names, and to the
    /// row's notification, in one transaction. Only a row still `envoyee` moves (to
    /// `delivree` with `delivered_at`, or `echouee` with `last_error`), so a repeated, late or
    /// contradicting report never moves a row backwards. `None` when no row has that id.
    async fn record_delivery(
        &self,
        provider_message_id: &str,
        delivery: &Delivery,
        now: Timestamp,
    ) -> StoreResult<Option<DeliveryRecorded>>;
    /// Every outbox row, oldest first (operators and tests).
    async fn list_outbox(&self) -> StoreResult<Vec<OutboxEntry>>;
    /// Stores a device's push token (replacing the device's earlier one).
    async fn set_push_token(&self, token: &NewPushToken) -> StoreResult<()>;
    /// The push tokens of the user's devices that are not revoked.
    async fn push_tokens_of(&self, user: UserId) -> StoreResult<Vec<String>>;
    /// Removes a dead token; `false` when it was not stored.
    async fn delete_push_token(&self, token: &str) -> StoreResult<bool>;
}

#[async_trait]
pub trait JobStore {
    /// Open sessions of active tontines that have no jobs yet.
    async fn sessions_to_schedule(&self, limit: u32) -> StoreResult<Vec<SessionToSchedule>>;
    /// Inserts jobs in one transaction, skipping those whose dedup key exists; returns how
    /// many were inserted.
    async fn schedule_jobs(&self, jobs: &[NewJob]) -> StoreResult<u64>;
    /// Claims up to `limit` due jobs (pending with `run_at <= now`, or running with an expired
    /// lease) until `lease_until`, atomically: two workers never claim the same job.
    async fn claim_jobs(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Job>>;
    /// Records how a claimed run ended; `false` when the lease was lost to another worker.
    async fn finish_job(
        &self,
        job: &Job,
        outcome: &JobOutcome,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Counts one missed payment with its notifications and audit entry, at most once per
    /// member and session; `false` when already counted or the member has paid meanwhile.
    async fn record_missed_payment(&self, missed: &MissedPayment) -> StoreResult<bool>;
}

/// Devices, their log, the change feed, flags and incidents.
#[async_trait]
pub trait SyncStore {
    async fn insert_device(&self, device: &NewDevice) -> StoreResult<Device>;
    async fn device_by_id(&self, id: kobiri_core::DeviceId) -> StoreResult<Option<Device>>;
    async fn devices_of(&self, user: UserId) -> StoreResult<Vec<Device>>;
    /// Revokes the device and its refresh tokens; false if it was already revoked.
    async fn revoke_device(&self, id: kobiri_core::DeviceId, now: Timestamp) -> StoreResult<bool>;
    /// The device's log between two numbers, inclusive.
    async fn recorded_mutations(
        &self,
        device: kobiri_core::DeviceId,
        from: u64,
        to: u64,
    ) -> StoreResult<Vec<RecordedMutation>>;
    /// Applies a planned batch in one transaction, or reports that the plan is stale.
    async fn apply_sync(&self, batch: &SyncBatch) -> StoreResult<Applied>;
    /// Records incidents for a request that applies nothing, and the device's last contact.
    async fn record_incidents(
        &self,
        incidents: &[NewIncident],
        device: kobiri_core::DeviceId,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Where each of `tontines`' feeds stands; a tontine with no feed yet is absent.
    async fn scope_states(
        &self,
        tontines: &[kobiri_core::TontineId],
    ) -> StoreResult<std::collections::HashMap<kobiri_core::TontineId, ScopeState>>;
    async fn changes_since(
        &self,
        tontine: kobiri_core::TontineId,
        cursor: u64,
        limit: u32,
    ) -> StoreResult<Vec<ChangeRef>>;
    async fn scope_roles(
        &self,
        device: kobiri_core::DeviceId,
    ) -> StoreResult<Vec<(kobiri_core::TontineId, String)>>;
    async fn set_scope_roles(
        &self,
        device: kobiri_core::DeviceId,
        roles: &[(kobiri_core::TontineId, String)],
    ) -> StoreResult<()>;
    /// The live payments of a session (not cancelled, failed or refunded).
    async fn payment_keys(&self, session: kobiri_core::SessionId) -> StoreResult<Vec<PaymentKey>>;
    /// Which of `ids` an existing payment already has.
    async fn payments_taken(
        &self,
        ids: &[kobiri_core::PaymentId],
    ) -> StoreResult<Vec<kobiri_core::PaymentId>>;
    async fn payment_by_receipt(&self, code: &str) -> StoreResult<Option<Payment>>;
    /// The receipt codes among `codes` that payments already carry.
    async fn receipts_taken(&self, codes: &[String]) -> StoreResult<Vec<String>>;
    async fn flags_of(
        &self,
        tontine: kobiri_core::TontineId,
        status: Option<&str>,
    ) -> StoreResult<Vec<Flag>>;
    async fn flag_by_id(&self, id: uuid::Uuid) -> StoreResult<Option<Flag>>;
    /// Resolves an open flag; false if it was resolved meanwhile.
    async fn resolve_flag(&self, resolution: &FlagResolution) -> StoreResult<bool>;
    async fn incidents_of(&self, tontine: kobiri_core::TontineId) -> StoreResult<Vec<Incident>>;
}

/// Mobile-money payments and payouts, and their polling queue (see `store/mobile_money.rs`).
#[async_trait]
pub trait MobileMoneyStore {
    /// Stores a payment `en_cours` with its provider, its first poll and its audit entry, in
    /// one transaction, before the provider is called. A second live payment of the member
    /// for the session is a `Conflict`.
    async fn insert_mobile_payment(
        &self,
        payment: &NewPayment,
        provider: kobiri_core::Provider,
        first_poll: Timestamp,
        audit: &NewAudit,
    ) -> StoreResult<Payment>;
    /// Stores what the provider answered to the start.
    async fn record_payment_start(&self, start: &PaymentStart) -> StoreResult<()>;
    /// A payment initiated through a provider.
    async fn mobile_payment(
        &self,
        id: kobiri_core::PaymentId,
    ) -> StoreResult<Option<MobilePayment>>;
    async fn mobile_payment_by_operator_reference(
        &self,
        provider: kobiri_core::Provider,
        reference: &str,
    ) -> StoreResult<Option<MobilePayment>>;
    /// Ends a payment still `en_cours` (see [`Settlement`]); `None` when it was settled
    /// meanwhile, and then nothing changed.
    async fn settle_payment(&self, settlement: &Settlement) -> StoreResult<Option<Payment>>;
    /// Claims up to `limit` due polls until `lease_until`: two workers never hold the same.
    async fn claim_polls(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<PollTicket>>;
    /// Releases a claimed poll until `next`.
    async fn reschedule_poll(&self, id: uuid::Uuid, next: Timestamp) -> StoreResult<()>;
    /// Reserves the passage's payout key with its first poll and audit entry; `false` when a
    /// payout is already live or recorded (nothing written).
    async fn reserve_payout(&self, reservation: &PayoutReservation) -> StoreResult<PassageWrite>;
    async fn mobile_payout(&self, key: uuid::Uuid) -> StoreResult<Option<MobilePayout>>;
    async fn record_payout_start(
        &self,
        key: uuid::Uuid,
        operator_reference: &str,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Ends a payout still `en_cours`; `false` when it was settled meanwhile.
    async fn settle_payout(&self, settlement: &PayoutSettlement) -> StoreResult<bool>;
}

/// Opens the store named by a database URL (`postgres://…` or `sqlite://…`) and runs its
/// migrations.
pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = postgres::PgStore::connect(url, max_connections).await?;
        store.migrate().await?;
        Ok(Arc::new(store))
    } else if url.starts_with("sqlite:") {
        let store = sqlite::SqliteStore::connect(url, max_connections).await?;
        store.migrate().await?;
        Ok(Arc::new(store))
    } else {
        Err(StoreError::UnknownEngine)
    }
}
