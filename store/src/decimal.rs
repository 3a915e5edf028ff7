//! Exact decimals in the database: `numeric` on PostgreSQL, decimal text on SQLite (sqlx has
//! no SQLite codec for `Decimal`, and `REAL` would lose cents). One Rust type binds on both
//! engines, so each query is written once.

use std::str::FromStr;

use rust_decimal::Decimal;
use sqlx::{
    Decode, Encode, Postgres, Sqlite, Type,
    encode::IsNull,
    error::BoxDynError,
    postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef},
    sqlite::{SqliteArgumentsBuffer, SqliteTypeInfo, SqliteValueRef},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct DbDecimal(pub Decimal);

impl From<Decimal> for DbDecimal {
    fn from(d: Decimal) -> Self {
        Self(d)
    }
}

impl Type<Postgres> for DbDecimal {
    fn type_info() -> PgTypeInfo {
        <Decimal as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for DbDecimal {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <Decimal as Encode<Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for DbDecimal {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        <Decimal as Decode<Postgres>>::decode(value).map(Self)
    }
}

impl Type<Sqlite> for DbDecimal {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for DbDecimal {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        <String as Encode<Sqlite>>::encode(self.0.normalize().to_string(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for DbDecimal {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Sqlite>>::decode(value)?;
        Ok(Self(Decimal::from_str(text)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::{Connection, SqliteConnection};

    #[tokio::test]
    async fn decimals_round_trip_through_sqlite_as_text() {
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        sqlx::query("CREATE TABLE t (v TEXT NOT NULL) STRICT")
            .execute(&mut conn)
            .await
            .unwrap();
        for s in ["0", "2500", "2500.5", "999999999999.99", "0.01"] {
            let d = Decimal::from_str(s).unwrap();
            sqlx::query("INSERT INTO t (v) VALUES ($1)")
                .bind(DbDecimal(d))
                .execute(&mut conn)
                .await
                .unwrap();
            let stored: String =
                sqlx::query_scalar("SELECT v FROM t WHERE rowid = last_insert_rowid()")
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
            assert_eq!(stored, s);
            let back: DbDecimal =
                sqlx::query_scalar("SELECT v FROM t WHERE rowid = last_insert_rowid()")
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
            assert_eq!(back.0, d);
        }
    }
}
