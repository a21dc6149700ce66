//! Store-level scale check without HTTP: fills a SQLite store with synthetic
//! escalations through `import` (as the demo seeder does) and prints the
//! latency percentiles of get, filtered first pages, search and the intake
//! counts of a spike evaluation.
//!
//! `cargo run --release -p ombud-store-sqlite --example scale -- DIR [COUNT]`
//! (COUNT defaults to 1,000,000; an already filled DIR is measured as is).

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use ombud_domain::emerging::spikes::Granularity;
use ombud_domain::{
    Actor, EscalationKey, EventKind, NewEscalation, NewPartner, NewSubject, Priority, Role, Status,
    StoredEvent, SubjectKind, Visibility,
};
use ombud_store::{EscalationFilter, ExportedEscalation, Scope, SortField, Stores};
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;

/// (language, country, title, description, comment) per locale.
const LOCALES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "ja",
        "JP",
        "アカウント乗っ取りの報告",
        "ログイン履歴に不審なアクセスがあり、詐欺の投稿が続いています。",
        "警察から追加の資料が届きました。停止を求めています。",
    ),
    (
        "ko",
        "KR",
        "계정 도용 신고",
        "명예훼손 게시물이 계속 올라오고 있습니다. 법원 명령 첨부.",
        "파트너에게 추가 자료를 요청했습니다.",
    ),
    (
        "zh",
        "TW",
        "帳號被盜用的投訴",
        "詐騙廣告冒用名人照片，要求立即停止。",
        "已聯絡廣告主，等待回覆。",
    ),
    (
        "th",
        "TH",
        "คำสั่งให้ลบเนื้อหา",
        "บัญชีถูกแฮ็กและมีการเปลี่ยนอีเมล",
        "ได้รับเอกสารเพิ่มเติมจากหน่วยงาน",
    ),
    (
        "hi",
        "IN",
        "खाता हैक होने की शिकायत",
        "फर्जी प्रोफ़ाइल से लोगों से पैसे माँगे जा रहे हैं।",
        "साझेदार से अतिरिक्त जानकारी माँगी गई।",
    ),
    (
        "id",
        "ID",
        "Laporan akun diretas",
        "Akun resmi kementerian diambil alih dan menyebarkan hoaks.",
        "Mitra mengirim tangkapan layar tambahan.",
    ),
    (
        "vi",
        "VN",
        "Báo cáo tài khoản giả mạo",
        "Trang giả mạo sử dụng logo của cơ quan nhà nước.",
        "Đã yêu cầu thêm bằng chứng từ đối tác.",
    ),
    (
        "en",
        "SG",
        "Celebrity crypto scam ad",
        "Ads use a celebrity's photos to sell a fake investment scheme.",
        "Escalated to the ads integrity team for review.",
    ),
];

const TYPES: &[&str] = &[
    "government_order",
    "court_order",
    "law_enforcement_request",
    "ip_notice",
    "privacy_defamation",
    "scams_fraud",
    "account_access",
    "impersonation",
];
const TAGS: &[&str] = &[
    "vip",
    "coordinated",
    "repeat-reporter",
    "media-inquiry",
    "election",
    "minor-involved",
];
const PARTNERS_PER_LOCALE: usize = 4;
const ASSIGNEES: usize = 40;
const QUEUES: &[&str] = &["apac", "emea", "americas", "legal", "ads", "child-safety"];

fn partner_slug(locale: usize, n: usize) -> String {
    format!("{}-partner-{n}", LOCALES[locale].0)
}

async fn create_partners(stores: &Stores, at: Timestamp) {
    for (locale, (language, country, ..)) in LOCALES.iter().enumerate() {
        for n in 0..PARTNERS_PER_LOCALE {
            let partner = NewPartner {
                slug: partner_slug(locale, n),
                name: format!("Partner {n} ({country})"),
                kind: "government".into(),
                tier: 1 + (n as i64 % 3),
                country: (*country).into(),
                language: (*language).into(),
                contacts: vec![],
                allowed_types: vec![],
            }
            .validate(at)
            .expect("valid partner");
            stores
                .directory
                .create_partner(&partner)
                .await
                .expect("create partner");
        }
    }
}

