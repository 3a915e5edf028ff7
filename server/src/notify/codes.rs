//! Account codes (password reset, e-mail and phone verification) as outbox messages.
//!
//! A code leaves the process through the outbox like every other message: its row is written
//! in the transaction that stores the code (`CodeStore::replace_code`), and the worker sends
//! it with retries and backoff. It is not a notification, though: the row has no notification
//! (so it never shows in the inbox), no preference applies to it, and its payload holds only
//! what the worker needs to render the French template at send time: the purpose, the code
//! and the id of its stored record. The worker sends only a code that can still be used: one
//! that expired, was used, or was replaced by a newer code while the gateway was down makes
//! the row fail unsent (the user would otherwise receive a dead code, possibly after the good
//! one). The payload is cleared once the row is final, so the code in clear does not outlive
//! its delivery.

use kobiri_core::{Channel, Email, Phone};
use serde::{Deserialize, Serialize};

use super::{
    SendError, SendResult, templates,
    worker::{OutboxWorker, email_of, phone_of},
};
use uuid::Uuid;

use crate::store::{
    ACCOUNT_CODE_KEY, CodeMessage, CodePurpose, OutboxMessage, Store, StoreResult, Timestamp,
};

/// Where a code goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRecipient {
    Email(Email),
    Sms(Phone),
}

impl CodeRecipient {
    fn channel(&self) -> Channel {
        match self {
            CodeRecipient::Email(_) => Channel::Email,
            CodeRecipient::Sms(_) => Channel::Sms,
        }
    }

    fn address(&self) -> &str {
        match self {
            CodeRecipient::Email(email) => email.as_str(),
            CodeRecipient::Sms(phone) => phone.as_str(),
        }
    }
}

/// What a code row's payload holds under [`ACCOUNT_CODE_KEY`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodePayload {
    pub purpose: CodePurpose,
    pub code: String,
    /// The stored code's id, to check it is still live before sending.
    pub code_id: Uuid,
}

impl std::fmt::Debug for CodePayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodePayload")
            .field("purpose", &self.purpose)
            .field("code_id", &self.code_id)
            .finish_non_exhaustive()
    }
}

impl CodePayload {
    /// The code a payload carries, if it is a code row's (and not cleared yet).
    pub fn of(payload: &serde_json::Value) -> Option<Self> {
        payload
            .get(ACCOUNT_CODE_KEY)
            .and_then(|code| serde_json::from_value(code.clone()).ok())
    }
}

/// The outbox row that carries `code` (stored as `code_id`) to `to`.
pub fn message(purpose: CodePurpose, code: &str, code_id: Uuid, to: &CodeRecipient) -> CodeMessage {
    let payload = CodePayload {
        purpose,
        code: code.to_owned(),
        code_id,
    };
    CodeMessage {
        outbox_id: kobiri_core::new_uuid(),
        channel: to.channel(),
        recipient: to.address().to_owned(),
        payload: serde_json::json!({ ACCOUNT_CODE_KEY: payload }),
    }
}

/// Sends a code row: the French template of its purpose on its channel, unless the code can
/// no longer be used (a permanent failure: nothing is sent).
pub(super) async fn send(
    worker: &OutboxWorker,
    store: &dyn Store,
    message: &OutboxMessage,
    code: &CodePayload,
    now: Timestamp,
) -> StoreResult<SendResult> {
    if !store.code_is_live(code.code_id, now).await? {
        return Ok(Err(SendError::Permanent(
            "the code expired, was used or was replaced before it could be sent".into(),
        )));
    }
    Ok(render_and_send(worker, message, code).await)
}

/// The French template of the code's purpose, on the row's channel.
async fn render_and_send(
    worker: &OutboxWorker,
    message: &OutboxMessage,
    code: &CodePayload,
) -> SendResult {
    let (app, senders, value) = (&worker.app_name, &worker.senders, code.code.as_str());
    let to = &message.recipient;
    let unfit = || {
        let purpose = code.purpose.as_str();
        SendError::Permanent(format!(
            "no {} message for a {purpose} code",
            message.channel
        ))
    };
    match message.channel {
        Channel::Sms => {
            let template = match code.purpose {
                CodePurpose::PasswordReset => templates::reset_sms,
                CodePurpose::VerifyPhone => templates::verify_sms,
                CodePurpose::PayoutPhone => templates::payout_phone_sms,
                CodePurpose::VerifyEmail => return Err(unfit()),
            };
            senders.sms.send(template(phone_of(to)?, app, value)).await
        }
        Channel::Email => {
            let template = match code.purpose {
                CodePurpose::PasswordReset => templates::reset_email,
                CodePurpose::VerifyEmail => templates::verify_email,
                CodePurpose::VerifyPhone | CodePurpose::PayoutPhone => return Err(unfit()),
            };
            senders
                .mailer
                .send(template(email_of(to)?, app, value))
                .await
        }
        Channel::Push | Channel::InApp => Err(unfit()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn purposes_serialise_as_their_database_strings() {
        for purpose in [
            CodePurpose::PasswordReset,
            CodePurpose::VerifyEmail,
            CodePurpose::VerifyPhone,
            CodePurpose::PayoutPhone,
        ] {
            assert_eq!(
                serde_json::to_value(purpose).unwrap(),
                serde_json::json!(purpose.as_str())
            );
        }
    }

    #[test]
    fn a_code_message_round_trips_and_names_its_channel() {
        let to = CodeRecipient::Sms(Phone::parse("+221771234567").unwrap());
        let id = kobiri_core::new_uuid();
        let m = message(CodePurpose::PasswordReset, "123456", id, &to);
        assert_eq!(
            (m.channel, m.recipient.as_str()),
            (Channel::Sms, "+221771234567")
        );
        let code = CodePayload::of(&m.payload).unwrap();
        assert_eq!(code.code, "123456");
        assert_eq!(
            (code.purpose, code.code_id),
            (CodePurpose::PasswordReset, id)
        );
        assert!(!format!("{code:?}").contains("123456"), "never in logs");
        assert!(!format!("{m:?}").contains("123456"), "never in logs");
        assert!(CodePayload::of(&serde_json::json!({"sms": "Rappel"})).is_none());
        assert!(CodePayload::of(&serde_json::json!({})).is_none());
    }
}
