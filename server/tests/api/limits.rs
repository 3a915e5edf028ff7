//! Login, registration and metrics limits: failed logins lock an account for a growing time,
//! an address is refused only for its failures, trusted proxies forward the client's address
//! and nobody else can, registrations are limited per address, `/metrics` is guarded.

use std::time::Duration;

use chrono::TimeDelta;
use futures::StreamExt as _;
use kobiri_core::{Email, Phone, PlatformRole, UserId};
use kobiri_server::store::NewUser;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::json;

use crate::helpers::*;
use crate::{dual_test, dual_test_with};

/// Asserts a 429 with the stable code, a French detail naming what was limited, and a
/// `Retry-After` of `retry_after` seconds; returns the detail.
async fn assert_limited(resp: Response, retry_after: u64) -> String {
    let header: u64 = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(header, retry_after);
    let body = assert_error(resp, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    body["detail"].as_str().unwrap().to_owned()
}

fn login_body(email: &str, password: &str) -> serde_json::Value {
    json!({"email": email, "password": password})
}

/// A login as sent by a client behind the test's proxy: `forwarded` is the header's value.
fn login_via(app: &TestApp, header: &str, forwarded: &str, email: &str) -> RequestBuilder {
    app.request(reqwest::Method::POST, "/api/v1/auth/login", None)
        .header(header, forwarded)
        .json(&login_body(email, "Mauvais2026"))
}

async fn send(builder: RequestBuilder) -> Response {
    builder.send().await.unwrap()
}

dual_test!(
    failed_logins_lock_an_account_for_a_growing_time_even_for_the_right_password,
    |app| async move {
        app.register("awa@example.sn", "+221771234567").await;
        app.register("moussa@example.sn", "+221771234568").await;
        // Five failures are free (the case of the address does not make another account).
        for email in [
            "awa@example.sn",
            "AWA@example.sn",
            "awa@example.sn",
            "Awa@Example.SN",
        ] {
            let resp = app.login(email, "Mauvais2026").await;
            assert_error(resp, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        }
        let resp = app.login("awa@example.sn", "Mauvais2026").await;
        assert_error(resp, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        // Then 30 s of lockout, the right password included, the OAuth2 form too.
        let detail = assert_limited(app.login("awa@example.sn", PASSWORD).await, 30).await;
        assert!(detail.contains("pour ce compte"), "{detail}");
        let form = [("username", "awa@example.sn"), ("password", PASSWORD)];
        assert_limited(app.post_form("/api/v1/auth/login", &form).await, 30).await;
        // Another account is not affected.
        let resp = app.login("moussa@example.sn", PASSWORD).await;
        assert_status(resp, StatusCode::OK).await;
        // After the lockout, one more failure locks for twice as long.
        app.clock.advance(TimeDelta::seconds(30));
        let resp = app.login("awa@example.sn", "Mauvais2026").await;
        assert_error(resp, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        assert_limited(app.login("awa@example.sn", PASSWORD).await, 60).await;
        app.clock.advance(TimeDelta::seconds(59));
        assert_limited(app.login("awa@example.sn", PASSWORD).await, 1).await;
        // A success forgets the failures: four more are free again.
        app.clock.advance(TimeDelta::seconds(1));
        assert_status(app.login("awa@example.sn", PASSWORD).await, StatusCode::OK).await;
        for _ in 0..4 {
            let resp = app.login("awa@example.sn", "Mauvais2026").await;
            assert_error(resp, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        }
        assert_status(app.login("awa@example.sn", PASSWORD).await, StatusCode::OK).await;
    }
);

dual_test!(
    parallel_guesses_on_one_account_meet_its_lockout,
    |app| async move {
        app.register("awa@example.sn", "+221771234567").await;
        let statuses: Vec<StatusCode> = futures::stream::iter(0..20)
            .map(|_| async { app.login("awa@example.sn", "Mauvais2026").await.status() })
            .buffer_unordered(20)
            .collect()
            .await;
        let wrong = statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count();
        assert_eq!(wrong, 5, "{statuses:?}");
        assert!(
            statuses[..]
                .iter()
                .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS)
        );
    }
);

/// `n` accounts `membre{i}@example.sn` with the test password, inserted straight into the
/// store with a cheap argon2id hash (the server verifies with the hash's own parameters), so
/// that the test measures the limits, not argon2.
async fn seed_accounts(app: &TestApp, n: usize) -> Vec<String> {
    use argon2::{Algorithm, Argon2, Params, Version, password_hash::PasswordHasher as _};
    let params = Params::new(8, 1, 1, None).unwrap();
    let hash = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(PASSWORD.as_bytes())
        .unwrap()
        .to_string();
    let mut emails = Vec::with_capacity(n);
    for i in 0..n {
        let email = format!("membre{i}@example.sn");
        app.store
            .insert_user(&NewUser {
                id: UserId::new(),
                email: Some(Email::parse(&email).unwrap()),
                phone: Phone::parse(&format!("+22176{i:07}")).unwrap(),
                password_hash: Some(hash.clone()),
                first_name: "Awa".into(),
                last_name: "Diop".into(),
                role: PlatformRole::Membre,
                address: None,
                city: None,
                country: None,
                now: chrono::Utc::now(),
            })
            .await
            .unwrap();
        emails.push(email);
    }
    emails
}

dual_test!(
    five_hundred_accounts_log_in_from_one_address_within_a_minute,
    |app| async move {
        let emails = seed_accounts(&app, 500).await;
        // Typos of other people behind the same address do not hold anyone back either.
        for n in 0..20 {
            let resp = app.login(&format!("inconnu{n}@example.sn"), PASSWORD).await;
            assert_error(resp, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        }
        let started = std::time::Instant::now();
        let statuses: Vec<StatusCode> = futures::stream::iter(&emails)
            .map(|email| async { app.login(email, PASSWORD).await.status() })
            .buffer_unordered(16)
            .collect()
            .await;
        let elapsed = started.elapsed();
        assert!(
            statuses.iter().all(|s| *s == StatusCode::OK),
            "{statuses:?}"
        );
        assert_eq!(statuses.len(), 500);
        assert!(
            elapsed < Duration::from_secs(60),
            "500 logins took {elapsed:?}"
        );
    }
);

dual_test_with!(
    an_address_is_refused_only_above_its_failure_ceiling,
    |c| c.rate_limits.login_failures_per_ip = 3,
    |app| async move {
        app.register("awa@example.sn", "+221771234567").await;
        for _ in 0..10 {
            assert_status(app.login("awa@example.sn", PASSWORD).await, StatusCode::OK).await;
        }
        for n in 0..3 {
            let resp = app
                .login(&format!("personne{n}@example.sn"), PASSWORD)
                .await;
            assert_error(resp, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        }
        // 3 failures a minute: one more is possible in 20 s.
        let detail = assert_limited(app.login("personne9@example.sn", PASSWORD).await, 20).await;
        assert!(detail.contains("depuis cette adresse"), "{detail}");
        app.clock.advance(TimeDelta::seconds(20));
        assert_status(app.login("awa@example.sn", PASSWORD).await, StatusCode::OK).await;
    }
);

dual_test_with!(
    a_trusted_proxy_forwards_the_client_address,
    |c| {
        c.trusted_proxies = "127.0.0.0/8".parse().unwrap();
        c.rate_limits.login_failures_per_ip = 2;
    },
    |app| async move {
        for _ in 0..2 {
            let resp = send(login_via(&app, "x-forwarded-for", "203.0.113.7", "a@x.sn")).await;
            assert_error(resp, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        }
        let client_a = [
            ("x-forwarded-for", "203.0.113.7"),
            // A client that prepends an address of its choice is still itself.
            ("x-forwarded-for", "198.51.100.1, 203.0.113.7"),
            ("forwarded", "for=203.0.113.7;proto=https"),
            ("forwarded", r#"for="[::ffff:203.0.113.7]:443""#),
        ];
        for (header, value) in client_a {
            let resp = send(login_via(&app, header, value, "b@x.sn")).await;
            assert_limited(resp, 30).await;
        }
        // Another client behind the same proxy is not affected.
        let resp = send(login_via(&app, "forwarded", "for=203.0.113.8", "b@x.sn")).await;
        assert_error(resp, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        // Nor is the proxy's own address.
        let resp = app.login("c@x.sn", PASSWORD).await;
        assert_error(resp, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
);

dual_test_with!(
    forwarding_headers_from_an_untrusted_peer_change_nothing,
    |c| {
        // The test connects from 127.0.0.1, which is not in the list.
        c.trusted_proxies = "10.0.0.0/8".parse().unwrap();
        c.rate_limits.login_failures_per_ip = 2;
    },
    |app| async move {
        let first = send(login_via(&app, "x-forwarded-for", "203.0.113.1", "a@x.sn")).await;
        assert_error(first, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        let second = send(login_via(&app, "forwarded", "for=203.0.113.2", "b@x.sn")).await;
        assert_error(second, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        // Every spoofed address is still 127.0.0.1, whose two failures are spent.
        for (header, value) in [
            ("x-forwarded-for", "203.0.113.3"),
            ("forwarded", "for=203.0.113.4"),
            ("x-real-ip", "203.0.113.5"),
        ] {
            assert_limited(send(login_via(&app, header, value, "c@x.sn")).await, 30).await;
        }
    }
);

dual_test_with!(
    registrations_from_one_address_are_limited,
    |c| {
        c.rate_limits.register_per_ip = kobiri_server::config::DEFAULT_REGISTER_PER_IP;
        c.trusted_proxies = "127.0.0.1".parse().unwrap();
    },
    |app| async move {
        let mut created = 0;
        let mut limited = None;
        for n in 0..40 {
            let body = registration(&format!("inscrit{n}@example.sn"), &format!("+22175{n:07}"));
            let resp = app.post("/api/v1/auth/register", None, &body).await;
            if resp.status() == StatusCode::CREATED {
                created += 1;
            } else {
                limited = Some(assert_limited(resp, 3).await);
                break;
            }
        }
        assert_eq!(created, kobiri_server::config::DEFAULT_REGISTER_PER_IP);
        let detail = limited.expect("a 429 before the 40th registration");
        assert!(detail.contains("inscriptions"), "{detail}");
        // Nothing was created by the refused request, and another address may register.
        let body = registration("autre@example.sn", "+221750009999");
        let resp = app
            .request(reqwest::Method::POST, "/api/v1/auth/register", None)
            .header("x-forwarded-for", "203.0.113.9")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_status(resp, StatusCode::CREATED).await;
        // An invalid registration (a 422, no hash) is not counted.
        app.clock.advance(TimeDelta::seconds(3));
        let bad = with(
            registration("x@example.sn", "+221750001111"),
            "password",
            json!("a"),
        );
        assert_invalid(
            app.post("/api/v1/auth/register", None, &bad).await,
            "password",
        )
        .await;
        let body = registration("encore@example.sn", "+221750002222");
        assert_status(
            app.post("/api/v1/auth/register", None, &body).await,
            StatusCode::CREATED,
        )
        .await;
    }
);

dual_test_with!(
    metrics_need_the_bearer_token_when_one_is_set,
    |c| c.metrics_token = Some(kobiri_server::secret::Secret::new(
        "scrape-0123456789abcdef"
    )),
    |app| async move {
        assert_error(
            app.get("/metrics", None).await,
            StatusCode::UNAUTHORIZED,
            "not_authenticated",
        )
        .await;
        let wrong = app.get("/metrics", Some("scrape-0123456789abcdeF")).await;
        assert_error(wrong, StatusCode::UNAUTHORIZED, "not_authenticated").await;
        let ok = app.get("/metrics", Some("scrape-0123456789abcdef")).await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert!(ok.text().await.unwrap().contains("kobiri_http_requests"));
    }
);

dual_test_with!(
    production_serves_no_open_metrics,
    |c| c.environment = kobiri_server::config::Environment::Production,
    |app| async move {
        assert_error(
            app.get("/metrics", None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        assert_status(app.get("/health", None).await, StatusCode::OK).await;
    }
);

dual_test_with!(
    metrics_addr_serves_metrics_apart_from_the_api,
    |c| {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        c.metrics_addr = Some(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    },
    |app| async move {
        assert_error(
            app.get("/metrics", None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        let apart = format!("http://{}/metrics", app.config.metrics_addr.unwrap());
        let mut answer = None;
        for _ in 0..50 {
            if let Ok(resp) = app.client.get(&apart).send().await {
                answer = Some(resp);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let resp = answer.expect("the metrics listener answers");
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(
            resp.text()
                .await
                .unwrap()
                .contains("kobiri_db_pool_connections")
        );
    }
);
