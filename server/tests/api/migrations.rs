//! Migrations that move data keep it: each such migration runs here on a database that holds
//! rows written under the schema before it.

use std::path::PathBuf;

use chrono::Utc;
use kobiri_core::{DeviceId, Phone, PlatformRole, UserId, sync::Outcome};
use kobiri_server::{
    store::{
        NewDevice, NewUser, RecordedMutation, SyncStore, UserStore, postgres::PgStore,
        sqlite::SqliteStore,
    },
    testing::TestDatabase,
};
use sqlx::migrate::Migrator;

/// The last migration before the device log moved to one row per batch.
const BEFORE_DEVICE_BATCHES: i64 = 20261124000010;

async fn migrator(engine: &str) -> Migrator {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .join(engine);
    Migrator::new(dir).await.unwrap()
}

/// A user and an enrolled device, written through the store on the old schema.
async fn device(store: &(impl UserStore + SyncStore)) -> DeviceId {
    let user = store
        .insert_user(&NewUser {
            id: UserId::new(),
            email: None,
            phone: Phone::parse("+221770009911").unwrap(),
            password_hash: None,
            first_name: "Awa".into(),
            last_name: "Diop".into(),
            role: PlatformRole::Membre,
            address: None,
            city: None,
            country: None,
            now: Utc::now(),
        })
        .await
        .unwrap();
    store
        .insert_device(&NewDevice {
            id: DeviceId::new(),
            user_id: user.id,
            name: "Tecno".into(),
            platform: "android".into(),
            now: Utc::now(),
        })
        .await
        .unwrap()
        .id
}

/// Three mutations as the old log held them: one applied, one flagged, one rejected.
fn old_log() -> Vec<(i64, [u8; 32], Outcome)> {
    vec![
        (1, [1; 32], Outcome::Applied),
        (
            2,
            [2; 32],
            Outcome::Flagged {
                reason: "séance déjà clôturée".into(),
            },
        ),
        (
            3,
            [3; 32],
            Outcome::Rejected {
                code: "amount_mismatch".into(),
                message: "le montant ne correspond pas à la cotisation".into(),
            },
        ),
    ]
}

fn assert_kept(recorded: &[RecordedMutation]) {
    let expected: Vec<RecordedMutation> = old_log()
        .into_iter()
        .map(|(seq, hash, outcome)| RecordedMutation {
            seq: u64::try_from(seq).unwrap(),
            hash,
            outcome,
        })
        .collect();
    assert_eq!(recorded, expected);
}

/// Migrates `$pool`'s database to just before the device log changed, writes the old log
/// through `$store` and by hand, runs the remaining migrations and reads the log back.
macro_rules! the_device_log_survives {
    ($store:expr, $pool:expr, $engine:literal) => {{
        let (store, pool) = ($store, $pool);
        migrator($engine)
            .await
            .run_to(BEFORE_DEVICE_BATCHES, &pool)
            .await
            .unwrap();
        let device = device(&store).await;
        for (seq, hash, outcome) in old_log() {
            sqlx::query(
                "INSERT INTO device_mutations (device_id, seq, hash, kind, tontine_id, outcome, \
                 received_at) VALUES ($1, $2, $3, 'cash_payment', NULL, $4, $5)",
            )
            .bind(device.as_uuid())
            .bind(seq)
            .bind(hash.to_vec())
            .bind(serde_json::to_string(&outcome).unwrap())
            .bind(Utc::now())
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
        store.migrate().await.unwrap();
        assert_kept(&store.recorded_mutations(device, 1, 3).await.unwrap());
        assert_eq!(
            store.recorded_mutations(device, 2, 2).await.unwrap()[0].seq,
            2
        );
    }};
}

#[tokio::test]
async fn the_device_log_keeps_every_outcome_when_it_moves_to_one_row_per_batch_sqlite() {
    let (url, _db) = TestDatabase::sqlite().unwrap();
    the_device_log_survives!(
        SqliteStore::connect(&url, 2).await.unwrap(),
        sqlx::SqlitePool::connect(&url).await.unwrap(),
        "sqlite"
    );
}

#[tokio::test]
async fn the_device_log_keeps_every_outcome_when_it_moves_to_one_row_per_batch_postgres() {
    let Some((url, _db)) = TestDatabase::postgres("kobiri_migrations").await else {
        return;
    };
    the_device_log_survives!(
        PgStore::connect(&url, 2).await.unwrap(),
        sqlx::PgPool::connect(&url).await.unwrap(),
        "postgres"
    );
}
