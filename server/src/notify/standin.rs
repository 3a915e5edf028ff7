// Over 400 lines on purpose: the stand-ins of the SMS, e-mail and push providers, for tests and the
// sandbox only.
//! Loopback stand-ins for the providers, for tests (here and in other crates): one HTTP server
//! on `127.0.0.1:0` speaking Orange OAuth + SMS, Africa's Talking, and FCM with its OAuth token
//! endpoint, and a small SMTP sink on another port. They record what they receive, can be
//! switched down (HTTP 503, SMTP 421) and back up, can answer slowly, and can mark an FCM
//! token `UNREGISTERED`. They also post the SMS gateways' delivery reports, in each gateway's
//! format, for the messages they accepted.
//!
//! The FCM token endpoint verifies the RS256 assertion with the public half of a **test-only**
//! RSA key (`server/tests/fixtures/fcm-test-key.pem`), which protects nothing.

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
};

use axum::{
    Form, Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

use super::{
    config::{AfricasTalkingConfig, FcmConfig, OrangeConfig},
    fcm::AssertionClaims,
};
use crate::config::{SmtpConfig, SmtpSecurity};

/// The test-only service-account key the FCM stand-in trusts. Never use it elsewhere.
pub const TEST_KEY_PEM: &str = include_str!("../../tests/fixtures/fcm-test-key.pem");
/// Its public half.
pub const TEST_PUBLIC_KEY_PEM: &str = include_str!("../../tests/fixtures/fcm-test-key.pub.pem");
/// Another test-only key, which the stand-in refuses.
pub const OTHER_TEST_KEY_PEM: &str = include_str!("../../tests/fixtures/other-test-key.pem");
/// The service account of [`TEST_KEY_PEM`].
pub const TEST_CLIENT_EMAIL: &str = "kobiri@kobiri-test.iam.gserviceaccount.com";
pub const TEST_PROJECT: &str = "kobiri-test";
/// A number Africa's Talking answers with status 403 (invalid phone number).
pub const INVALID_PHONE: &str = "+221700000403";

const ORANGE_CLIENT: (&str, &str) = ("orange-client", "orange-secret");
const ORANGE_SENDER: &str = "2210000";
const AT_USERNAME: &str = "sandbox";
const AT_KEY: &str = "at-test-key";

/// A stand-in service, to switch down on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Orange,
    AfricasTalking,
    Fcm,
    Smtp,
}

impl Service {
    pub const ALL: [Service; 4] = [
        Service::Orange,
        Service::AfricasTalking,
        Service::Fcm,
        Service::Smtp,
    ];
}

/// An SMS a gateway stand-in accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedSms {
    /// `orange` or `africastalking`.
    pub provider: &'static str,
    pub to: String,
    pub text: String,
    pub message_id: String,
}

/// A push FCM accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedPush {
    pub token: String,
    pub title: String,
    pub body: String,
    pub data: Value,
    pub name: String,
}

/// A message the SMTP sink received: the envelope and the raw DATA (dot-unstuffed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedEmail {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: String,
}

#[derive(Debug, Default)]
struct Record {
    down: HashSet<Service>,
    sms: Vec<ReceivedSms>,
    push: Vec<ReceivedPush>,
    emails: Vec<ReceivedEmail>,
    unregistered: HashSet<String>,
    /// Bearer tokens issued, per service.
    tokens: HashMap<String, Service>,
    issued: HashMap<Service, usize>,
    /// Calls refused because the service was down.
    refused: HashMap<Service, usize>,
    /// How long each message call (not token calls) takes to answer.
    latency: std::time::Duration,
}

#[derive(Debug, Clone)]
struct Shared {
    record: Arc<Mutex<Record>>,
    /// The FCM token URL, which assertions must name as their audience.
    fcm_token_url: String,
}

impl Shared {
    fn with<T>(&self, f: impl FnOnce(&mut Record) -> T) -> T {
        f(&mut self.record.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// `true` (and counts the refusal) when `service` is down.
    fn is_down(&self, service: Service) -> bool {
        self.with(|r| {
            let down = r.down.contains(&service);
            if down {
                *r.refused.entry(service).or_default() += 1;
            }
            down
        })
    }

    /// Waits the configured latency.
    async fn delay(&self) {
        let latency = self.with(|r| r.latency);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }

    fn issue(&self, service: Service) -> String {
        self.with(|r| {
            let n = r.issued.entry(service).or_default();
            *n += 1;
            let token = format!(
                "{service:?}-token-{}-{}",
                *n,
                kobiri_core::new_uuid().simple()
            );
            r.tokens.insert(token.clone(), service);
            token
        })
    }

    fn bearer_ok(&self, headers: &HeaderMap, service: Service) -> bool {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        token.is_some_and(|t| self.with(|r| r.tokens.get(t) == Some(&service)))
    }
}

/// The running stand-ins; they stop when this is dropped.
#[derive(Debug)]
pub struct StandIn {
    shared: Shared,
    http: SocketAddr,
    smtp: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"error": {"code": 503, "status": "UNAVAILABLE", "message": "down"}})),
    )
        .into_response()
}