fn event(
    key: EscalationKey,
    seq: i64,
    kind: EventKind,
    visibility: Visibility,
    at: Timestamp,
    data: serde_json::Value,
) -> StoredEvent {
    StoredEvent {
        escalation: key,
        seq,
        kind,
        visibility,
        actor: Actor {
            id: format!("user:{}", seq % 7),
            name: "Agent".into(),
            role: Some(Role::Agent),
        },
        at,
        data,
    }
}

/// One escalation about ten events long, created within the year before `now`.
fn build(rng: &mut SmallRng, key: EscalationKey, now: Timestamp) -> ExportedEscalation {
    let locale = rng.random_range(0..LOCALES.len());
    let (language, country, title, description, comment) = LOCALES[locale];
    let partner = partner_slug(locale, rng.random_range(0..PARTNERS_PER_LOCALE));
    let handle = format!("user{}", rng.random_range(0..200_000));
    let created = now - SignedDuration::from_secs(rng.random_range(60..365 * 86_400));
    let tag_count = rng.random_range(0..3);
    let draft = NewEscalation {
        escalation_type: (*TYPES.choose(rng).expect("non-empty")).into(),
        title: format!("{title} @{handle}"),
        description: description.into(),
        partner: Some(partner.clone()),
        country: country.into(),
        language: language.into(),
        priority: Some(Priority::ALL[rng.random_range(0..5)].as_str().into()),
        tags: TAGS
            .choose_multiple(rng, tag_count)
            .map(|t| t.to_string())
            .collect(),
        subjects: vec![NewSubject {
            kind: SubjectKind::Account,
            surface: "social".into(),
            external_id: Some(format!("@{handle}")),
            url: Some(format!("https://social.example/{handle}")),
        }],
        ..Default::default()
    }
    .validate(&partner, "api", created)
    .expect("valid escalation");
    let actor = Actor::system();
    let (mut escalation, created_event) = draft.into_escalation(key, &actor, created);
    let mut events = vec![event(
        key,
        1,
        created_event.kind,
        created_event.visibility,
        created,
        created_event.data,
    )];
    let mut at = created;
    let mut next = |rng: &mut SmallRng, events: &mut Vec<StoredEvent>, kind, visibility, data| {
        at += SignedDuration::from_mins(rng.random_range(5..600));
        let seq = events.len() as i64 + 1;
        events.push(event(key, seq, kind, visibility, at, data));
        at
    };
    let assignee = format!("agent{}@ombud.example", rng.random_range(0..ASSIGNEES));
    next(
        rng,
        &mut events,
        EventKind::Assigned,
        Visibility::Internal,
        json!({"from": null, "to": assignee}),
    );
    escalation.assignee = rng.random_bool(0.8).then_some(assignee);
    escalation.queue = rng
        .random_bool(0.9)
        .then(|| (*QUEUES.choose(rng).expect("non-empty")).into());
    let steps = rng.random_range(0..Status::ALL.len());
    for status in &Status::ALL[1..=steps] {
        next(
            rng,
            &mut events,
            EventKind::StatusChanged,
            Visibility::Partner,
            json!({"from": "", "to": status.as_str()}),
        );
    }
    escalation.status = Status::ALL[steps];
    for visibility in [Visibility::Internal, Visibility::Partner] {
        if rng.random_bool(0.7) {
            let number = rng.random_range(0..1_000_000);
            next(
                rng,
                &mut events,
                EventKind::CommentAdded,
                visibility,
                json!({"body": format!("{comment} #{number}")}),
            );
        }
    }
    escalation.updated_at = next(
        rng,
        &mut events,
        EventKind::FieldChanged,
        Visibility::Internal,
        json!({"field": "priority", "from": "P3", "to": escalation.priority.as_str()}),
    );
    escalation.version = events.len() as i64;
    ExportedEscalation { escalation, events }
}

