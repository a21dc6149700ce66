//! Promises of the SQLite backend beyond the shared conformance story:
//! group commit, durability, immutable events, backups, search in every
//! script at both search plans, and upgrades of existing databases.

mod durability;
mod search;
mod upgrade;

use jiff::{SignedDuration, Timestamp};
use ombud_domain::{
    Actor, Escalation, EscalationDraft, EscalationKey, NewEscalation, NewEvent, NewPartner,
    StoredEvent, Visibility,
};
use ombud_store::Stores;

pub const PARTNER: &str = "jp-police";

pub fn t0() -> Timestamp {
    Timestamp::from_second(1_767_225_600).unwrap()
}

pub fn minutes(n: i64) -> Timestamp {
    t0() + SignedDuration::from_mins(n)
}

/// A fresh store in `dir` with the partner `PARTNER`.
pub async fn open_with_partner(dir: &std::path::Path) -> Stores {
    let stores = ombud_store_sqlite::open(dir).await.unwrap();
    let partner = NewPartner {
        slug: PARTNER.into(),
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
        .create_partner(&partner.validate(t0()).unwrap())
        .await
        .unwrap();
    stores
}

pub fn draft(title: &str, description: &str) -> EscalationDraft {
    draft_for(PARTNER, title, description)
}

pub fn draft_for(partner: &str, title: &str, description: &str) -> EscalationDraft {
    NewEscalation {
        escalation_type: "account_access".into(),
        title: title.into(),
        description: description.into(),
        country: "JP".into(),
        language: "ja".into(),
        ..Default::default()
    }
    .validate(partner, "api", t0())
    .unwrap()
}

/// Adds a comment to a stored escalation.
pub async fn comment(
    stores: &Stores,
    e: &Escalation,
    body: &str,
    visibility: Visibility,
) -> Escalation {
    let (next, event) = e
        .comment(
            body,
            visibility,
            &Actor::system(),
            e.updated_at + SignedDuration::from_secs(1),
        )
        .unwrap();
    stores
        .escalations
        .save(&next, e.version, &[event])
        .await
        .unwrap();
    next
}

/// A new event as an export carries it.
pub fn numbered(key: EscalationKey, seq: i64, event: NewEvent) -> StoredEvent {
    StoredEvent {
        escalation: key,
        seq,
        kind: event.kind,
        visibility: event.visibility,
        actor: event.actor,
        at: event.at,
        data: event.data,
    }
}
