//! The backend conformance suite: one story over the whole storage contract
//! that every backend must pass. Backends call [`run`] from their tests with
//! two freshly opened, empty stores of their kind. Times are fixed; nothing
//! here reads the system clock.

use bytes::Bytes;
use jiff::{SignedDuration, Timestamp};
use ombud_domain::{
    Actor, Escalation, EscalationKey, EscalationPatch, EventKind, NewEscalation, NewPartner,
    NewSubject, Priority, RefItem, RefKind, Role, Status, SubjectKind, Visibility, reference,
};

use crate::{
    Cursor, EscalationFilter, IdempotencyBegin, NewToken, NewUser, SavedResponse, Scope,
    SortDirection, SortField, StoreError, Stores,
};

fn t0() -> Timestamp {
    "2026-03-01T00:00:00Z".parse().expect("valid time")
}

fn at(minutes: i64) -> Timestamp {
    t0() + SignedDuration::from_mins(minutes)
}

fn agent() -> Actor {
    Actor {
        id: "token:1".into(),
        name: "Aiko".into(),
        role: Some(Role::Agent),
    }
}

/// Runs the whole story against `primary`, using `secondary` as the target of
/// the export/import round trip; panics at the first broken promise.
pub async fn run(primary: &Stores, secondary: &Stores) {
    reference_data_is_seeded_and_editable(primary).await;
    partners_are_unique_and_versioned(primary).await;
    users_and_tokens(primary).await;
    sessions_expire_and_end(primary).await;
    let keys = escalations_get_sequential_keys(primary).await;
    updates_are_optimistic_and_recorded(primary, keys[0]).await;
    lists_filter_sort_and_page(primary).await;
    search_finds_text_in_every_script(primary).await;
    partners_see_only_their_own(primary).await;
    reference_in_use_cannot_be_deleted(primary).await;
    idempotency_keys_replay_and_refuse(primary).await;
    blobs_round_trip(primary).await;
    settings_are_versioned_documents(primary).await;
    racing_settings_writes_have_one_winner(primary).await;
    export_and_import_round_trip(primary, secondary).await;
    maintenance_answers(primary).await;
    clock_alerts_are_claimed_once_and_follow_the_clocks(primary).await;
    claim_next_takes_the_best_case_once(primary).await;
    claims_stop_at_the_agents_capacity(primary).await;
    consults_waiting_for_answers_are_listed(primary).await;
    events_reach_the_outbox_and_deliveries_retry(primary, secondary).await;
    escalations_are_found_by_shared_subjects(primary).await;
    the_overview_counts_what_the_lists_show(primary).await;
    analytics_reads_the_views_and_nothing_else(primary).await;
    metrics_facts_follow_every_write(primary, secondary).await;
    intake_is_counted_per_segment_by_arrival(primary).await;
    spike_alerts_are_recorded_once_and_acknowledged(primary).await;
}

async fn reference_data_is_seeded_and_editable(s: &Stores) {
    for kind in RefKind::ALL {
        let stored = s.reference.list(kind).await.expect("list reference");
        let mut defaults = reference::defaults(kind);
        defaults.sort_by(|a, b| a.code.cmp(&b.code));
        assert_eq!(
            stored, defaults,
            "{kind:?} must be seeded with the defaults, ordered by code"
        );
    }
    let item = RefItem {
        code: "deepfake".into(),
        label: "Synthetic media".into(),
        description: String::new(),
        parent: None,
        active: true,
    };
    s.reference
        .create(RefKind::EscalationType, &item)
        .await
        .expect("create reference item");
    assert!(
        matches!(
            s.reference.create(RefKind::EscalationType, &item).await,
            Err(StoreError::Conflict(_))
        ),
        "a duplicate code is a Conflict"
    );
    let retired = RefItem {
        active: false,
        label: "Synthetic media (retired)".into(),
        ..item.clone()
    };
    s.reference
        .update(RefKind::EscalationType, &retired)
        .await
        .expect("update reference item");
    assert_eq!(
        s.reference
            .get(RefKind::EscalationType, "deepfake")
            .await
            .expect("get"),
        retired
    );
    let ghost = RefItem {
        code: "ghost".into(),
        ..item.clone()
    };
    assert!(matches!(
        s.reference.update(RefKind::EscalationType, &ghost).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.reference.get(RefKind::Outcome, "ghost").await,
        Err(StoreError::NotFound)
    ));
    s.reference
        .delete(RefKind::EscalationType, "deepfake")
        .await
        .expect("delete unused item");
    assert!(matches!(
        s.reference
            .delete(RefKind::EscalationType, "deepfake")
            .await,
        Err(StoreError::NotFound)
    ));
}

fn partner(
    slug: &str,
    kind: &str,
    tier: i64,
    country: &str,
    language: &str,
) -> ombud_domain::Partner {
    NewPartner {
        slug: slug.into(),
        name: format!("Partner {slug}"),
        kind: kind.into(),
        tier,
        country: country.into(),
        language: language.into(),
        contacts: Vec::new(),
        allowed_types: Vec::new(),
    }
    .validate(t0())
    .expect("valid partner")
}

async fn partners_are_unique_and_versioned(s: &Stores) {
    for p in [
        partner("jp-police", "law_enforcement", 1, "JP", "ja"),
        partner("th-ministry", "government", 1, "TH", "th"),
        partner("kr-court", "court", 2, "KR", "ko"),
        partner("brand-agency", "advertiser", 3, "US", "en"),
        partner("unused", "ngo", 3, "ID", "id"),
    ] {
        s.directory
            .create_partner(&p)
            .await
            .expect("create partner");
    }
    let duplicate = partner("jp-police", "ngo", 2, "JP", "ja");
    assert!(
        matches!(
            s.directory.create_partner(&duplicate).await,
            Err(StoreError::Conflict(_))
        ),
        "duplicate slug"
    );
    let stored = s
        .directory
        .get_partner("jp-police")
        .await
        .expect("get partner");
    assert_eq!(
        stored,
        partner("jp-police", "law_enforcement", 1, "JP", "ja")
    );
    let slugs: Vec<String> = s
        .directory
        .list_partners()
        .await
        .expect("list")
        .iter()
        .map(|p| p.slug.as_str().to_string())
        .collect();
    assert_eq!(
        slugs,
        [
            "brand-agency",
            "jp-police",
            "kr-court",
            "th-ministry",
            "unused"
        ],
        "partners listed by slug"
    );

    let patch = ombud_domain::PartnerPatch {
        tier: Some(2),
        ..Default::default()
    };
    let next = patch.apply(&stored, at(1)).expect("valid patch");
    assert_eq!(next.version, 2);
    s.directory
        .save_partner(&next, 1)
        .await
        .expect("save with the right version");
    let stale = ombud_domain::PartnerPatch {
        tier: Some(3),
        ..Default::default()
    }
    .apply(&stored, at(2))
    .expect("valid");
    match s.directory.save_partner(&stale, 1).await {
        Err(StoreError::VersionConflict {
            expected: 1,
            current: 2,
        }) => {}
        other => panic!("a stale partner save must be VersionConflict{{1, 2}}, got {other:?}"),
    }
    assert_eq!(
        s.directory
            .get_partner("jp-police")
            .await
            .expect("get")
            .tier
            .get(),
        2,
        "the stale save changed nothing"
    );
    s.directory
        .delete_partner("unused")
        .await
        .expect("delete unused partner");
    assert!(matches!(
        s.directory.get_partner("unused").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.directory.delete_partner("unused").await,
        Err(StoreError::NotFound)
    ));
}

/// A browser session is found by its secret's hash until it expires or is
/// ended, and carries its user and anti-forgery token.
async fn sessions_expire_and_end(s: &Stores) {
    let user = s
        .directory
        .user_credentials("aiko@example.com")
        .await
        .expect("credentials")
        .user;
    let session = crate::NewSession {
        secret_sha256: "b".repeat(64),
        user_id: user.id,
        csrf_token: "csrf-1".into(),
        created_at: at(0),
        expires_at: at(60),
    };
    s.directory
        .create_session(&session)
        .await
        .expect("create session");
    assert!(matches!(
        s.directory.create_session(&session).await,
        Err(StoreError::Conflict(_))
    ));
    let unknown_user = crate::NewSession {
        secret_sha256: "c".repeat(64),
        user_id: 999_999,
        ..session.clone()
    };
    assert!(matches!(
        s.directory.create_session(&unknown_user).await,
        Err(StoreError::Conflict(_))
    ));
    let found = s
        .directory
        .find_session(&session.secret_sha256, at(59))
        .await
        .expect("live session");
    assert_eq!(
        (found.user, found.csrf_token.as_str(), found.expires_at),
        (user, "csrf-1", at(60))
    );
    // A deactivated user's session ends at once; reactivated, it is back.
    s.directory
        .set_user_active("aiko@example.com", false)
        .await
        .expect("deactivate");
    assert!(matches!(
        s.directory
            .find_session(&session.secret_sha256, at(59))
            .await,
        Err(StoreError::NotFound)
    ));
    s.directory
        .set_user_active("aiko@example.com", true)
        .await
        .expect("reactivate");
    assert!(
        s.directory
            .find_session(&session.secret_sha256, at(59))
            .await
            .is_ok()
    );
    assert!(matches!(
        s.directory
            .set_user_active("nobody@example.com", false)
            .await,
        Err(StoreError::NotFound)
    ));
    for (secret, now) in [
        (session.secret_sha256.as_str(), at(60)),
        ("d".repeat(64).as_str(), at(1)),
    ] {
        assert!(matches!(
            s.directory.find_session(secret, now).await,
            Err(StoreError::NotFound)
        ));
    }
    let ended = crate::NewSession {
        secret_sha256: "e".repeat(64),
        expires_at: at(600),
        ..session.clone()
    };
    s.directory.create_session(&ended).await.expect("create");
    s.directory
        .delete_session(&ended.secret_sha256)
        .await
        .expect("sign out");
    assert!(matches!(
        s.directory.find_session(&ended.secret_sha256, at(1)).await,
        Err(StoreError::NotFound)
    ));
    s.directory
        .delete_session(&ended.secret_sha256)
        .await
        .expect("signing out twice is no error");
    assert_eq!(s.directory.purge_sessions(at(60)).await.expect("purge"), 1);
    assert_eq!(s.directory.purge_sessions(at(60)).await.expect("purge"), 0);
}

