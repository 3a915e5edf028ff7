use chrono::{Duration, TimeZone};

use super::*;
use crate::money::Currency;
use crate::permission::may_as;
use crate::role::{PlatformRole, TontineRole};

fn xof(v: i64) -> Amount {
    Amount::new(rust_decimal::Decimal::from(v), Currency::Xof).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 9, 0, 0).unwrap()
}

const INTEGRITY: &[String] = &[];

/// Every path, with what a sync push carries.
fn paths() -> [Via<'static>; 4] {
    [
        Via::Api {
            method: PaymentMethod::Especes,
        },
        Via::MobileMoney {
            method: PaymentMethod::Wave,
            provider: "wave",
        },
        Via::Phone,
        sync(INTEGRITY),
    ]
}

fn sync(integrity: &'static [String]) -> Via<'static> {
    Via::Sync {
        seq: 7,
        recorded_at: now().timestamp(),
        receipt_code: "K7M2-QX4P",
        receipt_taken: false,
        integrity,
    }
}

/// A collector records Awa's contribution, on time, for open session 3.
fn facts(via: Via<'static>) -> PaymentFacts<'static> {
    PaymentFacts {
        caller: Caller {
            user: UserId::new(),
            platform: PlatformRole::Membre,
            membership: Some(TontineRole::Collecteur),
        },
        terms: Terms {
            contribution: xof(5000),
            grace_period_days: 3,
            penalty: xof(500),
        },
        payer: Payer {
            member: MemberId::new(),
            user: UserId::new(),
            is_active: true,
        },
        session: Target {
            session: SessionId::new(),
            number: 3,
            status: SessionStatus::EnCours,
            due_date: NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
        },
        already_paid: false,
        amount: xof(5000),
        now: now(),
        via,
    }
}

#[test]
fn every_row_of_the_permission_table_on_every_path() {
    let memberships = [
        None,
        Some(TontineRole::Membre),
        Some(TontineRole::Collecteur),
        Some(TontineRole::Tresorier),
        Some(TontineRole::President),
    ];
    for via in paths() {
        for platform in [PlatformRole::Membre, PlatformRole::Admin] {
            for membership in memberships {
                for own in [true, false] {
                    let mut f = facts(via);
                    f.caller.platform = platform;
                    f.caller.membership = membership;
                    if own {
                        f.payer.user = f.caller.user;
                    }
                    let action = if own {
                        Action::RecordOwnPayment
                    } else {
                        Action::RecordPaymentForOthers
                    };
                    let allowed = may_as(platform, membership, action);
                    let planned = plan_payment(&f);
                    let case = format!("{via:?} {platform:?} {membership:?} own={own}");
                    if allowed {
                        assert!(planned.is_ok(), "{case}: {planned:?}");
                    } else {
                        assert_eq!(planned, Err(PaymentRefusal::NotAllowed), "{case}");
                    }
                }
            }
        }
    }
    // The rows that matter, spelled out: a member pays only their own, an administrator who
    // is not a member records for others only, a collector records for anyone.
    let member = Caller {
        user: UserId::new(),
        platform: PlatformRole::Membre,
        membership: Some(TontineRole::Membre),
    };
    assert!(member.may(Action::RecordOwnPayment) && !member.may(Action::RecordPaymentForOthers));
    let admin = Caller {
        membership: None,
        platform: PlatformRole::Admin,
        ..member
    };
    assert!(!admin.may(Action::RecordOwnPayment) && admin.may(Action::RecordPaymentForOthers));
}

#[test]
fn a_refusal_has_one_code_one_field_and_one_message() {
    let closed = PaymentRefusal::SessionClosed {
        number: 3,
        why: NoPayments(SessionStatus::Terminee),
    };
    assert_eq!(closed.code(), ErrorCode::BusinessRule);
    assert_eq!(closed.field(), Some("session_id"));
    assert_eq!(closed.flag_code(), "session_closed");
    assert_eq!(closed.to_string(), "la séance est clôturée");
    assert_eq!(PaymentRefusal::NotAllowed.code(), ErrorCode::Forbidden);
    assert_eq!(PaymentRefusal::Duplicate.code(), ErrorCode::Conflict);
    let wrong = PaymentRefusal::WrongAmount(WrongAmount {
        contribution: xof(5000),
    });
    assert_eq!(
        wrong.to_string(),
        "le montant doit être égal à la cotisation (5000 XOF)"
    );
    assert_eq!(
        (wrong.field(), wrong.flag_code()),
        (Some("amount"), "wrong_amount")
    );
}

/// What the world may have changed while the phone was offline: each is refused online and on
/// the phone, and kept with its own flag code at sync.
#[test]
fn a_broken_rule_is_refused_online_and_flagged_at_sync() {
    type Break = fn(&mut PaymentFacts<'static>);
    let cases: [(Break, &str); 5] = [
        (
            |f| f.session.status = SessionStatus::Terminee,
            "session_closed",
        ),
        (
            |f| f.session.status = SessionStatus::Annulee,
            "session_cancelled",
        ),
        (
            |f| f.session.status = SessionStatus::EnAttente,
            "session_on_hold",
        ),
        (|f| f.payer.is_active = false, "member_inactive"),
        (|f| f.amount = xof(4000), "wrong_amount"),
    ];
    for (breaks, code) in cases {
        for via in paths() {
            let mut f = facts(via);
            breaks(&mut f);
            let planned = plan_payment(&f);
            if matches!(via, Via::Sync { .. }) {
                let plan = planned.unwrap();
                assert!(plan.is_flagged(), "{code}");
                assert_eq!(plan.flag().unwrap().0, code);
                assert_eq!(plan.audit["flagged"], true);
                assert_eq!(plan.status, PaymentStatus::EnAttente);
            } else {
                assert_eq!(planned.unwrap_err().flag_code(), code, "{via:?}");
            }
        }
    }
}

#[test]
fn a_planned_session_takes_an_advance_everywhere() {
    for via in paths() {
        let mut f = facts(via);
        f.session.status = SessionStatus::Programmee;
        let plan = plan_payment(&f).unwrap();
        assert!(!plan.is_flagged(), "{via:?}");
    }
}

#[test]
fn a_second_payment_is_refused_online_queued_by_the_phone_and_flagged_at_sync() {
    let mut f = facts(Via::Api {
        method: PaymentMethod::Especes,
    });
    f.already_paid = true;
    assert_eq!(plan_payment(&f), Err(PaymentRefusal::Duplicate));
    f.via = Via::MobileMoney {
        method: PaymentMethod::OrangeMoney,
        provider: "orange",
    };
    assert_eq!(plan_payment(&f), Err(PaymentRefusal::Duplicate));
    // The phone's copy of others' payments may be old, and the cash is in hand.
    f.via = Via::Phone;
    assert!(!plan_payment(&f).unwrap().is_flagged());
    f.via = sync(INTEGRITY);
    let plan = plan_payment(&f).unwrap();
    assert_eq!(
        plan.flag(),
        Some((
            "duplicate_payment",
            "ce membre a déjà un paiement pour cette séance".to_owned()
        ))
    );
}

#[test]
fn every_flag_reason_is_kept_and_the_last_rule_names_the_flag() {
    static CHAIN: [String; 1] = [String::new()];
    let integrity: &'static [String] = &CHAIN;
    let mut f = facts(Via::Sync {
        seq: 2,
        recorded_at: now().timestamp(),
        receipt_code: "AAAA-BBBB",
        receipt_taken: true,
        integrity,
    });
    f.session.status = SessionStatus::Terminee;
    f.already_paid = true;
    let plan = plan_payment(&f).unwrap();
    let codes: Vec<&str> = plan.flags.iter().map(PaymentRefusal::flag_code).collect();
    assert_eq!(
        codes,
        [
            "integrity",
            "session_closed",
            "receipt_collision",
            "duplicate_payment"
        ]
    );
    assert_eq!(plan.flag().unwrap().0, "duplicate_payment");
    assert_eq!(plan.flag().unwrap().1.matches(" ; ").count(), 3);
    // A code that is another payment's cannot verify this one: none is stored.
    assert_eq!(plan.receipt_code, None);
    // A broken log alone flags the payment.
    let plan = plan_payment(&facts(Via::Sync {
        seq: 2,
        recorded_at: now().timestamp(),
        receipt_code: "AAAA-BBBB",
        receipt_taken: false,
        integrity,
    }))
    .unwrap();
    assert_eq!(plan.flag().unwrap().0, "integrity");
    assert_eq!(plan.receipt_code.as_deref(), Some("AAAA-BBBB"));
}

#[test]
fn a_late_payment_bears_the_penalty_from_the_day_the_cash_was_taken() {
    // Due on the 9th with 3 days of grace: late from the 13th.
    let mut f = facts(Via::Api {
        method: PaymentMethod::Especes,
    });
    f.now = now() + Duration::days(2);
    let plan = plan_payment(&f).unwrap();
    assert!((plan.is_late, plan.penalty) == (false, xof(0)));
    f.now = now() + Duration::days(3);
    let plan = plan_payment(&f).unwrap();
    assert!((plan.is_late, plan.penalty) == (true, xof(500)));
    assert_eq!(plan.audit["penalty_amount"], "500");
    // Cash taken on the 10th and pushed on the 13th is on time.
    f.via = sync(INTEGRITY);
    let plan = plan_payment(&f).unwrap();
    assert!(!plan.is_late);
    // A phone clock ahead of the server's counts as now, never later.
    let Via::Sync { integrity, .. } = f.via else {
        unreachable!()
    };
    f.via = Via::Sync {
        seq: 1,
        recorded_at: (now() + Duration::days(30)).timestamp(),
        receipt_code: "AAAA-BBBB",
        receipt_taken: false,
        integrity,
    };
    assert!(plan_payment(&f).unwrap().is_late);
}

#[test]
fn the_audit_entry_has_the_same_keys_on_every_path() {
    let base = [
        "amount",
        "flagged",
        "is_late",
        "member_id",
        "method",
        "penalty_amount",
        "session_id",
        "status",
    ];
    for via in paths() {
        let f = facts(via);
        let plan = plan_payment(&f).unwrap();
        let mut keys: Vec<&str> = plan
            .audit
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let extra: &[&str] = match via {
            Via::MobileMoney { .. } => &["provider"],
            Via::Sync { .. } => &["receipt_code", "seq"],
            _ => &[],
        };
        let mut expected: Vec<&str> = base.iter().chain(extra).copied().collect();
        expected.sort_unstable();
        assert_eq!(keys, expected, "{via:?}");
        assert_eq!(plan.audit["member_id"], f.payer.member.to_string());
        assert_eq!(plan.audit["amount"], "5000");
    }
}

#[test]
fn the_path_sets_the_method_status_and_audit_action() {
    let plans = paths().map(|via| plan_payment(&facts(via)).unwrap());
    let seen: Vec<_> = plans
        .iter()
        .map(|p| (p.method, p.status, p.audit_action))
        .collect();
    assert_eq!(
        seen,
        [
            (
                PaymentMethod::Especes,
                PaymentStatus::EnAttente,
                "payment.recorded"
            ),
            (
                PaymentMethod::Wave,
                PaymentStatus::EnCours,
                "payment.initiated"
            ),
            (
                PaymentMethod::Especes,
                PaymentStatus::EnAttente,
                "payment.recorded"
            ),
            (
                PaymentMethod::Especes,
                PaymentStatus::EnAttente,
                "payment.recorded"
            ),
        ]
    );
}
