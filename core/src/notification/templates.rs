// Over 400 lines on purpose: one French template per notification type, with their tests.
//! The French texts of each [`Event`]: dates as dd/mm/yyyy, amounts as "5000 XOF".

use chrono::NaiveDate;

use super::sms::short_name as short;
use super::{Event, Rendered, format_amount as money, format_date as date};
use crate::money::Amount;

/// The title, message and SMS of `event`.
pub fn render(event: &Event) -> Rendered {
    match event {
        Event::SessionOpened {
            tontine,
            session_number,
            due_date,
            amount,
        } => session_opened(tontine, *session_number, *due_date, *amount),
        Event::PaymentConfirmed {
            tontine,
            amount,
            receipt_code,
        } => payment_confirmed(tontine, *amount, receipt_code.as_deref()),
        Event::CashRecorded {
            tontine,
            amount,
            receipt_code,
            collector,
        } => cash_recorded(tontine, *amount, receipt_code, collector),
        Event::PaymentLate {
            tontine,
            session_number,
            penalty,
        } => payment_late(tontine, *session_number, *penalty),
        Event::YourTurn {
            tontine,
            date,
            amount,
        } => your_turn(tontine, *date, *amount),
        Event::NewMember { tontine, member } => membership(tontine, member, true),
        Event::MemberLeft { tontine, member } => membership(tontine, member, false),
        Event::SessionClosed {
            tontine,
            session_number,
            collected,
        } => session_closed(tontine, *session_number, *collected),
        Event::PotReceived { tontine, amount } => pot_received(tontine, *amount),
        Event::Penalty { tontine, amount } => penalty(tontine, *amount),
        Event::Reminder {
            tontine,
            session_number,
            due_date,
            amount,
            custom,
        } => reminder(
            tontine,
            *session_number,
            *due_date,
            *amount,
            custom.as_deref(),
        ),
        Event::Information { title, message } | Event::System { title, message } => {
            free_text(title, message)
        }
    }
}

fn free_text(title: &str, message: &str) -> Rendered {
    let sms = format!("Kobiri: {title}. {message}");
    Rendered::new(title, message, &sms)
}

fn session_opened(tontine: &str, n: u32, due: NaiveDate, amount: Amount) -> Rendered {
    let (amount, due) = (money(amount), date(due));
    Rendered::new(
        format!("Session n°{n} ouverte"),
        format!(
            "La session n°{n} de la tontine « {tontine} » est ouverte. \
             Cotisation : {amount}, à verser au plus tard le {due}."
        ),
        &format!(
            "Kobiri: session {n} de {} ouverte. Cotisation {amount} a payer au plus tard le {due}.",
            short(tontine)
        ),
    )
}

fn payment_confirmed(tontine: &str, amount: Amount, receipt: Option<&str>) -> Rendered {
    let amount = money(amount);
    let receipt = receipt.map(str::trim).filter(|r| !r.is_empty());
    let message_receipt = receipt.map(|r| format!(" Reçu : {r}.")).unwrap_or_default();
    let sms_receipt = receipt.map(|r| format!(" Recu {r}.")).unwrap_or_default();
    Rendered::new(
        "Paiement confirmé",
        format!(
            "Votre paiement de {amount} pour la tontine « {tontine} » a été validé.\
             {message_receipt}"
        ),
        &format!(
            "Kobiri: paiement de {amount} valide pour {}.{sms_receipt}",
            short(tontine)
        ),
    )
}

/// The receipt a member without a smartphone keeps: the amount, the tontine and the code
/// that `GET /api/v1/receipts/{code}` verifies.
fn cash_recorded(tontine: &str, amount: Amount, receipt: &str, collector: &str) -> Rendered {
    let amount = money(amount);
    Rendered::new(
        "Reçu de paiement",
        format!(
            "{collector} a enregistré votre paiement en espèces de {amount} pour la tontine \
             « {tontine} ». Reçu : {receipt}. Le trésorier le validera."
        ),
        &format!(
            "Kobiri: {amount} especes recus pour {}. Recu {receipt}.",
            short(tontine)
        ),
    )
}

fn payment_late(tontine: &str, n: u32, penalty: Amount) -> Rendered {
    let (message_penalty, sms_penalty) = if penalty.is_zero() {
        (String::new(), String::new())
    } else {
        let p = money(penalty);
        (
            format!(" Une pénalité de {p} s'applique."),
            format!(" Penalite: {p}."),
        )
    };
    Rendered::new(
        "Paiement en retard",
        format!(
            "Votre cotisation pour la session n°{n} de la tontine « {tontine} » est en retard.\
             {message_penalty}"
        ),
        &format!(
            "Kobiri: cotisation en retard pour la session {n} de {}.{sms_penalty}",
            short(tontine)
        ),
    )
}

