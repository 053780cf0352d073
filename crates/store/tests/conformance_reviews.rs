//! The conformance suite of users, sessions, the audit log, reviews,
//! appeals, the review queue and reviewed scores: every check runs against
//! the embedded SQLite store and against PostgreSQL
//! (`CALLSCOPE_TEST_PG_URL`, each test in a schema of its own) through the
//! one [`Store`].

use std::collections::HashMap;

use callscope_core::model::{Call, Evidence, Role};
use callscope_store::reviews::{
    AppealFilter, AppealStatus, Decision, NewAppeal, NewAssignment, NewReview, ReviewedScore,
};
use callscope_store::users::{AuditEntry, AuditFilter, UserRole};
use callscope_store::{CallBatch, CallFilter, Store};
use chrono::NaiveDate;

mod common;
use common::*;

conformance!(
    users_are_added_once_with_their_roles,
    sessions_expire_end_and_follow_their_user,
    the_audit_log_filters_and_keeps_order,
    reviews_keep_what_they_judged_and_survive_a_reimport,
    appeals_are_listed_and_decided_once,
    assignments_are_idempotent_and_done_when_reviewed,
    reviewed_scores_are_replaced_and_removed,
    forgetting_a_call_removes_its_reviews_appeals_and_assignments,
);

fn users_are_added_once_with_their_roles(store: &mut Store) {
    assert_eq!(store.user_counts().unwrap(), (0, false));
    assert!(store.users().unwrap().is_empty());
    assert!(store.reviewers().unwrap().is_empty());
    let li = store
        .add_user("li", UserRole::Agent, Some("A01"), "$argon2id$x")
        .unwrap();
    assert_eq!(
        (li.name.as_str(), li.role, li.agent_id.as_deref()),
        ("li", UserRole::Agent, Some("A01"))
    );
    let error = store
        .add_user("li", UserRole::Admin, None, "h")
        .unwrap_err()
        .to_string();
    assert!(error.contains("user 'li' exists already"), "{error}");
    // The refused user changed nothing.
    assert_eq!(store.user("li").unwrap(), Some(li.clone()));
    assert_eq!(
        store.password_hash("li").unwrap().as_deref(),
        Some("$argon2id$x")
    );
    assert_eq!(store.user_counts().unwrap(), (1, false));
    store.add_user("root", UserRole::Admin, None, "h").unwrap();
    assert_eq!(store.user_counts().unwrap(), (2, true));
    // Names in byte order, as SQLite orders them ("Bea" before "ana").
    store.add_user("ana", UserRole::Analyst, None, "h").unwrap();
    store.add_user("Bea", UserRole::Lead, None, "h").unwrap();
    store.add_user("vic", UserRole::Viewer, None, "h").unwrap();
    let names: Vec<(String, UserRole)> = store
        .users()
        .unwrap()
        .into_iter()
        .map(|user| (user.name, user.role))
        .collect();
    assert_eq!(
        names,
        [
            ("Bea".to_string(), UserRole::Lead),
            ("ana".to_string(), UserRole::Analyst),
            ("li".to_string(), UserRole::Agent),
            ("root".to_string(), UserRole::Admin),
            ("vic".to_string(), UserRole::Viewer),
        ]
    );
    assert_eq!(store.reviewers().unwrap(), ["Bea", "ana"]);
    assert_eq!(store.user("nobody").unwrap(), None);
    assert_eq!(store.user("LI").unwrap(), None);
    assert_eq!(store.password_hash("nobody").unwrap(), None);

    assert!(store.set_password_hash("li", "new").unwrap());
    assert!(!store.set_password_hash("nobody", "new").unwrap());
    assert_eq!(store.password_hash("li").unwrap().as_deref(), Some("new"));
    assert_eq!(store.user("li").unwrap(), Some(li));

    assert!(store.remove_user("root").unwrap());
    assert!(!store.remove_user("root").unwrap());
    assert_eq!(store.user_counts().unwrap(), (4, false));
    assert!(store.user("root").unwrap().is_none());
    // The name is free again.
    store.add_user("root", UserRole::Admin, None, "h2").unwrap();
    assert_eq!(store.user_counts().unwrap(), (5, true));
}

