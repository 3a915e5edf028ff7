//! The French texts of messages that leave the process: account codes (e-mail and SMS) and
//! the e-mail form of notifications (text and HTML). SMS texts are GSM-7-safe variants (no
//! accents outside the GSM alphabet) that fit one segment; the tests check it with
//! [`super::gsm`].

use kobiri_core::{Email, Phone};

use super::{EmailMessage, SmsMessage};

pub fn reset_email(to: Email, app: &str, code: &str) -> EmailMessage {
    let text = format!(
        "Bonjour,\n\nVotre code de réinitialisation {app} est : {code}\n\
         Il est valable 15 minutes. Si vous n'avez rien demandé, ignorez ce message.\n"
    );
    let html = html_page(
        &format!("{app} : réinitialisation de votre mot de passe"),
        &text,
    );
    EmailMessage {
        to,
        subject: format!("{app} : réinitialisation de votre mot de passe"),
        text,
        html: Some(html),
    }
}

pub fn verify_email(to: Email, app: &str, code: &str) -> EmailMessage {
    let text = format!(
        "Bonjour,\n\nVotre code de vérification {app} est : {code}\n\
         Il est valable 15 minutes.\n"
    );
    let subject = format!("{app} : vérification de votre adresse e-mail");
    EmailMessage {
        to,
        html: Some(html_page(&subject, &text)),
        subject,
        text,
    }
}

/// The e-mail of a notification: its title as subject, its message as text and HTML.
pub fn notification_email(to: Email, app: &str, title: &str, message: &str) -> EmailMessage {
    let text = format!("Bonjour,\n\n{message}\n\n-- \n{app}\n");
    EmailMessage {
        to,
        subject: format!("{app} : {title}"),
        html: Some(html_page(title, &text)),
        text,
    }
}

/// SMS texts stay within GSM-7 (no accents) so they fit one 160-character segment.
pub fn reset_sms(to: Phone, app: &str, code: &str) -> SmsMessage {
    SmsMessage {
        to,
        text: format!("{app}: votre code de reinitialisation est {code} (15 min)."),
    }
}

pub fn verify_sms(to: Phone, app: &str, code: &str) -> SmsMessage {
    SmsMessage {
        to,
        text: format!("{app}: votre code de verification est {code} (15 min)."),
    }
}

/// A code that proves the beneficiary holds the phone a pot is to be paid to.
pub fn payout_phone_sms(to: Phone, app: &str, code: &str) -> SmsMessage {
    SmsMessage {
        to,
        text: format!(
            "{app}: code {code} pour recevoir le versement de la tontine sur ce numero (15 min)."
        ),
    }
}

/// A minimal HTML page: the title as a heading, each paragraph of `text` escaped.
fn html_page(title: &str, text: &str) -> String {
    let paragraphs: String = text
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>", escape(p.trim()).replace('\n', "<br>")))
        .collect();
    format!(
        "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         </head><body style=\"font-family:sans-serif\"><h1 style=\"font-size:1.2em\">{t}</h1>\
         {paragraphs}</body></html>",
        t = escape(title)
    )
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::NaiveDate;
    use kobiri_core::{Amount, Currency, Event, render};
    use rust_decimal::Decimal;

    use super::*;
    use crate::notify::gsm::{Encoding, sms_size};

    fn one_gsm7_segment(text: &str) {
        let size = sms_size(text);
        assert_eq!(size.encoding, Encoding::Gsm7, "{text}");
        assert_eq!(size.segments, 1, "{text}");
    }

    #[test]
    fn account_sms_fit_one_gsm7_segment() {
        let phone = Phone::parse("+221771234567").unwrap();
        for sms in [
            reset_sms(phone.clone(), "Kobiri", "123456"),
            verify_sms(phone.clone(), "Kobiri", "123456"),
            payout_phone_sms(phone, "Kobiri", "123456"),
        ] {
            one_gsm7_segment(&sms.text);
            assert!(sms.text.contains("123456"));
        }
    }

    #[test]
    fn notification_sms_fit_one_gsm7_segment_even_with_long_french_names() {
        let name = "Tontine des commerçantes du marché Sandaga « Fête » ôôô".repeat(3);
        let amount = Amount::new(Decimal::from(1_250_000), Currency::Xof).unwrap();
        let date = NaiveDate::from_ymd_opt(2027, 12, 31).unwrap();
        let events = [
            Event::SessionOpened {
                tontine: name.clone(),
                session_number: 120,
                due_date: date,
                amount,
            },
            Event::PaymentConfirmed {
                tontine: name.clone(),
                amount,
                receipt_code: Some("K7-ABCD-EFGH".into()),
            },
            Event::PaymentLate {
                tontine: name.clone(),
                session_number: 12,
                penalty: amount,
            },
            Event::YourTurn {
                tontine: name.clone(),
                date,
                amount,
            },
            Event::NewMember {
                tontine: name.clone(),
                member: name.clone(),
            },
            Event::MemberLeft {
                tontine: name.clone(),
                member: name.clone(),
            },
            Event::SessionClosed {
                tontine: name.clone(),
                session_number: 3,
                collected: amount,
            },
            Event::PotReceived {
                tontine: name.clone(),
                amount,
            },
            Event::Penalty {
                tontine: name.clone(),
                amount,
            },
            Event::Reminder {
                tontine: name.clone(),
                session_number: 2,
                due_date: date,
                amount,
                custom: Some(name.clone()),
            },
            Event::Information {
                title: name.clone(),
                message: name.clone(),
            },
            Event::System {
                title: name.clone(),
                message: name.clone(),
            },
        ];
        for event in &events {
            one_gsm7_segment(&render(event).sms);
        }
    }

    #[test]
    fn notification_email_has_text_and_escaped_html() {
        let to = Email::parse("awa@example.sn").unwrap();
        let mail = notification_email(to, "Kobiri", "Paiement <reçu>", "Merci & à bientôt");
        assert_eq!(mail.subject, "Kobiri : Paiement <reçu>");
        assert!(mail.text.contains("Merci & à bientôt"));
        let html = mail.html.unwrap();
        assert!(html.contains("Paiement &lt;reçu&gt;"), "{html}");
        assert!(html.contains("<p>Merci &amp; à bientôt</p>"), "{html}");
    }
}
