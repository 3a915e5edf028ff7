//! Logging in, enrolling the device, who is logged in, and authenticated requests that
//! refresh on a 401.
//!
//! A rotated token pair is stored before the request is retried: the old refresh token is
//! dead once the server has answered, so losing the new one would log the phone out.
//!
//! Login also stores who logged in (`GET /api/v1/auth/me`: the user's id and platform role),
//! which the recordings are checked against ([`crate::permission`]). A phone logged in before
//! the identity was kept gets it at its next sync ([`Client::ensure_identity`]).

use kobiri_core::{DeviceId, PlatformRole, UserId};
use rusqlite::Connection;
use serde::Deserialize;
use serde_json::json;

use crate::client::Client;
use crate::error::{Error, MobileError, Result};
use crate::http::{Answer, Payload};
use crate::meta::{self, Key};

const LOGIN: &str = "/api/v1/auth/login";
const REFRESH: &str = "/api/v1/auth/refresh";
const DEVICES: &str = "/api/v1/devices";
const ME: &str = "/api/v1/auth/me";

/// A token pair, as login, refresh and enrollment return it.
#[derive(Debug, Deserialize)]
struct Tokens {
    access_token: String,
    refresh_token: String,
}

impl Tokens {
    fn store(&self, conn: &Connection) -> Result<()> {
        meta::set(conn, Key::AccessToken, &self.access_token)?;
        meta::set(conn, Key::RefreshToken, &self.refresh_token)
    }
}

/// The fields of `GET /api/v1/auth/me` the phone keeps.
#[derive(Debug, Deserialize)]
struct Me {
    id: String,
    /// `membre` or `admin`; an unknown or missing role counts as `membre` (the least).
    #[serde(default)]
    role: String,
}

/// Who is logged in, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) user_id: UserId,
    pub(crate) platform: PlatformRole,
}

impl Identity {
    fn from_me(me: &Me) -> Result<Identity> {
        let user_id = UserId::parse(&me.id).map_err(|e| {
            Error::Public(MobileError::Server {
                server_code: "invalid_response".to_owned(),
                detail: format!("identifiant d'utilisateur reçu invalide : {e}"),
            })
        })?;
        Ok(Identity {
            user_id,
            platform: PlatformRole::try_from(me.role.as_str()).unwrap_or_default(),
        })
    }

    fn store(self, conn: &Connection) -> Result<()> {
        meta::set(conn, Key::UserId, &self.user_id.to_string())?;
        meta::set(conn, Key::PlatformRole, self.platform.as_str())
    }

    /// The stored identity, if any.
    pub(crate) fn load(conn: &Connection) -> Result<Option<Identity>> {
        let Some(id) = meta::get(conn, Key::UserId)? else {
            return Ok(None);
        };
        let user_id = UserId::parse(&id).map_err(|e| Error::Corrupt(e.to_string()))?;
        let platform = meta::get(conn, Key::PlatformRole)?
            .and_then(|role| PlatformRole::try_from(role.as_str()).ok())
            .unwrap_or_default();
        Ok(Some(Identity { user_id, platform }))
    }
}

/// The answer to `POST /api/v1/devices`.
#[derive(Debug, Deserialize)]
struct Enrolled {
    device_id: String,
    #[serde(flatten)]
    tokens: Tokens,
}

/// The answer if it is a success, its error otherwise.
pub(crate) fn success(answer: Answer) -> Result<Answer> {
    if answer.is_success() {
        Ok(answer)
    } else {
        Err(answer.error().into())
    }
}

impl Client {
    /// Logs in with an e-mail address (when `identifier` holds an '@') or a phone number, and
    /// asks who that is: the tokens and the identity are stored together, or neither.
    pub(crate) fn login(&self, identifier: &str, password: &str) -> Result<()> {
        let _network = self.network();
        let identifier = identifier.trim();
        let key = if identifier.contains('@') {
            "email"
        } else {
            "phone"
        };
        let body = json!({ key: identifier, "password": password });
        let answer = self
            .http
            .send(LOGIN, None, &Payload::Json(&body), self.settings().retry)?;
        let tokens: Tokens = success(answer)?.json()?;
        let answer = self.http.send(
            ME,
            Some(&tokens.access_token),
            &Payload::Get,
            self.settings().retry,
        )?;
        let identity = Identity::from_me(&success(answer)?.json()?)?;
        self.db.write(|tx| {
            tokens.store(tx)?;
            identity.store(tx)
        })
    }

    /// Fetches and stores who is logged in if the phone does not know it yet (a phone logged
    /// in before the identity was kept). Call with [`Client::network`] held.
    pub(crate) fn ensure_identity(&self) -> Result<()> {
        if self.db.read(Identity::load)?.is_some() {
            return Ok(());
        }
        let identity = Identity::from_me(&success(self.authed(ME, &Payload::Get)?)?.json()?)?;
        self.db.write(|tx| identity.store(tx))
    }

    /// Enrolls this phone as a sync device (once: later calls return the stored id).
    pub(crate) fn enroll_device(&self, name: &str, platform: &str) -> Result<String> {
        let _network = self.network();
        if let Some(id) = self.db.read(|c| meta::get(c, Key::DeviceId))? {
            return Ok(id);
        }
        let body = json!({ "name": name, "platform": platform });
        let enrolled: Enrolled = success(self.authed(DEVICES, &Payload::Json(&body))?)?.json()?;
        let device_id = DeviceId::parse(&enrolled.device_id).map_err(|e| {
            Error::Public(MobileError::Server {
                server_code: "invalid_response".to_owned(),
                detail: format!("identifiant d'appareil reçu invalide : {e}"),
            })
        })?;
        self.db.write(|tx| {
            meta::set(tx, Key::DeviceId, &device_id.to_string())?;
            enrolled.tokens.store(tx)
        })?;
        Ok(device_id.to_string())
    }

    /// Sends with the access token; on a 401, refreshes once and sends again. Any other
    /// answer is returned as it is. Call with [`Client::network`] held.
    pub(crate) fn authed(&self, path: &str, payload: &Payload<'_>) -> Result<Answer> {
        let token = self
            .db
            .read(|c| meta::get(c, Key::AccessToken))?
            .ok_or_else(MobileError::not_logged_in)?;
        let retry = self.settings().retry;
        let answer = self.http.send(path, Some(&token), payload, retry)?;
        if answer.status != 401 {
            return Ok(answer);
        }
        let token = self.refresh()?;
        let answer = self.http.send(path, Some(&token), payload, retry)?;
        if answer.status == 401 {
            return Err(answer.error().into());
        }
        Ok(answer)
    }

    /// Trades the refresh token for a new pair, stored before it is used.
    fn refresh(&self) -> Result<String> {
        let refresh_token = self
            .db
            .read(|c| meta::get(c, Key::RefreshToken))?
            .ok_or_else(MobileError::not_logged_in)?;
        let body = json!({ "refresh_token": refresh_token });
        let answer = self
            .http
            .send(REFRESH, None, &Payload::Json(&body), self.settings().retry)?;
        if matches!(answer.status, 401 | 403) {
            let message = match answer.error() {
                MobileError::Unauthorized { detail: message }
                | MobileError::Server {
                    detail: message, ..
                } => message,
                _ => String::new(),
            };
            return Err(MobileError::Unauthorized {
                detail: format!("session expirée, reconnectez-vous ({message})"),
            }
            .into());
        }
        let tokens: Tokens = success(answer)?.json()?;
        self.db.write(|tx| tokens.store(tx))?;
        Ok(tokens.access_token)
    }
}