impl StandIn {
    /// Starts every stand-in on loopback ports.
    ///
    /// # Panics
    /// When a loopback port cannot be bound (tests only).
    #[allow(clippy::expect_used)]
    pub async fn start() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the HTTP stand-in");
        let smtp = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SMTP sink");
        let http_addr = http.local_addr().expect("an address");
        let smtp_addr = smtp.local_addr().expect("an address");
        let shared = Shared {
            record: Arc::default(),
            fcm_token_url: format!("http://{http_addr}/fcm/token"),
        };
        let router = Router::new()
            .route("/oauth/v3/token", post(orange_token))
            .route(
                "/smsmessaging/v1/outbound/{sender}/requests",
                post(orange_sms),
            )
            .route("/version1/messaging", post(africastalking))
            .route("/fcm/token", post(fcm_token))
            .route("/v1/projects/{project}/{action}", post(fcm_send))
            .with_state(shared.clone());
        let tasks = vec![
            tokio::spawn(async move {
                let _ = axum::serve(http, router).await;
            }),
            tokio::spawn(smtp_sink(smtp, shared.clone())),
        ];
        Self {
            shared,
            http: http_addr,
            smtp: smtp_addr,
            tasks,
        }
    }

    /// The HTTP stand-ins' base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.http)
    }

    /// Switches every stand-in down (or back up).
    pub fn set_down(&self, down: bool) {
        for service in Service::ALL {
            self.set_service_down(service, down);
        }
    }

    pub fn set_service_down(&self, service: Service, down: bool) {
        self.shared.with(|r| {
            if down {
                r.down.insert(service);
            } else {
                r.down.remove(&service);
            }
        });
    }

    /// Makes every message call (SMS, push) take `latency` before answering.
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.shared.with(|r| r.latency = latency);
    }

    /// FCM answers `UNREGISTERED` for `token` from now on.
    pub fn unregister(&self, token: &str) {
        self.shared
            .with(|r| r.unregistered.insert(token.to_owned()));
    }

    pub fn sms(&self) -> Vec<ReceivedSms> {
        self.shared.with(|r| r.sms.clone())
    }

    pub fn push(&self) -> Vec<ReceivedPush> {
        self.shared.with(|r| r.push.clone())
    }

    pub fn emails(&self) -> Vec<ReceivedEmail> {
        self.shared.with(|r| r.emails.clone())
    }

    /// Calls `service` refused while down.
    pub fn refused(&self, service: Service) -> usize {
        self.shared
            .with(|r| r.refused.get(&service).copied().unwrap_or(0))
    }

    pub fn oauth_tokens_issued(&self) -> usize {
        self.shared
            .with(|r| r.issued.get(&Service::Orange).copied().unwrap_or(0))
    }

    pub fn fcm_tokens_issued(&self) -> usize {
        self.shared
            .with(|r| r.issued.get(&Service::Fcm).copied().unwrap_or(0))
    }

    pub fn orange_config(&self) -> OrangeConfig {
        OrangeConfig {
            base_url: self.base_url(),
            oauth_url: self.base_url(),
            client_id: ORANGE_CLIENT.0.into(),
            client_secret: ORANGE_CLIENT.1.into(),
            sender: ORANGE_SENDER.into(),
        }
    }

    pub fn africastalking_config(&self) -> AfricasTalkingConfig {
        AfricasTalkingConfig {
            base_url: self.base_url(),
            username: AT_USERNAME.into(),
            api_key: AT_KEY.into(),
            sender: Some("KOBIRI".into()),
        }
    }

    /// The FCM configuration and the service-account key file it names (a temporary file,
    /// deleted when the returned handle is dropped).
    ///
    /// # Panics
    /// When the temporary file cannot be written (tests only).
    #[allow(clippy::expect_used)]
    pub fn fcm_config(&self) -> (FcmConfig, tempfile::NamedTempFile) {
        let key = json!({
            "type": "service_account",
            "project_id": TEST_PROJECT,
            "client_email": TEST_CLIENT_EMAIL,
            "private_key": TEST_KEY_PEM,
            "token_uri": self.shared.fcm_token_url,
        });
        let file = tempfile::NamedTempFile::new().expect("a temporary file");
        std::fs::write(file.path(), key.to_string()).expect("write the key file");
        let config = FcmConfig {
            base_url: self.base_url(),
            token_url: None,
            project_id: None,
            service_account_file: file.path().to_owned(),
        };
        (config, file)
    }

    /// Posts to `url` the delivery report the gateway that accepted `sms` would send, with
    /// that gateway's own `status` (Africa's Talking: `Success`, `Failed`, `Rejected`,
    /// `Sent`…, as a form; Orange: `DeliveredToTerminal`, `DeliveryImpossible`…, as a
    /// `deliveryInfoNotification` whose `callbackData` is the message id).
    pub async fn report_delivery(
        &self,
        url: &str,
        sms: &ReceivedSms,
        status: &str,
    ) -> reqwest::Result<reqwest::Response> {
        let client = reqwest::Client::new();
        let request = if sms.provider == "orange" {
            client.post(url).json(&json!({"deliveryInfoNotification": {
                "callbackData": sms.message_id,
                "deliveryInfo": {"address": format!("tel:{}", sms.to), "deliveryStatus": status},
            }}))
        } else {
            let mut form = vec![
                ("id", sms.message_id.as_str()),
                ("status", status),
                ("phoneNumber", sms.to.as_str()),
                ("networkCode", "60801"),
                ("retryCount", "0"),
            ];
            if matches!(status, "Failed" | "Rejected") {
                form.push(("failureReason", "AbsentSubscriber"));
            }
            client.post(url).form(&form)
        };
        request.send().await
    }

    pub fn smtp_config(&self) -> SmtpConfig {
        SmtpConfig {
            host: self.smtp.ip().to_string(),
            port: self.smtp.port(),
            username: None,
            password: None,
            from: "Kobiri <no-reply@kobiri.app>".into(),
            security: SmtpSecurity::None,
        }
    }
}