async fn users_and_tokens(s: &Stores) {
    let staff = NewUser {
        email: "aiko@example.com".into(),
        name: "Aiko".into(),
        role: Role::Agent,
        partner: None,
        password_hash: "$argon2id$x".into(),
        created_at: t0(),
    };
    let created = s.directory.create_user(&staff).await.expect("create user");
    assert_eq!(
        (created.email.as_str(), created.role, created.active),
        ("aiko@example.com", Role::Agent, true)
    );
    assert!(
        matches!(
            s.directory.create_user(&staff).await,
            Err(StoreError::Conflict(_))
        ),
        "duplicate email"
    );
    let portal = NewUser {
        email: "desk@police.example".into(),
        role: Role::Partner,
        partner: Some("jp-police".into()),
        ..staff.clone()
    };
    s.directory
        .create_user(&portal)
        .await
        .expect("create partner user");
    let credentials = s
        .directory
        .user_credentials("aiko@example.com")
        .await
        .expect("credentials");
    assert_eq!(credentials.password_hash, "$argon2id$x");
    assert_eq!(credentials.user, created);
    assert_eq!(s.directory.list_users().await.expect("list users").len(), 2);
    assert!(matches!(
        s.directory.user_credentials("nobody@example.com").await,
        Err(StoreError::NotFound)
    ));

    let token = NewToken {
        name: "ci".into(),
        role: Role::Partner,
        partner: Some("jp-police".into()),
        prefix: "ombud_abc".into(),
        secret_sha256: "a".repeat(64),
        created_at: t0(),
    };
    let stored = s
        .directory
        .create_token(&token)
        .await
        .expect("create token");
    assert_eq!(
        s.directory
            .find_token(&"a".repeat(64))
            .await
            .expect("find token"),
        stored
    );
    assert_eq!(
        s.directory.list_tokens().await.expect("list tokens"),
        vec![stored.clone()]
    );
    s.directory
        .revoke_token(stored.id, at(5))
        .await
        .expect("revoke");
    assert!(
        matches!(
            s.directory.find_token(&"a".repeat(64)).await,
            Err(StoreError::NotFound)
        ),
        "a revoked token is not found"
    );
    assert_eq!(
        s.directory.list_tokens().await.expect("list")[0].revoked_at,
        Some(at(5))
    );
}

struct Sample {
    partner: &'static str,
    escalation_type: &'static str,
    title: &'static str,
    description: &'static str,
    country: &'static str,
    language: &'static str,
    priority: &'static str,
    tags: &'static [&'static str],
    subject_url: &'static str,
}

const SAMPLES: &[Sample] = &[
    Sample {
        partner: "jp-police",
        escalation_type: "account_access",
        title: "アカウント乗っ取りの報告",
        description: "パスワードが変更されました",
        country: "JP",
        language: "ja",
        priority: "P1",
        tags: &["vip"],
        subject_url: "https://social.example/taro",
    },
    Sample {
        partner: "jp-police",
        escalation_type: "scams_fraud",
        title: "投資詐欺広告の停止要請",
        description: "有名人の写真を無断使用",
        country: "JP",
        language: "ja",
        priority: "P0",
        tags: &["press", "vip"],
        subject_url: "https://ads.example/ad/991",
    },
    Sample {
        partner: "th-ministry",
        escalation_type: "government_order",
        title: "คำสั่งให้ลบเนื้อหา",
        description: "บัญชีถูกแฮ็กและมีการเปลี่ยนอีเมล",
        country: "TH",
        language: "th",
        priority: "P1",
        tags: &[],
        subject_url: "https://social.example/somchai",
    },
    Sample {
        partner: "kr-court",
        escalation_type: "court_order",
        title: "법원 명령에 따른 게시물 삭제",
        description: "명예훼손 게시물",
        country: "KR",
        language: "ko",
        priority: "P2",
        tags: &["press"],
        subject_url: "https://social.example/p/123",
    },
    Sample {
        partner: "brand-agency",
        escalation_type: "ip_notice",
        title: "Counterfeit sneakers listing",
        description: "Fake trademark on a marketplace listing",
        country: "US",
        language: "en",
        priority: "P3",
        tags: &[],
        subject_url: "https://market.example/item/55",
    },
    Sample {
        partner: "brand-agency",
        escalation_type: "scams_fraud",
        title: "Celebrity crypto scam ad",
        description: "停止 requested by the talent agency",
        country: "SG",
        language: "en",
        priority: "P2",
        tags: &["vip"],
        subject_url: "https://ads.example/ad/12",
    },
];

fn draft(sample: &Sample) -> ombud_domain::EscalationDraft {
    NewEscalation {
        escalation_type: sample.escalation_type.into(),
        title: sample.title.into(),
        description: sample.description.into(),
        partner: Some(sample.partner.into()),
        country: sample.country.into(),
        language: sample.language.into(),
        priority: Some(sample.priority.into()),
        tags: sample.tags.iter().map(|t| t.to_string()).collect(),
        subjects: vec![NewSubject {
            kind: SubjectKind::Post,
            surface: "social".into(),
            external_id: None,
            url: Some(sample.subject_url.into()),
        }],
        ..Default::default()
    }
    .validate(sample.partner, "api", t0())
    .expect("valid sample")
}

async fn escalations_get_sequential_keys(s: &Stores) -> Vec<EscalationKey> {
    let mut keys = Vec::new();
    for (i, sample) in SAMPLES.iter().enumerate() {
        let created = s
            .escalations
            .create(draft(sample), &agent(), at(i as i64 * 10))
            .await
            .expect("create escalation");
        assert_eq!(
            created.key,
            EscalationKey(i as i64 + 1),
            "keys are sequential from ESC-1"
        );
        assert_eq!((created.version, created.status), (1, Status::New));
        assert_eq!(
            s.escalations
                .get(created.key, &Scope::Staff)
                .await
                .expect("get"),
            created,
            "get returns what create returned"
        );
        let timeline = s
            .escalations
            .timeline(created.key, &Scope::Staff)
            .await
            .expect("timeline");
        assert_eq!(timeline.len(), 1);
        assert_eq!(
            (timeline[0].seq, timeline[0].kind, timeline[0].at),
            (1, EventKind::Created, at(i as i64 * 10))
        );
        keys.push(created.key);
    }
    assert!(matches!(
        s.escalations.get(EscalationKey(999), &Scope::Staff).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.escalations
            .timeline(EscalationKey(999), &Scope::Staff)
            .await,
        Err(StoreError::NotFound)
    ));
    keys
}

async fn updates_are_optimistic_and_recorded(s: &Stores, key: EscalationKey) {
    let e = s.escalations.get(key, &Scope::Staff).await.expect("get");
    let patch = EscalationPatch {
        priority: Some("P0".into()),
        assignee: Some(Some("aiko@example.com".into())),
        queue: Some(Some("apac-ja".into())),
        ..Default::default()
    };
    let (e1, events) = e.apply_patch(&patch, &agent(), at(100)).expect("patch");
    s.escalations
        .save(&e1, 1, &events)
        .await
        .expect("save patch");
    let (e2, ev) = e1
        .transition(Status::Investigating, None, &agent(), at(101))
        .expect("transition");
    s.escalations
        .save(&e2, e1.version, &[ev])
        .await
        .expect("save transition");
    let (e3, ev) = e2
        .comment(
            "内部メモ: ログイン履歴を確認 secret-internal-note",
            Visibility::Internal,
            &agent(),
            at(102),
        )
        .expect("comment");
    s.escalations
        .save(&e3, e2.version, &[ev])
        .await
        .expect("save internal comment");
    let (e4, ev) = e3
        .comment(
            "ご連絡ありがとうございます",
            Visibility::Partner,
            &agent(),
            at(103),
        )
        .expect("comment");
    s.escalations
        .save(&e4, e3.version, &[ev])
        .await
        .expect("save partner comment");
    let subject = NewSubject {
        kind: SubjectKind::Account,
        surface: "social".into(),
        external_id: Some("@Taro_Fake".into()),
        url: None,
    };
    let (e5, ev) = e4
        .add_subject(&subject, &agent(), at(104))
        .expect("subject");
    s.escalations
        .save(&e5, e4.version, &[ev])
        .await
        .expect("save subject");
    let evidence = ombud_domain::Evidence {
        id: String::new(),
        sha256: crate::sha256_hex(b"png"),
        filename: "screen.png".into(),
        size: 3,
        declared_type: "image/png".into(),
        sniffed_type: Some("image/png".into()),
        sensitive: true,
        visibility: Visibility::Internal,
        uploaded_by: "token:1".into(),
        uploaded_at: at(105),
    };
    let (e6, ev) = e5.add_evidence(evidence, &agent(), at(105));
    s.escalations
        .save(&e6, e5.version, &[ev])
        .await
        .expect("save evidence");

    let stored = s.escalations.get(key, &Scope::Staff).await.expect("get");
    assert_eq!(stored, e6, "the state read back is the state saved");
    assert_eq!(stored.version, 7);
    let timeline = s
        .escalations
        .timeline(key, &Scope::Staff)
        .await
        .expect("timeline");
    let seqs: Vec<i64> = timeline.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=timeline.len() as i64).collect::<Vec<_>>(),
        "seqs are gap-free from 1"
    );
    let kinds: Vec<EventKind> = timeline.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Created,
            EventKind::FieldChanged,
            EventKind::FieldChanged,
            EventKind::Assigned,
            EventKind::StatusChanged,
            EventKind::CommentAdded,
            EventKind::CommentAdded,
            EventKind::SubjectAdded,
            EventKind::EvidenceAdded
        ],
        "events in the order they happened"
    );
    assert_eq!(
        timeline[5].data["body"],
        "内部メモ: ログイン履歴を確認 secret-internal-note"
    );
    assert_eq!(timeline[5].actor, agent());

    // A stale save changes neither state nor timeline.
    let (stale, ev) = e5
        .transition(Status::Resolved, None, &agent(), at(106))
        .expect("transition");
    match s.escalations.save(&stale, e5.version, &[ev]).await {
        Err(StoreError::VersionConflict {
            expected: 6,
            current: 7,
        }) => {}
        other => panic!("a stale save must be VersionConflict{{6, 7}}, got {other:?}"),
    }
    assert_eq!(
        s.escalations.get(key, &Scope::Staff).await.expect("get"),
        e6
    );
    assert_eq!(
        s.escalations
            .timeline(key, &Scope::Staff)
            .await
            .expect("timeline")
            .len(),
        timeline.len()
    );
    let missing = Escalation {
        key: EscalationKey(999),
        ..e6.clone()
    };
    assert!(matches!(
        s.escalations.save(&missing, 7, &[]).await,
        Err(StoreError::NotFound)
    ));
}

fn filter() -> EscalationFilter {
    EscalationFilter {
        limit: 50,
        ..Default::default()
    }
}

async fn keys_of(s: &Stores, f: &EscalationFilter, scope: &Scope) -> Vec<i64> {
    s.escalations
        .list(f, scope)
        .await
        .expect("list")
        .items
        .iter()
        .map(|e| e.key.0)
        .collect()
}

