//! Group commit hands out sequential keys under concurrency and isolates
//! failing writes; acknowledged writes survive reopening; events are
//! immutable in the database itself; backups open as stores.

use std::sync::Arc;

use ombud_domain::{Actor, EscalationKey, Visibility};
use ombud_store::{Scope, StoreError};

use crate::{comment, draft, draft_for, open_with_partner, t0};

#[tokio::test]
async fn concurrent_creates_get_gap_free_keys_that_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Arc::new(open_with_partner(dir.path()).await);
    let tasks: Vec<_> = (0..500)
        .map(|i| {
            let stores = stores.clone();
            tokio::spawn(async move {
                stores
                    .escalations
                    .create(draft(&format!("同時作成 {i}"), ""), &Actor::system(), t0())
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
        .get(EscalationKey(500), &Scope::Staff)
        .await
        .unwrap();
    assert!(e.title.starts_with("同時作成"));
    let next = reopened
        .escalations
        .create(draft("after the restart", ""), &Actor::system(), t0())
        .await
        .unwrap();
    assert_eq!(next.key.0, 501, "keys are never reused after a restart");
}

#[tokio::test]
async fn a_failing_write_rolls_back_alone_within_its_group_commit() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Arc::new(open_with_partner(dir.path()).await);
    // Every third create names a partner that does not exist; all are queued
    // at once, so they share transactions with the good ones.
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let stores = stores.clone();
            let partner = if i % 3 == 0 {
                "no-such-partner"
            } else {
                crate::PARTNER
            };
            tokio::spawn(async move {
                stores
                    .escalations
                    .create(
                        draft_for(partner, &format!("case {i}"), ""),
                        &Actor::system(),
                        t0(),
                    )
                    .await
            })
        })
        .collect();
    let mut keys = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(e) => keys.push(e.key.0),
            Err(StoreError::Conflict(message)) => {
                assert_eq!(message, "partner no-such-partner does not exist")
            }
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    keys.sort_unstable();
    assert_eq!(
        keys,
        (1..=200).collect::<Vec<_>>(),
        "the refused creates took no keys and undid none of the others"
    );
    assert_eq!(stores.maintenance.escalation_count().await.unwrap(), 200);
}

#[tokio::test]
async fn the_timeline_cannot_be_edited_in_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let stores = open_with_partner(dir.path()).await;
    stores
        .escalations
        .create(draft("immutable", ""), &Actor::system(), t0())
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

#[tokio::test]
async fn a_backup_opens_with_the_same_escalations_and_timelines() {
    let (dir, copy) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let stores = open_with_partner(dir.path()).await;
    for i in 0..20 {
        let e = stores
            .escalations
            .create(
                draft(&format!("バックアップ {i}"), ""),
                &Actor::system(),
                t0(),
            )
            .await
            .unwrap();
        comment(&stores, &e, "証拠を保全しました", Visibility::Internal).await;
    }
    let target = ombud_store_sqlite::database_path(copy.path());
    stores.maintenance.backup(&target).await.unwrap();
    assert!(
        matches!(
            stores.maintenance.backup(&target).await,
            Err(StoreError::Conflict(_))
        ),
        "a backup never overwrites a file"
    );

    let restored = ombud_store_sqlite::open(copy.path()).await.unwrap();
    for key in (1..=20).map(EscalationKey) {
        assert_eq!(
            restored.escalations.get(key, &Scope::Staff).await.unwrap(),
            stores.escalations.get(key, &Scope::Staff).await.unwrap()
        );
        assert_eq!(
            restored
                .escalations
                .timeline(key, &Scope::Staff)
                .await
                .unwrap(),
            stores
                .escalations
                .timeline(key, &Scope::Staff)
                .await
                .unwrap()
        );
    }
    let next = restored
        .escalations
        .create(draft("after restoring", ""), &Actor::system(), t0())
        .await
        .unwrap();
    assert_eq!(
        next.key.0, 21,
        "the restored copy continues the key sequence"
    );
}

#[tokio::test]
async fn refused_writes_say_what_is_taken_or_missing() {
    let dir = tempfile::tempdir().unwrap();
    let stores = open_with_partner(dir.path()).await;
    let police = stores.directory.get_partner(crate::PARTNER).await.unwrap();
    let Err(StoreError::Conflict(message)) = stores.directory.create_partner(&police).await else {
        panic!("a second partner with the same slug is refused")
    };
    assert_eq!(message, "partner slug jp-police already exists");

    let user = ombud_store::NewUser {
        email: "agent@example.org".into(),
        name: "Agent".into(),
        role: ombud_domain::Role::Partner,
        partner: Some("nobody".into()),
        password_hash: "$argon2id$stub".into(),
        created_at: t0(),
    };
    let Err(StoreError::Conflict(message)) = stores.directory.create_user(&user).await else {
        panic!("a user of a missing partner is refused")
    };
    assert_eq!(message, "partner nobody does not exist");

    let e = stores
        .escalations
        .create(draft("exported", ""), &Actor::system(), t0())
        .await
        .unwrap();
    let exported = stores.escalations.export_batch(None, 10).await.unwrap();
    let Err(StoreError::Conflict(message)) = stores.escalations.import(&exported).await else {
        panic!("importing an existing key is refused")
    };
    assert_eq!(message, format!("escalation {} already exists", e.key));
}
