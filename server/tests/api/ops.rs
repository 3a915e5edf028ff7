//! Health, readiness, metrics, docs, request ids and the error shape of bare failures.

use reqwest::StatusCode;

use crate::helpers::*;
use crate::{dual_test, dual_test_with};

dual_test!(health_and_ready_answer, |app| async move {
    let health = assert_status(app.get("/health", None).await, StatusCode::OK).await;
    assert_eq!(health["status"], "ok");
    let ready = assert_status(app.get("/ready", None).await, StatusCode::OK).await;
    let engine = match app.engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    };
    assert_eq!(ready["database"], engine);
});

dual_test!(
    metrics_expose_request_counts_and_the_pool,
    |app| async move {
        assert_status(app.get("/health", None).await, StatusCode::OK).await;
        let resp = app.get("/metrics", None).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("application/openmetrics-text"),
            "{content_type}"
        );
        let text = resp.text().await.unwrap();
        assert!(text.contains("kobiri_http_requests_total"), "{text}");
        assert!(text.contains("kobiri_db_pool_connections"), "{text}");
        assert!(
            text.lines()
                .any(|l| l.starts_with("kobiri_http_requests_total")
                    && l.contains("route=\"/health\"")
                    && l.contains("status=\"200\"")),
            "{text}"
        );
        assert!(text.trim_end().ends_with("# EOF"));
    }
);

dual_test!(
    the_openapi_document_lists_every_auth_users_and_ops_path,
    |app| async move {
        let resp = app.get("/openapi.json", None).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let doc: serde_json::Value = resp.json().await.expect("valid JSON");
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        let paths = doc["paths"].as_object().unwrap();
        for (path, method) in [
            ("/health", "get"),
            ("/ready", "get"),
            ("/api/v1/auth/register", "post"),
            ("/api/v1/auth/login", "post"),
            ("/api/v1/auth/refresh", "post"),
            ("/api/v1/auth/logout", "post"),
            ("/api/v1/auth/me", "get"),
            ("/api/v1/auth/change-password", "post"),
            ("/api/v1/auth/forgot-password", "post"),
            ("/api/v1/auth/reset-password", "post"),
            ("/api/v1/auth/send-verification", "post"),
            ("/api/v1/auth/verify", "post"),
            ("/api/v1/users", "get"),
            ("/api/v1/users/{id}", "get"),
            ("/api/v1/users/{id}", "put"),
            ("/api/v1/users/{id}", "delete"),
        ] {
            assert!(
                paths.get(path).and_then(|p| p.get(method)).is_some(),
                "{method} {path} missing from the OpenAPI document"
            );
        }
        let login = &paths["/api/v1/auth/login"]["post"]["requestBody"]["content"];
        assert!(login.get("application/json").is_some());
        assert!(login.get("application/x-www-form-urlencoded").is_some());
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    }
);

dual_test!(swagger_ui_is_served_from_the_binary, |app| async move {
    let resp = app.get("/docs/", None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = resp.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let bare = app.get("/docs", None).await;
    assert!(
        bare.status().is_success() || bare.status().is_redirection(),
        "{}",
        bare.status()
    );
    let initializer = app.get("/docs/swagger-initializer.js", None).await;
    assert_eq!(initializer.status(), StatusCode::OK);
    assert!(initializer.text().await.unwrap().contains("/openapi.json"));
    assert_eq!(
        app.get("/docs/swagger-ui-bundle.js", None).await.status(),
        StatusCode::OK
    );
});

dual_test!(redoc_is_served_with_its_bundled_script, |app| async move {
    let resp = app.get("/redoc", None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = resp.text().await.unwrap();
    assert!(html.contains("/redoc/redoc.standalone.js"), "{html}");
    assert!(html.contains("/openapi.json"), "{html}");
    let js = app.get("/redoc/redoc.standalone.js", None).await;
    assert_eq!(js.status(), StatusCode::OK);
    assert!(
        js.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    assert!(js.bytes().await.unwrap().len() > 100_000, "the real bundle");
});

dual_test!(every_response_carries_a_request_id, |app| async move {
    for path in ["/health", "/api/v1/auth/me", "/nowhere", "/openapi.json"] {
        let resp = app.get(path, None).await;
        let id = resp
            .headers()
            .get("x-request-id")
            .unwrap_or_else(|| panic!("no x-request-id on {path}"))
            .to_str()
            .unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{path}: {id}");
    }
    let given = app
        .request(reqwest::Method::GET, "/health", None)
        .header("x-request-id", "terrain-kaolack-42")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "terrain-kaolack-42");
});

dual_test!(paths_answer_with_a_trailing_slash, |app| async move {
    let user = app.user("awa").await;
    let me = assert_status(
        app.get("/api/v1/auth/me/", user.token()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["email"], user.email.as_str());
    let admin = app.admin("chef").await;
    let page = assert_status(
        app.get("/api/v1/users/?page_size=5", admin.token()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["page_size"], 5);
    assert_status(app.get("/health/", None).await, StatusCode::OK).await;
});

dual_test!(an_unknown_route_is_a_json_404, |app| async move {
    let resp = app.get("/api/v1/nowhere", None).await;
    assert!(
        resp.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_error(resp, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(
        app.post("/api/v1/auth/nowhere", None, &serde_json::json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
});

dual_test!(a_wrong_method_is_a_json_405_with_allow, |app| async move {
    let resp = app.delete("/api/v1/auth/me", None).await;
    let allow = resp
        .headers()
        .get(reqwest::header::ALLOW)
        .expect("Allow header")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(allow.contains("GET"), "{allow}");
    let body = assert_error(resp, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    assert_eq!(body["errors"], serde_json::json!([]));
    let get_login = app.get("/api/v1/auth/login", None).await;
    assert_error(
        get_login,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
});

dual_test_with!(
    a_body_over_the_limit_is_413,
    |c| c.max_body_bytes = 1024,
    |app| async move {
        assert_eq!(app.config.max_body_bytes, 1024);
        let big = registration("awa@example.sn", "+221771234567");
        let big = with(big, "address", serde_json::json!("x".repeat(2_000)));
        assert_error(
            app.post("/api/v1/auth/register", None, &big).await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        )
        .await;
        assert_error(
            app.post(
                "/api/v1/auth/login",
                None,
                &serde_json::json!({"email": "awa@example.sn", "password": "x".repeat(2_000)}),
            )
            .await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        )
        .await;
        // A chunked body with no Content-Length is cut at the limit too.
        assert_eq!(
            chunked_post_status(&app, "/api/v1/auth/register", 3, 800).await,
            413
        );
        // Under the limit all is well.
        app.register("awa@example.sn", "+221771234567").await;
    }
);

/// Posts `chunks` chunks of `size` spaces with `Transfer-Encoding: chunked` (no
/// Content-Length) over a raw connection; returns the status code.
async fn chunked_post_status(app: &TestApp, path: &str, chunks: usize, size: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("{size:x}\r\n{}\r\n", " ".repeat(size));
    for _ in 0..chunks {
        // The server may answer and close before reading everything.
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}
