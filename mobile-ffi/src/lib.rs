//! Kobiri on the phone: a local SQLite copy of the collector's tontines, offline recording of
//! cash payments (and members, payout confirmations, corrections) into a hash-chained outbox,
//! and the sync client that pushes the outbox and pulls the tontines over `POST /sync`.
//!
//! Recording applies the server's rules before anything is queued: core's validation of the
//! input and core's permission table for the logged-in user's role in the tontine, read from
//! the phone's copy ([`MobileError::Forbidden`], or [`MobileError::RoleUnknown`] while the
//! phone cannot tell the role).
//!
//! Exported with UniFFI (proc-macros, synchronous calls) to Kotlin, Swift and Python.
//! [`KobiriClient`]'s methods are one-liners over the internal [`client::Client`]; errors
//! cross as [`MobileError`] with stable codes, never as panics.

uniffi::setup_scaffolding!();

mod apply;
mod auth;
mod client;
mod db;
mod error;
mod http;
mod meta;
mod outbox;
mod permission;
mod record;
mod records;
mod report;
mod rows;
mod sync;
mod views;

#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use error::MobileError;
pub use records::{
    CashHeld, ItemRecord, MemberRecord, PaymentRecord, Receipt, Reconciliation, ScopeCursorRecord,
    SessionRecord, SyncReport, SyncState, SyncStatus, TontineRecord,
};

use client::Client;

/// The phone's Kobiri client: one local database, one server.
#[derive(uniffi::Object)]
pub struct KobiriClient {
    inner: Client,
}

type Outcome<T> = Result<T, MobileError>;

#[uniffi::export]
impl KobiriClient {
    /// Opens (or creates) the local database at `db_path`, for the server at `server_url`
    /// (e.g. `https://kobiri.example`). Needs no network.
    #[uniffi::constructor]
    pub fn open(db_path: &str, server_url: &str) -> Outcome<Arc<Self>> {
        let inner = Client::open(db_path, server_url, client::system_clock())?;
        Ok(Arc::new(KobiriClient { inner }))
    }

    /// Logs in with an e-mail address (if `identifier` holds an '@') or a phone number, and
    /// keeps who logged in (their id and platform role), whose role the recordings are
    /// checked against.
    pub fn login(&self, identifier: &str, password: &str) -> Outcome<()> {
        Ok(self.inner.login(identifier, password)?)
    }

    /// Enrolls this phone for sync (once); returns the device id.
    pub fn enroll_device(&self, name: &str, platform: &str) -> Outcome<String> {
        Ok(self.inner.enroll_device(name, platform)?)
    }

    /// Pushes the outbox and pulls every tontine, until nothing is left. (A phone logged in
    /// before the user's identity was kept asks the server for it first.)
    pub fn sync(&self) -> Outcome<SyncReport> {
        Ok(self.inner.sync(true)?)
    }

    /// Pulls every tontine without pushing anything.
    pub fn pull(&self) -> Outcome<SyncReport> {
        Ok(self.inner.sync(false)?)
    }

    /// Mutations pushed per round trip (default 200, at most 1000).
    pub fn set_batch_size(&self, size: u32) -> Outcome<()> {
        Ok(self.inner.set_batch_size(size)?)
    }

    /// Attempts per request (default 5) and the first wait between them (default 200 ms),
    /// doubled at each retry.
    pub fn set_retry_policy(&self, max_tries: u32, base_delay_ms: u64) -> Outcome<()> {
        Ok(self.inner.set_retry_policy(max_tries, base_delay_ms)?)
    }

    /// Records a cash payment, offline; returns the member's receipt. One's own payment needs
    /// to be an active member; another member's, the collector's role or above (`forbidden`
    /// otherwise, nothing queued).
    pub fn record_cash_payment(
        &self,
        tontine_id: &str,
        session_id: &str,
        member_id: &str,
        amount: &str,
    ) -> Outcome<Receipt> {
        Ok(self.inner.record(|tx, now| {
            record::cash_payment(tx, now, tontine_id, session_id, member_id, amount)
        })?)
    }

    /// Adds a member to a tontine, offline; returns the new member's id. Only the president
    /// (or a platform administrator) may: `forbidden` otherwise, nothing queued.
    pub fn record_member(
        &self,
        tontine_id: &str,
        phone: &str,
        first_name: &str,
        last_name: &str,
    ) -> Outcome<String> {
        Ok(self
            .inner
            .record(|tx, now| record::member(tx, now, tontine_id, phone, first_name, last_name))?)
    }

    /// Records that the beneficiary received a payout, offline; returns the receipt code.
    /// Only the passage's beneficiary may: `forbidden` otherwise, nothing queued.
    pub fn confirm_payout(&self, passage_id: &str, amount_received: &str) -> Outcome<String> {
        Ok(self
            .inner
            .record(|tx, now| record::payout_confirmation(tx, now, passage_id, amount_received))?)
    }

    /// Records a compensating entry for a payment ("0" cancels it), offline. Only the
    /// payment's recorder, or a treasurer or president, may: `forbidden` otherwise, nothing
    /// queued.
    pub fn correct_payment(
        &self,
        payment_id: &str,
        amount: &str,
        reason: &str,
    ) -> Outcome<Receipt> {
        Ok(self
            .inner
            .record(|tx, now| record::correction(tx, now, payment_id, amount, reason))?)
    }

    /// The tontines on this phone.
    pub fn list_tontines(&self) -> Outcome<Vec<TontineRecord>> {
        Ok(self.inner.db.read(views::tontines)?)
    }

    /// A tontine's members, with those added here and not synced yet.
    pub fn list_members(&self, tontine_id: &str) -> Outcome<Vec<MemberRecord>> {
        Ok(self.inner.db.read(|c| views::members(c, tontine_id))?)
    }

    /// A tontine's sessions, by number.
    pub fn list_sessions(&self, tontine_id: &str) -> Outcome<Vec<SessionRecord>> {
        Ok(self.inner.db.read(|c| views::sessions(c, tontine_id))?)
    }

    /// A tontine's payments, with this phone's pending ones, each once.
    pub fn list_payments(&self, tontine_id: &str) -> Outcome<Vec<PaymentRecord>> {
        Ok(self.inner.db.read(|c| views::payments(c, tontine_id))?)
    }

    /// Pending count, oldest pending age, last error, cursors, device id.
    pub fn sync_status(&self) -> Outcome<SyncStatus> {
        Ok(self
            .inner
            .db
            .read(|c| report::status(c, self.inner.now()))?)
    }

    /// What the server accepted, flagged or rejected, what waits, and the cash the collector
    /// still holds: every cash payment recorded here, rejected ones included, until the
    /// server's copy is `valide`, at the amount of the collector's own latest correction
    /// (see [`CashHeld`]).
    pub fn reconciliation(&self) -> Outcome<Reconciliation> {
        Ok(self.inner.db.read(report::reconciliation)?)
    }
}