async fn lists_filter_sort_and_page(s: &Stores) {
    let staff = Scope::Staff;
    assert_eq!(
        keys_of(s, &filter(), &staff).await,
        [6, 5, 4, 3, 2, 1],
        "default: newest first"
    );
    let cases: Vec<(EscalationFilter, Vec<i64>)> = vec![
        (
            EscalationFilter {
                statuses: vec![Status::Investigating],
                ..filter()
            },
            vec![1],
        ),
        (
            EscalationFilter {
                statuses: vec![Status::New, Status::Investigating],
                ..filter()
            },
            vec![6, 5, 4, 3, 2, 1],
        ),
        (
            EscalationFilter {
                types: vec!["scams_fraud".into()],
                ..filter()
            },
            vec![6, 2],
        ),
        (
            EscalationFilter {
                priorities: vec![Priority::P0],
                ..filter()
            },
            vec![2, 1],
        ),
        (
            EscalationFilter {
                partners: vec!["brand-agency".into(), "kr-court".into()],
                ..filter()
            },
            vec![6, 5, 4],
        ),
        (
            EscalationFilter {
                assignee: Some(Some("aiko@example.com".into())),
                ..filter()
            },
            vec![1],
        ),
        (
            EscalationFilter {
                assignee: Some(None),
                ..filter()
            },
            vec![6, 5, 4, 3, 2],
        ),
        (
            EscalationFilter {
                queue: Some("apac-ja".into()),
                ..filter()
            },
            vec![1],
        ),
        (
            EscalationFilter {
                countries: vec!["TH".into(), "SG".into()],
                ..filter()
            },
            vec![6, 3],
        ),
        (
            EscalationFilter {
                languages: vec!["en".into()],
                ..filter()
            },
            vec![6, 5],
        ),
        (
            EscalationFilter {
                tags: vec!["vip".into()],
                ..filter()
            },
            vec![6, 2, 1],
        ),
        (
            EscalationFilter {
                tags: vec!["vip".into(), "press".into()],
                ..filter()
            },
            vec![2],
        ),
        (
            EscalationFilter {
                created_from: Some(at(20)),
                created_to: Some(at(40)),
                ..filter()
            },
            vec![4, 3],
        ),
        (
            EscalationFilter {
                updated_from: Some(at(100)),
                ..filter()
            },
            vec![1],
        ),
        (
            EscalationFilter {
                types: vec!["scams_fraud".into()],
                countries: vec!["JP".into()],
                ..filter()
            },
            vec![2],
        ),
    ];
    for (f, expected) in cases {
        assert_eq!(keys_of(s, &f, &staff).await, expected, "filter {f:?}");
    }
    let sorted = |sort, direction| EscalationFilter {
        sort,
        direction,
        ..filter()
    };
    assert_eq!(
        keys_of(s, &sorted(SortField::CreatedAt, SortDirection::Asc), &staff).await,
        [1, 2, 3, 4, 5, 6]
    );
    assert_eq!(
        keys_of(s, &sorted(SortField::Key, SortDirection::Desc), &staff).await,
        [6, 5, 4, 3, 2, 1]
    );
    assert_eq!(
        keys_of(
            s,
            &sorted(SortField::UpdatedAt, SortDirection::Desc),
            &staff
        )
        .await,
        [1, 6, 5, 4, 3, 2]
    );
    // Priority ranks: 1→P0, 2→P0, 3→P1, 4→P2, 6→P2, 5→P3; ties broken by key.
    assert_eq!(
        keys_of(s, &sorted(SortField::Priority, SortDirection::Asc), &staff).await,
        [1, 2, 3, 4, 6, 5]
    );
    assert_eq!(
        keys_of(s, &sorted(SortField::Priority, SortDirection::Desc), &staff).await,
        [5, 6, 4, 3, 2, 1]
    );

    for sort in [
        SortField::CreatedAt,
        SortField::Priority,
        SortField::UpdatedAt,
        SortField::Key,
    ] {
        for direction in [SortDirection::Asc, SortDirection::Desc] {
            let all = keys_of(s, &sorted(sort, direction), &staff).await;
            let mut walked = Vec::new();
            let mut f = EscalationFilter {
                limit: 4,
                ..sorted(sort, direction)
            };
            let mut pages = 0;
            loop {
                let page = s.escalations.list(&f, &staff).await.expect("page");
                walked.extend(page.items.iter().map(|e| e.key.0));
                pages += 1;
                match page.next {
                    Some(cursor) => f.cursor = Some(cursor),
                    None => break,
                }
                assert!(pages < 10, "pagination must end");
            }
            assert_eq!(
                walked, all,
                "walking pages of 4 ({sort:?} {direction:?}) visits each escalation once, in order"
            );
        }
    }
}

async fn search(s: &Stores, q: &str, scope: &Scope) -> Vec<i64> {
    let mut keys = keys_of(
        s,
        &EscalationFilter {
            q: Some(q.into()),
            ..filter()
        },
        scope,
    )
    .await;
    keys.sort_unstable();
    keys
}

async fn search_finds_text_in_every_script(s: &Stores) {
    let staff = Scope::Staff;
    let cases: &[(&str, &[i64])] = &[
        ("乗っ取り", &[1]),
        ("詐欺", &[2]),
        ("停止", &[2, 6]),
        ("แฮ็ก", &[3]),
        ("ลบเนื้อหา", &[3]),
        ("명예훼손", &[4]),
        ("COUNTERFEIT", &[5]),
        ("sneakers listing", &[5]),
        ("crypto celebrity", &[6]),
        ("market.example/item/55", &[5]),
        ("@taro_fake", &[1]),
        ("ログイン履歴", &[1]),
        ("secret-internal-note", &[1]),
        ("nothing-matches-this", &[]),
        ("%", &[]),
        ("_", &[1]), // only the literal underscore of @taro_fake, not a wildcard
        ("\"", &[]),
        ("* OR NEAR(", &[]),
        ("sneakers nothing-else", &[]),
    ];
    for (q, expected) in cases {
        assert_eq!(search(s, q, &staff).await, *expected, "search {q:?}");
    }
    let relevance = EscalationFilter {
        q: Some("example".into()),
        sort: SortField::Relevance,
        limit: 4,
        ..filter()
    };
    let first = s
        .escalations
        .list(&relevance, &staff)
        .await
        .expect("relevance page");
    assert_eq!(first.items.len(), 4);
    let Some(next @ Cursor::Offset(4)) = first.next else {
        panic!("relevance pages by offset, got {:?}", first.next)
    };
    let second = s
        .escalations
        .list(
            &EscalationFilter {
                cursor: Some(next),
                ..relevance.clone()
            },
            &staff,
        )
        .await
        .expect("page 2");
    let mut all: Vec<i64> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|e| e.key.0)
        .collect();
    all.sort_unstable();
    assert_eq!(
        all,
        [1, 2, 3, 4, 5, 6],
        "relevance pages cover every match once"
    );
    assert_eq!(second.next, None);
}

async fn partners_see_only_their_own(s: &Stores) {
    let police = Scope::Partner("jp-police".into());
    assert_eq!(keys_of(s, &filter(), &police).await, [2, 1]);
    assert!(s.escalations.get(EscalationKey(1), &police).await.is_ok());
    assert!(
        matches!(
            s.escalations.get(EscalationKey(3), &police).await,
            Err(StoreError::NotFound)
        ),
        "another partner's case is NotFound"
    );
    assert!(matches!(
        s.escalations.timeline(EscalationKey(3), &police).await,
        Err(StoreError::NotFound)
    ));
    let timeline = s
        .escalations
        .timeline(EscalationKey(1), &police)
        .await
        .expect("timeline");
    assert!(
        timeline.iter().all(|e| e.visibility == Visibility::Partner),
        "a partner sees only partner-visible events"
    );
    assert!(timeline.iter().any(|e| {
        e.data
            .get("body")
            .is_some_and(|b| b == "ご連絡ありがとうございます")
    }));
    assert!(
        !timeline
            .iter()
            .any(|e| e.data.to_string().contains("secret-internal-note")),
        "no internal note reaches a partner"
    );
    assert_eq!(
        search(s, "secret-internal-note", &police).await,
        Vec::<i64>::new(),
        "search never matches internal notes for partners"
    );
    assert_eq!(search(s, "ログイン履歴", &police).await, Vec::<i64>::new());
    assert_eq!(search(s, "詐欺", &police).await, [2]);
    assert_eq!(
        search(s, "counterfeit", &police).await,
        Vec::<i64>::new(),
        "nor other partners' cases"
    );
}

