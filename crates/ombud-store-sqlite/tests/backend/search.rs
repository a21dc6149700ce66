//! Search finds substrings in every script, case-insensitively, through the
//! trigram index and through the row-by-row plan used for short and for very
//! common terms alike, and never shows a partner an internal comment.

use ombud_domain::{Actor, EscalationKey, Visibility};
use ombud_store::{
    Cursor, EscalationFilter, ExportedEscalation, Scope, SortDirection, SortField, Stores,
};

use crate::{PARTNER, comment, draft, minutes, numbered, open_with_partner};

async fn search(stores: &Stores, q: &str, scope: &Scope) -> Vec<i64> {
    let page = stores
        .escalations
        .list(
            &EscalationFilter {
                q: Some(q.into()),
                limit: 200,
                ..Default::default()
            },
            scope,
        )
        .await
        .unwrap();
    let mut keys: Vec<i64> = page.items.iter().map(|e| e.key.0).collect();
    keys.sort_unstable();
    keys
}

#[tokio::test]
async fn search_finds_words_in_japanese_chinese_korean_thai_hindi_and_english() {
    let dir = tempfile::tempdir().unwrap();
    let stores = open_with_partner(dir.path()).await;
    let texts = [
        (
            "アカウント乗っ取りの報告",
            "ログイン履歴に不審なアクセス。投稿の停止を求める。",
        ),
        ("帳號被盜用", "詐騙廣告，要求立即停止。案件編號 A-77"),
        ("계정 도용 신고", "명예훼손 게시물"),
        ("บัญชีถูกแฮ็ก", "ขอให้ลบเนื้อหา"),
        ("खाता हैक होने की शिकायत", "फर्जी प्रोफ़ाइल"),
        (
            "Celebrity Crypto SCAM ad",
            "Ads use a celebrity's photos. ÉTÉ campaign.",
        ),
    ];
    let mut created = Vec::new();
    for (title, description) in texts {
        created.push(
            stores
                .escalations
                .create(draft(title, description), &Actor::system(), minutes(0))
                .await
                .unwrap(),
        );
    }
    comment(
        &stores,
        &created[5],
        "internal: fraud-ring-42 behind it",
        Visibility::Internal,
    )
    .await;
    comment(
        &stores,
        &created[1],
        "已轉交法務 legal-handoff",
        Visibility::Partner,
    )
    .await;

    let staff = Scope::Staff;
    let cases: &[(&str, &[i64])] = &[
        ("乗っ取り", &[1]),
        ("停止", &[1, 2]),
        ("案件", &[2]),
        ("被盜", &[2]),
        ("법원", &[]),
        ("도용", &[3]),
        ("명예훼손", &[3]),
        ("แฮ็ก", &[4]),
        ("ลบเนื้อหา", &[4]),
        ("हैक", &[5]),
        ("प्रोफ़ाइल", &[5]),
        ("celebrity scam", &[6]),
        ("CRYPTO", &[6]),
        ("été", &[6]),
        ("ét", &[6]),
        ("fraud-ring-42", &[6]),
        ("legal-handoff", &[2]),
        ("已轉", &[2]),
        ("crypto 停止", &[]),
    ];
    for (q, expected) in cases {
        assert_eq!(search(&stores, q, &staff).await, *expected, "search {q:?}");
    }
    let partner = Scope::Partner(PARTNER.into());
    assert_eq!(
        search(&stores, "fraud-ring-42", &partner).await,
        Vec::<i64>::new()
    );
    assert_eq!(search(&stores, "legal-handoff", &partner).await, [2]);
}

/// Above a few thousand matching documents, search checks rows in sort order
/// instead of reading the index; 4,500 documents take it there.
const COMMON: i64 = 4500;