fn sessions_expire_end_and_follow_their_user(store: &mut Store) {
    store
        .add_user("li", UserRole::Agent, Some("A01"), "h")
        .unwrap();
    store.add_user("ana", UserRole::Analyst, None, "h").unwrap();
    store.create_session("hash", "li", "csrf", 1_000).unwrap();
    let session = store.session("hash", 999, 0).unwrap().unwrap();
    assert_eq!(session.token_hash, "hash");
    assert_eq!(session.csrf_token, "csrf");
    assert_eq!(session.expires_at, 1_000);
    assert_eq!(session.user, store.user("li").unwrap().unwrap());
    assert!(session.created_at > 0);
    // Ended at `expires_at`; a session begun at or before `created_after`
    // is no longer good.
    assert!(store.session("hash", 1_000, 0).unwrap().is_none());
    assert!(store
        .session("hash", 999, session.created_at)
        .unwrap()
        .is_none());
    assert!(store
        .session("hash", 999, session.created_at - 1)
        .unwrap()
        .is_some());
    assert!(store.session("other", 0, 0).unwrap().is_none());
    store.touch_session("hash", 2_000).unwrap();
    assert_eq!(
        store.session("hash", 1_500, 0).unwrap().unwrap().expires_at,
        2_000
    );
    // A second session under the same token hash is refused, and so is a
    // session of a user who does not exist.
    assert!(store.create_session("hash", "ana", "c", 5_000).is_err());
    assert!(store.create_session("ghost", "nobody", "c", 5_000).is_err());
    assert!(store.session("ghost", 0, 0).unwrap().is_none());

    // A new password ends the user's sessions, not others'.
    store.create_session("ana1", "ana", "c", i64::MAX).unwrap();
    assert!(store.set_password_hash("li", "new").unwrap());
    assert!(store.session("hash", 1_500, 0).unwrap().is_none());
    assert!(store.session("ana1", 0, 0).unwrap().is_some());
    store.delete_session("ana1").unwrap();
    assert!(store.session("ana1", 0, 0).unwrap().is_none());
    store.delete_session("ana1").unwrap();

    // Removing a user ends their sessions.
    store.create_session("li2", "li", "c", i64::MAX).unwrap();
    assert!(store.remove_user("li").unwrap());
    assert!(store.session("li2", 0, 0).unwrap().is_none());
    store.add_user("li", UserRole::Agent, None, "h").unwrap();
    assert!(store.session("li2", 0, 0).unwrap().is_none());

    // Expired: ended at or before `now`, or begun at or before
    // `created_before`.
    store.create_session("old", "ana", "c", 100).unwrap();
    store.create_session("edge", "ana", "c", 200).unwrap();
    store.create_session("long", "ana", "c", i64::MAX).unwrap();
    store.create_session("li3", "li", "c", i64::MAX).unwrap();
    assert_eq!(store.delete_expired_sessions(200, 0).unwrap(), 2);
    assert!(store.session("edge", 0, 0).unwrap().is_none());
    assert!(store.session("long", 0, 0).unwrap().is_some());
    assert_eq!(store.delete_expired_sessions(200, 0).unwrap(), 0);
    assert_eq!(store.delete_expired_sessions(0, i64::MAX).unwrap(), 2);
    assert!(store.session("long", 0, 0).unwrap().is_none());
    assert!(store.session("li3", 0, 0).unwrap().is_none());
}