async fn orange_token(
    State(s): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if s.is_down(Service::Orange) {
        return unavailable();
    }
    let expected = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", ORANGE_CLIENT.0, ORANGE_CLIENT.1));
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    if basic != Some(expected.as_str())
        || form.get("grant_type").map(String::as_str) != Some("client_credentials")
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let token = s.issue(Service::Orange);
    Json(json!({"token_type": "Bearer", "access_token": token, "expires_in": 3600})).into_response()
}

async fn orange_sms(
    State(s): State<Shared>,
    Path(sender): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    s.delay().await;
    if s.is_down(Service::Orange) {
        return unavailable();
    }
    if !s.bearer_ok(&headers, Service::Orange) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let request = &body["outboundSMSMessageRequest"];
    let to = request["address"].as_str().unwrap_or_default();
    let text = request["outboundSMSTextMessage"]["message"]
        .as_str()
        .unwrap_or_default();
    let from = request["senderAddress"].as_str().unwrap_or_default();
    if sender != format!("tel:+{ORANGE_SENDER}") || from != sender || text.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"requestError": {"serviceException": {"messageId": "SVC0002"}}})),
        )
            .into_response();
    }
    let id = kobiri_core::new_uuid().simple().to_string();
    s.with(|r| {
        r.sms.push(ReceivedSms {
            provider: "orange",
            to: to.trim_start_matches("tel:").to_owned(),
            text: text.to_owned(),
            message_id: id.clone(),
        });
    });
    let mut answer = body.clone();
    answer["outboundSMSMessageRequest"]["resourceURL"] = json!(format!(
        "https://api.orange.com/smsmessaging/v1/outbound/{sender}/requests/{id}"
    ));
    (StatusCode::CREATED, Json(answer)).into_response()
}

async fn africastalking(
    State(s): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    s.delay().await;
    if s.is_down(Service::AfricasTalking) {
        return unavailable();
    }
    let key = headers.get("apiKey").and_then(|v| v.to_str().ok());
    if key != Some(AT_KEY) || form.get("username").map(String::as_str) != Some(AT_USERNAME) {
        return (
            StatusCode::UNAUTHORIZED,
            "The supplied authentication is invalid",
        )
            .into_response();
    }
    let to = form.get("to").cloned().unwrap_or_default();
    let text = form.get("message").cloned().unwrap_or_default();
    let recipient = if to == INVALID_PHONE {
        json!({"statusCode": 403, "number": to, "status": "InvalidPhoneNumber",
            "cost": "0", "messageId": "None"})
    } else {
        let id = format!("ATXid_{}", kobiri_core::new_uuid().simple());
        s.with(|r| {
            r.sms.push(ReceivedSms {
                provider: "africastalking",
                to: to.clone(),
                text,
                message_id: id.clone(),
            });
        });
        json!({"statusCode": 101, "number": to, "status": "Success",
            "cost": "XOF 15", "messageId": id})
    };
    (
        StatusCode::CREATED,
        Json(json!({"SMSMessageData": {"Message": "Sent to 1/1", "Recipients": [recipient]}})),
    )
        .into_response()
}

