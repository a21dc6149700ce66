//! PostgreSQL-specific promises for several stateless nodes on one database:
//! distinct keys, exactly one winner per version, each case claimed by one
//! agent, one spike alert per bucket, immutable events, and no leaked test
//! databases.

use ombud_domain::{Actor, EscalationPatch, NewEscalation, NewPartner, Status};
use ombud_store::{Assign, Claim, ClaimQuery, Scope, StoreError, Stores};
use ombud_store_postgres::testing::TempDatabase;

async fn two_nodes(db: &TempDatabase) -> (Stores, Stores) {
    let a = ombud_store_postgres::open(db.url(), None).await.unwrap();
    let b = ombud_store_postgres::open(db.url(), None).await.unwrap();
    let partner = NewPartner {
        slug: "th-ministry".into(),
        name: "Ministry".into(),
        kind: "government".into(),
        tier: 1,
        country: "TH".into(),
        language: "th".into(),
        contacts: vec![],
        allowed_types: vec![],
    };
    a.directory
        .create_partner(&partner.validate(jiff::Timestamp::UNIX_EPOCH).unwrap())
        .await
        .unwrap();
    (a, b)
}

fn draft(i: usize) -> ombud_domain::EscalationDraft {
    NewEscalation {
        escalation_type: "government_order".into(),
        title: format!("คำสั่ง {i}"),
        country: "TH".into(),
        language: "th".into(),
        ..Default::default()
    }
    .validate("th-ministry", "api", jiff::Timestamp::UNIX_EPOCH)
    .unwrap()
}

#[tokio::test]
async fn two_nodes_never_hand_out_the_same_key() {
    let Some(db) = TempDatabase::create().await else {
        return;
    };
    let (a, b) = two_nodes(&db).await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            node.escalations
                .create(draft(i), &Actor::system(), jiff::Timestamp::UNIX_EPOCH)
                .await
                .unwrap()
                .key
                .0
        }));
    }
    let mut keys = Vec::new();
    for t in tasks {
        keys.push(t.await.unwrap());
    }
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 200, "every create got its own key");
}

#[tokio::test]
async fn agents_claiming_on_two_nodes_at_once_never_get_the_same_case() {
    let Some(db) = TempDatabase::create().await else {
        return;
    };
    let (a, b) = two_nodes(&db).await;
    const CASES: usize = 40;
    for i in 0..CASES {
        let mut draft = draft(i);
        draft.queue = Some("orders".into());
        a.escalations
            .create(draft, &Actor::system(), jiff::Timestamp::UNIX_EPOCH)
            .await
            .unwrap();
    }
    let query = ClaimQuery {
        queues: vec!["orders".into()],
        ..Default::default()
    };
    let mut agents = Vec::new();
    for agent in 0..16 {
        let node = if agent % 2 == 0 { a.clone() } else { b.clone() };
        let query = query.clone();
        agents.push(tokio::spawn(async move {
            let email = format!("agent{agent}@example.com");
            let mut claimed = Vec::new();
            loop {
                let assignee = email.clone();
                let assign: Assign = Box::new(move |current| {
                    let patch = EscalationPatch {
                        assignee: Some(Some(assignee)),
                        ..Default::default()
                    };
                    current
                        .apply_patch(&patch, &Actor::system(), jiff::Timestamp::UNIX_EPOCH)
                        .unwrap()
                });
                match node.escalations.claim_next(&query, assign).await.unwrap() {
                    Claim::Assigned(case) => {
                        assert_eq!(case.assignee.as_deref(), Some(email.as_str()));
                        claimed.push(case.key.0);
                    }
                    other => {
                        assert_eq!(other, Claim::NoneEligible);
                        return claimed;
                    }
                }
            }
        }));
    }
    let mut claimed = Vec::new();
    for agent in agents {
        claimed.extend(agent.await.unwrap());
    }
    claimed.sort_unstable();
    let total = claimed.len();
    claimed.dedup();
    assert_eq!(total, CASES, "every case was claimed exactly once");
    assert_eq!(claimed.len(), CASES);
}

