//! SQLite-specific promises: group commit hands out sequential keys under
//! concurrency, acknowledged writes survive reopening, events are immutable.

use std::sync::Arc;

use ombud_domain::{Actor, NewEscalation, NewPartner};
use ombud_store::{Scope, Stores};

async fn with_partner(dir: &std::path::Path) -> Stores {
    let stores = ombud_store_sqlite::open(dir).await.unwrap();
    let partner = NewPartner {
        slug: "jp-police".into(),
        name: "Police".into(),
        kind: "law_enforcement".into(),
        tier: 1,
        country: "JP".into(),
        language: "ja".into(),
        contacts: vec![],
        allowed_types: vec![],
    };
    stores
        .directory
        .create_partner(&partner.validate(jiff::Timestamp::UNIX_EPOCH).unwrap())
        .await
        .unwrap();
    stores
}

fn draft(i: usize) -> ombud_domain::EscalationDraft {
    NewEscalation {
        escalation_type: "account_access".into(),
        title: format!("同時作成 {i}"),
        country: "JP".into(),
        language: "ja".into(),
        ..Default::default()
    }
    .validate("jp-police", "api", jiff::Timestamp::UNIX_EPOCH)
    .unwrap()
}

#[tokio::test]
async fn concurrent_creates_get_gap_free_keys_that_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Arc::new(with_partner(dir.path()).await);
    let tasks: Vec<_> = (0..500)
        .map(|i| {
            let stores = stores.clone();
            tokio::spawn(async move {
                stores
                    .escalations
                    .create(draft(i), &Actor::system(), jiff::Timestamp::UNIX_EPOCH)
                    .await
                    .unwrap()
                    .key
                    .0
            })
        })
        .collect();
    let mut keys = Vec::new();
    for task in tasks {
        keys.push(task.await.unwrap());
    }
    keys.sort_unstable();
    assert_eq!(
        keys,
        (1..=500).collect::<Vec<_>>(),
        "500 concurrent creates get keys 1..=500, each once"
    );
    drop(stores);

    let reopened = ombud_store_sqlite::open(dir.path()).await.unwrap();
    assert_eq!(
        reopened.maintenance.escalation_count().await.unwrap(),
        500,
        "every acknowledged create is there after reopening"
    );
    let e = reopened
        .escalations
        .get(ombud_domain::EscalationKey(500), &Scope::Staff)
        .await
        .unwrap();
    assert!(e.title.starts_with("同時作成"));
    let next = reopened
        .escalations
        .create(draft(501), &Actor::system(), jiff::Timestamp::UNIX_EPOCH)
        .await
        .unwrap();
    assert_eq!(next.key.0, 501, "keys are never reused after a restart");
}

#[tokio::test]
async fn the_timeline_cannot_be_edited_in_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let stores = with_partner(dir.path()).await;
    stores
        .escalations
        .create(draft(1), &Actor::system(), jiff::Timestamp::UNIX_EPOCH)
        .await
        .unwrap();
    drop(stores);
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{}",
        ombud_store_sqlite::database_path(dir.path()).display()
    ))
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