async fn fcm_token(State(s): State<Shared>, Form(form): Form<HashMap<String, String>>) -> Response {
    if s.is_down(Service::Fcm) {
        return unavailable();
    }
    let refuse = |why: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": why})),
        )
            .into_response()
    };
    if form.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return refuse("grant_type");
    }
    let Ok(key) = DecodingKey::from_rsa_pem(TEST_PUBLIC_KEY_PEM.as_bytes()) else {
        return refuse("stand-in key");
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[&s.fcm_token_url]);
    validation.set_issuer(&[TEST_CLIENT_EMAIL]);
    let assertion = form
        .get("assertion")
        .map(String::as_str)
        .unwrap_or_default();
    match jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation) {
        Ok(data) if data.claims.scope == super::fcm::FCM_SCOPE => {
            let token = s.issue(Service::Fcm);
            Json(json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"}))
                .into_response()
        }
        Ok(_) => refuse("scope"),
        Err(e) => refuse(&e.to_string()),
    }
}

async fn fcm_send(
    State(s): State<Shared>,
    Path((project, action)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    s.delay().await;
    if s.is_down(Service::Fcm) {
        return unavailable();
    }
    if action != "messages:send" || project != TEST_PROJECT {
        return StatusCode::NOT_FOUND.into_response();
    }
    if !s.bearer_ok(&headers, Service::Fcm) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"code": 401, "status": "UNAUTHENTICATED"}})),
        )
            .into_response();
    }
    let message = &body["message"];
    let token = message["token"].as_str().unwrap_or_default().to_owned();
    if s.with(|r| r.unregistered.contains(&token)) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": {"code": 404, "status": "NOT_FOUND",
                "message": "Requested entity was not found.",
                "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                    "errorCode": "UNREGISTERED"}]}})),
        )
            .into_response();
    }
    let name = format!(
        "projects/{project}/messages/{}",
        kobiri_core::new_uuid().simple()
    );
    s.with(|r| {
        r.push.push(ReceivedPush {
            token,
            title: message["notification"]["title"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            body: message["notification"]["body"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            data: message["data"].clone(),
            name: name.clone(),
        });
    });
    Json(json!({"name": name})).into_response()
}

async fn smtp_sink(listener: TcpListener, shared: Shared) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(smtp_session(stream, shared.clone()));
    }
}

/// One SMTP connection: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; while down, a 421
/// greeting and the connection closes.
async fn smtp_session(stream: TcpStream, shared: Shared) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    if shared.is_down(Service::Smtp) {
        write.write_all(b"421 standin down\r\n").await?;
        return Ok(());
    }
    write.write_all(b"220 standin ESMTP\r\n").await?;
    let mut lines = BufReader::new(read).lines();
    let mut mail = ReceivedEmail {
        mail_from: String::new(),
        rcpt_to: Vec::new(),
        data: String::new(),
    };
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") {
            "250-standin\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n".into()
        } else if upper.starts_with("MAIL FROM:") {
            mail.mail_from = address(&line);
            "250 ok\r\n".into()
        } else if upper.starts_with("RCPT TO:") {
            mail.rcpt_to.push(address(&line));
            "250 ok\r\n".into()
        } else if upper == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            while let Some(data) = lines.next_line().await? {
                if data == "." {
                    break;
                }
                mail.data.push_str(data.strip_prefix('.').unwrap_or(&data));
                mail.data.push('\n');
            }
            let id = kobiri_core::new_uuid().simple().to_string();
            let done = std::mem::replace(
                &mut mail,
                ReceivedEmail {
                    mail_from: String::new(),
                    rcpt_to: Vec::new(),
                    data: String::new(),
                },
            );
            shared.with(|r| r.emails.push(done));
            format!("250 queued as {id}\r\n")
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            // HELO, RSET, NOOP and anything else.
            "250 ok\r\n".into()
        };
        write.write_all(reply.as_bytes()).await?;
    }
    Ok(())
}

/// The address between `<` and `>` of a MAIL or RCPT line.
fn address(line: &str) -> String {
    let start = line.find('<').map_or(0, |i| i + 1);
    let end = line.rfind('>').unwrap_or(line.len());
    line.get(start..end).unwrap_or_default().to_owned()
}
