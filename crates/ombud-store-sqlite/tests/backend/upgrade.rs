//! A database written before the later migrations opens with its data
//! still listed, found and counted.

use jiff::SignedDuration;
use ombud_domain::emerging::segments::IntakeCount;
use ombud_domain::emerging::spikes::Granularity;
use ombud_domain::{Actor, EscalationKey, NewSubject, SubjectKind};
use ombud_store::codec::{encode_state, micros};
use ombud_store::{EscalationFilter, Scope};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::{draft, open_with_partner, t0};

#[tokio::test]
async fn a_database_from_the_first_schema_keeps_its_tags_search_and_intake() {
    let (dir, first_only) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // The partner row, as any schema stores it, comes from a current store.
    let partner = {
        let scratch = tempfile::tempdir().unwrap();
        let stores = open_with_partner(scratch.path()).await;
        stores.directory.get_partner(crate::PARTNER).await.unwrap()
    };
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/0001_initial.sql"),
        first_only.path().join("0001_initial.sql"),
    )
    .unwrap();
    let mut conn = SqliteConnectOptions::new()
        .filename(ombud_store_sqlite::database_path(dir.path()))
        .create_if_missing(true)
        .connect()
        .await
        .unwrap();
    sqlx::migrate::Migrator::new(first_only.path())
        .await
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap();

    let mut new = draft("Stolen ACCOUNT of a TV host", "");
    new.tags = vec!["vip".into()];
    // Received with a fraction of a second, which the backfill of
    // migration 0018 reads to the microsecond.
    let received = t0() - SignedDuration::from_micros(90 * 60 * 1_000_000 - 250_001);
    new.received_at = received;
    new.subjects = vec![
        NewSubject {
            kind: SubjectKind::Ad,
            surface: "ads".into(),
            external_id: Some("991".into()),
            url: None,
        }
        .validate()
        .unwrap(),
    ];
    let (escalation, _) = new.into_escalation(EscalationKey(1), &Actor::system(), t0());
    sqlx::query("INSERT INTO partners (slug, version, state) VALUES (?, 1, ?)")
        .bind(crate::PARTNER)
        .bind(encode_state(&partner))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO escalations (id, type, partner, status, priority, country, language, created_at, updated_at, version, state) \
         VALUES (1, 'account_access', ?, 'new', 3, 'JP', 'ja', ?, ?, 1, ?)",
    )
    .bind(crate::PARTNER)
    .bind(micros(t0()))
    .bind(micros(t0()))
    .bind(encode_state(&escalation))
    .execute(&mut conn)
    .await
    .unwrap();
    // The first schema kept tags without times and documents as written.
    for sql in [
        "INSERT INTO escalation_tags (tag, escalation_id) VALUES ('vip', 1)",
        "INSERT INTO search_docs (escalation_id, source, visibility, body) VALUES (1, 'main', 'partner', 'Stolen ACCOUNT of a TV host')",
        "UPDATE counters SET value = 1",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();

    let stores = ombud_store_sqlite::open(dir.path()).await.unwrap();
    let keys = |filter: EscalationFilter| {
        let stores = stores.clone();
        async move {
            let page = stores
                .escalations
                .list(
                    &EscalationFilter {
                        limit: 10,
                        ..filter
                    },
                    &Scope::Staff,
                )
                .await
                .unwrap();
            page.items.iter().map(|e| e.key.0).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        keys(EscalationFilter {
            tags: vec!["vip".into()],
            ..Default::default()
        })
        .await,
        [1],
        "tag pages see rows tagged before the upgrade"
    );
    for q in ["account", "tv", "Stolen"] {
        assert_eq!(
            keys(EscalationFilter {
                q: Some(q.into()),
                ..Default::default()
            })
            .await,
            [1],
            "search {q:?} finds text written before the upgrade"
        );
    }

    assert_eq!(
        stores.escalations.first_received().await.unwrap(),
        Some(received)
    );
    let hour = Granularity::Hour.bucket_start(received);
    assert_eq!(
        stores
            .escalations
            .intake_counts(
                Granularity::Hour,
                hour,
                hour + SignedDuration::from_hours(1)
            )
            .await
            .unwrap(),
        [IntakeCount {
            bucket: hour,
            escalation_type: "account_access".into(),
            surface: Some("ads".into()),
            country: "JP".into(),
            policy: None,
            count: 1,
        }],
        "intake written before the upgrade is counted by arrival and surface"
    );
}