async fn seed(stores: &Stores, count: i64, now: Timestamp) {
    create_partners(stores, now).await;
    let mut rng = SmallRng::seed_from_u64(7);
    let started = Instant::now();
    let mut events = 0;
    let mut batch = Vec::with_capacity(1000);
    for n in 1..=count {
        batch.push(build(&mut rng, EscalationKey(n), now));
        if batch.len() == 1000 || n == count {
            events += batch.iter().map(|e| e.events.len()).sum::<usize>();
            stores.escalations.import(&batch).await.expect("import");
            batch.clear();
            if n % 100_000 == 0 || n == count {
                let secs = started.elapsed().as_secs_f64();
                eprintln!(
                    "{n} escalations, {events} events in {secs:.0} s ({:.0} escalations/s)",
                    n as f64 / secs
                );
            }
        }
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `filters` one after another and prints p50 / p99 / max and the mean page size.
async fn measure(stores: &Stores, label: &str, filters: Vec<EscalationFilter>) {
    let mut times = Vec::with_capacity(filters.len());
    let mut found = 0;
    for filter in &filters {
        let started = Instant::now();
        let page = stores
            .escalations
            .list(filter, &Scope::Staff)
            .await
            .expect("list");
        times.push(started.elapsed());
        found += page.items.len();
    }
    report(label, times, found as f64 / filters.len() as f64);
}

fn report(label: &str, mut times: Vec<Duration>, mean_items: f64) {
    times.sort();
    let at = |p: f64| millis(times[((times.len() - 1) as f64 * p).round() as usize]);
    println!(
        "| {label} | {:.2} | {:.2} | {:.2} | {mean_items:.1} |",
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

fn first_page() -> EscalationFilter {
    EscalationFilter {
        limit: 50,
        ..Default::default()
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: scale DIR [COUNT]");
    let count: i64 = args.next().map_or(1_000_000, |c| c.parse().expect("COUNT"));
    let now = Timestamp::from_second(1_790_000_000).expect("valid time");
    let stores = ombud_store_sqlite::open(dir.as_ref()).await.expect("open");
    if stores.maintenance.escalation_count().await.expect("count") == 0 {
        seed(&stores, count, now).await;
    }
    let count = stores.maintenance.escalation_count().await.expect("count");
    println!("{count} escalations\n");
    println!("| query | p50 ms | p99 ms | max ms | rows |");
    println!("| --- | --- | --- | --- | --- |");

    let mut rng = SmallRng::seed_from_u64(11);
    let mut times = Vec::new();
    for _ in 0..2000 {
        let key = EscalationKey(rng.random_range(1..=count));
        let started = Instant::now();
        stores
            .escalations
            .get(key, &Scope::Staff)
            .await
            .expect("get");
        times.push(started.elapsed());
    }
    report("get by key", times, 1.0);

    let samples = 200;
    let mut by = |make: &mut dyn FnMut(&mut SmallRng) -> EscalationFilter| {
        (0..samples).map(|_| make(&mut rng)).collect::<Vec<_>>()
    };
    let cases: Vec<(&str, Vec<EscalationFilter>)> = vec![
        ("no filter", by(&mut |_| first_page())),
        (
            "status",
            by(&mut |r| EscalationFilter {
                statuses: vec![*Status::ALL.choose(r).expect("non-empty")],
                ..first_page()
            }),
        ),
        (
            "partner",
            by(&mut |r| EscalationFilter {
                partners: vec![partner_slug(
                    r.random_range(0..LOCALES.len()),
                    r.random_range(0..PARTNERS_PER_LOCALE),
                )],
                ..first_page()
            }),
        ),
        (
            "type",
            by(&mut |r| EscalationFilter {
                types: vec![(*TYPES.choose(r).expect("non-empty")).into()],
                ..first_page()
            }),
        ),
        (
            "priority",
            by(&mut |r| EscalationFilter {
                priorities: vec![*Priority::ALL.choose(r).expect("non-empty")],
                ..first_page()
            }),
        ),
        (
            "assignee",
            by(&mut |r| EscalationFilter {
                assignee: Some(Some(format!(
                    "agent{}@ombud.example",
                    r.random_range(0..ASSIGNEES)
                ))),
                ..first_page()
            }),
        ),
        (
            "unassigned",
            by(&mut |_| EscalationFilter {
                assignee: Some(None),
                ..first_page()
            }),
        ),
        (
            "queue",
            by(&mut |r| EscalationFilter {
                queue: Some((*QUEUES.choose(r).expect("non-empty")).into()),
                ..first_page()
            }),
        ),
        (
            "country",
            by(&mut |r| EscalationFilter {
                countries: vec![LOCALES.choose(r).expect("non-empty").1.into()],
                ..first_page()
            }),
        ),
        (
            "language",
            by(&mut |r| EscalationFilter {
                languages: vec![LOCALES.choose(r).expect("non-empty").0.into()],
                ..first_page()
            }),
        ),
        (
            "tag",
            by(&mut |r| EscalationFilter {
                tags: vec![(*TAGS.choose(r).expect("non-empty")).into()],
                ..first_page()
            }),
        ),
        (
            "status + priority",
            by(&mut |r| EscalationFilter {
                statuses: vec![*Status::ALL.choose(r).expect("non-empty")],
                priorities: vec![*Priority::ALL.choose(r).expect("non-empty")],
                ..first_page()
            }),
        ),
        (
            "sorted by updated_at",
            by(&mut |_| EscalationFilter {
                sort: SortField::UpdatedAt,
                ..first_page()
            }),
        ),
        (
            "sorted by priority",
            by(&mut |_| EscalationFilter {
                sort: SortField::Priority,
                ..first_page()
            }),
        ),
    ];
    for (label, filters) in cases {
        measure(&stores, label, filters).await;
    }

    let search = |q: String, sort: SortField| EscalationFilter {
        q: Some(q),
        sort,
        limit: 20,
        ..Default::default()
    };
    let handles: Vec<_> = (0..samples)
        .map(|_| format!("@user{}", rng.random_range(0..200_000)))
        .collect();
    let comment_ids: Vec<_> = (0..samples)
        .map(|_| format!("#{}", rng.random_range(0..1_000_000)))
        .collect();
    let mut searches: Vec<(String, Vec<EscalationFilter>)> = vec![
        (
            "search a handle (selective)".into(),
            handles
                .iter()
                .map(|h| search(h.clone(), SortField::CreatedAt))
                .collect(),
        ),
        (
            "search a handle by relevance".into(),
            handles
                .iter()
                .map(|h| search(h.clone(), SortField::Relevance))
                .collect(),
        ),
        (
            "search a comment number (selective)".into(),
            comment_ids
                .iter()
                .map(|h| search(h.clone(), SortField::CreatedAt))
                .collect(),
        ),
    ];
    for q in [
        "乗っ取り",
        "詐欺",
        "停止",
        "도용",
        "帳號",
        "แฮ็ก",
        "हैक",
        "akun",
        "celebrity",
        "celebrity nothing-else",
    ] {
        for sort in [SortField::CreatedAt, SortField::Relevance] {
            searches.push((
                format!("search {q:?} ({sort:?})"),
                (0..20).map(|_| search(q.into(), sort)).collect(),
            ));
        }
    }
    for (label, filters) in searches {
        measure(&stores, &label, filters).await;
    }

    // A spike evaluation reads its bucket and the same slot of eight past
    // weeks: nine grouped counts over the arrival-time index.
    for granularity in Granularity::ALL {
        let width = SignedDuration::from_secs(granularity.seconds());
        let week = SignedDuration::from_hours(7 * 24);
        let mut times = Vec::with_capacity(samples);
        let mut rows = 0;
        for _ in 0..samples {
            let bucket = granularity
                .bucket_start(now - SignedDuration::from_hours(rng.random_range(24..300 * 24)));
            let started = Instant::now();
            for weeks in 0..=8 {
                let start = bucket - week * weeks;
                rows += stores
                    .escalations
                    .intake_counts(granularity, start, start + width)
                    .await
                    .expect("intake counts")
                    .len();
            }
            times.push(started.elapsed());
        }
        report(
            &format!("spike evaluation by {} (9 counts)", granularity.as_str()),
            times,
            rows as f64 / samples as f64,
        );
    }
}