fn the_audit_log_filters_and_keeps_order(store: &mut Store) {
    assert!(store.audit_log(&AuditFilter::default()).unwrap().is_empty());
    let entries = [
        ("root", "search", Some("退款"), None),
        ("li", "login", None, None),
        ("root", "call.open", Some("C1"), Some("from search")),
        ("li", "call.open", Some("C2"), None),
        ("root", "audio.play", Some("C1"), Some("0-30s")),
    ];
    for (user, action, target, detail) in entries {
        store
            .append_audit(&AuditEntry {
                user,
                action,
                target,
                detail,
            })
            .unwrap();
    }
    let all = store.audit_log(&AuditFilter::default()).unwrap();
    let seen: Vec<(&str, &str, Option<&str>, Option<&str>)> = all
        .iter()
        .map(|record| {
            (
                record.user.as_str(),
                record.action.as_str(),
                record.target.as_deref(),
                record.detail.as_deref(),
            )
        })
        .collect();
    assert_eq!(seen, entries);
    assert!(all.windows(2).all(|pair| pair[0].id < pair[1].id));
    assert!(all.iter().all(|record| record.at > 0));
    let at = all[0].at;

    let actions = |store: &mut Store, filter: AuditFilter| -> Vec<String> {
        store
            .audit_log(&filter)
            .unwrap()
            .into_iter()
            .map(|record| format!("{} {}", record.user, record.action))
            .collect()
    };
    assert_eq!(
        actions(
            store,
            AuditFilter {
                user: Some("root".into()),
                ..AuditFilter::default()
            }
        ),
        ["root search", "root call.open", "root audio.play"]
    );
    assert_eq!(
        actions(
            store,
            AuditFilter {
                action: Some("call.open".into()),
                ..AuditFilter::default()
            }
        ),
        ["root call.open", "li call.open"]
    );
    // The most recent ones, oldest first.
    assert_eq!(
        actions(
            store,
            AuditFilter {
                limit: 2,
                ..AuditFilter::default()
            }
        ),
        ["li call.open", "root audio.play"]
    );
    assert_eq!(
        actions(
            store,
            AuditFilter {
                user: Some("root".into()),
                limit: 1,
                ..AuditFilter::default()
            }
        ),
        ["root audio.play"]
    );
    assert_eq!(
        actions(
            store,
            AuditFilter {
                user: Some("li".into()),
                action: Some("login".into()),
                since: Some(at),
                limit: 10,
            }
        )
        .len(),
        1
    );
    assert!(actions(
        store,
        AuditFilter {
            since: Some(at + 3600),
            ..AuditFilter::default()
        }
    )
    .is_empty());
    assert!(actions(
        store,
        AuditFilter {
            user: Some("nobody".into()),
            ..AuditFilter::default()
        }
    )
    .is_empty());
    // Removing a user keeps their records.
    store.add_user("li", UserRole::Agent, None, "h").unwrap();
    store.remove_user("li").unwrap();
    assert_eq!(store.audit_log(&AuditFilter::default()).unwrap().len(), 5);
}

fn evidence() -> Vec<Evidence> {
    vec![Evidence {
        segment: 0,
        start: 0.25,
        end: 2.5,
        role: Role::Agent,
        text: "您好，请问".to_string(),
        matched: "您好".to_string(),
    }]
}

fn review(call_id: &str, reviewer: &str, decision: Decision) -> NewReview {
    NewReview {
        call_id: call_id.to_string(),
        scorecard: "售后".to_string(),
        rule_id: "greeting".to_string(),
        reviewer: reviewer.to_string(),
        decision,
        machine_violated: true,
        evidence: evidence(),
        comment: "ok".to_string(),
        call_change: 1,
        scored_at: 2,
    }
}

fn content_versions(store: &mut Store) -> HashMap<String, i64> {
    let mut versions = HashMap::new();
    store
        .for_each_versioned_call_batch(&CallFilter::default(), 10, |rows| {
            for (body, version) in rows {
                let call: Call = serde_json::from_str(&body).unwrap();
                versions.insert(call.call_id, version);
            }
            Ok(())
        })
        .unwrap();
    versions
}

