//! Notifications: types, channels, statuses, and the French texts of each event (title and
//! message for push, e-mail and in-app; a GSM-7-safe variant for SMS).

pub mod sms;
mod templates;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::money::Amount;
use crate::wire::wire_enum;

pub use sms::SMS_MAX_CHARS;
pub use templates::render;

wire_enum! {
    /// What a notification is about.
    NotificationType("le type de notification") {
        /// A contribution is due soon.
        RappelCotisation => "rappel_cotisation",
        /// A payment was validated.
        ConfirmationPaiement => "confirmation_paiement",
        /// A contribution is late.
        AlerteRetard => "alerte_retard",
        /// The member's turn to receive the pot.
        TourPassage => "tour_passage",
        /// Someone joined the tontine.
        NouveauMembre => "nouveau_membre",
        /// Someone left the tontine.
        MembreDepart => "membre_depart",
        /// A session opened.
        SessionOuverte => "session_ouverte",
        /// A session closed.
        SessionTerminee => "session_terminee",
        /// The member received the pot.
        PaiementRecu => "paiement_recu",
        /// A penalty was applied.
        Penalite => "penalite",
        /// Free information from the tontine's managers.
        Information => "information",
        /// A message from Kobiri itself.
        Systeme => "systeme",
    }
}

wire_enum! {
    /// How a notification reaches the user.
    Channel("le canal") {
        /// SMS through the gateway.
        Sms => "sms",
        /// E-mail.
        Email => "email",
        /// Push notification on the phone.
        Push => "push",
        /// Stored, shown in the app.
        InApp => "in_app",
    }
}

wire_enum! {
    /// Where a notification stands. New notifications are `en_attente`.
    #[derive(Default)]
    NotificationStatus("le statut de notification") {
        /// Waiting to be sent.
        #[default]
        EnAttente => "en_attente",
        /// Handed to the channel.
        Envoyee => "envoyee",
        /// The channel reported delivery.
        Delivree => "delivree",
        /// Read by the user.
        Lue => "lue",
        /// Sending failed for good.
        Echouee => "echouee",
        /// Cancelled before sending.
        Annulee => "annulee",
    }
}

/// Something worth telling a user, with the data its text needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A session opened.
    SessionOpened {
        /// The tontine's name.
        tontine: String,
        /// The session's number (1, 2, 3…).
        session_number: u32,
        /// The last day to pay without being late (before any grace period).
        due_date: NaiveDate,
        /// The contribution.
        amount: Amount,
    },
    /// A payment was validated.
    PaymentConfirmed {
        /// The tontine's name.
        tontine: String,
        /// The amount paid.
        amount: Amount,
        /// The receipt code, when there is one.
        receipt_code: Option<String>,
    },
    /// Cash a collector recorded reached the server (by sync): the member's receipt, before
    /// the treasurer validates it.
    CashRecorded {
        /// The tontine's name.
        tontine: String,
        /// The amount handed over.
        amount: Amount,
        /// The receipt code the collector's phone gave (chain-derived).
        receipt_code: String,
        /// Who took the cash.
        collector: String,
    },
    /// A contribution is late.
    PaymentLate {
        /// The tontine's name.
        tontine: String,
        /// The session's number.
        session_number: u32,
        /// The penalty that applies (zero for none).
        penalty: Amount,
    },
    /// The member's turn to receive the pot.
    YourTurn {
        /// The tontine's name.
        tontine: String,
        /// The payout date.
        date: NaiveDate,
        /// The pot.
        amount: Amount,
    },
    /// Someone joined.
    NewMember {
        /// The tontine's name.
        tontine: String,
        /// The new member's name.
        member: String,
    },
    /// Someone left.
    MemberLeft {
        /// The tontine's name.
        tontine: String,
        /// The leaving member's name.
        member: String,
    },
    /// A session closed.
    SessionClosed {
        /// The tontine's name.
        tontine: String,
        /// The session's number.
        session_number: u32,
        /// What it collected.
        collected: Amount,
    },
    /// The member received the pot.
    PotReceived {
        /// The tontine's name.
        tontine: String,
        /// The amount received.
        amount: Amount,
    },
    /// A penalty was applied to the member.
    Penalty {
        /// The tontine's name.
        tontine: String,
        /// The penalty.
        amount: Amount,
    },
    /// A reminder to pay.
    Reminder {
        /// The tontine's name.
        tontine: String,
        /// The session's number.
        session_number: u32,
        /// The due date.
        due_date: NaiveDate,
        /// The contribution.
        amount: Amount,
        /// A message from the manager who sent the reminder.
        custom: Option<String>,
    },
    /// Free information from the tontine's managers.
    Information {
        /// The title.
        title: String,
        /// The message.
        message: String,
    },
    /// A message from Kobiri itself.
    System {
        /// The title.
        title: String,
        /// The message.
        message: String,
    },
}