fn your_turn(tontine: &str, day: NaiveDate, amount: Amount) -> Rendered {
    let (amount, day) = (money(amount), date(day));
    Rendered::new(
        "C'est votre tour !",
        format!("Vous recevez la cagnotte de la tontine « {tontine} » le {day} : {amount}."),
        &format!(
            "Kobiri: c'est votre tour! Vous recevez {amount} de {} le {day}.",
            short(tontine)
        ),
    )
}

fn membership(tontine: &str, member: &str, joined: bool) -> Rendered {
    let (title, verb, sms_verb) = if joined {
        ("Nouveau membre", "a rejoint", "a rejoint")
    } else {
        ("Départ d'un membre", "a quitté", "a quitte")
    };
    Rendered::new(
        title,
        format!("{member} {verb} la tontine « {tontine} »."),
        &format!("Kobiri: {} {sms_verb} {}.", short(member), short(tontine)),
    )
}

fn session_closed(tontine: &str, n: u32, collected: Amount) -> Rendered {
    let collected = money(collected);
    Rendered::new(
        format!("Session n°{n} terminée"),
        format!(
            "La session n°{n} de la tontine « {tontine} » est terminée. \
             Montant collecté : {collected}."
        ),
        &format!(
            "Kobiri: session {n} de {} terminee. Montant collecte: {collected}.",
            short(tontine)
        ),
    )
}

fn pot_received(tontine: &str, amount: Amount) -> Rendered {
    let amount = money(amount);
    Rendered::new(
        "Cagnotte reçue",
        format!("Vous avez reçu {amount} de la tontine « {tontine} »."),
        &format!("Kobiri: vous avez recu {amount} de {}.", short(tontine)),
    )
}

fn penalty(tontine: &str, amount: Amount) -> Rendered {
    let amount = money(amount);
    Rendered::new(
        "Pénalité appliquée",
        format!("Une pénalité de {amount} vous a été appliquée dans la tontine « {tontine} »."),
        &format!(
            "Kobiri: penalite de {amount} appliquee dans {}.",
            short(tontine)
        ),
    )
}

