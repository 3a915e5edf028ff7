//! The one place that turns an [`Event`] and its recipients into the notification rows to
//! write: the texts from core's `render`, always an in-app row, and one row per other channel
//! the recipient's choices enable, addressed to their phone (SMS), e-mail address, or user id
//! (push).
//!
//! Defaults, for a type and channel the user never set: in-app on; SMS on for
//! `rappel_cotisation`, `alerte_retard`, `confirmation_paiement`, `tour_passage` and
//! `penalite`; e-mail and push off. In-app cannot be turned off.
//!
//! Push: one notification row and one outbox row **per user**, planned only when push is
//! enabled and the user has a push token on a device that is not revoked. The worker sends it
//! to each of the user's live tokens at send time, so a token registered or removed meanwhile
//! counts, and one row per message keeps the notification's status simple.

use kobiri_core::{Channel, Event, NotificationType, Rendered, SessionId, TontineId, render};
use uuid::Uuid;

use crate::store::{NewNotification, Preference, Recipient, Timestamp};

/// Whether `kind` goes out on `channel` for a user who never chose.
pub fn default_enabled(kind: NotificationType, channel: Channel) -> bool {
    use NotificationType as T;
    match channel {
        Channel::InApp => true,
        Channel::Sms => matches!(
            kind,
            T::RappelCotisation
                | T::AlerteRetard
                | T::ConfirmationPaiement
                | T::TourPassage
                | T::Penalite
        ),
        Channel::Email | Channel::Push => false,
    }
}

/// The user's stored choice for `kind` on `channel`, if any.
pub fn stored_choice(
    choices: &[Preference],
    kind: NotificationType,
    channel: Channel,
) -> Option<bool> {
    choices
        .iter()
        .find(|p| p.kind == kind && p.channel == channel)
        .map(|p| p.enabled)
}

/// Whether `kind` goes out on `channel`: the stored choice, else the default. Always true for
/// in-app.
pub fn enabled(choices: &[Preference], kind: NotificationType, channel: Channel) -> bool {
    channel == Channel::InApp
        || stored_choice(choices, kind, channel).unwrap_or_else(|| default_enabled(kind, channel))
}

/// Which channels beside in-app to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channels<'a> {
    /// Those the recipient's choices (or the defaults) enable.
    Preferred,
    /// Those a manager asked for, except any the recipient explicitly turned off for this
    /// type: the request replaces the defaults, never the user's own choice.
    Requested(&'a [Channel]),
}

/// What the notification is attached to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Links {
    pub tontine_id: Option<TontineId>,
    pub session_id: Option<SessionId>,
    pub payment_id: Option<Uuid>,
    pub data: Option<serde_json::Value>,
}

impl Links {
    /// What a notification about `session` links to.
    pub fn of_session(session: &crate::store::Session) -> Self {
        Self {
            tontine_id: Some(session.tontine_id),
            session_id: Some(session.id),
            payment_id: None,
            data: Some(serde_json::json!({
                "session_number": session.session_number,
                "due_date": session.due_date,
            })),
        }
    }
}

/// An event rendered once, ready to be addressed to recipients.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    kind: NotificationType,
    texts: Rendered,
    links: Links,
    channels: Channels<'a>,
    at: Timestamp,
}

impl<'a> Plan<'a> {
    /// Renders `event`; the rows go to each recipient's preferred channels.
    pub fn new(event: &Event, links: Links, at: Timestamp) -> Self {
        Self {
            kind: event.kind(),
            texts: render(event),
            links,
            channels: Channels::Preferred,
            at,
        }
    }

    pub fn channels(mut self, channels: Channels<'a>) -> Self {
        self.channels = channels;
        self
    }

    /// The rows for one recipient: in-app first, then the other channels in the order of
    /// [`Channel::ALL`]. With a `dedup_key`, the in-app row carries it and each other row
    /// carries `{dedup_key}:{channel}`, so writing the same plan twice writes nothing more.
    pub fn for_recipient(&self, r: &Recipient, dedup_key: Option<&str>) -> Vec<NewNotification> {
        let mut rows = vec![self.row(r, Channel::InApp, None, dedup_key.map(str::to_owned))];
        rows.extend(self.outside_app(r, dedup_key));
        rows
    }

