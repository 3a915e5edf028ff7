//! Scheduled jobs, run as the server runs them but with the test's clock: reminders two days
//! before and on the due date, missed payments after the grace period, each exactly once.

use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, Utc};
use kobiri_core::TontineId;
use kobiri_server::{
    jobs::{self, PassReport},
    store::PageRequest,
};

use crate::dual_test;
use crate::helpers::*;
use crate::notifications::{Group, group, inbox, pay_own};

fn at(day: NaiveDate, hour: u32) -> DateTime<Utc> {
    day.and_hms_opt(hour, 0, 0).unwrap().and_utc()
}

fn days_before(day: NaiveDate, n: u64) -> NaiveDate {
    day.checked_sub_days(Days::new(n)).unwrap()
}

fn days_after(day: NaiveDate, n: u64) -> NaiveDate {
    day.checked_add_days(Days::new(n)).unwrap()
}

async fn pass(app: &TestApp) -> PassReport {
    jobs::run_pass(app.store.as_ref(), app.clock.as_ref())
        .await
        .unwrap()
}

/// How many `kind` notifications each of the group's users has, in `everyone()` order.
async fn counts(app: &TestApp, g: &Group, kind: &str) -> Vec<usize> {
    let mut counts = Vec::new();
    for u in g.everyone() {
        counts.push(inbox(app, u, kind).await.len());
    }
    counts
}

/// `missed_payments` of each of the group's users, in `everyone()` order.
async fn missed(app: &TestApp, g: &Group) -> Vec<u32> {
    let tontine = TontineId::parse(&g.tontine_id).unwrap();
    let members = app.store.list_members(tontine).await.unwrap();
    g.everyone()
        .iter()
        .map(|u| {
            let m = members
                .iter()
                .find(|m| m.user_id.to_string() == u.id)
                .unwrap();
            m.missed_payments
        })
        .collect()
}

dual_test!(
    reminders_go_out_two_days_before_and_on_the_due_date_once_each,
    |app| async move {
        let g = group(&app, "", 10).await;
        app.clock.set(at(days_before(g.due, 3), 12));
        let first = pass(&app).await;
        assert_eq!(
            (first.scheduled, first.done),
            (3, 0),
            "scheduling sends nothing"
        );
        assert_eq!(counts(&app, &g, "rappel_cotisation").await, [0, 0, 0, 0]);
        app.clock.set(at(days_before(g.due, 2), 9));
        assert_eq!(pass(&app).await.done, 1);
        assert_eq!(counts(&app, &g, "rappel_cotisation").await, [1, 1, 1, 1]);
        let reminder = &inbox(&app, &g.moussa, "rappel_cotisation").await[0];
        assert_eq!(reminder.session_id.unwrap().to_string(), g.session_id);
        assert_eq!(pass(&app).await, PassReport::default());
        // Awa pays before the due date: the d0 reminder skips her.
        let awa = app.relogin(&g.awa).await;
        pay_own(&app, &g, &awa).await;
        app.clock.set(at(g.due, 7));
        pass(&app).await;
        assert_eq!(
            counts(&app, &g, "rappel_cotisation").await,
            [1, 1, 1, 1],
            "not before 08:00"
        );
        app.clock.set(at(g.due, 9));
        assert_eq!(pass(&app).await.done, 1);
        assert_eq!(counts(&app, &g, "rappel_cotisation").await, [2, 2, 1, 2]);
        pass(&app).await;
        assert_eq!(counts(&app, &g, "rappel_cotisation").await, [2, 2, 1, 2]);
        let sms = app
            .outbox_rows()
            .await
            .into_iter()
            .filter(|(c, _)| c == "sms")
            .count();
        assert_eq!(sms, 7, "one SMS per in-app reminder");
    }
);

dual_test!(
    two_passes_at_once_send_each_reminder_once,
    |app| async move {
        let g = group(&app, "", 10).await;
        app.clock.set(at(days_before(g.due, 2), 9));
        let (a, b) = tokio::join!(pass(&app), pass(&app));
        assert_eq!(a.scheduled + b.scheduled, 3, "each job scheduled once");
        assert_eq!(a.done + b.done, 1, "the d-2 job claimed once");
        assert_eq!(counts(&app, &g, "rappel_cotisation").await, [1, 1, 1, 1]);
        let (a, b) = tokio::join!(pass(&app), pass(&app));
        assert_eq!(a.done + b.done, 0);
        assert_eq!(counts(&app, &g, "rappel_cotisation").await, [1, 1, 1, 1]);
        let outbox = app.outbox_rows().await;
        for u in g.everyone() {
            let sms = outbox
                .iter()
                .filter(|(c, r)| c == "sms" && *r == u.phone)
                .count();
            assert_eq!(sms, 1, "{outbox:?}");
        }
    }
);