fn reminder(
    tontine: &str,
    n: u32,
    due: NaiveDate,
    amount: Amount,
    custom: Option<&str>,
) -> Rendered {
    let (amount, due) = (money(amount), date(due));
    let custom = custom.map(str::trim).filter(|c| !c.is_empty());
    let message_custom = custom.map(|c| format!("\n\n{c}")).unwrap_or_default();
    let sms_custom = custom.map(|c| format!(" {c}")).unwrap_or_default();
    Rendered::new(
        "Rappel de cotisation",
        format!(
            "Rappel : votre cotisation de {amount} pour la session n°{n} de la tontine \
             « {tontine} » est attendue au plus tard le {due}.{message_custom}"
        ),
        &format!(
            "Kobiri: rappel {}, session {n}: {amount} a payer au plus tard le {due}.{sms_custom}",
            short(tontine)
        ),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::money::Currency;
    use crate::notification::NotificationType;
    use crate::notification::sms::{SMS_MAX_CHARS, is_gsm_safe};
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    fn xof(n: i64) -> Amount {
        Amount::new(Decimal::from(n), Currency::Xof).unwrap()
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 5).unwrap()
    }

    fn events(tontine: &str, member: &str, custom: &str) -> Vec<Event> {
        let mut all = money_events(tontine);
        all.extend(other_events(tontine, member, custom));
        all
    }

    fn money_events(tontine: &str) -> Vec<Event> {
        let t = || tontine.to_owned();
        vec![
            Event::SessionOpened {
                tontine: t(),
                session_number: 3,
                due_date: day(),
                amount: xof(5000),
            },
            Event::PaymentConfirmed {
                tontine: t(),
                amount: xof(5000),
                receipt_code: Some("ABCD-2345".into()),
            },
            Event::PaymentLate {
                tontine: t(),
                session_number: 3,
                penalty: xof(500),
            },
            Event::YourTurn {
                tontine: t(),
                date: day(),
                amount: xof(60_000),
            },
            Event::SessionClosed {
                tontine: t(),
                session_number: 3,
                collected: xof(55_000),
            },
            Event::PotReceived {
                tontine: t(),
                amount: xof(60_000),
            },
            Event::Penalty {
                tontine: t(),
                amount: xof(500),
            },
            Event::CashRecorded {
                tontine: t(),
                amount: xof(5000),
                receipt_code: "K7Q2-M9XD".into(),
                collector: "Fatou Ndiaye".into(),
            },
        ]
    }

    /// Ends with the reminder, at index `REMINDER` of `events`.
    fn other_events(tontine: &str, member: &str, custom: &str) -> Vec<Event> {
        let t = || tontine.to_owned();
        vec![
            Event::NewMember {
                tontine: t(),
                member: member.into(),
            },
            Event::MemberLeft {
                tontine: t(),
                member: member.into(),
            },
            Event::Information {
                title: "Réunion".into(),
                message: custom.into(),
            },
            Event::System {
                title: "Maintenance".into(),
                message: custom.into(),
            },
            Event::Reminder {
                tontine: t(),
                session_number: 3,
                due_date: day(),
                amount: xof(5000),
                custom: Some(custom.into()),
            },
        ]
    }

    const REMINDER: usize = 12;

    fn assert_sms_ok(r: &Rendered) {
        assert!(r.sms.is_ascii(), "{:?}", r.sms);
        assert!(r.sms.chars().all(is_gsm_safe), "{:?}", r.sms);
        assert!(r.sms.chars().count() <= SMS_MAX_CHARS, "{:?}", r.sms);
    }

    #[test]
    fn every_event_renders_and_every_type_has_an_event() {
        let all = events(
            "Tontine des Mamans de Médina",
            "Ndèye Fatou",
            "Merci d'être à l'heure.",
        );
        let kinds: HashSet<NotificationType> = all.iter().map(Event::kind).collect();
        assert_eq!(kinds.len(), NotificationType::ALL.len());
        for event in &all {
            let r = render(event);
            assert!(!r.title.is_empty() && !r.message.is_empty() && !r.sms.is_empty());
            assert_sms_ok(&r);
        }
    }

    #[test]
    fn texts_are_french_with_dates_and_amounts_formatted() {
        let r = render(&events("Espoir", "Awa", "")[0]);
        assert_eq!(r.title, "Session n°3 ouverte");
        assert_eq!(
            r.message,
            "La session n°3 de la tontine « Espoir » est ouverte. \
             Cotisation : 5000 XOF, à verser au plus tard le 05/03/2026."
        );
        assert_eq!(
            r.sms,
            "Kobiri: session 3 de Espoir ouverte. \
             Cotisation 5000 XOF a payer au plus tard le 05/03/2026."
        );
        let late = render(&events("Espoir", "Awa", "")[2]);
        assert!(
            late.message
                .ends_with("Une pénalité de 500 XOF s'applique.")
        );
    }

    #[test]
    fn a_cash_receipt_names_the_amount_the_tontine_and_the_code() {
        let r = render(&Event::CashRecorded {
            tontine: "Espoir de Thiès".into(),
            amount: xof(5000),
            receipt_code: "K7Q2-M9XD".into(),
            collector: "Fatou Ndiaye".into(),
        });
        assert_sms_ok(&r);
        assert_eq!(
            r.sms,
            "Kobiri: 5000 XOF especes recus pour Espoir de Thies. Recu K7Q2-M9XD."
        );
        assert!(
            r.message.starts_with("Fatou Ndiaye a enregistré"),
            "{}",
            r.message
        );
        assert!(r.message.contains("Reçu : K7Q2-M9XD."), "{}", r.message);
    }

    #[test]
    fn optional_parts_are_left_out_when_absent() {
        let late = render(&Event::PaymentLate {
            tontine: "Espoir".into(),
            session_number: 1,
            penalty: xof(0),
        });
        assert!(!late.message.contains("pénalité") && !late.sms.contains("Penalite"));
        let confirmed = render(&Event::PaymentConfirmed {
            tontine: "Espoir".into(),
            amount: xof(5000),
            receipt_code: None,
        });
        assert!(!confirmed.message.contains("Reçu"));
        let reminder = render(&events("Espoir", "Awa", "  ")[REMINDER]);
        assert!(reminder.message.ends_with("05/03/2026."));
    }

    #[test]
    fn reminder_keeps_the_figures_when_the_custom_text_is_long() {
        let long = "Très important ".repeat(30);
        let r = render(&events(&"Grande tontine ".repeat(10), "Awa", &long)[REMINDER]);
        assert_sms_ok(&r);
        assert!(
            r.sms
                .contains("5000 XOF a payer au plus tard le 05/03/2026."),
            "{}",
            r.sms
        );
        assert!(r.sms.ends_with("..."));
        assert!(r.message.contains(long.trim()));
    }

    proptest! {
        #[test]
        fn sms_is_always_safe_and_short(
            tontine in any::<String>(), member in any::<String>(), custom in any::<String>(),
        ) {
            for event in events(&tontine, &member, &custom) {
                let r = render(&event);
                prop_assert!(r.sms.chars().all(is_gsm_safe));
                prop_assert!(r.sms.chars().count() <= SMS_MAX_CHARS);
            }
        }
    }
}