    /// The rows of a message meant to reach the recipient outside the app (a receipt, which
    /// is proof for a member without a smartphone): their chosen channels other than in-app,
    /// and the in-app row only when none of those reaches them. Keys as [`Self::for_recipient`].
    pub fn outside_app_for(&self, r: &Recipient, dedup_key: Option<&str>) -> Vec<NewNotification> {
        let rows = self.outside_app(r, dedup_key);
        if rows.is_empty() {
            vec![self.row(r, Channel::InApp, None, dedup_key.map(str::to_owned))]
        } else {
            rows
        }
    }

    /// The rows for the recipient's channels other than in-app that have an address.
    fn outside_app(&self, r: &Recipient, dedup_key: Option<&str>) -> Vec<NewNotification> {
        Channel::ALL
            .iter()
            .filter(|&&channel| channel != Channel::InApp && self.wants(r, channel))
            .filter_map(|&channel| {
                let address = address(r, channel)?;
                let key = dedup_key.map(|k| format!("{k}:{channel}"));
                Some(self.row(r, channel, Some(address), key))
            })
            .collect()
    }

    /// The rows for every recipient, with no dedup key.
    pub fn for_all(&self, recipients: &[Recipient]) -> Vec<NewNotification> {
        recipients
            .iter()
            .flat_map(|r| self.for_recipient(r, None))
            .collect()
    }

    fn wants(&self, r: &Recipient, channel: Channel) -> bool {
        match self.channels {
            Channels::Preferred => enabled(&r.preferences, self.kind, channel),
            Channels::Requested(asked) => {
                asked.contains(&channel)
                    && stored_choice(&r.preferences, self.kind, channel) != Some(false)
            }
        }
    }

    fn row(
        &self,
        r: &Recipient,
        channel: Channel,
        recipient: Option<String>,
        dedup_key: Option<String>,
    ) -> NewNotification {
        NewNotification {
            id: kobiri_core::new_uuid(),
            user_id: r.user_id,
            kind: self.kind,
            channel,
            title: self.texts.title.clone(),
            message: self.texts.message.clone(),
            sms: self.texts.sms.clone(),
            recipient,
            data: self.links.data.clone(),
            tontine_id: self.links.tontine_id,
            session_id: self.links.session_id,
            payment_id: self.links.payment_id,
            dedup_key,
            at: self.at,
        }
    }
}