async fn reference_in_use_cannot_be_deleted(s: &Stores) {
    assert!(matches!(
        s.reference
            .delete(RefKind::EscalationType, "scams_fraud")
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.reference.delete(RefKind::Surface, "social").await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        matches!(
            s.directory.delete_partner("jp-police").await,
            Err(StoreError::Conflict(_))
        ),
        "a partner with escalations stays"
    );
    assert!(
        s.reference
            .get(RefKind::EscalationType, "scams_fraud")
            .await
            .is_ok()
    );
}

async fn idempotency_keys_replay_and_refuse(s: &Stores) {
    let i = &s.idempotency;
    assert_eq!(
        i.begin("token:1", "k1", "fp-a", at(0))
            .await
            .expect("begin"),
        IdempotencyBegin::Started
    );
    assert_eq!(
        i.begin("token:1", "k1", "fp-a", at(1))
            .await
            .expect("begin"),
        IdempotencyBegin::InProgress
    );
    let saved = SavedResponse {
        status: 201,
        headers: vec![("content-type".into(), "application/json".into())],
        body: "{\"key\":\"ESC-9\"}".into(),
    };
    i.complete("token:1", "k1", &saved).await.expect("complete");
    assert_eq!(
        i.begin("token:1", "k1", "fp-a", at(2))
            .await
            .expect("begin"),
        IdempotencyBegin::Replay(saved)
    );
    assert_eq!(
        i.begin("token:1", "k1", "fp-b", at(2))
            .await
            .expect("begin"),
        IdempotencyBegin::Mismatch
    );
    assert_eq!(
        i.begin("token:2", "k1", "fp-b", at(2))
            .await
            .expect("begin"),
        IdempotencyBegin::Started,
        "keys are per principal"
    );
    i.abandon("token:2", "k1").await.expect("abandon");
    assert_eq!(
        i.begin("token:2", "k1", "fp-c", at(3))
            .await
            .expect("begin"),
        IdempotencyBegin::Started,
        "abandoned keys start afresh"
    );
    assert_eq!(
        i.purge(at(3)).await.expect("purge"),
        1,
        "only keys reserved before the cut-off are purged"
    );
    assert_eq!(
        i.begin("token:1", "k1", "fp-z", at(4))
            .await
            .expect("begin"),
        IdempotencyBegin::Started
    );
}

async fn settings_are_versioned_documents(s: &Stores) {
    use crate::{Expect, SettingKind};
    let tokyo =
        serde_json::json!({"time_zone": "Asia/Tokyo", "weekly": {"monday": ["09:00-18:00"]}});
    for kind in SettingKind::ALL {
        assert!(s.settings.list(kind).await.expect("list").is_empty());
    }
    let created = s
        .settings
        .put(
            SettingKind::Calendar,
            "tokyo",
            &tokyo,
            Expect::Absent,
            at(1),
        )
        .await
        .expect("create");
    assert_eq!((created.version, created.updated_at), (1, at(1)));
    assert_eq!(
        s.settings
            .get(SettingKind::Calendar, "tokyo")
            .await
            .expect("get"),
        created
    );
    assert!(matches!(
        s.settings.put(SettingKind::Calendar, "tokyo", &tokyo, Expect::Absent, at(2)).await,
        Err(StoreError::Conflict(message)) if message.contains("tokyo")
    ));
    // The same code under another kind is another setting.
    assert!(matches!(
        s.settings.get(SettingKind::SlaPolicy, "tokyo").await,
        Err(StoreError::NotFound)
    ));
    let mut changed = tokyo.clone();
    changed["holidays"] = serde_json::json!(["2026-11-23"]);
    let replaced = s
        .settings
        .put(
            SettingKind::Calendar,
            "tokyo",
            &changed,
            Expect::Version(1),
            at(3),
        )
        .await
        .expect("replace at version 1");
    assert_eq!(replaced.version, 2);
    assert!(matches!(
        s.settings
            .put(
                SettingKind::Calendar,
                "tokyo",
                &tokyo,
                Expect::Version(1),
                at(4)
            )
            .await,
        Err(StoreError::VersionConflict {
            expected: 1,
            current: 2
        })
    ));
    assert_eq!(
        s.settings
            .get(SettingKind::Calendar, "tokyo")
            .await
            .expect("get")
            .body,
        changed,
        "a refused write changes nothing"
    );
    assert!(matches!(
        s.settings
            .put(
                SettingKind::Calendar,
                "osaka",
                &tokyo,
                Expect::Version(1),
                at(4)
            )
            .await,
        Err(StoreError::NotFound)
    ));
    s.settings
        .put(SettingKind::Calendar, "berlin", &tokyo, Expect::Any, at(5))
        .await
        .expect("upsert");
    let codes: Vec<String> = s
        .settings
        .list(SettingKind::Calendar)
        .await
        .expect("list")
        .into_iter()
        .map(|setting| setting.code)
        .collect();
    assert_eq!(codes, ["berlin", "tokyo"], "ordered by code");
    s.settings
        .delete(SettingKind::Calendar, "berlin")
        .await
        .expect("delete");
    assert!(matches!(
        s.settings.delete(SettingKind::Calendar, "berlin").await,
        Err(StoreError::NotFound)
    ));
}

/// Scheduled reports are claimed by replacing the version a node read
/// (`Expect::Absent` for the first send): among writers racing from the
/// same version, exactly one wins and every other is told it lost.
async fn racing_settings_writes_have_one_winner(s: &Stores) {
    use crate::{Expect, SettingKind};
    let kind = SettingKind::ReportRun;
    let race = |expect: Expect, minute: i64| {
        futures::future::join_all((0..8).map(move |node| {
            let body = serde_json::json!({"node": node, "minute": minute});
            async move {
                (
                    body.clone(),
                    s.settings
                        .put(kind, "weekly", &body, expect, at(minute))
                        .await,
                )
            }
        }))
    };
    let created = race(Expect::Absent, 1).await;
    let mut winner = None;
    for (body, result) in created {
        match result {
            Ok(stored) => {
                assert!(winner.is_none(), "two creates won");
                assert_eq!((stored.version, &stored.body), (1, &body));
                winner = Some(body);
            }
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("a losing create must be a Conflict, not {other:?}"),
        }
    }
    assert!(winner.is_some(), "one create won");
    for version in 1..=3 {
        let mut winner = None;
        for (body, result) in race(Expect::Version(version), version + 1).await {
            match result {
                Ok(stored) => {
                    assert!(winner.is_none(), "two writers won from version {version}");
                    assert_eq!(stored.version, version + 1);
                    winner = Some(body);
                }
                Err(StoreError::VersionConflict { expected, current }) => {
                    assert_eq!((expected, current), (version, version + 1));
                }
                Err(other) => panic!("a losing write must be a VersionConflict, not {other:?}"),
            }
        }
        let stored = s.settings.get(kind, "weekly").await.expect("get");
        assert_eq!(
            Some(stored.body),
            winner,
            "the winner's write is what is stored"
        );
    }
    s.settings.delete(kind, "weekly").await.expect("delete");
}

async fn blobs_round_trip(s: &Stores) {
    let bytes = Bytes::from_static("証拠 evidence".as_bytes());
    let sha = s.blobs.put(bytes.clone()).await.expect("put");
    assert_eq!(sha, crate::sha256_hex(&bytes));
    assert_eq!(s.blobs.put(bytes.clone()).await.expect("put again"), sha);
    assert_eq!(s.blobs.get(&sha).await.expect("get"), bytes);
    assert!(matches!(
        s.blobs.get(&"0".repeat(64)).await,
        Err(StoreError::NotFound)
    ));
}

async fn export_and_import_round_trip(primary: &Stores, secondary: &Stores) {
    let mut exported = Vec::new();
    let mut after = None;
    while let batch = primary
        .escalations
        .export_batch(after, 4)
        .await
        .expect("export")
        && let Some(last) = batch.last()
    {
        after = Some(last.escalation.key);
        exported.extend(batch);
    }
    assert_eq!(
        exported
            .iter()
            .map(|x| x.escalation.key.0)
            .collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
    for x in &exported {
        assert_eq!(
            x.events,
            primary
                .escalations
                .timeline(x.escalation.key, &Scope::Staff)
                .await
                .expect("timeline")
        );
    }
    for p in primary.directory.list_partners().await.expect("partners") {
        secondary
            .directory
            .create_partner(&p)
            .await
            .expect("copy partner");
    }
    let tokens = primary
        .directory
        .export_tokens()
        .await
        .expect("export tokens");
    assert_eq!(tokens.len(), 1);
    for (token, secret_sha256) in &tokens {
        secondary
            .directory
            .import_token(token, secret_sha256)
            .await
            .expect("import token");
    }
    assert_eq!(
        secondary
            .directory
            .export_tokens()
            .await
            .expect("export tokens"),
        tokens,
        "tokens travel with their ids, hashes and revocations"
    );
    let fresh = secondary
        .directory
        .create_token(&NewToken {
            name: "after import".into(),
            role: Role::Admin,
            partner: None,
            prefix: "ombud_new".into(),
            secret_sha256: "b".repeat(64),
            created_at: at(500),
        })
        .await
        .expect("create token after import");
    assert!(
        fresh.id > tokens[0].0.id,
        "token ids continue above the imported ones"
    );
    secondary
        .escalations
        .import(&exported)
        .await
        .expect("import");
    let mut again = Vec::new();
    let mut after = None;
    while let batch = secondary
        .escalations
        .export_batch(after, 100)
        .await
        .expect("export")
        && let Some(last) = batch.last()
    {
        after = Some(last.escalation.key);
        again.extend(batch);
    }
    assert_eq!(
        again, exported,
        "import then export gives back exactly what was exported"
    );
    assert!(
        matches!(
            secondary.escalations.import(&exported[..1]).await,
            Err(StoreError::Conflict(_))
        ),
        "importing an existing key is a Conflict"
    );
    assert_eq!(
        secondary
            .maintenance
            .escalation_count()
            .await
            .expect("count"),
        6,
        "a refused import writes nothing"
    );
    assert_eq!(
        search(secondary, "secret-internal-note", &Scope::Staff).await,
        [1],
        "imported comments are searchable"
    );
    let next = secondary
        .escalations
        .create(draft(&SAMPLES[0]), &agent(), at(500))
        .await
        .expect("create after import");
    assert_eq!(
        next.key,
        EscalationKey(7),
        "keys continue above the highest imported"
    );
}

async fn maintenance_answers(s: &Stores) {
    s.maintenance.ping().await.expect("ping");
    assert_eq!(s.maintenance.escalation_count().await.expect("count"), 6);
    assert!(["sqlite", "postgres"].contains(&s.maintenance.backend_name()));
    s.maintenance
        .refresh_statistics()
        .await
        .expect("refresh statistics");
}

/// A draft with one SLA clock: resolution in four hours from `t0()`,
/// warnings at 75 % (3:00) and 90 % (3:36), breach at 4:00.
fn draft_with_clock() -> ombud_domain::EscalationDraft {
    draft_received(t0())
}

/// A draft received at `received`, with one four-hour resolution clock.
fn draft_received(received: Timestamp) -> ombud_domain::EscalationDraft {
    use ombud_domain::deadlines::ClockBasis;
    use ombud_domain::sla::{ClockSettings, EscalationFacts, SlaPolicy, SlaTargets, start_clocks};
    let mut draft = draft(&SAMPLES[0]);
    let policy = SlaPolicy {
        code: "four-hours".into(),
        name: "Four hours".into(),
        partner: None,
        conditions: Default::default(),
        basis: ClockBasis::Calendar,
        calendar: None,
        targets: SlaTargets {
            resolution: Some("PT4H".into()),
            ..Default::default()
        },
        pause_while_awaiting_partner: true,
        warn_at_percent: vec![75, 90],
    };
    let facts = EscalationFacts {
        partner: "brand-agency",
        partner_kind: ombud_domain::PartnerKind::Advertiser,
        partner_tier: ombud_domain::Tier::parse("tier", 2).expect("tier"),
        escalation_type: "advertiser_commerce",
        priority: Priority::P2,
        country: "CH",
    };
    draft.received_at = received;
    draft.clocks = start_clocks(
        &facts,
        received,
        ClockSettings {
            policies: &[policy],
            calendars: &Default::default(),
            regulations: &[],
            regulation_settings: &Default::default(),
            forced_policy: None,
        },
    )
    .expect("clocks");
    draft
}

async fn clock_alerts_are_claimed_once_and_follow_the_clocks(s: &Stores) {
    let lease = SignedDuration::from_mins(5);
    let created = s
        .escalations
        .create(draft_with_clock(), &agent(), t0())
        .await
        .expect("create");
    let key = created.key;
    let claim = async |now: Timestamp| {
        s.escalations
            .claim_due_alerts(now, lease, 10)
            .await
            .expect("claim")
            .into_iter()
            .map(|a| (a.key, a.clock, a.percent, a.at))
            .collect::<Vec<_>>()
    };
    assert!(claim(at(179)).await.is_empty(), "nothing due before 75 %");
    // Two claimers at once: one gets the warning, the other nothing.
    let (first, second) = tokio::join!(claim(at(181)), claim(at(181)));
    let mut both = [first, second].concat();
    assert_eq!(both, [(key, 0, 75, at(180))], "claimed exactly once");
    assert!(claim(at(182)).await.is_empty(), "held for the lease");
    // The holder dies; after the lease another takes it.
    assert_eq!(claim(at(187)).await, [(key, 0, 75, at(180))]);
    // Raising it saves the escalation, which removes it.
    let current = s.escalations.get(key, &Scope::Staff).await.expect("get");
    let (raised, events) = current
        .raise_clock_alerts(&[(0, 75)], at(187))
        .expect("the warning is owed");
    s.escalations
        .save(&raised, current.version, &events)
        .await
        .expect("save");
    assert!(claim(at(200)).await.is_empty(), "raised once, gone");
    // Waiting on the partner pauses the clock: its alerts are withdrawn...
    let (triaged, e1) = raised
        .transition(Status::Triaged, None, &agent(), at(200))
        .expect("triage");
    let (waiting, e2) = triaged
        .transition(Status::AwaitingPartner, None, &agent(), at(200))
        .expect("wait");
    s.escalations
        .save(&waiting, raised.version, &[e1, e2])
        .await
        .expect("save");
    assert!(
        claim(at(600)).await.is_empty(),
        "a paused clock raises nothing"
    );
    // ...and rescheduled when it runs again: 40 minutes were left at 3:20.
    let (resumed, e3) = waiting
        .transition(Status::Investigating, None, &agent(), at(600))
        .expect("resume");
    s.escalations
        .save(&resumed, waiting.version, &[e3])
        .await
        .expect("save");
    both = claim(at(700)).await;
    both.sort();
    assert_eq!(both, [(key, 0, 90, at(616)), (key, 0, 100, at(640))]);
    let timeline = s
        .escalations
        .timeline(key, &Scope::Staff)
        .await
        .expect("timeline");
    assert!(timeline.iter().any(|e| e.kind == EventKind::ClockWarning));
    assert!(
        s.escalations
            .timeline(key, &Scope::Partner(created.partner.clone()))
            .await
            .expect("timeline")
            .iter()
            .all(|e| e.kind != EventKind::ClockWarning),
        "alerts are internal"
    );
}

async fn claim_next_takes_the_best_case_once(s: &Stores) {
    use crate::ClaimQuery;
    // (priority, language, received minutes after t0, sensitive)
    let cases = [
        (Priority::P2, "en", 0, false),
        (Priority::P1, "ja", 60, false),
        (Priority::P1, "ja", 30, false),
        (Priority::P0, "ja", 0, true),
        (Priority::P3, "ja", 0, false),
    ];
    let mut keys = Vec::new();
    for (priority, language, received, sensitive) in cases {
        let mut draft = draft_received(at(received));
        draft.queue = Some("claims".into());
        draft.priority = priority;
        draft.language = ombud_domain::Language::parse("language", language).expect("language");
        if sensitive {
            draft.risk_flags = vec![ombud_domain::RiskFlag::SensitiveMedia];
        }
        keys.push(
            s.escalations
                .create(draft, &agent(), at(200))
                .await
                .expect("create")
                .key,
        );
    }
    let assign_to = |agent_email: &'static str| -> crate::Assign {
        Box::new(move |current: &Escalation| {
            let patch = EscalationPatch {
                assignee: Some(Some(agent_email.into())),
                ..Default::default()
            };
            current
                .apply_patch(&patch, &agent(), at(300))
                .expect("assign")
        })
    };
    let japanese = ClaimQuery {
        queues: vec!["claims".into()],
        languages: vec!["ja".into()],
        ..Default::default()
    };
    // P1 before P3; of the two P1, the one due first; the sensitive P0 is
    // not for an agent without clearance; the English case not for a
    // Japanese-only agent.
    let crate::Claim::Assigned(first) = s
        .escalations
        .claim_next(&japanese, assign_to("dana@example.com"))
        .await
        .expect("claim")
    else {
        panic!("a case")
    };
    assert_eq!(first.key, keys[2]);
    assert_eq!(first.assignee.as_deref(), Some("dana@example.com"));
    let stored = s
        .escalations
        .get(first.key, &Scope::Staff)
        .await
        .expect("get");
    assert_eq!(stored, *first, "the claim is stored");
    assert_eq!(
        s.escalations
            .timeline(first.key, &Scope::Staff)
            .await
            .expect("timeline")
            .last()
            .map(|e| e.kind),
        Some(EventKind::Assigned)
    );
    // Many claims at once, cleared for everything: each case goes to one agent.
    let everything = ClaimQuery {
        queues: vec!["claims".into()],
        sensitive_media: true,
        ..Default::default()
    };
    let claim = || {
        s.escalations
            .claim_next(&everything, assign_to("ben@example.com"))
    };
    let (a, b, c, d, e, f) = tokio::join!(claim(), claim(), claim(), claim(), claim(), claim());
    let mut claimed: Vec<EscalationKey> = [a, b, c, d, e, f]
        .into_iter()
        .filter_map(|c| match c.expect("claim") {
            crate::Claim::Assigned(e) => Some(e.key),
            _ => None,
        })
        .collect();
    claimed.sort();
    let mut rest = vec![keys[0], keys[1], keys[3], keys[4]];
    rest.sort();
    assert_eq!(claimed, rest, "every remaining case once, none twice");
    assert_eq!(
        s.escalations
            .claim_next(&everything, assign_to("ben@example.com"))
            .await
            .expect("claim"),
        crate::Claim::NoneEligible
    );
    assert_eq!(s.escalations.held_open("ben@example.com").await.unwrap(), 4);
    assert_eq!(
        s.escalations.held_open("dana@example.com").await.unwrap(),
        1
    );
}

/// An agent with room for one more case, claiming twice at once, gets one.
async fn claims_stop_at_the_agents_capacity(s: &Stores) {
    use crate::{Claim, ClaimQuery};
    for minutes in [0, 1, 2] {
        let mut draft = draft_received(at(minutes));
        draft.queue = Some("capacity".into());
        s.escalations
            .create(draft, &agent(), at(200))
            .await
            .expect("create");
    }
    let query = ClaimQuery {
        agent: "chen@example.com".into(),
        capacity: Some(1),
        queues: vec!["capacity".into()],
        sensitive_media: true,
        ..Default::default()
    };
    let claim = || {
        s.escalations.claim_next(
            &query,
            Box::new(|current: &Escalation| {
                let patch = EscalationPatch {
                    assignee: Some(Some("chen@example.com".into())),
                    ..Default::default()
                };
                current
                    .apply_patch(&patch, &agent(), at(300))
                    .expect("assign")
            }),
        )
    };
    let (a, b) = tokio::join!(claim(), claim());
    let mut outcomes = [a.expect("claim"), b.expect("claim")];
    outcomes.sort_by_key(|c| matches!(c, Claim::AtCapacity { .. }));
    assert!(matches!(outcomes[0], Claim::Assigned(_)), "{outcomes:?}");
    assert_eq!(outcomes[1], Claim::AtCapacity { held: 1 });
    assert_eq!(
        s.escalations.held_open("chen@example.com").await.unwrap(),
        1
    );
}

/// A required consult asked of Legal, without a deadline.
fn legal_consult() -> ombud_domain::consult::NewConsult {
    ombud_domain::consult::NewConsult {
        function: "legal".into(),
        question: "Is the order valid?".into(),
        required: true,
        due_within: None,
    }
}

async fn consults_waiting_for_answers_are_listed(s: &Stores) {
    use ombud_domain::consult::Verdict;
    let waiting = EscalationFilter {
        awaiting_consult: true,
        sort: SortField::DueAt,
        direction: SortDirection::Asc,
        limit: 50,
        ..Default::default()
    };
    let before = keys_of(s, &waiting, &Scope::Staff).await;
    let created = s
        .escalations
        .create(draft_received(at(0)), &agent(), at(0))
        .await
        .expect("create");
    let (asked, event) = created
        .request_consult(&legal_consult(), &agent(), at(1))
        .unwrap();
    s.escalations
        .save(&asked, created.version, &[event])
        .await
        .expect("save");
    let listed = keys_of(s, &waiting, &Scope::Staff).await;
    assert!(listed.contains(&created.key.0), "{listed:?}");
    assert_eq!(listed.len(), before.len() + 1);
    let (answered, event) = asked
        .answer_consult(1, Verdict::Approve, "", &agent(), at(2))
        .unwrap();
    s.escalations
        .save(&answered, asked.version, &[event])
        .await
        .expect("save");
    assert_eq!(keys_of(s, &waiting, &Scope::Staff).await, before);
}

async fn events_reach_the_outbox_and_deliveries_retry(s: &Stores, imported: &Stores) {
    use crate::{Attempt, AttemptOutcome};
    let lease = SignedDuration::from_mins(1);
    let now = at(10_000);
    let entries = s
        .outbox
        .claim_entries(now, lease, 10_000)
        .await
        .expect("claim");
    assert!(entries.len() > 20, "every event written so far is queued");
    assert!(
        entries.windows(2).all(|w| w[0].id < w[1].id),
        "oldest first"
    );
    let first = &entries[0];
    let crate::OutboxSource::Event { key, seq } = first.source else {
        panic!("escalation events queue events: {first:?}");
    };
    let timeline = s
        .escalations
        .timeline(key, &Scope::Staff)
        .await
        .expect("timeline");
    let event = timeline
        .iter()
        .find(|e| e.seq == seq)
        .expect("the queued event exists");
    assert_eq!(event.kind.as_str(), first.kind);
    assert!(
        s.outbox
            .claim_entries(now, lease, 10)
            .await
            .expect("claim")
            .is_empty(),
        "held for the lease"
    );
    let queued: Vec<crate::OutboxSource> = imported
        .outbox
        .claim_entries(now, lease, 100)
        .await
        .expect("claim")
        .into_iter()
        .map(|e| e.source)
        .collect();
    assert_eq!(
        queued,
        [crate::OutboxSource::Event {
            key: EscalationKey(7),
            seq: 1
        }],
        "an import restores history and queues nothing; the create after it does"
    );

    let fan_outs: Vec<crate::FanOut> = entries
        .iter()
        .map(|entry| crate::FanOut {
            entry: entry.id,
            subscriptions: if entry == first {
                vec!["hook-a".to_string(), "hook-b".to_string()]
            } else {
                Vec::new()
            },
        })
        .collect();
    s.outbox.fan_out(&fan_outs, now).await.expect("fan out");
    s.outbox
        .fan_out(&fan_outs[..1], now)
        .await
        .expect("fan out again changes nothing");
    let due = s
        .outbox
        .claim_deliveries(now, lease, 10)
        .await
        .expect("deliveries");
    assert_eq!(due.len(), 2, "one delivery per subscription: {due:?}");
    assert!(due.iter().all(|d| d.entry == *first && d.attempts == 0));
    let a = due
        .iter()
        .find(|d| d.subscription == "hook-a")
        .expect("hook-a");
    let b = due
        .iter()
        .find(|d| d.subscription == "hook-b")
        .expect("hook-b");
    let failed = |outcome| Attempt {
        at: now,
        status: Some(500),
        error: Some("server error".into()),
        outcome,
    };
    s.outbox
        .record_attempt(a.id, &failed(AttemptOutcome::Retry(at(10_010))))
        .await
        .expect("record");
    s.outbox
        .record_attempt(
            b.id,
            &Attempt {
                at: now,
                status: Some(204),
                error: None,
                outcome: AttemptOutcome::Delivered,
            },
        )
        .await
        .expect("record");
    assert!(
        s.outbox
            .claim_deliveries(at(10_005), lease, 10)
            .await
            .expect("claim")
            .is_empty()
    );
    let retry = s
        .outbox
        .claim_deliveries(at(10_010), lease, 10)
        .await
        .expect("claim");
    assert_eq!((retry.len(), retry[0].id, retry[0].attempts), (1, a.id, 1));
    s.outbox
        .record_attempt(a.id, &failed(AttemptOutcome::GaveUp))
        .await
        .expect("record");
    assert!(
        s.outbox
            .claim_deliveries(at(99_999), lease, 10)
            .await
            .expect("claim")
            .is_empty()
    );
    let log = s.outbox.deliveries("hook-a", 10).await.expect("log");
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].state.as_str(), log[0].attempts, log[0].last_status),
        ("failed", 2, Some(500))
    );
    let log = s.outbox.deliveries("hook-b", 10).await.expect("log");
    assert_eq!(
        (log[0].state.as_str(), log[0].delivered_at),
        ("delivered", Some(now))
    );
    assert!(
        s.outbox
            .claim_entries(at(20_000), lease, 10)
            .await
            .expect("claim")
            .is_empty(),
        "fanned-out entries are done"
    );
}

