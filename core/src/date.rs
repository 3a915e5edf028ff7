//! Calendar dates as clients send them: a plain ISO date (`2026-12-03`) or an RFC 3339 instant
//! (`2026-12-03T17:05:00Z`, `2026-12-03T17:05:00+00:00`), the form the original API's clients
//! send. Kobiri keeps the calendar date; an instant stands for its UTC date.
//!
//! An instant whose offset puts it on another day than its UTC date (`2026-12-03T00:30:00+01:00`
//! is 2 December in UTC) is refused rather than silently moved by a day: the client meant the
//! day it wrote, the rule says the UTC day, and only the client knows which one it wants.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// Why a date was refused. `Display` is a French message meant for users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Neither a date nor an RFC 3339 instant.
    #[error(
        "date invalide : attendu AAAA-MM-JJ (2026-12-03) ou un instant RFC 3339 \
         (2026-12-03T17:05:00Z)"
    )]
    Invalid,
    /// Shaped like a date, but not a day of the calendar (`2026-02-30`).
    #[error("date impossible : {0} n'existe pas dans le calendrier")]
    Impossible(String),
    /// A date and a time without `Z` or an offset: no instant is meant.
    #[error(
        "date et heure sans fuseau horaire : ajoutez Z ou un décalage (+00:00), ou envoyez la \
         date seule (AAAA-MM-JJ)"
    )]
    MissingZone,
    /// An instant on one day at its offset and on another in UTC.
    #[error(
        "cet instant est le {local} à son décalage mais le {utc} en UTC : envoyez la date seule \
         (AAAA-MM-JJ) ou l'instant en UTC (Z)"
    )]
    OffsetChangesDay {
        /// The date at the instant's own offset.
        local: NaiveDate,
        /// Its UTC date.
        utc: NaiveDate,
    },
}

/// Reads a calendar date: `YYYY-MM-DD`, or an RFC 3339 instant, which stands for its UTC date
/// (refused when its offset puts it on another day). Surrounding spaces are ignored.
pub fn parse_date_input(input: &str) -> Result<NaiveDate, DateError> {
    let s = input.trim();
    if let Ok(date) = s.parse::<NaiveDate>() {
        return Ok(date);
    }
    // RFC 3339, or ISO 8601's basic offset (`+0100`) that some clients send.
    let instant = DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"));
    if let Ok(instant) = instant {
        let (local, utc) = (
            instant.date_naive(),
            instant.with_timezone(&Utc).date_naive(),
        );
        return if local == utc {
            Ok(utc)
        } else {
            Err(DateError::OffsetChangesDay { local, utc })
        };
    }
    Err(diagnose(s))
}

/// Why `s`, which is neither a date nor an instant, was refused.
fn diagnose(s: &str) -> DateError {
    let head = s.get(..10).unwrap_or(s);
    let shaped = head.len() == 10
        && head.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if shaped && head.parse::<NaiveDate>().is_err() {
        return DateError::Impossible(head.to_owned());
    }
    let naive = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .any(|f| NaiveDateTime::parse_from_str(s, f).is_ok());
    if naive {
        DateError::MissingZone
    } else {
        DateError::Invalid
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn plain_dates_and_instants_give_the_calendar_date() {
        assert_eq!(parse_date_input("2026-12-03"), Ok(d(2026, 12, 3)));
        assert_eq!(parse_date_input(" 2026-12-03 "), Ok(d(2026, 12, 3)));
        assert_eq!(parse_date_input("2026-12-03T17:05:00Z"), Ok(d(2026, 12, 3)));
        assert_eq!(
            parse_date_input("2026-12-03T17:05:00.123456Z"),
            Ok(d(2026, 12, 3))
        );
        assert_eq!(
            parse_date_input("2026-12-03T17:05:00+00:00"),
            Ok(d(2026, 12, 3))
        );
        // Lagos at 10:00 is 09:00 UTC: the same day.
        assert_eq!(
            parse_date_input("2026-12-03T10:00:00+01:00"),
            Ok(d(2026, 12, 3))
        );
        assert_eq!(
            parse_date_input("2026-12-03T10:00:00+0100"),
            Ok(d(2026, 12, 3))
        );
    }

    #[test]
    fn an_offset_that_moves_the_day_is_refused() {
        assert_eq!(
            parse_date_input("2026-12-03T00:30:00+01:00"),
            Err(DateError::OffsetChangesDay {
                local: d(2026, 12, 3),
                utc: d(2026, 12, 2)
            })
        );
        assert!(matches!(
            parse_date_input("2026-12-03T23:30:00-02:00"),
            Err(DateError::OffsetChangesDay { .. })
        ));
    }

    #[test]
    fn bad_input_says_what_is_wrong() {
        assert_eq!(
            parse_date_input("2026-02-30"),
            Err(DateError::Impossible("2026-02-30".into()))
        );
        assert_eq!(
            parse_date_input("2026-02-30T10:00:00Z"),
            Err(DateError::Impossible("2026-02-30".into()))
        );
        assert_eq!(
            parse_date_input("2026-12-03T17:05:00"),
            Err(DateError::MissingZone)
        );
        assert_eq!(
            parse_date_input("2026-12-03 17:05:00"),
            Err(DateError::MissingZone)
        );
        for garbage in [
            "",
            "demain",
            "03/12/2026",
            "2026-12",
            "2026-12-03Tnoon",
            "١٢",
        ] {
            assert_eq!(
                parse_date_input(garbage),
                Err(DateError::Invalid),
                "{garbage}"
            );
        }
    }

    proptest! {
        #[test]
        fn any_date_reads_back_in_both_forms(days in 0i64..80_000, secs in 0u32..86_400) {
            let date = d(1970, 1, 1) + chrono::Days::new(days.unsigned_abs());
            prop_assert_eq!(parse_date_input(&date.to_string()), Ok(date));
            let instant = date.and_hms_opt(secs / 3600, secs / 60 % 60, secs % 60).unwrap();
            let rfc = instant.and_utc().to_rfc3339();
            prop_assert_eq!(parse_date_input(&rfc), Ok(date));
        }

        #[test]
        fn nothing_panics(s in ".{0,40}") {
            let _ = parse_date_input(&s);
        }
    }
}