async fn store_with_common_words(dir: &std::path::Path) -> Stores {
    let stores = open_with_partner(dir).await;
    let batch: Vec<ExportedEscalation> = (1..=COMMON)
        .map(|n| {
            let key = EscalationKey(n);
            let (created, first) = draft(
                &format!("Routine report {n}"),
                if n % 100 == 0 { "needs 審査" } else { "" },
            )
            .into_escalation(key, &Actor::system(), minutes(n));
            let (escalation, note) = created
                .comment(
                    "triage note",
                    Visibility::Internal,
                    &Actor::system(),
                    minutes(n),
                )
                .unwrap();
            ExportedEscalation {
                escalation,
                events: vec![numbered(key, 1, first), numbered(key, 2, note)],
            }
        })
        .collect();
    for chunk in batch.chunks(1000) {
        stores.escalations.import(chunk).await.unwrap();
    }
    stores
}

#[tokio::test]
async fn common_terms_page_in_sort_order_and_respect_visibility() {
    let dir = tempfile::tempdir().unwrap();
    let stores = store_with_common_words(dir.path()).await;
    let filter = EscalationFilter {
        q: Some("ROUTINE".into()),
        limit: 10,
        ..Default::default()
    };
    let first = stores
        .escalations
        .list(&filter, &Scope::Staff)
        .await
        .unwrap();
    let keys: Vec<i64> = first.items.iter().map(|e| e.key.0).collect();
    assert_eq!(
        keys,
        (COMMON - 9..=COMMON).rev().collect::<Vec<_>>(),
        "newest first"
    );
    let second = stores
        .escalations
        .list(
            &EscalationFilter {
                cursor: first.next,
                ..filter.clone()
            },
            &Scope::Staff,
        )
        .await
        .unwrap();
    let keys: Vec<i64> = second.items.iter().map(|e| e.key.0).collect();
    assert_eq!(keys, (COMMON - 19..=COMMON - 10).rev().collect::<Vec<_>>());

    let oldest = stores
        .escalations
        .list(
            &EscalationFilter {
                direction: SortDirection::Asc,
                ..filter.clone()
            },
            &Scope::Staff,
        )
        .await
        .unwrap();
    assert_eq!(oldest.items[0].key.0, 1);

    let staff_notes = stores
        .escalations
        .list(
            &EscalationFilter {
                q: Some("triage".into()),
                ..filter.clone()
            },
            &Scope::Staff,
        )
        .await
        .unwrap();
    assert_eq!(staff_notes.items.len(), 10, "staff find internal notes");
    let partner_notes = stores
        .escalations
        .list(
            &EscalationFilter {
                q: Some("triage".into()),
                ..filter.clone()
            },
            &Scope::Partner(PARTNER.into()),
        )
        .await
        .unwrap();
    assert!(
        partner_notes.items.is_empty(),
        "partners never find internal notes"
    );

    assert_eq!(
        search(&stores, "審査 routine", &Scope::Staff).await,
        (1..=COMMON / 100).map(|n| n * 100).collect::<Vec<_>>(),
        "a short and a common term together"
    );
}

#[tokio::test]
async fn relevance_with_only_short_terms_pages_by_offset_newest_key_first() {
    let dir = tempfile::tempdir().unwrap();
    let stores = store_with_common_words(dir.path()).await;
    let mut filter = EscalationFilter {
        q: Some("審査".into()),
        sort: SortField::Relevance,
        limit: 20,
        ..Default::default()
    };
    let (mut keys, mut cursors) = (Vec::new(), Vec::new());
    loop {
        let page = stores
            .escalations
            .list(&filter, &Scope::Staff)
            .await
            .unwrap();
        keys.extend(page.items.iter().map(|e| e.key.0));
        let Some(next) = page.next else { break };
        cursors.push(next);
        filter.cursor = Some(next);
    }
    assert_eq!(
        keys,
        (1..=COMMON / 100)
            .rev()
            .map(|n| n * 100)
            .collect::<Vec<_>>()
    );
    assert_eq!(cursors, [Cursor::Offset(20), Cursor::Offset(40)]);
}