async fn escalations_are_found_by_shared_subjects(s: &Stores) {
    let first = s
        .escalations
        .get(EscalationKey(1), &Scope::Staff)
        .await
        .expect("get");
    let subject = first.subjects[0].normalized_key.clone();
    let found = s
        .escalations
        .sharing_subjects(&[subject.clone(), "nothing:at-all".into()], 50)
        .await
        .expect("sharing");
    assert!(found.contains(&EscalationKey(1)), "{found:?}");
    assert!(found.windows(2).all(|w| w[0] > w[1]), "newest first");
    for key in &found {
        let e = s.escalations.get(*key, &Scope::Staff).await.expect("get");
        assert!(e.subjects.iter().any(|x| x.normalized_key == subject));
    }
    assert!(
        s.escalations
            .sharing_subjects(&[], 50)
            .await
            .expect("none")
            .is_empty()
    );
}

/// The database's overview agrees with counting every escalation by hand.
async fn the_overview_counts_what_the_lists_show(s: &Stores) {
    use std::collections::BTreeMap;
    let mut all = Vec::new();
    let mut filter = EscalationFilter {
        limit: 200,
        ..Default::default()
    };
    loop {
        let page = s
            .escalations
            .list(&filter, &Scope::Staff)
            .await
            .expect("list");
        all.extend(page.items);
        match page.next {
            Some(next) => filter.cursor = Some(next),
            None => break,
        }
    }
    let open = || all.iter().filter(|e| e.status.is_open());
    // `now` amid the open deadlines, so that both counts have cases.
    let mut due: Vec<Timestamp> = open().filter_map(|e| e.due_at()).collect();
    due.sort();
    assert!(
        due.len() >= 2,
        "the story has open escalations with deadlines"
    );
    let now = due[due.len() / 2];
    let soon = due[due.len() - 1] + SignedDuration::from_mins(1);
    // The start of the first day with intake: the overview counts whole UTC days.
    let first = all.iter().map(|e| e.created_at).min().expect("escalations");
    let since = first
        .to_zoned(jiff::tz::TimeZone::UTC)
        .start_of_day()
        .expect("a day")
        .timestamp();
    let mut backlog = BTreeMap::new();
    for e in open() {
        *backlog
            .entry((e.status.as_str(), e.priority))
            .or_insert(0_u64) += 1;
    }
    let breached = open()
        .filter(|e| e.due_at().is_some_and(|d| d < now))
        .count() as u64;
    let due_soon = open()
        .filter(|e| e.due_at().is_some_and(|d| d >= now && d < soon))
        .count() as u64;
    let mut intake = BTreeMap::new();
    for e in all.iter().filter(|e| e.created_at >= since) {
        let day = e.created_at.to_zoned(jiff::tz::TimeZone::UTC).date();
        *intake
            .entry((day, e.escalation_type.clone()))
            .or_insert(0_u64) += 1;
    }
    assert!(breached > 0 && due_soon > 0, "{breached} {due_soon}");
    let overview = s
        .escalations
        .overview(now, soon, since)
        .await
        .expect("overview");
    let stored: BTreeMap<_, _> = overview
        .backlog
        .iter()
        .map(|(status, priority, n)| ((status.as_str(), *priority), *n))
        .collect();
    assert_eq!(stored, backlog);
    assert_eq!((overview.breached, overview.due_soon), (breached, due_soon));
    let stored: BTreeMap<_, _> = overview
        .intake
        .iter()
        .map(|(day, kind, n)| ((*day, kind.clone()), *n))
        .collect();
    assert_eq!(stored, intake);
    assert!(
        overview.intake.windows(2).all(|w| w[0].0 <= w[1].0),
        "by day"
    );

    // The work lists' counts, whole and stopped at a cap.
    let agent = open()
        .find_map(|e| e.assignee.clone())
        .expect("the story has assigned open cases");
    let count = |keep: &dyn Fn(&Escalation) -> bool| open().filter(|e| keep(e)).count() as u64;
    let expected = crate::WorkCounts {
        mine: count(&|e| e.assignee.as_deref() == Some(agent.as_str())),
        unassigned: count(&|e| e.assignee.is_none()),
        breaching: count(&|e| e.due_at().is_some_and(|d| d < now)),
        awaiting_consult: count(&|e| e.open_consults() > 0),
        open: count(&|_| true),
    };
    assert!(
        expected.mine > 0 && expected.unassigned > 1 && expected.breaching > 1,
        "{expected:?}"
    );
    let counted = s
        .escalations
        .work_counts(&agent, now, 10_000)
        .await
        .expect("counts");
    assert_eq!(counted, expected);
    // A work list filtered by one value of a column and sorted by deadline
    // (read from that column's index on SQLite) holds exactly the open
    // cases with that value, nearest deadline first, no deadline last.
    let sample = open().next().expect("open cases").clone();
    let open_statuses: Vec<Status> = Status::ALL.into_iter().filter(|s| s.is_open()).collect();
    let by_due = |keep: &dyn Fn(&Escalation) -> bool| {
        let mut keys: Vec<(i64, i64)> = open()
            .filter(|e| keep(e))
            .map(|e| (e.due_at().map_or(i64::MAX, |d| d.as_microsecond()), e.key.0))
            .collect();
        keys.sort();
        keys.into_iter().map(|(_, key)| key).collect::<Vec<i64>>()
    };
    let filters = [
        EscalationFilter {
            countries: vec![sample.country.to_string()],
            ..Default::default()
        },
        EscalationFilter {
            priorities: vec![sample.priority],
            ..Default::default()
        },
        EscalationFilter {
            types: vec![sample.escalation_type.clone()],
            priorities: vec![sample.priority],
            ..Default::default()
        },
        EscalationFilter {
            queue: Some(sample.queue.clone().unwrap_or_else(|| "nowhere".into())),
            ..Default::default()
        },
    ];
    for filter in filters {
        let expected = by_due(&|e| {
            (filter.countries.is_empty() || filter.countries[0] == e.country.as_str())
                && (filter.priorities.is_empty() || filter.priorities[0] == e.priority)
                && (filter.types.is_empty() || filter.types[0] == e.escalation_type)
                && (filter.queue.is_none() || filter.queue == e.queue)
        });
        let filter = EscalationFilter {
            statuses: open_statuses.clone(),
            sort: SortField::DueAt,
            direction: SortDirection::Asc,
            limit: 200,
            ..filter
        };
        assert_eq!(
            keys_of(s, &filter, &Scope::Staff).await,
            expected,
            "{filter:?}"
        );
    }
    let capped = s
        .escalations
        .work_counts(&agent, now, 1)
        .await
        .expect("counts");
    let at_most_one = |n: u64| n.min(1);
    assert_eq!(
        capped,
        crate::WorkCounts {
            mine: at_most_one(expected.mine),
            unassigned: at_most_one(expected.unassigned),
            breaching: at_most_one(expected.breaching),
            awaiting_consult: at_most_one(expected.awaiting_consult),
            open: at_most_one(expected.open),
        }
    );
}

