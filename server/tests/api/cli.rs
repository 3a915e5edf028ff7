//! The `create-admin` and `migrate` commands, on the database of a running app.

use kobiri_server::cli::{self, Cli, Command};
use reqwest::StatusCode;

use crate::dual_test;
use crate::helpers::*;

dual_test!(
    create_admin_makes_a_platform_admin_who_can_log_in,
    |app| async move {
        let command = Command::CreateAdmin {
            email: "Chef@Example.sn".into(),
            phone: "+221 70 000 00 00".into(),
            password: "Admin2026x".into(),
            first_name: "Chef".into(),
            last_name: "Kobiri".into(),
        };
        cli::run(
            Cli {
                command: Some(command),
            },
            app.config.clone(),
        )
        .await
        .unwrap();
        let tokens = assert_status(
            app.login("chef@example.sn", "Admin2026x").await,
            StatusCode::OK,
        )
        .await;
        let token = tokens["access_token"].as_str().unwrap();
        let me = assert_status(
            app.get("/api/v1/auth/me", Some(token)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(me["role"], "admin");
        assert_eq!(me["phone"], "+221700000000");
        // an admin may list users
        assert_status(app.get("/api/v1/users", Some(token)).await, StatusCode::OK).await;
    }
);

dual_test!(
    create_admin_refuses_a_weak_password_and_stores_nothing,
    |app| async move {
        let command = Command::CreateAdmin {
            email: "chef@example.sn".into(),
            phone: "+221700000000".into(),
            password: "weak".into(),
            first_name: "Chef".into(),
            last_name: "Kobiri".into(),
        };
        let err = cli::run(
            Cli {
                command: Some(command),
            },
            app.config.clone(),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("--password"), "{err}");
        assert_status(
            app.login("chef@example.sn", "weak").await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
);

dual_test!(
    migrate_is_idempotent_on_a_migrated_database,
    |app| async move {
        cli::run(
            Cli {
                command: Some(Command::Migrate),
            },
            app.config.clone(),
        )
        .await
        .unwrap();
        cli::run(
            Cli {
                command: Some(Command::Migrate),
            },
            app.config.clone(),
        )
        .await
        .unwrap();
        assert_status(app.get("/ready", None).await, StatusCode::OK).await;
    }
);