fn reviews_keep_what_they_judged_and_survive_a_reimport(store: &mut Store) {
    let calls = [
        call("C1", "2026-09-01T09:30:00+08:00", "A07", "您好"),
        call("C2", "2026-09-02T09:30:00+08:00", "A08", "您好"),
    ];
    let results = [result("C1", "售后", 90.0)];
    store
        .put_call_batch(&CallBatch {
            calls: &calls,
            qa_results: &results,
            ..CallBatch::default()
        })
        .unwrap();
    let version = store.qa_result_version("C1", "售后").unwrap().unwrap();
    assert_eq!(version.call_change, content_versions(store)["C1"]);
    assert!(version.scored_at > 0);
    assert_eq!(store.qa_result_version("C1", "账单").unwrap(), None);
    assert_eq!(store.qa_result_version("C2", "售后").unwrap(), None);
    assert_eq!(store.qa_result_version("C9", "售后").unwrap(), None);
    // A later result for the same call keeps the call's content version.
    store
        .put_call_batch(&CallBatch {
            qa_results: &[result("C1", "售后", 80.0)],
            ..CallBatch::default()
        })
        .unwrap();
    assert_eq!(
        store
            .qa_result_version("C1", "售后")
            .unwrap()
            .unwrap()
            .call_change,
        version.call_change
    );

    let c2 = store
        .add_review(&review("C2", "ana", Decision::Confirm))
        .unwrap();
    let first = store
        .add_review(&review("C1", "ana", Decision::Overturn))
        .unwrap();
    let mut again = review("C1", "bob", Decision::Confirm);
    again.machine_violated = false;
    again.comment = "没有问题".to_string();
    again.evidence = Vec::new();
    let second = store.add_review(&again).unwrap();
    assert!(c2 < first && first < second);
    // A review of a call the store does not hold is kept too.
    store
        .add_review(&review("C9", "ana", Decision::Confirm))
        .unwrap();

    // Re-importing C1 replaces its row (and its results): its reviews stay.
    put(
        store,
        &[call("C1", "2026-09-01T09:30:00+08:00", "A07", "再见")],
    );
    assert_eq!(store.qa_result_version("C1", "售后").unwrap(), None);
    let reviews = store.reviews_of("C1").unwrap();
    assert_eq!(reviews.len(), 2);
    assert_eq!(
        (reviews[0].id, reviews[1].id),
        (first, second),
        "{reviews:?}"
    );
    let r = &reviews[0];
    assert_eq!(
        (
            r.call_id.as_str(),
            r.scorecard.as_str(),
            r.rule_id.as_str(),
            r.reviewer.as_str()
        ),
        ("C1", "售后", "greeting", "ana")
    );
    assert_eq!(r.decision, Decision::Overturn);
    assert!(r.machine_violated && !r.reviewed_violated);
    assert_eq!(r.evidence, evidence());
    assert_eq!((r.call_change, r.scored_at), (1, 2));
    assert!(r.created_at > 0);
    let r = &reviews[1];
    assert_eq!(r.decision, Decision::Confirm);
    assert!(!r.machine_violated && !r.reviewed_violated);
    assert!(r.evidence.is_empty());
    assert_eq!(r.comment, "没有问题");
    assert!(store.reviews_of("C3").unwrap().is_empty());
    assert_eq!(store.reviews_of("C9").unwrap().len(), 1);

    // Every review of a stored call, by call and then review; the call's
    // filters apply.
    let visit = |store: &mut Store, filter: CallFilter| {
        let mut seen = Vec::new();
        let count = store
            .for_each_review(&filter, |row| {
                seen.push((row.review.call_id, row.review.reviewer, row.local_date));
                Ok(())
            })
            .unwrap();
        assert_eq!(count, seen.len() as u64);
        seen
    };
    let row = |call: &str, reviewer: &str, date: &str| {
        (
            call.to_string(),
            reviewer.to_string(),
            Some(date.to_string()),
        )
    };
    assert_eq!(
        visit(store, CallFilter::default()),
        [
            row("C1", "ana", "2026-09-01"),
            row("C1", "bob", "2026-09-01"),
            row("C2", "ana", "2026-09-02"),
        ]
    );
    assert_eq!(
        visit(
            store,
            CallFilter {
                from: NaiveDate::from_ymd_opt(2026, 9, 2),
                ..CallFilter::default()
            }
        ),
        [row("C2", "ana", "2026-09-02")]
    );
    assert_eq!(
        visit(
            store,
            CallFilter {
                agent_id: Some("A07".to_string()),
                ..CallFilter::default()
            }
        ),
        [
            row("C1", "ana", "2026-09-01"),
            row("C1", "bob", "2026-09-01")
        ]
    );
    assert_eq!(
        visit(
            store,
            CallFilter {
                call_ids: vec!["C2".to_string(), "C9".to_string()],
                ..CallFilter::default()
            }
        ),
        [row("C2", "ana", "2026-09-02")]
    );
    // A visitor's error stops the walk and comes back; the store still
    // works after it.
    let mut visited = 0;
    let error = store
        .for_each_review(&CallFilter::default(), |_| {
            visited += 1;
            Err(callscope_core::error::Error::Usage("stop".to_string()))
        })
        .unwrap_err();
    assert_eq!((error.to_string(), visited), ("stop".to_string(), 1));
    assert_eq!(store.reviews_of("C2").unwrap()[0].id, c2);
}