dual_test!(
    a_session_opened_late_skips_the_stale_reminder,
    |app| async move {
        let g = group(&app, "", 1).await;
        // The d-2 job is overdue at once, but its day has passed: no reminder.
        pass(&app).await;
        assert_eq!(counts(&app, &g, "rappel_cotisation").await, [0, 0, 0, 0]);
        app.clock.set(at(g.due, 9));
        pass(&app).await;
        assert_eq!(counts(&app, &g, "rappel_cotisation").await, [1, 1, 1, 1]);
    }
);

dual_test!(
    a_member_unpaid_after_the_grace_period_misses_one_payment,
    |app| async move {
        let g = group(&app, "", 10).await;
        pay_own(&app, &g, &g.awa).await;
        pass(&app).await;
        // Grace period of 3 days: still on time on due + 3.
        app.clock.set(at(days_after(g.due, 3), 20));
        pass(&app).await;
        assert_eq!(missed(&app, &g).await, [0, 0, 0, 0]);
        assert_eq!(counts(&app, &g, "alerte_retard").await, [0, 0, 0, 0]);
        app.clock.set(at(days_after(g.due, 4), 9));
        let (a, b) = tokio::join!(pass(&app), pass(&app));
        assert_eq!(a.done + b.done, 1);
        assert_eq!(missed(&app, &g).await, [1, 1, 0, 1]);
        assert_eq!(counts(&app, &g, "alerte_retard").await, [1, 1, 0, 1]);
        pass(&app).await;
        assert_eq!(missed(&app, &g).await, [1, 1, 0, 1]);
        let alert = &inbox(&app, &g.moussa, "alerte_retard").await[0];
        assert!(alert.message.contains("en retard"), "{}", alert.message);
        let tontine = TontineId::parse(&g.tontine_id).unwrap();
        let audit = app
            .store
            .list_audit(tontine, PageRequest::new(1, 100).unwrap())
            .await
            .unwrap();
        let entries: Vec<_> = audit
            .items
            .iter()
            .filter(|e| e.action == "member.missed_payment")
            .collect();
        assert_eq!(entries.len(), 3);
        assert!(
            entries
                .iter()
                .all(|e| e.source == "job" && e.actor_id.is_none())
        );
        let moussa_member = &g.member_ids[&g.moussa.id];
        let entry = entries
            .iter()
            .find(|e| e.entity_id.to_string() == *moussa_member)
            .unwrap();
        assert_eq!(entry.after.as_ref().unwrap()["missed_payments"], 1);
        // The reminders' days had passed when the clock jumped: only the late alert went by SMS.
        let sms = app
            .outbox_rows()
            .await
            .into_iter()
            .filter(|(_, r)| *r == g.moussa.phone);
        assert_eq!(sms.count(), 1);
    }
);

dual_test!(
    the_runner_runs_passes_until_stopped_and_zero_turns_it_off,
    |app| async move {
        let store = app.store.clone();
        assert!(
            jobs::spawn(
                store.clone(),
                app.clock.clone(),
                Duration::ZERO,
                Default::default()
            )
            .is_none()
        );
        let g = group(&app, "", 10).await;
        app.clock.set(at(days_before(g.due, 2), 9));
        let runner = jobs::spawn(
            store,
            app.clock.clone(),
            Duration::from_millis(20),
            Default::default(),
        )
        .unwrap();
        let mut reminded = false;
        for _ in 0..250 {
            if inbox(&app, &g.moussa, "rappel_cotisation").await.len() == 1 {
                reminded = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        runner.stop(Duration::from_secs(5)).await;
        assert!(reminded, "the runner sent the d-2 reminder");
        assert_eq!(counts(&app, &g, "rappel_cotisation").await, [1, 1, 1, 1]);
    }
);