/// Where `channel` reaches the recipient: their phone, their e-mail address, their user id
/// for push (when they have a live push token); none for in-app.
fn address(r: &Recipient, channel: Channel) -> Option<String> {
    match channel {
        Channel::Sms => Some(r.phone.as_str().to_owned()),
        Channel::Email => r.email.as_ref().map(|e| e.as_str().to_owned()),
        Channel::Push => r.push.then(|| r.user_id.to_string()),
        Channel::InApp => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::{NaiveDate, Utc};
    use kobiri_core::{Amount, Currency, Email, MemberId, Phone, UserId};
    use rust_decimal::Decimal;

    use super::*;

    fn recipient(choices: Vec<Preference>, email: Option<&str>) -> Recipient {
        Recipient {
            user_id: UserId::new(),
            member_id: MemberId::new(),
            phone: Phone::parse("+221770000001").unwrap(),
            email: email.map(|e| Email::parse(e).unwrap()),
            push: false,
            preferences: choices,
        }
    }

    fn reminder() -> Event {
        Event::Reminder {
            tontine: "Espoir".into(),
            session_number: 2,
            due_date: NaiveDate::from_ymd_opt(2027, 3, 5).unwrap(),
            amount: Amount::new(Decimal::from(5000), Currency::Xof).unwrap(),
            custom: None,
        }
    }

    fn channels_of(rows: &[NewNotification]) -> Vec<Channel> {
        rows.iter().map(|n| n.channel).collect()
    }

    fn off(kind: NotificationType, channel: Channel) -> Preference {
        Preference {
            kind,
            channel,
            enabled: false,
        }
    }

    #[test]
    fn defaults_send_money_matters_by_sms_and_nothing_by_email() {
        let plan = Plan::new(&reminder(), Links::default(), Utc::now());
        let rows = plan.for_recipient(&recipient(vec![], Some("awa@example.sn")), None);
        assert_eq!(channels_of(&rows), [Channel::InApp, Channel::Sms]);
        assert_eq!(rows[1].recipient.as_deref(), Some("+221770000001"));
        assert!(rows[0].recipient.is_none());
        let info = Event::Information {
            title: "Réunion".into(),
            message: "Samedi".into(),
        };
        let rows = Plan::new(&info, Links::default(), Utc::now())
            .for_recipient(&recipient(vec![], None), None);
        assert_eq!(channels_of(&rows), [Channel::InApp]);
    }

    #[test]
    fn stored_choices_win_and_in_app_is_always_written() {
        let kind = NotificationType::RappelCotisation;
        let mut choices = vec![off(kind, Channel::Sms), off(kind, Channel::InApp)];
        choices.push(Preference {
            kind,
            channel: Channel::Email,
            enabled: true,
        });
        let r = recipient(choices, Some("awa@example.sn"));
        let rows = Plan::new(&reminder(), Links::default(), Utc::now()).for_recipient(&r, None);
        assert_eq!(channels_of(&rows), [Channel::InApp, Channel::Email]);
        assert_eq!(rows[1].recipient.as_deref(), Some("awa@example.sn"));
    }

    #[test]
    fn a_request_replaces_the_defaults_but_not_an_explicit_refusal() {
        let asked = [Channel::Email, Channel::Sms];
        let plan = Plan::new(&reminder(), Links::default(), Utc::now())
            .channels(Channels::Requested(&asked));
        let kind = NotificationType::RappelCotisation;
        let rows = plan.for_recipient(&recipient(vec![], Some("a@example.sn")), None);
        assert_eq!(
            channels_of(&rows),
            [Channel::InApp, Channel::Sms, Channel::Email]
        );
        let rows = plan.for_recipient(&recipient(vec![off(kind, Channel::Sms)], None), None);
        assert_eq!(channels_of(&rows), [Channel::InApp]);
    }

    #[test]
    fn push_is_planned_only_when_enabled_and_a_token_exists() {
        let kind = NotificationType::RappelCotisation;
        let on = Preference {
            kind,
            channel: Channel::Push,
            enabled: true,
        };
        let plan = Plan::new(&reminder(), Links::default(), Utc::now());
        let mut r = recipient(vec![on], None);
        assert_eq!(
            channels_of(&plan.for_recipient(&r, None)),
            [Channel::InApp, Channel::Sms]
        );
        r.push = true;
        let rows = plan.for_recipient(&r, None);
        assert_eq!(
            channels_of(&rows),
            [Channel::InApp, Channel::Sms, Channel::Push]
        );
        assert_eq!(rows[2].recipient, Some(r.user_id.to_string()));
        r.preferences.clear();
        assert_eq!(
            channels_of(&plan.for_recipient(&r, None)),
            [Channel::InApp, Channel::Sms]
        );
    }

    #[test]
    fn a_message_outside_the_app_falls_back_to_in_app_only_when_nothing_else_reaches() {
        let plan = Plan::new(&reminder(), Links::default(), Utc::now());
        let rows = plan.outside_app_for(&recipient(vec![], None), Some("receipt:p"));
        assert_eq!(channels_of(&rows), [Channel::Sms]);
        assert_eq!(rows[0].dedup_key.as_deref(), Some("receipt:p:sms"));
        let kind = NotificationType::RappelCotisation;
        let rows = plan.outside_app_for(&recipient(vec![off(kind, Channel::Sms)], None), None);
        assert_eq!(channels_of(&rows), [Channel::InApp]);
    }

    #[test]
    fn dedup_keys_are_the_key_in_app_and_suffixed_elsewhere() {
        let plan = Plan::new(&reminder(), Links::default(), Utc::now());
        let rows = plan.for_recipient(&recipient(vec![], None), Some("reminder:s:u:d0"));
        let keys: Vec<_> = rows.iter().map(|n| n.dedup_key.clone().unwrap()).collect();
        assert_eq!(keys, ["reminder:s:u:d0", "reminder:s:u:d0:sms"]);
        assert!(rows.iter().all(|n| n.title == "Rappel de cotisation"));
    }
}
