//! The audit log: who changed what, when, from where. Every money-affecting operation writes
//! its entry with `insert_audit!` inside its own transaction, so the change and its record
//! commit together or not at all.

use chrono::{DateTime, Utc};
use kobiri_core::{TontineId, UserId};
use serde::Serialize;
use uuid::Uuid;

use super::{StoreError, Timestamp};

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditSource {
    Api,
    Sync,
    Job,
    Cli,
}

impl AuditSource {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditSource::Api => "api",
            AuditSource::Sync => "sync",
            AuditSource::Job => "job",
            AuditSource::Cli => "cli",
        }
    }
}

/// One audit entry to write. `before`/`after` are JSON snapshots of the changed record.
#[derive(Debug, Clone)]
pub struct NewAudit {
    pub id: Uuid,
    pub tontine_id: Option<TontineId>,
    pub actor_id: Option<UserId>,
    /// What happened, e.g. `payment.validated`.
    pub action: &'static str,
    /// The kind of record, e.g. `payment`.
    pub entity: &'static str,
    pub entity_id: Uuid,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub source: AuditSource,
    pub device_id: Option<Uuid>,
    pub at: Timestamp,
}

impl NewAudit {
    /// An entry made through the API by `actor`.
    pub fn api(
        actor: UserId,
        tontine: TontineId,
        action: &'static str,
        entity: &'static str,
        entity_id: Uuid,
        at: Timestamp,
    ) -> Self {
        Self {
            id: kobiri_core::new_uuid(),
            tontine_id: Some(tontine),
            actor_id: Some(actor),
            action,
            entity,
            entity_id,
            before: None,
            after: None,
            source: AuditSource::Api,
            device_id: None,
            at,
        }
    }

    pub fn with_change(
        mut self,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> Self {
        self.before = before;
        self.after = after;
        self
    }
}

/// A stored audit entry.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: Uuid,
    pub tontine_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub entity: String,
    pub entity_id: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub before: Option<serde_json::Value>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub after: Option<serde_json::Value>,
    pub source: String,
    pub device_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct AuditRow {
    id: Uuid,
    tontine_id: Option<Uuid>,
    actor_id: Option<Uuid>,
    action: String,
    entity: String,
    entity_id: Uuid,
    before: Option<String>,
    after: Option<String>,
    source: String,
    device_id: Option<Uuid>,
    created_at: DateTime<Utc>,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;

    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        let json = |s: Option<String>| {
            s.map(|s| serde_json::from_str(&s))
                .transpose()
                .map_err(StoreError::corrupt)
        };
        Ok(AuditEntry {
            id: r.id,
            tontine_id: r.tontine_id,
            actor_id: r.actor_id,
            action: r.action,
            entity: r.entity,
            entity_id: r.entity_id,
            before: json(r.before)?,
            after: json(r.after)?,
            source: r.source,
            device_id: r.device_id,
            created_at: r.created_at,
        })
    }
}

/// JSON text for the `before`/`after` columns (jsonb on PostgreSQL, TEXT on SQLite).
pub(crate) fn json_text(v: Option<&serde_json::Value>) -> Option<String> {
    v.map(serde_json::Value::to_string)
}

pub(super) struct AuditQueries {
    /// Binds: id, tontine_id, actor_id, action, entity, entity_id, before, after, source,
    /// device_id, created_at.
    pub insert: &'static str,
    /// Many entries in one statement: the head, the rows (`VALUES …`, bound like `insert`),
    /// then the tail.
    pub insert_many_head: &'static str,
    pub insert_many_tail: &'static str,
    /// Binds: tontine_id, limit, offset.
    pub list: &'static str,
    /// Binds: tontine_id.
    pub count: &'static str,
}

pub(super) const SQLITE: AuditQueries = AuditQueries {
    insert: "INSERT INTO audit_log (id, tontine_id, actor_id, action, entity, entity_id, before, \
        after, source, device_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    insert_many_head: "INSERT INTO audit_log (id, tontine_id, actor_id, action, entity, \
        entity_id, before, after, source, device_id, created_at) ",
    insert_many_tail: "",
    list: "SELECT id, tontine_id, actor_id, action, entity, entity_id, before, after, source, \
        device_id, created_at FROM audit_log WHERE tontine_id = $1 \
        ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
    count: "SELECT COUNT(*) FROM audit_log WHERE tontine_id = $1",
};

/// PostgreSQL stores the snapshots as jsonb, bound and read as text.
pub(super) const POSTGRES: AuditQueries = AuditQueries {
    insert: "INSERT INTO audit_log (id, tontine_id, actor_id, action, entity, entity_id, before, \
        after, source, device_id, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11)",
    insert_many_head: "INSERT INTO audit_log (id, tontine_id, actor_id, action, entity, \
        entity_id, before, after, source, device_id, created_at) \
        SELECT id, tontine_id, actor_id, action, entity, entity_id, before::jsonb, \
        after::jsonb, source, device_id, created_at FROM (",
    insert_many_tail: ") AS v (id, tontine_id, actor_id, action, entity, entity_id, before, \
        after, source, device_id, created_at)",
    list: "SELECT id, tontine_id, actor_id, action, entity, entity_id, before::text AS before, \
        after::text AS after, source, device_id, created_at FROM audit_log WHERE tontine_id = $1 \
        ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
    ..SQLITE
};

/// Writes an audit entry on a connection inside the caller's transaction.
/// Binds an audit entry's columns in the order of `insert`: with `bind` on a query, or with
/// `push_bind` on a row of a multi-row insert (`insert_many_head`/`insert_many_tail`).
macro_rules! bind_audit {
    ($query:expr, $a:expr, $bind:ident) => {
        $query
            .$bind($a.id)
            .$bind($a.tontine_id.map(|t| t.as_uuid()))
            .$bind($a.actor_id.map(|u| u.as_uuid()))
            .$bind($a.action)
            .$bind($a.entity)
            .$bind($a.entity_id)
            .$bind($crate::audit::json_text($a.before.as_ref()))
            .$bind($crate::audit::json_text($a.after.as_ref()))
            .$bind($a.source.as_str())
            .$bind($a.device_id)
            .$bind($a.at)
    };
}
pub(super) use bind_audit;

macro_rules! insert_audit {
    ($conn:expr, $aq:expr, $a:expr) => {
        $crate::audit::bind_audit!(sqlx::query($aq.insert), $a, bind)
            .execute($conn)
            .await?
    };
}
pub(super) use insert_audit;

macro_rules! impl_audit_store {
    ($store:ty, $aq:expr) => {
        #[async_trait::async_trait]
        impl $crate::AuditStore for $store {
            async fn list_audit(
                &self,
                tontine: kobiri_core::TontineId,
                page: $crate::PageRequest,
            ) -> $crate::StoreResult<$crate::Page<$crate::AuditEntry>> {
                Ok($crate::fetch_page!(
                    self.reader(), $aq.count, $aq.list,
                    $crate::audit::AuditRow => $crate::AuditEntry,
                    page, tontine.as_uuid()
                ))
            }
        }
    };
}
pub(super) use impl_audit_store;
