//! The command line: `serve` (the default), `migrate`, `create-admin`.

use std::net::SocketAddr;

use clap::{Parser, Subcommand};
use kobiri_core::{Email, Password, PersonName, Phone, PlatformRole, UserId};

use crate::{
    auth::password::PasswordHasher,
    clock::{Clock, SystemClock},
    config::Config,
    state::{AppState, Parts},
    store::{self, NewUser, UserPatch},
};

#[derive(Debug, Parser)]
#[command(name = "kobiri-server", version, about = "Kobiri API server")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Create the first platform administrator (or promote the account holding that e-mail).
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long)]
        phone: String,
        #[arg(long)]
        password: String,
        #[arg(long, default_value = "Admin")]
        first_name: String,
        #[arg(long, default_value = "Kobiri")]
        last_name: String,
    },
}

// Long on purpose: one match arm per subcommand, each only wiring its arguments.
pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    let store = store::connect(&config.database_url, config.database_max_connections).await?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let addr = SocketAddr::new(config.host, config.port);
            let listener = tokio::net::TcpListener::bind(addr).await?;
            // The bound address: with PORT=0 the system chose the port.
            let addr = listener.local_addr()?;
            let engine = store.engine();
            #[cfg_attr(not(feature = "sandbox"), allow(unused_mut))]
            let mut parts = Parts::from_config(config, store)?;
            #[cfg(feature = "sandbox")]
            if let Some(sandbox) =
                crate::mobile_money::sandbox::Sandbox::start(&parts.config, addr).await?
            {
                parts.mobile_money = sandbox.install(parts.mobile_money, &parts.config)?;
            }
            let state = AppState::new(parts)?;
            tracing::info!(%addr, database = engine.as_str(), "Kobiri listening");
            crate::serve(listener, state, crate::shutdown_signal()).await?;
            tracing::info!("server stopped");
        }
        Command::Migrate => {
            tracing::info!(database = store.engine().as_str(), "migrations applied");
        }
        Command::CreateAdmin {
            email,
            phone,
            password,
            first_name,
            last_name,
        } => {
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
            let phone = Phone::parse(&phone).map_err(|e| anyhow::anyhow!("--phone: {e}"))?;
            let password =
                Password::parse(password).map_err(|e| anyhow::anyhow!("--password: {e}"))?;
            let first_name =
                PersonName::parse(&first_name).map_err(|e| anyhow::anyhow!("--first-name: {e}"))?;
            let last_name =
                PersonName::parse(&last_name).map_err(|e| anyhow::anyhow!("--last-name: {e}"))?;
            let hash = PasswordHasher::new(1)?.hash(password.expose()).await?;
            let now = SystemClock.now();
            let user = match store.user_by_email(&email).await? {
                Some(existing) => {
                    let patch = UserPatch {
                        role: Some(PlatformRole::Admin),
                        is_active: Some(true),
                        ..UserPatch::default()
                    };
                    store.set_password(existing.id, &hash, now).await?;
                    store.update_user(existing.id, &patch, now).await?
                }
                None => {
                    store
                        .insert_user(&NewUser {
                            id: UserId::new(),
                            email: Some(email),
                            phone,
                            password_hash: Some(hash),
                            first_name: first_name.into_inner(),
                            last_name: last_name.into_inner(),
                            role: PlatformRole::Admin,
                            address: None,
                            city: None,
                            country: None,
                            now,
                        })
                        .await?
                }
            };
            tracing::info!(user_id = %user.id, "administrator ready");
        }
    }
    Ok(())
}
