//! Date fields as clients send them: every date input (`start_date`, `end_date`,
//! `scheduled_date`, `due_date`) takes a plain date and an RFC 3339 instant, and answers with
//! the calendar date; bad dates are a 422 naming the field.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::*;
use crate::tontines::create_tontine;

/// `body` posted to `path`: a 422 whose only error names `field`.
async fn refused(app: &TestApp, user: &TestUser, path: &str, body: &Value, field: &str) -> String {
    let err = assert_error(
        app.post(path, user.token(), body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_error",
    )
    .await;
    assert_eq!(err["errors"][0]["field"], field, "{body}: {err}");
    assert!(
        err["detail"].as_str().unwrap().contains(field),
        "{body}: {err}"
    );
    err["errors"][0]["message"].as_str().unwrap().to_owned()
}

/// Bad values for a date field, and a word each refusal's message must contain.
const BAD_DATES: [(&str, &str); 5] = [
    ("2027-02-30", "impossible"),
    ("2027-02-30T10:00:00Z", "impossible"),
    ("2027-01-31T17:05:00", "fuseau"),
    // 00:30 in Lagos is still 30 January in UTC.
    ("2027-01-31T00:30:00+01:00", "UTC"),
    ("le 31 janvier", "invalide"),
];

dual_test!(
    tontine_dates_take_a_plain_date_or_an_instant,
    |app| async move {
        let p = app.user("president").await;
        let t = create_tontine(
            &app,
            &p,
            json!({"start_date": "2027-01-31T17:05:00Z", "end_date": "2027-12-31T23:00:00+01:00"}),
        )
        .await;
        assert_eq!(t["start_date"], "2027-01-31");
        assert_eq!(t["end_date"], "2027-12-31");
        let t = create_tontine(
            &app,
            &p,
            json!({"start_date": "2027-01-31", "end_date": "2027-12-31"}),
        )
        .await;
        assert_eq!(
            (&t["start_date"], &t["end_date"]),
            (&json!("2027-01-31"), &json!("2027-12-31"))
        );
        // Offsets that keep the UTC day, fractions of a second.
        let t = create_tontine(
            &app,
            &p,
            json!({"start_date": "2027-01-31T10:00:00.250+01:00", "end_date": "2027-12-31T08:00:00-05:00"}),
        )
        .await;
        assert_eq!(
            (&t["start_date"], &t["end_date"]),
            (&json!("2027-01-31"), &json!("2027-12-31"))
        );
        // The answer keeps its instants RFC 3339.
        let created = t["created_at"].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(created).is_ok(),
            "{created}"
        );
        // An end before the start is still refused, whatever the form.
        let body = json!({"name": "T", "type": "rotative", "frequency": "mensuel",
            "contribution_amount": 5000, "start_date": "2027-01-31T08:00:00Z",
            "end_date": "2027-01-30T08:00:00Z"});
        refused(&app, &p, "/api/v1/tontines", &body, "end_date").await;
    }
);

dual_test!(
    bad_tontine_dates_are_a_422_naming_the_field,
    |app| async move {
        let p = app.user("president").await;
        let base = json!({"name": "T", "type": "rotative", "frequency": "mensuel",
            "contribution_amount": 5000, "start_date": "2027-01-31"});
        for field in ["start_date", "end_date"] {
            for (bad, word) in BAD_DATES {
                let body = with(base.clone(), field, json!(bad));
                let message = refused(&app, &p, "/api/v1/tontines", &body, field).await;
                assert!(message.contains(word), "{bad}: {message}");
            }
            let body = with(base.clone(), field, json!(20270131));
            refused(&app, &p, "/api/v1/tontines", &body, field).await;
        }
        // A datetime where no date belongs.
        let body = with(
            base.clone(),
            "grace_period_days",
            json!("2027-01-31T17:05:00Z"),
        );
        refused(&app, &p, "/api/v1/tontines", &body, "grace_period_days").await;
        let mine =
            assert_status(app.get("/api/v1/tontines", p.token()).await, StatusCode::OK).await;
        assert_eq!(mine["total"], 0, "nothing was created");
    }
);

dual_test!(
    session_dates_take_a_plain_date_or_an_instant,
    |app| async move {
        let p = app.user("president").await;
        let t = create_tontine(&app, &p, json!({})).await;
        let id = t["id"].as_str().unwrap();
        for (scheduled, due) in [
            ("2027-03-01T08:00:00Z", "2027-03-05"),
            ("2027-04-01", "2027-04-05T18:30:00+00:00"),
            ("2027-05-01T09:15:00+01:00", "2027-05-05T23:59:59Z"),
        ] {
            let body = json!({"tontine_id": id, "scheduled_date": scheduled, "due_date": due});
            let s = assert_status(
                app.post("/api/v1/sessions", p.token(), &body).await,
                StatusCode::CREATED,
            )
            .await;
            assert_eq!(s["scheduled_date"], &scheduled[..10]);
            assert_eq!(s["due_date"], &due[..10]);
            let read = assert_status(
                app.get(
                    &format!("/api/v1/sessions/{}", s["id"].as_str().unwrap()),
                    p.token(),
                )
                .await,
                StatusCode::OK,
            )
            .await;
            assert_eq!(read["due_date"], &due[..10]);
        }
        // Order is checked on the calendar dates: the same day in both forms is fine.
        let body = json!({"tontine_id": id, "scheduled_date": "2027-06-01T18:00:00Z",
            "due_date": "2027-06-01"});
        assert_status(
            app.post("/api/v1/sessions", p.token(), &body).await,
            StatusCode::CREATED,
        )
        .await;
        let body = json!({"tontine_id": id, "scheduled_date": "2027-07-02T08:00:00Z",
            "due_date": "2027-07-01T23:00:00Z"});
        refused(&app, &p, "/api/v1/sessions", &body, "due_date").await;
    }
);

dual_test!(
    bad_session_dates_are_a_422_naming_the_field,
    |app| async move {
        let p = app.user("president").await;
        let t = create_tontine(&app, &p, json!({})).await;
        let base = json!({"tontine_id": t["id"], "scheduled_date": "2027-03-01",
            "due_date": "2027-03-05"});
        for field in ["scheduled_date", "due_date"] {
            for (bad, word) in BAD_DATES {
                let body = with(base.clone(), field, json!(bad));
                let message = refused(&app, &p, "/api/v1/sessions", &body, field).await;
                assert!(message.contains(word), "{bad}: {message}");
            }
            let body = with(base.clone(), field, json!(true));
            refused(&app, &p, "/api/v1/sessions", &body, field).await;
        }
        let body = with(
            base.clone(),
            "beneficiary_id",
            json!("2027-03-01T08:00:00Z"),
        );
        refused(&app, &p, "/api/v1/sessions", &body, "beneficiary_id").await;
    }
);

dual_test!(
    the_openapi_schema_says_each_date_field_is_a_calendar_date,
    |app| async move {
        let doc = assert_status(app.get("/openapi.json", None).await, StatusCode::OK).await;
        let schemas = &doc["components"]["schemas"];
        for (schema, field) in [
            ("CreateTontineRequest", "start_date"),
            ("CreateTontineRequest", "end_date"),
            ("CreateSessionRequest", "scheduled_date"),
            ("CreateSessionRequest", "due_date"),
        ] {
            let text = schemas[schema]["properties"][field].to_string();
            let resolved = if text.contains("$ref") {
                schemas["DateInput"].to_string()
            } else {
                text.clone()
            };
            assert!(
                resolved.contains("\"date\"") && resolved.contains("RFC 3339"),
                "{schema}.{field}: {text} / {resolved}"
            );
        }
    }
);
