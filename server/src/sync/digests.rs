//! Scope checksums without reading every payment at each sync. Each process keeps, per scope
//! and per view of it (everything in full, or one member's: their own payments in full, the
//! others' public part), the digests of the payments it has seen and the change number they
//! are current to; a pull brings them up to date from the change feed and reads only the
//! payments that changed. The scope's other rows (the
//! tontine, its members, sessions and passages, the same for every view) are digested once
//! and reused while the feed shows none of them changed. Several replicas each keep their
//! own: the feed, not invalidation, keeps them right.

use std::{collections::HashMap, sync::Arc, time::Duration};

use kobiri_core::{
    PaymentId, TontineId, UserId,
    sync::{Entity, row_digest},
};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::{
    error::ApiResult,
    payments::visibility::Viewer,
    state::AppState,
    store::{ChangeRef, Payment},
};

/// Most scopes whose digests one process keeps.
const SCOPES: u64 = 1_000;
/// Scopes not synced for this long are forgotten.
const IDLE: Duration = Duration::from_secs(600);
/// Most feed entries read to bring one scope up to date at once.
const CATCH_UP: u32 = 1_000_000;

#[derive(Default)]
struct ScopeDigests {
    /// `None` until first loaded.
    seq: Option<u64>,
    payments: HashMap<Uuid, [u8; 32]>,
}

/// A view of a scope's payments ([`Viewer::key`]): `None` sees all in full, `Some(user)` is
/// that member's.
type View = Option<UserId>;

/// Row digests, shared between the cache and a pull.
pub type Digests = Arc<Vec<[u8; 32]>>;

#[derive(Clone)]
pub struct DigestCache {
    payments: moka::sync::Cache<(TontineId, View), Arc<Mutex<ScopeDigests>>>,
    /// The last checksum computed per scope and view, with the change number it was read at.
    checksums: moka::sync::Cache<(TontineId, View), (u64, String)>,
    /// Per scope and whether members' phones are shown ([`Viewer::sees_contacts`]): the
    /// digests of its rows other than payments, and a change number they are current to (at
    /// least).
    others: moka::sync::Cache<(TontineId, bool), (u64, Digests)>,
}

impl Default for DigestCache {
    fn default() -> Self {
        Self {
            payments: moka::sync::Cache::builder()
                .max_capacity(SCOPES)
                .time_to_idle(IDLE)
                .build(),
            checksums: moka::sync::Cache::builder()
                .max_capacity(SCOPES * 4)
                .time_to_idle(IDLE)
                .build(),
            others: moka::sync::Cache::builder()
                .max_capacity(SCOPES)
                .time_to_idle(IDLE)
                .build(),
        }
    }
}

impl std::fmt::Debug for DigestCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestCache")
            .field("scopes", &self.payments.entry_count())
            .finish()
    }
}

/// The digest of `p`'s row as `viewer` sees it, if they see it.
fn digest(p: &Payment, viewer: &Viewer) -> Option<[u8; 32]> {
    super::pull::seen_payment_row(p, viewer)
        .map(|row| row_digest(Entity::Payment, p.id.as_uuid(), &row))
}

impl DigestCache {
    /// The checksum of a scope nothing changed in since change `seq`, if one was computed then.
    ///
    /// A checksum is stored under the change number read before its rows; any write after
    /// that number raises the scope's number, so the entry is only used while nothing changed.
    pub fn unchanged_checksum(&self, tontine: TontineId, view: View, seq: u64) -> Option<String> {
        self.checksums
            .get(&(tontine, view))
            .filter(|(at, _)| *at == seq)
            .map(|(_, sum)| sum)
    }

    /// The digests of the scope's rows other than payments, if they were taken at or after
    /// change `since`. Only the caller knows whether any of those rows changed after `since`
    /// (its page of the feed): it asks only when none did.
    pub fn others_since(&self, tontine: TontineId, contacts: bool, since: u64) -> Option<Digests> {
        self.others
            .get(&(tontine, contacts))
            .filter(|(at, _)| *at >= since)
            .map(|(_, digests)| digests)
    }

    /// Keeps the digests of the scope's rows other than payments, read after the feed up to
    /// change `at`.
    pub fn remember_others(&self, tontine: TontineId, contacts: bool, at: u64, digests: Digests) {
        self.others.insert((tontine, contacts), (at, digests));
    }

    pub fn remember_checksum(&self, tontine: TontineId, view: View, seq: u64, sum: &str) {
        self.checksums
            .insert((tontine, view), (seq, sum.to_owned()));
    }

    /// The digests of the payments of `tontine` as `viewer` sees them, current at least to
    /// change `upto` (read before this call). `fresh` are payments the caller read after `upto`:
    /// they are not read again. `feed` is the caller's complete read of the feed after a
    /// change number, read after `upto`: when it covers what the kept digests miss, the feed
    /// is not read again either.
    // Long on purpose: reads only what the kept digests miss (the fresh payments, the feed, else
    // the store), in that order.
    pub async fn payments(
        &self,
        state: &AppState,
        tontine: TontineId,
        viewer: &Viewer,
        upto: u64,
        fresh: &[Payment],
        feed: (u64, &[ChangeRef]),
    ) -> ApiResult<Vec<[u8; 32]>> {
        let entry = self
            .payments
            .get_with((tontine, viewer.key()), Default::default);
        let mut scope = entry.lock().await;
        let store = state.store();
        match scope.seq {
            None => {
                let all = store.payments_of_tontine(tontine).await?;
                scope.payments = all
                    .iter()
                    .filter_map(|p| Some((p.id.as_uuid(), digest(p, viewer)?)))
                    .collect();
                scope.seq = Some(upto);
            }
            Some(seq) if seq < upto => {
                let (feed_from, feed) = feed;
                let read_feed;
                let (refs, complete) = if feed_from <= seq {
                    (feed, true)
                } else {
                    read_feed = store.changes_since(tontine, seq, CATCH_UP).await?;
                    let complete = read_feed.len() < CATCH_UP as usize;
                    (read_feed.as_slice(), complete)
                };
                let mut latest = seq;
                let mut changed = Vec::new();
                for r in refs.iter().filter(|r| r.change_seq > seq) {
                    latest = latest.max(r.change_seq);
                    if r.entity == Entity::Payment.as_str() {
                        // Gone until the read below finds it (deleted, or no longer there).
                        scope.payments.remove(&r.entity_id);
                        if !r.deleted {
                            changed.push(PaymentId::from_uuid(r.entity_id));
                        }
                    }
                }
                let known: HashMap<Uuid, &Payment> =
                    fresh.iter().map(|p| (p.id.as_uuid(), p)).collect();
                changed.retain(|id| !known.contains_key(&id.as_uuid()));
                let read = store.payments_by_ids(&changed).await?;
                // A fresh payment the catch-up did not name is only re-digested: it is at
                // least as recent as the one kept.
                for p in read.iter().chain(known.values().copied()) {
                    if p.tontine_id == tontine
                        && let Some(d) = digest(p, viewer)
                    {
                        scope.payments.insert(p.id.as_uuid(), d);
                    }
                }
                // A complete read holds every change up to `upto` (read before it).
                scope.seq = Some(if complete { latest.max(upto) } else { latest });
            }
            Some(_) => {}
        }
        Ok(scope.payments.values().copied().collect())
    }
}