fn new_appeal(call_id: &str, agent_id: Option<&str>, reason: &str) -> NewAppeal {
    NewAppeal {
        call_id: call_id.to_string(),
        scorecard: "售后".to_string(),
        rule_id: "greeting".to_string(),
        appellant: "agent1".to_string(),
        agent_id: agent_id.map(str::to_string),
        machine_violated: true,
        appealed_violated: false,
        reason: reason.to_string(),
    }
}

fn appeals_are_listed_and_decided_once(store: &mut Store) {
    put(store, &[simple("C1"), simple("C2")]);
    let first = store
        .add_appeal(&new_appeal("C1", Some("A01"), "我说了您好"))
        .unwrap();
    let second = store.add_appeal(&new_appeal("C2", None, "")).unwrap();
    let third = store
        .add_appeal(&new_appeal("C2", Some("A01"), "again"))
        .unwrap();
    assert!(first < second && second < third);
    let stored = store.appeal(first).unwrap().unwrap();
    assert_eq!(
        (
            stored.call_id.as_str(),
            stored.scorecard.as_str(),
            stored.rule_id.as_str(),
            stored.appellant.as_str(),
            stored.agent_id.as_deref(),
            stored.reason.as_str()
        ),
        (
            "C1",
            "售后",
            "greeting",
            "agent1",
            Some("A01"),
            "我说了您好"
        )
    );
    assert!(stored.machine_violated && !stored.appealed_violated);
    assert_eq!(stored.status, AppealStatus::Open);
    assert_eq!(
        (
            stored.decided_by.clone(),
            stored.decided_at,
            stored.decision_comment.clone()
        ),
        (None, None, None)
    );
    assert!(stored.created_at > 0);
    assert_eq!(store.appeal(third + 100).unwrap(), None);

    let ids = |store: &mut Store, filter: AppealFilter| -> Vec<i64> {
        store
            .appeals(&filter)
            .unwrap()
            .into_iter()
            .map(|appeal| appeal.id)
            .collect()
    };
    // Newest first.
    assert_eq!(ids(store, AppealFilter::default()), [third, second, first]);
    let open = AppealFilter {
        status: Some(AppealStatus::Open),
        ..AppealFilter::default()
    };
    assert_eq!(ids(store, open.clone()), [third, second, first]);

    let decided = store.decide_appeal(first, "lead1", true, "同意").unwrap();
    assert_eq!(decided.id, first);
    assert_eq!(decided.status, AppealStatus::Accepted);
    assert_eq!(decided.decided_by.as_deref(), Some("lead1"));
    assert_eq!(decided.decision_comment.as_deref(), Some("同意"));
    assert!(decided.decided_at.is_some_and(|at| at > 0));
    assert_eq!(store.appeal(first).unwrap(), Some(decided.clone()));
    let error = store
        .decide_appeal(first, "lead2", false, "no")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("already accepted by lead1") && error.contains("decided once"),
        "{error}"
    );
    // The refused decision changed nothing.
    assert_eq!(store.appeal(first).unwrap(), Some(decided));
    let rejected = store.decide_appeal(second, "lead2", false, "").unwrap();
    assert_eq!(rejected.status, AppealStatus::Rejected);
    let error = store
        .decide_appeal(second, "lead1", true, "")
        .unwrap_err()
        .to_string();
    assert!(error.contains("already rejected by lead2"), "{error}");
    let error = store
        .decide_appeal(third + 100, "lead1", true, "")
        .unwrap_err()
        .to_string();
    assert!(error.contains("there is no appeal"), "{error}");

    assert_eq!(ids(store, open), [third]);
    let status = |status| AppealFilter {
        status: Some(status),
        ..AppealFilter::default()
    };
    assert_eq!(ids(store, status(AppealStatus::Accepted)), [first]);
    assert_eq!(ids(store, status(AppealStatus::Rejected)), [second]);
    let agent = AppealFilter {
        agent_id: Some("A01".to_string()),
        ..AppealFilter::default()
    };
    assert_eq!(ids(store, agent.clone()), [third, first]);
    assert_eq!(
        ids(
            store,
            AppealFilter {
                call_id: Some("C2".to_string()),
                ..agent.clone()
            }
        ),
        [third]
    );
    assert_eq!(
        ids(
            store,
            AppealFilter {
                status: Some(AppealStatus::Accepted),
                call_id: Some("C2".to_string()),
                ..agent
            }
        ),
        Vec::<i64>::new()
    );
    // A re-imported call keeps its appeals.
    put(store, &[simple("C1")]);
    assert_eq!(store.appeal(first).unwrap().unwrap().call_id, "C1");
}