impl Event {
    /// The notification type this event is sent as.
    pub fn kind(&self) -> NotificationType {
        match self {
            Event::SessionOpened { .. } => NotificationType::SessionOuverte,
            Event::PaymentConfirmed { .. } | Event::CashRecorded { .. } => {
                NotificationType::ConfirmationPaiement
            }
            Event::PaymentLate { .. } => NotificationType::AlerteRetard,
            Event::YourTurn { .. } => NotificationType::TourPassage,
            Event::NewMember { .. } => NotificationType::NouveauMembre,
            Event::MemberLeft { .. } => NotificationType::MembreDepart,
            Event::SessionClosed { .. } => NotificationType::SessionTerminee,
            Event::PotReceived { .. } => NotificationType::PaiementRecu,
            Event::Penalty { .. } => NotificationType::Penalite,
            Event::Reminder { .. } => NotificationType::RappelCotisation,
            Event::Information { .. } => NotificationType::Information,
            Event::System { .. } => NotificationType::Systeme,
        }
    }
}

/// The texts of one notification.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Rendered {
    /// A short French title (push title, e-mail subject).
    pub title: String,
    /// The French message, with accents.
    pub message: String,
    /// The SMS: GSM-7-safe ASCII, at most [`SMS_MAX_CHARS`] characters.
    pub sms: String,
}

impl Rendered {
    /// The texts of a notification; `sms` is made GSM-7-safe and cut to [`SMS_MAX_CHARS`]
    /// characters (see [`sms::fit_sms`]).
    pub fn new(title: impl Into<String>, message: impl Into<String>, sms: &str) -> Rendered {
        Rendered {
            title: title.into(),
            message: message.into(),
            sms: sms::fit_sms(sms),
        }
    }
}

/// A date as notifications show it: "05/03/2026".
pub fn format_date(date: NaiveDate) -> String {
    format!("{:02}/{:02}/{:04}", date.day(), date.month(), date.year())
}

/// An amount as notifications show it: "5000 XOF", "2500.50 EUR".
pub fn format_amount(amount: Amount) -> String {
    format!("{} {}", amount.to_wire_string(), amount.currency())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use crate::wire::assert_wire_strings;
    use rust_decimal::Decimal;

    #[test]
    fn wire_strings_are_exact() {
        assert_wire_strings(
            NotificationType::ALL,
            NotificationType::as_str,
            &[
                "rappel_cotisation",
                "confirmation_paiement",
                "alerte_retard",
                "tour_passage",
                "nouveau_membre",
                "membre_depart",
                "session_ouverte",
                "session_terminee",
                "paiement_recu",
                "penalite",
                "information",
                "systeme",
            ],
        );
        assert_wire_strings(
            Channel::ALL,
            Channel::as_str,
            &["sms", "email", "push", "in_app"],
        );
        assert_wire_strings(
            NotificationStatus::ALL,
            NotificationStatus::as_str,
            &[
                "en_attente",
                "envoyee",
                "delivree",
                "lue",
                "echouee",
                "annulee",
            ],
        );
        assert_eq!(NotificationStatus::default(), NotificationStatus::EnAttente);
    }

    #[test]
    fn rendered_new_makes_the_sms_safe() {
        let r = Rendered::new("Réunion", "À 18 h", "Réunion « Épargne » à 18 h");
        assert_eq!(
            (r.title.as_str(), r.message.as_str()),
            ("Réunion", "À 18 h")
        );
        assert_eq!(r.sms, "Reunion \"Epargne\" a 18 h");
        assert_eq!(
            Rendered::new("t", "m", &"x".repeat(200)).sms.len(),
            SMS_MAX_CHARS
        );
    }

    #[test]
    fn dates_and_amounts_are_formatted_for_people() {
        let date = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap();
        assert_eq!(format_date(date), "05/03/2026");
        let eur = Amount::new(Decimal::new(250_050, 2), Currency::Eur).unwrap();
        assert_eq!(format_amount(eur), "2500.50 EUR");
        let xof = Amount::new(Decimal::from(5000), Currency::Xof).unwrap();
        assert_eq!(format_amount(xof), "5000 XOF");
    }
}