#[tokio::test]
async fn of_two_saves_of_the_same_version_exactly_one_wins() {
    let Some(db) = TempDatabase::create().await else {
        return;
    };
    let (a, b) = two_nodes(&db).await;
    let e = a
        .escalations
        .create(draft(0), &Actor::system(), jiff::Timestamp::UNIX_EPOCH)
        .await
        .unwrap();
    let (to_a, ev_a) = e
        .transition(
            Status::Triaged,
            None,
            &Actor::system(),
            jiff::Timestamp::UNIX_EPOCH,
        )
        .unwrap();
    let (to_b, ev_b) = e
        .transition(
            Status::Resolved,
            None,
            &Actor::system(),
            jiff::Timestamp::UNIX_EPOCH,
        )
        .unwrap();
    let (ev_a, ev_b) = ([ev_a], [ev_b]);
    let (ra, rb) = tokio::join!(
        a.escalations.save(&to_a, 1, &ev_a),
        b.escalations.save(&to_b, 1, &ev_b)
    );
    let wins = [&ra, &rb].iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{ra:?} {rb:?}");
    assert!([ra, rb].into_iter().any(|r| matches!(
        r,
        Err(StoreError::VersionConflict {
            expected: 1,
            current: 2
        })
    )));
    let timeline = a.escalations.timeline(e.key, &Scope::Staff).await.unwrap();
    assert_eq!(timeline.len(), 2, "only the winner's event was written");
}

#[tokio::test]
async fn the_timeline_cannot_be_edited_and_test_databases_are_dropped() {
    let Some(db) = TempDatabase::create().await else {
        return;
    };
    let name = db.name().to_string();
    {
        let (a, _) = two_nodes(&db).await;
        a.escalations
            .create(draft(0), &Actor::system(), jiff::Timestamp::UNIX_EPOCH)
            .await
            .unwrap();
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(db.url())
            .await
            .unwrap();
        for sql in [
            "UPDATE events SET actor_name = 'someone else'",
            "DELETE FROM events",
        ] {
            let error = sqlx::query(sql).execute(&mut conn).await.unwrap_err();
            assert!(
                error.to_string().contains("events are immutable"),
                "{sql}: {error}"
            );
        }
    }
    drop(db);
    let mut server = <sqlx::PgConnection as sqlx::Connection>::connect(
        &ombud_store_postgres::testing::server_url(),
    )
    .await
    .unwrap();
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_one(&mut server)
        .await
        .unwrap();
    assert_eq!(left, 0, "the test database {name} was not dropped");
}

#[tokio::test]
async fn nodes_evaluating_the_same_hour_record_one_spike_alert() {
    use ombud_domain::emerging::segments::Segment;
    use ombud_domain::emerging::spikes::Granularity;
    use ombud_store::{NewSpikeAlert, OutboxSource};

    let Some(db) = TempDatabase::create().await else {
        return;
    };
    let (a, b) = two_nodes(&db).await;
    let alert = NewSpikeAlert {
        segment: Segment {
            escalation_type: "government_order".into(),
            surface: "(none)".into(),
            country: "TH".into(),
            policy: None,
        },
        granularity: Granularity::Hour,
        bucket: "2026-11-25T08:00:00Z".parse().unwrap(),
        count: 12,
        baseline: 2.0,
        spread: 2f64.sqrt(),
        score: 10.0 / 2f64.sqrt(),
        samples: 8,
        created_at: "2026-11-25T09:00:00Z".parse().unwrap(),
    };
    let mut tasks = Vec::new();
    for i in 0..20 {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        let alert = alert.clone();
        tasks.push(tokio::spawn(async move {
            node.spikes.record(&alert).await.unwrap()
        }));
    }
    let mut recorded = Vec::new();
    for t in tasks {
        recorded.extend(t.await.unwrap());
    }
    assert_eq!(recorded.len(), 1, "one insert wins: {recorded:?}");
    let queued: Vec<OutboxSource> = a
        .outbox
        .claim_entries(
            "2026-11-25T09:00:00Z".parse().unwrap(),
            jiff::SignedDuration::from_mins(1),
            100,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.source)
        .collect();
    assert_eq!(
        queued,
        [OutboxSource::SpikeAlert(recorded[0].id)],
        "and queues one event"
    );
}