fn assignment(call_id: &str, reviewer: &str, reason: &str, week: &str) -> NewAssignment {
    NewAssignment {
        call_id: call_id.to_string(),
        reviewer: reviewer.to_string(),
        reason: reason.to_string(),
        week: week.to_string(),
    }
}

fn assignments_are_idempotent_and_done_when_reviewed(store: &mut Store) {
    put(store, &[simple("C1"), simple("C2"), simple("C3")]);
    let assignments = [
        assignment("C2", "ana", "sample", "2026-W36"),
        assignment("C1", "ana", "fatal,low_confidence", "2026-W36"),
        assignment("C3", "bob", "calibration", "2026-W37"),
        assignment("C1", "bob", "calibration", "2026-W36"),
        // The same call for the same reviewer again in one batch.
        assignment("C2", "ana", "fatal", "2026-W36"),
    ];
    assert_eq!(store.add_assignments(&assignments).unwrap(), 4);
    assert_eq!(store.add_assignments(&assignments).unwrap(), 0);
    assert_eq!(store.add_assignments(&[]).unwrap(), 0);
    store
        .add_review(&review("C1", "ana", Decision::Confirm))
        .unwrap();
    // Another reviewer's review does not do ana's assignment.
    store
        .add_review(&review("C2", "bob", Decision::Confirm))
        .unwrap();
    let queue = store.assignments(Some("ana")).unwrap();
    let rows: Vec<(&str, &str, &str, &str, bool)> = queue
        .iter()
        .map(|a| {
            (
                a.call_id.as_str(),
                a.reviewer.as_str(),
                a.reason.as_str(),
                a.week.as_str(),
                a.done,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("C1", "ana", "fatal,low_confidence", "2026-W36", true),
            ("C2", "ana", "sample", "2026-W36", false),
        ]
    );
    assert!(queue.iter().all(|a| a.assigned_at > 0));
    assert!(store.assignments(Some("carl")).unwrap().is_empty());
    // By week (latest first), then call, then reviewer.
    let all: Vec<(String, String)> = store
        .assignments(None)
        .unwrap()
        .into_iter()
        .map(|a| (a.call_id, a.reviewer))
        .collect();
    let pair = |call: &str, reviewer: &str| (call.to_string(), reviewer.to_string());
    assert_eq!(
        all,
        [
            pair("C3", "bob"),
            pair("C1", "ana"),
            pair("C1", "bob"),
            pair("C2", "ana"),
        ]
    );
    // A re-imported call keeps its assignments.
    put(store, &[simple("C1")]);
    assert_eq!(store.assignments(None).unwrap().len(), 4);
    assert!(store.assignments(Some("ana")).unwrap()[0].done);
}

fn reviewed_scores_are_replaced_and_removed(store: &mut Store) {
    put(store, &[simple("C1")]);
    assert!(store.reviewed_scores_of("C1").unwrap().is_empty());
    let low = ReviewedScore {
        score: 59.5,
        passed: false,
        fatal: true,
    };
    let high = ReviewedScore {
        score: 92.25,
        passed: true,
        fatal: false,
    };
    store.put_reviewed_score("C1", "账单", Some(low)).unwrap();
    store.put_reviewed_score("C1", "售后", Some(low)).unwrap();
    store.put_reviewed_score("C1", "Zeta", Some(high)).unwrap();
    store.put_reviewed_score("C1", "售后", Some(high)).unwrap();
    store.put_reviewed_score("C2", "售后", Some(low)).unwrap();
    // By scorecard in byte order.
    let mut expected = vec![
        ("Zeta".to_string(), high),
        ("售后".to_string(), high),
        ("账单".to_string(), low),
    ];
    expected.sort_by(|left, right| left.0.as_bytes().cmp(right.0.as_bytes()));
    assert_eq!(store.reviewed_scores_of("C1").unwrap(), expected);
    store.put_reviewed_score("C1", "账单", None).unwrap();
    store.put_reviewed_score("C1", "none", None).unwrap();
    expected.retain(|(scorecard, _)| scorecard != "账单");
    assert_eq!(store.reviewed_scores_of("C1").unwrap(), expected);
    // A re-imported call keeps them.
    put(store, &[simple("C1")]);
    assert_eq!(store.reviewed_scores_of("C1").unwrap(), expected);
    assert_eq!(
        store.reviewed_scores_of("C2").unwrap(),
        [("售后".to_string(), low)]
    );
}

fn forgetting_a_call_removes_its_reviews_appeals_and_assignments(store: &mut Store) {
    put(store, &[simple("C1"), simple("C2")]);
    for call_id in ["C1", "C1", "C2", "C9"] {
        store
            .add_review(&review(call_id, "ana", Decision::Confirm))
            .unwrap();
    }
    store.add_appeal(&new_appeal("C1", None, "")).unwrap();
    store.add_appeal(&new_appeal("C2", None, "")).unwrap();
    store
        .add_assignments(&[
            assignment("C1", "ana", "sample", "2026-W36"),
            assignment("C1", "bob", "sample", "2026-W36"),
            assignment("C2", "ana", "sample", "2026-W36"),
        ])
        .unwrap();
    let reviewed = ReviewedScore {
        score: 70.0,
        passed: true,
        fatal: false,
    };
    store
        .put_reviewed_score("C1", "售后", Some(reviewed))
        .unwrap();
    store
        .put_reviewed_score("C2", "售后", Some(reviewed))
        .unwrap();
    store.add_user("ana", UserRole::Analyst, None, "h").unwrap();
    store
        .append_audit(&AuditEntry {
            user: "ana",
            action: "review",
            target: Some("C1"),
            detail: None,
        })
        .unwrap();

    let forgotten = store
        .forget_calls(&["C1".to_string(), "C9".to_string()])
        .unwrap();
    assert_eq!(forgotten.calls, ["C1"]);
    assert_eq!(
        (
            forgotten.reviews,
            forgotten.appeals,
            forgotten.review_assignments
        ),
        (2, 1, 2)
    );
    assert!(store.reviews_of("C1").unwrap().is_empty());
    assert!(store
        .appeals(&AppealFilter {
            call_id: Some("C1".to_string()),
            ..AppealFilter::default()
        })
        .unwrap()
        .is_empty());
    assert!(store.reviewed_scores_of("C1").unwrap().is_empty());
    let left: Vec<String> = store
        .assignments(None)
        .unwrap()
        .into_iter()
        .map(|a| a.call_id)
        .collect();
    assert_eq!(left, ["C2"]);
    // The other call keeps everything; a call the store does not hold is
    // not forgotten, nor are its reviews; users and the audit log stay.
    assert_eq!(store.reviews_of("C2").unwrap().len(), 1);
    assert_eq!(store.appeals(&AppealFilter::default()).unwrap().len(), 1);
    assert_eq!(store.reviewed_scores_of("C2").unwrap().len(), 1);
    assert_eq!(store.reviews_of("C9").unwrap().len(), 1);
    assert_eq!(store.reviewers().unwrap(), ["ana"]);
    assert_eq!(store.audit_log(&AuditFilter::default()).unwrap().len(), 1);
    // Forgetting it again finds nothing.
    let again = store.forget_calls(&["C1".to_string()]).unwrap();
    assert!(again.calls.is_empty());
    assert_eq!(
        (again.reviews, again.appeals, again.review_assignments),
        (0, 0, 0)
    );
}