/// Every row of an analysts' query, or why it failed.
async fn analytics_rows(
    s: &Stores,
    sql: &str,
    limit: Option<u64>,
) -> Result<(Vec<String>, Vec<Vec<serde_json::Value>>), String> {
    use futures::TryStreamExt;
    let timeout = std::time::Duration::from_secs(5);
    let query = s
        .analytics
        .query(sql, limit, timeout)
        .await
        .map_err(|e| e.to_string())?;
    let rows = query.rows.try_collect().await.map_err(|e| e.to_string())?;
    Ok((query.columns, rows))
}

async fn analytics_reads_the_views_and_nothing_else(s: &Stores) {
    use crate::analytics::VIEWS;
    use ombud_domain::consult::Verdict;
    use ombud_domain::decision::{FixStatus, NewDecision, SubjectAction, UpstreamFix};
    use serde_json::json;

    // Every documented view answers with exactly its documented columns.
    for view in VIEWS {
        let (columns, _) = analytics_rows(s, &format!("SELECT * FROM {} LIMIT 1", view.name), None)
            .await
            .unwrap_or_else(|e| panic!("view {}: {e}", view.name));
        let documented: Vec<&str> = view.columns.iter().map(|c| c.name).collect();
        assert_eq!(columns, documented, "columns of view {}", view.name);
    }

    // One escalation with a consult and a decision, read back through the
    // views in the documented formats.
    let created = s
        .escalations
        .create(draft_received(at(0)), &agent(), at(0))
        .await
        .expect("create");
    let (asked, event) = created
        .request_consult(&legal_consult(), &agent(), at(1))
        .unwrap();
    s.escalations
        .save(&asked, created.version, &[event])
        .await
        .expect("save");
    let (answered, event) = asked
        .answer_consult(1, Verdict::Approve, "fine", &agent(), at(2))
        .unwrap();
    s.escalations
        .save(&answered, asked.version, &[event])
        .await
        .expect("save");
    let subject = answered.subjects[0].normalized_key.clone();
    let decision = NewDecision {
        outcome: "restricted".into(),
        policy: Some("counterfeit".into()),
        policy_version: Some("2026-03".into()),
        actions: vec![SubjectAction {
            subject: subject.clone(),
            action: "restricted".into(),
            countries: vec![
                ombud_domain::Country::parse("c", "DE").unwrap(),
                ombud_domain::Country::parse("c", "FR").unwrap(),
            ],
        }],
        root_cause: Some("automation_false_positive".into()),
        root_cause_note: "classifier v7".into(),
        owning_team: Some("integrity-ml".into()),
        upstream_fix: Some(UpstreamFix {
            url: "https://tracker.example/ML-1".into(),
            status: FixStatus::Shipped,
            owner: "ml-oncall".into(),
        }),
    }
    .validate(&[subject.as_str()], "Aiko", at(90))
    .expect("valid decision");
    let (decided, events) = answered.decide(decision, &agent(), at(90)).expect("decide");
    s.escalations
        .save(&decided, answered.version, &events)
        .await
        .expect("save");
    let key = decided.key.to_string();

    let one = |sql: String| async move {
        let (_, rows) = analytics_rows(s, &sql, None).await.expect("query");
        rows
    };
    assert_eq!(
        one(format!(
            "SELECT key, status, country, received_at, created_at, outcome, root_cause, decided_at, consults_open \
             FROM escalations WHERE key = '{key}'"
        ))
        .await,
        vec![vec![
            json!(key),
            json!("resolved"),
            json!("JP"),
            json!("2026-03-01T00:00:00Z"),
            json!("2026-03-01T00:00:00Z"),
            json!("restricted"),
            json!("automation_false_positive"),
            json!("2026-03-01T01:30:00Z"),
            json!(0),
        ]]
    );
    assert_eq!(
        one(format!(
            "SELECT outcome, policy, policy_version, root_cause, owning_team, fix_url, fix_status, fix_owner, decided_by \
             FROM decisions WHERE escalation_key = '{key}'"
        ))
        .await,
        vec![vec![
            json!("restricted"),
            json!("counterfeit"),
            json!("2026-03"),
            json!("automation_false_positive"),
            json!("integrity-ml"),
            json!("https://tracker.example/ML-1"),
            json!("shipped"),
            json!("ml-oncall"),
            json!("Aiko"),
        ]]
    );
    assert_eq!(
        one(format!(
            "SELECT subject, action, countries FROM decision_actions WHERE escalation_key = '{key}'"
        ))
        .await,
        vec![vec![json!(subject), json!("restricted"), json!("DE,FR")]]
    );
    assert_eq!(
        one(format!(
            "SELECT id, function, required, requested_at, verdict, answered_at FROM consults WHERE escalation_key = '{key}'"
        ))
        .await,
        vec![vec![
            json!(1),
            json!("legal"),
            json!(1),
            json!("2026-03-01T00:01:00Z"),
            json!("approve"),
            json!("2026-03-01T00:02:00Z"),
        ]]
    );
    assert_eq!(
        one(format!(
            "SELECT kind, source_kind, source_id, target, started_at FROM clocks \
             WHERE escalation_key = '{key}' AND source_kind = 'policy'"
        ))
        .await,
        vec![vec![
            json!("resolution"),
            json!("policy"),
            json!("four-hours"),
            json!("PT4H"),
            json!("2026-03-01T00:00:00Z"),
        ]]
    );
    let (_, events) = analytics_rows(
        s,
        &format!("SELECT seq, kind, at FROM events WHERE escalation_key = '{key}' ORDER BY seq"),
        None,
    )
    .await
    .expect("events");
    assert_eq!(
        events[0],
        vec![json!(1), json!("created"), json!("2026-03-01T00:00:00Z")]
    );
    assert!(
        events.iter().any(|e| e[1] == json!("decision_recorded")),
        "{events:?}"
    );

    // A limit stops reading; analysts' own SQL (joins, CTEs, aggregates) runs.
    let (_, limited) = analytics_rows(s, "SELECT key FROM escalations", Some(2))
        .await
        .unwrap();
    assert_eq!(limited.len(), 2);
    let (columns, counted) = analytics_rows(
        s,
        "WITH d AS (SELECT escalation_key FROM decisions) \
         SELECT count(*) AS decided FROM escalations e JOIN d ON d.escalation_key = e.key;",
        None,
    )
    .await
    .unwrap();
    assert_eq!(columns, vec!["decided"]);
    assert_eq!(counted, vec![vec![json!(1)]]);

    // Nothing else is reachable, nothing can be written, nothing runs forever.
    let (_, before) = analytics_rows(s, "SELECT count(*) FROM escalations", None)
        .await
        .unwrap();
    for escape in [
        "SELECT * FROM users",
        "SELECT password_hash FROM users",
        "SELECT password_hash FROM main.users",
        "SELECT password_hash FROM public.users",
        "SELECT secret_sha256 FROM tokens",
        "SELECT * FROM main.escalations",
        "SELECT * FROM public.escalations",
        "SELECT sql FROM sqlite_master",
        "SELECT rolpassword FROM pg_authid",
        "SELECT * FROM pragma_table_info('users')",
        "DELETE FROM escalations",
        "UPDATE escalations SET status = 'closed'",
        "INSERT INTO tags VALUES ('ESC-1', 'x')",
        "DROP VIEW escalations",
        "CREATE TABLE stolen AS SELECT 1",
        "PRAGMA table_info(users)",
        "ATTACH DATABASE 'elsewhere.db' AS elsewhere",
        "SELECT 1; DELETE FROM escalations",
        "WITH gone AS (DELETE FROM events RETURNING 1) SELECT * FROM gone",
        "SET ROLE postgres",
        "SELECT set_config('role', 'postgres', false)",
        "RESET ROLE",
        "BEGIN",
        "SELECT load_extension('libevil')",
        "SELECT x FROM (SELECT 1 AS x) q; SELECT * FROM users",
    ] {
        let result = analytics_rows(s, escape, None).await;
        assert!(
            result.is_err(),
            "{escape:?} must be refused, got {result:?}"
        );
    }
    let (_, after) = analytics_rows(s, "SELECT count(*) FROM escalations", None)
        .await
        .unwrap();
    assert_eq!(before, after);
    let (_, users) = analytics_rows(s, "SELECT count(*) FROM partners", None)
        .await
        .unwrap();
    assert!(users[0][0].as_i64().unwrap() > 0);

    let forever =
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n";
    let started = std::time::Instant::now();
    let timed_out = async {
        use futures::TryStreamExt;
        let query = s
            .analytics
            .query(forever, None, std::time::Duration::from_millis(300))
            .await?;
        query.rows.try_collect::<Vec<_>>().await
    }
    .await;
    match timed_out {
        Err(StoreError::Query(message)) => assert!(message.contains("longer than"), "{message}"),
        other => panic!("a runaway query must stop: {other:?}"),
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

/// The facts of every escalation that arrived in `[from, to)`, by key.
async fn facts_between(
    s: &Stores,
    filter: &crate::FactsFilter,
    from: Timestamp,
    to: Timestamp,
) -> Vec<ombud_domain::metrics::EscalationFacts> {
    let mut facts = s.metrics.arrived(filter, from, to).await.expect("facts");
    facts.sort_by_key(|f| f.key);
    facts
}

async fn metrics_facts_follow_every_write(s: &Stores, imported: &Stores) {
    use crate::FactsFilter;
    use ombud_domain::consult::Verdict;
    // A day of its own, after everything else here arrived.
    let day = t0() + SignedDuration::from_hours(24 * 400);
    let later = |minutes: i64| day + SignedDuration::from_mins(minutes);
    let everything = FactsFilter::default();
    let created = s
        .escalations
        .create(draft_received(day), &agent(), later(0))
        .await
        .expect("create");
    let facts = facts_between(s, &everything, day, later(60)).await;
    assert_eq!(facts.len(), 1);
    let first = &facts[0];
    assert_eq!(first.key, created.key.0);
    assert_eq!(first.arrived_at, day);
    assert_eq!(first.country, created.country.as_str());
    assert_eq!(first.escalation_type, created.escalation_type);
    assert!(first.open);
    assert_eq!(first.milestones, Default::default());

    // Acknowledged, consulted, resolved, reopened: each save moves them.
    let (triaged, event) = created
        .transition(Status::Triaged, None, &agent(), later(5))
        .expect("triage");
    s.escalations
        .save(&triaged, created.version, &[event])
        .await
        .expect("save");
    let (asked, event) = triaged
        .request_consult(&legal_consult(), &agent(), later(10))
        .expect("consult");
    s.escalations
        .save(&asked, triaged.version, &[event])
        .await
        .expect("save");
    let consults = s
        .metrics
        .consults(&everything, day, later(60))
        .await
        .expect("consults");
    assert_eq!(consults.len(), 1);
    assert_eq!(
        (consults[0].function.as_str(), consults[0].answered_at),
        ("legal", None)
    );
    let (answered, event) = asked
        .answer_consult(1, Verdict::Approve, "", &agent(), later(20))
        .expect("answer");
    s.escalations
        .save(&answered, asked.version, &[event])
        .await
        .expect("save");
    let (resolved, event) = answered
        .transition(Status::Resolved, None, &agent(), later(30))
        .expect("resolve");
    s.escalations
        .save(&resolved, answered.version, &[event])
        .await
        .expect("save");
    assert!(
        !s.metrics
            .open(&everything)
            .await
            .expect("open")
            .iter()
            .any(|f| f.key == created.key.0),
        "a resolved escalation is not open"
    );
    let (reopened, event) = resolved
        .transition(
            Status::Investigating,
            Some("new evidence"),
            &agent(),
            later(40),
        )
        .expect("reopen");
    s.escalations
        .save(&reopened, resolved.version, &[event])
        .await
        .expect("save");
    let facts = facts_between(s, &everything, day, later(60)).await;
    let milestones = &facts[0].milestones;
    assert_eq!(milestones.acknowledged_at, Some(later(5)));
    assert_eq!(milestones.resolved_at, Some(later(30)));
    assert_eq!(milestones.reopens, 1);
    assert!(facts[0].open);
    assert!(
        s.metrics
            .open(&everything)
            .await
            .expect("open")
            .iter()
            .any(|f| f.key == created.key.0)
    );
    let consults = s
        .metrics
        .consults(&everything, day, later(60))
        .await
        .expect("consults");
    assert_eq!(consults[0].answered_at, Some(later(20)));

    // Filters keep by each dimension's value; an empty list keeps none.
    let by_country = |countries: Vec<&str>| FactsFilter {
        countries: Some(countries.into_iter().map(String::from).collect()),
        ..Default::default()
    };
    assert_eq!(
        facts_between(
            s,
            &by_country(vec![created.country.as_str(), "DE"]),
            day,
            later(60)
        )
        .await
        .len(),
        1
    );
    assert!(
        facts_between(s, &by_country(vec!["DE"]), day, later(60))
            .await
            .is_empty()
    );
    assert!(
        facts_between(s, &by_country(vec![]), day, later(60))
            .await
            .is_empty()
    );
    assert!(
        s.metrics
            .consults(&by_country(vec!["DE"]), day, later(60))
            .await
            .expect("consults")
            .is_empty()
    );
    assert!(
        facts_between(s, &everything, later(1), later(60))
            .await
            .is_empty()
    );

    // A rebuild from state and timeline finds what the writes kept.
    let all = facts_between(s, &everything, Timestamp::MIN, Timestamp::MAX).await;
    s.metrics.replace_facts(&[], Some(0)).await.expect("reset");
    assert_eq!(s.metrics.facts_version().await.expect("version"), 0);
    let rebuilt = crate::metrics::rebuild_facts(s).await.expect("rebuild");
    assert_eq!(rebuilt as usize, all.len());
    assert_eq!(
        s.metrics.facts_version().await.expect("version"),
        ombud_domain::metrics::FACTS_VERSION
    );
    assert_eq!(
        facts_between(s, &everything, Timestamp::MIN, Timestamp::MAX).await,
        all
    );
    assert_eq!(
        crate::metrics::rebuild_facts(s).await.expect("no rebuild"),
        0
    );

    // Imported escalations arrive with their facts.
    let imported_facts = facts_between(imported, &everything, Timestamp::MIN, Timestamp::MAX).await;
    let mut after = None;
    let mut count = 0;
    while let batch = imported
        .escalations
        .export_batch(after, 100)
        .await
        .expect("export")
        && let Some(last) = batch.last()
    {
        after = Some(last.escalation.key);
        count += batch.len();
    }
    assert!(count > 0);
    assert_eq!(imported_facts.len(), count);
}

/// A draft of `sample` received at `received`, its one subject on
/// `surface` (none when `None`).
fn draft_on(
    sample: &Sample,
    received: Timestamp,
    surface: Option<&str>,
) -> ombud_domain::EscalationDraft {
    let mut draft = draft(sample);
    draft.received_at = received;
    match surface {
        Some(surface) => draft.subjects[0].surface = surface.into(),
        None => draft.subjects.clear(),
    }
    draft
}

async fn intake_is_counted_per_segment_by_arrival(s: &Stores) {
    use ombud_domain::decision::NewDecision;
    use ombud_domain::emerging::segments::IntakeCount;
    use ombud_domain::emerging::spikes::Granularity;

    // Received in June, when nothing else in the story was.
    let june =
        |rfc3339: &str| -> Timestamp { format!("2026-06-01T{rfc3339}Z").parse().expect("time") };
    let (takeover, scam) = (&SAMPLES[0], &SAMPLES[1]);
    let mut keys = Vec::new();
    for (sample, received, surface) in [
        (takeover, "09:59:59.999999", Some("social")),
        (takeover, "10:00:00", Some("social")),
        (takeover, "10:20:00", Some("social")),
        (takeover, "10:59:59.999999", Some("social")),
        (takeover, "10:30:00", Some("ads")),
        (scam, "10:40:00", None),
        (scam, "11:00:00", None),
        (takeover, "23:59:00", Some("social")),
    ] {
        let created = s
            .escalations
            .create(draft_on(sample, june(received), surface), &agent(), at(0))
            .await
            .expect("create");
        keys.push(created);
    }
    // A decision names the policy, and the counts follow it.
    let decided = &keys[2];
    let decision = NewDecision {
        outcome: "restricted".into(),
        policy: Some("impersonation".into()),
        ..Default::default()
    }
    .validate(&[] as &[&str], "Aiko", at(5))
    .expect("valid decision");
    let (next, events) = decided.decide(decision, &agent(), at(5)).expect("decide");
    s.escalations
        .save(&next, decided.version, &events)
        .await
        .expect("save");

    let count = |bucket: &str, sample: &Sample, surface: Option<&str>, policy: Option<&str>, n| {
        IntakeCount {
            bucket: june(bucket),
            escalation_type: sample.escalation_type.into(),
            surface: surface.map(String::from),
            country: sample.country.into(),
            policy: policy.map(String::from),
            count: n,
        }
    };
    let hours = s
        .escalations
        .intake_counts(Granularity::Hour, june("10:00:00"), june("12:00:00"))
        .await
        .expect("hourly counts");
    assert_eq!(
        hours,
        [
            count("10:00:00", takeover, Some("ads"), None, 1),
            count("10:00:00", takeover, Some("social"), None, 2),
            count(
                "10:00:00",
                takeover,
                Some("social"),
                Some("impersonation"),
                1
            ),
            count("10:00:00", scam, None, None, 1),
            count("11:00:00", scam, None, None, 1),
        ],
        "by hour of arrival, from included to excluded, in segment order"
    );
    let days = s
        .escalations
        .intake_counts(
            Granularity::Day,
            june("00:00:00"),
            june("00:00:00") + SignedDuration::from_hours(24),
        )
        .await
        .expect("daily counts");
    assert_eq!(
        days,
        [
            count("00:00:00", takeover, Some("ads"), None, 1),
            count("00:00:00", takeover, Some("social"), None, 4),
            count(
                "00:00:00",
                takeover,
                Some("social"),
                Some("impersonation"),
                1
            ),
            count("00:00:00", scam, None, None, 2),
        ]
    );
    assert!(
        s.escalations
            .intake_counts(Granularity::Hour, june("12:00:00"), june("23:00:00"))
            .await
            .expect("counts")
            .is_empty()
    );

    // The list filters that name a segment's bucket find exactly its escalations.
    let listed = |filter: EscalationFilter| async move {
        let mut found = keys_of(s, &filter, &Scope::Staff).await;
        found.sort_unstable();
        found
    };
    let hour_of = |surfaces: Vec<Option<String>>, policies: Vec<Option<String>>| EscalationFilter {
        types: vec![takeover.escalation_type.into()],
        countries: vec![takeover.country.into()],
        surfaces,
        policies,
        received_from: Some(june("10:00:00")),
        received_to: Some(june("11:00:00")),
        ..filter()
    };
    let key = |i: usize| keys[i].key.0;
    assert_eq!(
        listed(hour_of(vec![Some("social".into())], Vec::new())).await,
        [key(1), key(2), key(3)]
    );
    assert_eq!(
        listed(hour_of(
            vec![Some("social".into())],
            vec![Some("impersonation".into())]
        ))
        .await,
        [key(2)]
    );
    assert_eq!(
        listed(hour_of(vec![Some("social".into())], vec![None])).await,
        [key(1), key(3)],
        "no policy means undecided"
    );
    assert_eq!(
        listed(EscalationFilter {
            surfaces: vec![None],
            received_from: Some(june("00:00:00")),
            ..filter()
        })
        .await,
        [key(5), key(6)],
        "no surface means no subjects"
    );
    assert_eq!(
        listed(hour_of(vec![Some("ads".into()), None], Vec::new())).await,
        [key(4)]
    );

    // The history begins with the earliest arrival of all.
    let mut all = filter();
    all.limit = 200;
    let mut earliest: Option<Timestamp> = None;
    loop {
        let page = s.escalations.list(&all, &Scope::Staff).await.expect("list");
        for e in &page.items {
            earliest = Some(earliest.map_or(e.received_at, |t| t.min(e.received_at)));
        }
        match page.next {
            Some(cursor) => all.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(
        s.escalations.first_received().await.expect("first"),
        earliest
    );
}

async fn spike_alerts_are_recorded_once_and_acknowledged(s: &Stores) {
    use crate::{NewSpikeAlert, OutboxSource, SpikeFilter};
    use ombud_domain::emerging::segments::Segment;
    use ombud_domain::emerging::spikes::Granularity;
    use ombud_domain::webhook::SPIKE_DETECTED;

    let bucket: Timestamp = "2026-06-01T10:00:00Z".parse().expect("time");
    let roll_up = Segment {
        escalation_type: "account_access".into(),
        surface: "social".into(),
        country: "JP".into(),
        policy: None,
    };
    let alert = NewSpikeAlert {
        segment: roll_up.clone(),
        granularity: Granularity::Hour,
        bucket,
        count: 12,
        baseline: 3.0,
        spread: 1.7320508075688772,
        score: 5.196152422706632,
        samples: 8,
        created_at: at(100),
    };
    let first = s.spikes.record(&alert).await.expect("record").expect("new");
    assert_eq!(
        (first.alert.clone(), first.acknowledged.clone()),
        (alert.clone(), None)
    );
    let again = NewSpikeAlert {
        count: 13,
        created_at: at(101),
        ..alert.clone()
    };
    assert_eq!(
        s.spikes.record(&again).await.expect("record"),
        None,
        "one alert per segment, granularity and bucket: the second evaluation claims nothing"
    );
    let policy = s
        .spikes
        .record(&NewSpikeAlert {
            segment: Segment {
                policy: Some("impersonation".into()),
                ..roll_up.clone()
            },
            ..alert.clone()
        })
        .await
        .expect("record")
        .expect("a policy's segment is another segment");
    let daily = s
        .spikes
        .record(&NewSpikeAlert {
            granularity: Granularity::Day,
            bucket: "2026-06-01T00:00:00Z".parse().expect("time"),
            segment: Segment {
                country: "TH".into(),
                ..roll_up.clone()
            },
            ..alert.clone()
        })
        .await
        .expect("record")
        .expect("another granularity");
    assert_eq!(s.spikes.get(first.id).await.expect("get"), first);
    assert!(matches!(
        s.spikes.get(999_999).await,
        Err(StoreError::NotFound)
    ));

    let ids = |alerts: Vec<crate::SpikeAlert>| alerts.into_iter().map(|a| a.id).collect::<Vec<_>>();
    let everything = SpikeFilter {
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        ids(s.spikes.list(&everything).await.expect("list")),
        [policy.id, first.id, daily.id],
        "newest bucket first, then newest id"
    );
    let page = s
        .spikes
        .list(&SpikeFilter {
            limit: 1,
            after: Some((bucket, policy.id)),
            ..everything.clone()
        })
        .await
        .expect("list");
    assert_eq!(ids(page), [first.id]);
    for (filter, expected) in [
        (
            SpikeFilter {
                granularity: Some(Granularity::Day),
                ..everything.clone()
            },
            vec![daily.id],
        ),
        (
            SpikeFilter {
                countries: vec!["JP".into()],
                types: vec!["account_access".into()],
                ..everything.clone()
            },
            vec![policy.id, first.id],
        ),
        (
            SpikeFilter {
                bucket_from: Some(bucket),
                bucket_to: Some(bucket + SignedDuration::from_hours(1)),
                ..everything.clone()
            },
            vec![policy.id, first.id],
        ),
    ] {
        assert_eq!(
            ids(s.spikes.list(&filter).await.expect("list")),
            expected,
            "{filter:?}"
        );
    }

    assert_eq!(s.spikes.unacknowledged().await.expect("count"), 3);
    let acknowledged = s
        .spikes
        .acknowledge(first.id, &agent(), at(200))
        .await
        .expect("acknowledge");
    let by = acknowledged.acknowledged.clone().expect("acknowledged");
    assert_eq!((by.actor, by.at), (agent(), at(200)));
    let later = Actor {
        id: "user:9".into(),
        name: "Somchai".into(),
        role: Some(Role::Manager),
    };
    assert_eq!(
        s.spikes
            .acknowledge(first.id, &later, at(300))
            .await
            .expect("again"),
        acknowledged,
        "the first acknowledgement stands"
    );
    assert!(matches!(
        s.spikes.acknowledge(999_999, &later, at(300)).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.spikes.unacknowledged().await.expect("count"), 2);
    for (acknowledged, expected) in [(true, vec![first.id]), (false, vec![policy.id, daily.id])] {
        let filter = SpikeFilter {
            acknowledged: Some(acknowledged),
            ..everything.clone()
        };
        assert_eq!(ids(s.spikes.list(&filter).await.expect("list")), expected);
    }

    // Each recorded alert, and only those, queued one webhook event naming it.
    let entries = s
        .outbox
        .claim_entries(at(1_000_000), SignedDuration::from_mins(1), 10_000)
        .await
        .expect("claim");
    let spikes: Vec<_> = entries
        .iter()
        .filter(|e| matches!(e.source, OutboxSource::SpikeAlert(_)))
        .collect();
    assert_eq!(
        spikes
            .iter()
            .map(|e| (e.source, e.kind.as_str()))
            .collect::<Vec<_>>(),
        [first.id, policy.id, daily.id].map(|id| (OutboxSource::SpikeAlert(id), SPIKE_DETECTED))
    );
    let fan_out = crate::FanOut {
        entry: spikes[0].id,
        subscriptions: vec!["hook-spikes".into()],
    };
    s.outbox
        .fan_out(&[fan_out], at(1_000_000))
        .await
        .expect("fan out");
    let due = s
        .outbox
        .claim_deliveries(at(1_000_000), SignedDuration::from_mins(1), 10)
        .await
        .expect("deliveries");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].entry, *spikes[0]);
    let log = s.outbox.deliveries("hook-spikes", 10).await.expect("log");
    assert_eq!(log[0].entry.source, OutboxSource::SpikeAlert(first.id));
}
