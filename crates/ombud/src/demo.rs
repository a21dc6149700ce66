//! Realistic demo data: fictional partners of every kind across Asia-Pacific
//! and beyond, escalations in their languages, and timelines built with the
//! domain's own functions, so states and events agree. Deterministic per seed.

use std::collections::BTreeMap;

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use ombud_domain::assignment::{AgentProfile, Queue};
use ombud_domain::deadlines::{BusinessCalendar, CalendarSpec};
use ombud_domain::regulatory::RegulatoryRule;
use ombud_domain::routing::PartnerFacts;
use ombud_domain::sla::{self, ClockSettings, EscalationFacts, RegulationSetting, SlaPolicy};
use ombud_domain::{
    Actor, Escalation, EscalationDraft, EscalationKey, EscalationPatch, NewEscalation, NewEvent,
    NewPartner, NewSubject, PartnerKind, Role, Status, StoredEvent, SubjectKind, Tier, Visibility,
    reference,
};
use ombud_store::{Expect, ExportedEscalation, NewUser, SettingKind, Stores};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

/// The demo password of every demo user; printed by `ombud demo`.
pub const DEMO_PASSWORD: &str = "ombud-demo";
pub const DEMO_ADMIN: &str = "admin@ombud.demo";
/// The demo agent the demo suggests signing in as (the first of `AGENTS`).
pub const DEMO_AGENT: &str = "aiko.tanaka@ombud.demo";

/// (slug, name, kind, tier, country, language)
const PARTNERS: &[(&str, &str, &str, i64, &str, &str)] = &[
    (
        "jp-npa-cyber",
        "National Police Agency Cyber Bureau (fictional)",
        "law_enforcement",
        1,
        "JP",
        "ja",
    ),
    (
        "jp-mic-desk",
        "Ministry of Communications Online Desk (fictional)",
        "government",
        1,
        "JP",
        "ja",
    ),
    (
        "jp-safer-net",
        "Safer Net Japan (fictional NGO)",
        "trusted_flagger",
        2,
        "JP",
        "ja",
    ),
    (
        "kr-kcsc-liaison",
        "Korea Communications Standards Liaison (fictional)",
        "regulator",
        1,
        "KR",
        "ko",
    ),
    (
        "kr-seoul-district-court",
        "Seoul District Court Clerk (fictional)",
        "court",
        1,
        "KR",
        "ko",
    ),
    (
        "tw-digital-affairs",
        "Digital Affairs Office (fictional)",
        "government",
        2,
        "TW",
        "zh-Hant",
    ),
    (
        "hk-consumer-watch",
        "Consumer Watch HK (fictional NGO)",
        "ngo",
        3,
        "HK",
        "zh-Hant",
    ),
    (
        "th-dge-online",
        "Digital Economy Online Unit (fictional)",
        "government",
        1,
        "TH",
        "th",
    ),
    (
        "th-safe-kids",
        "Safe Kids Thailand (fictional NGO)",
        "trusted_flagger",
        2,
        "TH",
        "th",
    ),
    (
        "in-meity-grievance",
        "IT Grievance Cell (fictional)",
        "government",
        1,
        "IN",
        "hi",
    ),
    (
        "in-cyber-dost",
        "Cyber Dost Helpline (fictional)",
        "law_enforcement",
        1,
        "IN",
        "hi",
    ),
    (
        "in-bollywood-talent",
        "Bollywood Talent Management (fictional)",
        "public_figure_team",
        2,
        "IN",
        "en",
    ),
    (
        "id-komdigi-aduan",
        "Komdigi Aduan Konten (fictional)",
        "regulator",
        1,
        "ID",
        "id",
    ),
    (
        "id-mafindo-cek",
        "Cek Fakta Nusantara (fictional)",
        "trusted_flagger",
        2,
        "ID",
        "id",
    ),
    (
        "vn-abei-desk",
        "Authority of Broadcasting and e-Information Desk (fictional)",
        "government",
        1,
        "VN",
        "vi",
    ),
    (
        "ph-comelec-liaison",
        "Election Commission Liaison (fictional)",
        "government",
        1,
        "PH",
        "en",
    ),
    (
        "my-mcmc-online",
        "MCMC Online Harms Unit (fictional)",
        "regulator",
        1,
        "MY",
        "ms",
    ),
    (
        "sg-imda-liaison",
        "IMDA Online Safety Liaison (fictional)",
        "regulator",
        1,
        "SG",
        "en",
    ),
    (
        "au-esafety-desk",
        "eSafety Removal Desk (fictional)",
        "regulator",
        1,
        "AU",
        "en",
    ),
    (
        "eu-dsc-liaison",
        "Digital Services Coordinator Liaison (fictional)",
        "regulator",
        1,
        "DE",
        "de",
    ),
    (
        "uk-ofcom-liaison",
        "Online Safety Liaison UK (fictional)",
        "regulator",
        2,
        "GB",
        "en",
    ),
    (
        "us-brand-guard",
        "BrandGuard IP Agency (fictional)",
        "advertiser",
        2,
        "US",
        "en",
    ),
    (
        "sg-adworks-agency",
        "AdWorks Asia Agency (fictional)",
        "advertiser",
        3,
        "SG",
        "en",
    ),
    (
        "jp-idol-office",
        "Sakura Idol Office (fictional)",
        "public_figure_team",
        2,
        "JP",
        "ja",
    ),
    (
        "internal-gov-ops",
        "Global Operations (internal)",
        "internal_team",
        3,
        "US",
        "en",
    ),
];

/// Per language: titles, descriptions and comments with `{id}` for a subject id.
struct Phrases {
    titles: &'static [&'static str],
    descriptions: &'static [&'static str],
    partner_messages: &'static [&'static str],
}

fn phrases(language: &str) -> Phrases {
    match language {
        "ja" => Phrases {
            titles: &[
                "アカウント乗っ取りの報告 ({id})",
                "なりすましアカウントの削除依頼 ({id})",
                "投資詐欺広告の掲載停止要請 ({id})",
                "児童の安全に関わる投稿の緊急対応 ({id})",
                "選挙に関する偽情報の拡散 ({id})",
                "誤って停止されたアカウントの復旧依頼 ({id})",
                "著作権侵害動画の削除依頼 ({id})",
                "リベンジポルノ画像の削除要請 ({id})",
            ],
            descriptions: &[
                "被害者から相談を受けました。対象のアカウントは本人になりすまし、フォロワーに金銭を要求しています。早急な確認をお願いします。",
                "裁判所の仮処分命令に基づき、以下の投稿の削除を求めます。命令書の写しを添付します。",
                "当該広告は有名人の写真を無断使用した投資詐欺です。既に複数の被害届が出ています。",
                "公式アカウントが第三者にログインされ、パスワードとメールアドレスが変更されました。",
            ],
            partner_messages: &[
                "追加の資料を添付しました。ご確認ください。",
                "対応状況を教えていただけますか。",
                "ご対応ありがとうございました。",
            ],
        },
        "ko" => Phrases {
            titles: &[
                "계정 해킹 신고 ({id})",
                "사칭 계정 삭제 요청 ({id})",
                "불법 도박 광고 차단 요청 ({id})",
                "명예훼손 게시물 삭제 요청 ({id})",
                "법원 명령에 따른 게시물 삭제 ({id})",
            ],
            descriptions: &[
                "해당 계정은 유명인을 사칭하여 팬들에게 송금을 요구하고 있습니다. 신속한 조치를 부탁드립니다.",
                "법원 결정문을 첨부합니다. 결정문에 기재된 게시물을 24시간 이내에 삭제해 주시기 바랍니다.",
                "피해자가 계정 접근 권한을 잃었으며 본인 확인 서류를 제출했습니다.",
            ],
            partner_messages: &[
                "추가 자료를 첨부했습니다.",
                "처리 현황을 알려주시기 바랍니다.",
                "조치해 주셔서 감사합니다.",
            ],
        },
        "zh-Hant" => Phrases {
            titles: &[
                "帳號遭盜用申訴 ({id})",
                "冒名帳號移除請求 ({id})",
                "詐騙廣告停止刊登 ({id})",
                "選舉不實訊息通報 ({id})",
                "誤判停權帳號恢復請求 ({id})",
            ],
            descriptions: &[
                "當事人反映帳號遭他人登入並更改密碼，目前無法取回，請協助處理。",
                "此廣告冒用知名人士照片推銷投資方案，已有多名民眾受騙。",
                "依據主管機關函文，請於期限內移除下列內容並回覆處理情形。",
            ],
            partner_messages: &[
                "已補充相關資料，請查收。",
                "請問目前處理進度如何？",
                "感謝協助處理。",
            ],
        },
        "th" => Phrases {
            titles: &[
                "แจ้งบัญชีถูกแฮ็ก ({id})",
                "ขอให้ลบบัญชีปลอมแอบอ้าง ({id})",
                "แจ้งโฆษณาหลอกลวงการลงทุน ({id})",
                "เนื้อหาที่เป็นอันตรายต่อเด็ก ({id})",
                "คำสั่งศาลให้ระงับการเผยแพร่ ({id})",
            ],
            descriptions: &[
                "ผู้เสียหายแจ้งว่าบัญชีถูกเข้าถึงโดยไม่ได้รับอนุญาตและมีการเปลี่ยนอีเมล ขอให้ตรวจสอบโดยด่วน",
                "โฆษณานี้ใช้ภาพบุคคลสาธารณะโดยไม่ได้รับอนุญาตเพื่อชักชวนให้ลงทุน มีผู้เสียหายหลายราย",
                "ตามคำสั่งศาลที่แนบมา ขอให้ระงับการเข้าถึงเนื้อหาดังกล่าวในประเทศไทย",
            ],
            partner_messages: &[
                "แนบเอกสารเพิ่มเติมแล้วค่ะ",
                "ขอทราบความคืบหน้าด้วยครับ",
                "ขอบคุณสำหรับการดำเนินการ",
            ],
        },
        "hi" => Phrases {
            titles: &[
                "हैक किए गए खाते की शिकायत ({id})",
                "फर्जी प्रोफ़ाइल हटाने का अनुरोध ({id})",
                "निवेश धोखाधड़ी विज्ञापन की शिकायत ({id})",
                "अंतरंग तस्वीरों को हटाने का अनुरोध ({id})",
                "अदालत के आदेश के अनुसार सामग्री हटाना ({id})",
            ],
            descriptions: &[
                "पीड़ित ने बताया कि उसके खाते का पासवर्ड और ईमेल बदल दिया गया है। कृपया तुरंत जांच करें।",
                "यह विज्ञापन एक प्रसिद्ध अभिनेता की तस्वीर का उपयोग करके लोगों को ठग रहा है।",
                "संलग्न आदेश के अनुसार निर्धारित समय के भीतर सामग्री हटाई जाए।",
            ],
            partner_messages: &[
                "अतिरिक्त दस्तावेज़ संलग्न हैं।",
                "कृपया स्थिति की जानकारी दें।",
                "सहायता के लिए धन्यवाद।",
            ],
        },
        "id" | "ms" => Phrases {
            titles: &[
                "Laporan akun diretas ({id})",
                "Permintaan penghapusan akun palsu ({id})",
                "Iklan investasi bodong ({id})",
                "Konten hoaks pemilu ({id})",
                "Permohonan pemulihan akun yang diblokir ({id})",
            ],
            descriptions: &[
                "Korban melaporkan bahwa akunnya diambil alih dan kata sandi serta email telah diganti. Mohon segera ditindaklanjuti.",
                "Iklan ini menggunakan foto tokoh publik tanpa izin untuk menawarkan investasi dengan imbal hasil tidak wajar.",
                "Berdasarkan surat resmi terlampir, kami meminta konten berikut diturunkan dalam batas waktu yang ditentukan.",
            ],
            partner_messages: &[
                "Kami lampirkan dokumen tambahan.",
                "Mohon informasi perkembangan penanganan.",
                "Terima kasih atas tindak lanjutnya.",
            ],
        },
        "vi" => Phrases {
            titles: &[
                "Báo cáo tài khoản bị chiếm đoạt ({id})",
                "Yêu cầu gỡ tài khoản giả mạo ({id})",
                "Quảng cáo lừa đảo đầu tư ({id})",
                "Yêu cầu gỡ bỏ nội dung vi phạm ({id})",
            ],
            descriptions: &[
                "Nạn nhân cho biết tài khoản bị đổi mật khẩu và email, không thể đăng nhập. Đề nghị xử lý khẩn.",
                "Theo văn bản đính kèm, đề nghị gỡ bỏ các nội dung sau trong vòng 24 giờ.",
            ],
            partner_messages: &[
                "Chúng tôi gửi kèm tài liệu bổ sung.",
                "Xin cho biết tiến độ xử lý.",
                "Cảm ơn quý công ty đã hỗ trợ.",
            ],
        },
        "de" => Phrases {
            titles: &[
                "Meldung rechtswidriger Inhalte ({id})",
                "Gehacktes Konto einer Behörde ({id})",
                "Betrügerische Werbeanzeige ({id})",
                "Anordnung zur Entfernung terroristischer Inhalte ({id})",
            ],
            descriptions: &[
                "Wir bitten um Prüfung und Entfernung der gemeldeten Inhalte gemäß Art. 16 DSA.",
                "Die Anzeige verwendet ohne Zustimmung das Bild einer bekannten Person, um zu Investitionen zu verleiten.",
            ],
            partner_messages: &[
                "Anbei weitere Unterlagen.",
                "Wie ist der Bearbeitungsstand?",
                "Vielen Dank für die Bearbeitung.",
            ],
        },
        _ => Phrases {
            titles: &[
                "Compromised account of a public figure ({id})",
                "Impersonation of our client on {id}",
                "Investment scam ad using a celebrity image ({id})",
                "Counterfeit listings of a registered trademark ({id})",
                "Election misinformation spreading ahead of polls ({id})",
                "Wrongly disabled advertiser account ({id})",
                "Removal notice for intimate imagery ({id})",
                "Court order to restrict a defamatory post ({id})",
            ],
            descriptions: &[
                "The account was taken over overnight; the email and phone number were changed and scam posts are going out to followers.",
                "Our client's name and photos are being used by an account that asks fans for money. Identity documents are attached.",
                "This ad uses a well-known presenter's likeness without consent to promote a fake trading platform. Several victims have reported losses.",
                "Please review the attached order and confirm the action taken within the statutory deadline.",
            ],
            partner_messages: &[
                "Additional documents attached.",
                "Could you share an update on this case?",
                "Thank you for resolving this.",
            ],
        },
    }
}

const INTERNAL_NOTES: &[&str] = &[
    "Checked login history: new device from an unfamiliar ASN right before the email change.",
    "Policy consulted; this meets the impersonation threshold.",
    "Automation flagged the original content; looks like a false positive.",
    "Legal confirmed the order is valid for this jurisdiction.",
    "Linked to similar reports from the same network of accounts.",
    "Handing over to the APAC night shift; partner expects an update by morning.",
];

const AGENTS: &[(&str, &str)] = &[
    (DEMO_AGENT, "Aiko Tanaka"),
    ("minjun.kim@ombud.demo", "Min-jun Kim"),
    ("priya.sharma@ombud.demo", "Priya Sharma"),
    ("somchai.p@ombud.demo", "Somchai Prasert"),
    ("dewi.lestari@ombud.demo", "Dewi Lestari"),
    ("sam.oconnor@ombud.demo", "Sam O'Connor"),
];

pub const TAGS: &[&str] = &[
    "repeat-reporter",
    "media-inquiry",
    "vip",
    "coordinated",
    "press",
    "urgent-review",
    "appeal",
    "bulk-notice",
];

/// Creates the demo partners and users of an empty store.
pub async fn seed_directory(stores: &Stores, now: Timestamp) -> anyhow::Result<()> {
    for (slug, name, kind, tier, country, language) in PARTNERS {
        let partner = NewPartner {
            slug: slug.to_string(),
            name: name.to_string(),
            kind: kind.to_string(),
            tier: *tier,
            country: country.to_string(),
            language: language.to_string(),
            contacts: vec![ombud_domain::Contact {
                name: "Escalations desk".into(),
                email: format!("desk@{slug}.example"),
                role: Some("primary".into()),
                phone: None,
            }],
            allowed_types: Vec::new(),
        }
        .validate(now)
        .map_err(|e| anyhow::anyhow!("demo partner {slug}: {e}"))?;
        stores
            .directory
            .create_partner(&partner)
            .await
            .with_context(|| format!("creating partner {slug}"))?;
    }
    let hash = ombud_server::auth::hash_password(DEMO_PASSWORD);
    let mut users = vec![(DEMO_ADMIN, "Demo Admin", Role::Admin)];
    users.extend(
        AGENTS
            .iter()
            .map(|(email, name)| (*email, *name, Role::Agent)),
    );
    for (email, name, role) in users {
        let user = NewUser {
            email: email.into(),
            name: name.into(),
            role,
            partner: None,
            password_hash: hash.clone(),
            created_at: now,
        };
        stores
            .directory
            .create_user(&user)
            .await
            .with_context(|| format!("creating user {email}"))?;
    }
    Ok(())
}

/// Business calendars a team would start from, by code.
fn calendars() -> anyhow::Result<BTreeMap<String, BusinessCalendar>> {
    let specs = [
        serde_json::json!({
            "time_zone": "Asia/Tokyo",
            "weekly": {
                "monday": ["09:00-18:00"], "tuesday": ["09:00-18:00"], "wednesday": ["09:00-18:00"],
                "thursday": ["09:00-18:00"], "friday": ["09:00-18:00"]
            },
            "holidays": ["2026-11-03", "2026-11-23", "2027-01-01", "2027-01-11", "2027-02-11"],
            "exceptions": {"2026-12-28": ["09:00-12:00"]}
        }),
        serde_json::json!({
            "time_zone": "Europe/Dublin",
            "weekly": {
                "monday": ["09:00-17:30"], "tuesday": ["09:00-17:30"], "wednesday": ["09:00-17:30"],
                "thursday": ["09:00-17:30"], "friday": ["09:00-17:30"]
            },
            "holidays": ["2026-12-25", "2026-12-26", "2027-01-01"]
        }),
    ];
    ["apac-tokyo", "emea-dublin"]
        .into_iter()
        .zip(specs)
        .map(|(code, body)| {
            let spec: CalendarSpec = serde_json::from_value(body)?;
            let calendar = BusinessCalendar::from_spec(&spec)
                .map_err(|e| anyhow::anyhow!("demo calendar {code}: {e}"))?;
            Ok((code.to_string(), calendar))
        })
        .collect()
}

/// SLA policies a team would start from.
fn policies() -> anyhow::Result<Vec<SlaPolicy>> {
    let bodies = [
        serde_json::json!({
            "code": "tier1-urgent", "name": "Tier 1 partners, P0 and P1",
            "conditions": {"partner_tiers": [1], "priorities": ["P0", "P1"]},
            "basis": "calendar",
            "targets": {"acknowledgement": "PT1H", "first_response": "PT4H", "resolution": "PT24H"}
        }),
        serde_json::json!({
            "code": "standard", "name": "Everyone else",
            "basis": "calendar",
            "targets": {"acknowledgement": "PT4H", "first_response": "P1D", "resolution": "P7D"}
        }),
        serde_json::json!({
            "code": "advertisers-apac", "name": "Advertiser issues, APAC business hours",
            "conditions": {"types": ["advertiser_commerce"]},
            "basis": "business", "calendar": "apac-tokyo",
            "targets": {"acknowledgement": "PT4H", "resolution": "P5D"},
            "warn_at_percent": [50, 80]
        }),
    ];
    bodies
        .into_iter()
        .map(|body| {
            let policy: SlaPolicy = serde_json::from_value(body)?;
            policy
                .validate(&["apac-tokyo", "emea-dublin"])
                .map_err(|e| anyhow::anyhow!("demo policy {}: {e}", policy.code))?;
            Ok(policy)
        })
        .collect()
}

/// Stores the demo calendars and SLA policies.
pub async fn seed_settings(stores: &Stores, now: Timestamp) -> anyhow::Result<()> {
    for (code, calendar) in calendars()? {
        let canonical = serde_json::to_value(calendar.to_spec())?;
        stores
            .settings
            .put(
                SettingKind::Calendar,
                &code,
                &canonical,
                Expect::Absent,
                now,
            )
            .await?;
    }
    for policy in policies()? {
        stores
            .settings
            .put(
                SettingKind::SlaPolicy,
                &policy.code,
                &serde_json::to_value(&policy)?,
                Expect::Absent,
                now,
            )
            .await?;
    }
    let languages = languages();
    let queues: Vec<String> = languages.iter().map(|l| queue_for(l)).collect();
    for (language, code) in languages.iter().zip(&queues) {
        let queue = Queue {
            code: code.clone(),
            name: format!("APAC {language}"),
            team: "APAC escalations".into(),
            auto_assign: false,
        };
        queue
            .validate()
            .map_err(|e| anyhow::anyhow!("demo queue {code}: {e}"))?;
        let body = serde_json::to_value(&queue)?;
        stores
            .settings
            .put(SettingKind::Queue, code, &body, Expect::Absent, now)
            .await?;
    }
    // Every demo agent works every demo queue, so claim-next has work for
    // whoever signs in; two of them are cleared for sensitive media.
    let codes: Vec<&str> = queues.iter().map(String::as_str).collect();
    for (n, (email, _)) in AGENTS.iter().enumerate() {
        let agent = AgentProfile {
            email: email.to_string(),
            queues: queues.clone(),
            languages: languages.iter().map(|l| l.to_string()).collect(),
            countries: Vec::new(),
            types: Vec::new(),
            sensitive_media: n < 2,
            capacity: 50,
            out_of_office: false,
        };
        agent
            .validate(&codes)
            .map_err(|e| anyhow::anyhow!("demo agent {email}: {e}"))?;
        let body = serde_json::to_value(&agent)?;
        stores
            .settings
            .put(SettingKind::Agent, email, &body, Expect::Absent, now)
            .await?;
    }
    Ok(())
}

/// How demo escalations are left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Along their lifecycle, the older the further: most are assigned,
    /// resolved or closed; few wait in a queue.
    Lifecycle,
    /// All new and unassigned in their language's queue with running
    /// clocks: a backlog for claim-next.
    Open,
}

/// Builds and stores `count` demo escalations of `shape`.
pub async fn seed_escalations(
    stores: &Stores,
    count: u64,
    now: Timestamp,
    seed: u64,
    shape: Shape,
    progress: impl FnMut(u64),
) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let vocabulary = Vocabulary::defaults();
    let (policies, calendars) = (policies()?, calendars()?);
    let clocks = demo_clocks(&policies, &calendars);
    let build = |key| match shape {
        Shape::Lifecycle => build_escalation(&mut rng, key, now, &vocabulary, clocks),
        Shape::Open => open_escalation(&mut rng, key, now, &vocabulary, clocks, Some(now)),
    };
    store_escalations(stores, count, build, progress).await
}

/// How the demo starts clocks: its SLA policies and calendars, and the
/// regulatory catalogue as shipped.
fn demo_clocks<'a>(
    policies: &'a [SlaPolicy],
    calendars: &'a BTreeMap<String, BusinessCalendar>,
) -> ClockSettings<'a> {
    const NO_OVERRIDES: &BTreeMap<String, RegulationSetting> = &BTreeMap::new();
    ClockSettings {
        policies,
        calendars,
        regulations: RegulatoryRule::catalogue(),
        regulation_settings: NO_OVERRIDES,
        forced_policy: None,
    }
}

/// Stores the escalations `build` makes for keys 1..=count, in batches.
pub async fn store_escalations(
    stores: &Stores,
    count: u64,
    mut build: impl FnMut(EscalationKey) -> anyhow::Result<ExportedEscalation>,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<()> {
    let mut batch = Vec::with_capacity(1000);
    for n in 1..=count {
        batch.push(build(EscalationKey(i64::try_from(n)?))?);
        if batch.len() == 1000 || n == count {
            stores
                .escalations
                .import(&batch)
                .await
                .context("storing demo escalations")?;
            batch.clear();
            progress(n);
        }
    }
    Ok(())
}

/// The demo queue of a language's cases: `apac-ja`, `apac-zh`, …
pub fn queue_for(language: &str) -> String {
    format!("apac-{}", language.split('-').next().unwrap_or("en"))
}

/// The languages of the demo partners.
pub fn languages() -> Vec<&'static str> {
    let mut languages: Vec<&str> = PARTNERS.iter().map(|p| p.5).collect();
    languages.sort_unstable();
    languages.dedup();
    languages
}

fn subject(rng: &mut StdRng, surfaces: &[String]) -> (NewSubject, String) {
    let kinds = [
        SubjectKind::Account,
        SubjectKind::Post,
        SubjectKind::Ad,
        SubjectKind::Page,
        SubjectKind::Listing,
        SubjectKind::Comment,
        SubjectKind::Group,
    ];
    let kind = *kinds.choose(rng).expect("non-empty");
    let surface = surfaces.choose(rng).expect("non-empty").clone();
    let id = rng.random_range(100_000_000_u64..999_999_999_999);
    let handle = format!("user{}", rng.random_range(1000..99999));
    let (external_id, url, label) = match kind {
        SubjectKind::Account | SubjectKind::Page if rng.random_bool(0.5) => (
            Some(format!("@{handle}")),
            Some(format!("https://social.example/{handle}")),
            format!("@{handle}"),
        ),
        SubjectKind::Listing => (
            Some(id.to_string()),
            Some(format!("https://market.example/item/{id}")),
            id.to_string(),
        ),
        _ if rng.random_bool(0.5) => (
            None,
            Some(format!("https://social.example/{}/{id}", kind.as_str())),
            id.to_string(),
        ),
        _ => (Some(id.to_string()), None, id.to_string()),
    };
    (
        NewSubject {
            kind,
            surface,
            external_id,
            url,
        },
        label,
    )
}

fn later(rng: &mut StdRng, at: Timestamp, max_hours: i64, now: Timestamp) -> Timestamp {
    let step = SignedDuration::from_mins(rng.random_range(5..max_hours * 60));
    at.checked_add(step).unwrap_or(now).min(now)
}

/// What demo escalations are drawn from: the default escalation types and
/// surfaces.
#[derive(Debug)]
pub struct Vocabulary {
    types: Vec<String>,
    surfaces: Vec<String>,
}

impl Vocabulary {
    pub fn defaults() -> Self {
        let codes = |kind| {
            reference::defaults(kind)
                .into_iter()
                .map(|t| t.code)
                .collect()
        };
        Vocabulary {
            types: codes(ombud_domain::RefKind::EscalationType),
            surfaces: codes(ombud_domain::RefKind::Surface),
        }
    }

    pub fn types(&self) -> &[String] {
        &self.types
    }
}

/// A demo partner's report as intake receives it, before anyone works on it.
#[derive(Debug)]
pub struct Report {
    pub draft: EscalationDraft,
    pub partner: PartnerFacts,
    pub reporter: Actor,
}

/// A report from a random demo partner, in its language, received at some
/// time in the year before `now`.
pub fn report(rng: &mut StdRng, now: Timestamp, vocabulary: &Vocabulary) -> anyhow::Result<Report> {
    let (slug, _, kind, tier, country, language) = *PARTNERS.choose(rng).expect("non-empty");
    let p = phrases(language);
    let created = now.checked_sub(SignedDuration::from_secs(
        rng.random_range(60..365 * 86_400),
    ))?;
    let mut subjects = Vec::new();
    let mut label = String::new();
    for _ in 0..rng.random_range(1..=3) {
        let (s, l) = subject(rng, &vocabulary.surfaces);
        if label.is_empty() {
            label = l;
        }
        subjects.push(s);
    }
    let mut risk_flags = Vec::new();
    for (flag, chance) in [
        ("sensitive_media", 0.12),
        ("vip_public_figure", 0.08),
        ("press_risk", 0.05),
        ("election_crisis", 0.04),
        ("legal_privilege", 0.03),
    ] {
        if rng.random_bool(chance) {
            risk_flags.push(flag.to_string());
        }
    }
    let priority = match (tier, rng.random_range(0..100)) {
        (1, 0..=9) => "P0",
        (1, 10..=39) | (2, 0..=9) => "P1",
        (_, 0..=59) => "P2",
        (_, 60..=89) => "P3",
        _ => "P4",
    };
    let tag_count = rng.random_range(0..3);
    let new = NewEscalation {
        escalation_type: vocabulary.types.choose(rng).expect("non-empty").clone(),
        title: p
            .titles
            .choose(rng)
            .expect("non-empty")
            .replace("{id}", &label),
        description: p.descriptions.choose(rng).expect("non-empty").to_string(),
        partner: Some(slug.into()),
        partner_ref: rng
            .random_bool(0.4)
            .then(|| format!("REF-{}", rng.random_range(10_000..99_999))),
        country: country.into(),
        language: language.into(),
        priority: Some(priority.into()),
        tags: TAGS
            .choose_multiple(rng, tag_count)
            .map(|t| t.to_string())
            .collect(),
        risk_flags,
        subjects,
        received_at: Some(created),
    };
    let channel = ["api", "portal", "email"].choose(rng).expect("non-empty");
    let draft = new
        .validate(slug, channel, created)
        .map_err(|e| anyhow::anyhow!("demo report from {slug}: {e}"))?;
    Ok(Report {
        draft,
        partner: PartnerFacts {
            kind: PartnerKind::parse(kind).context("demo partner kind")?,
            tier: Tier::parse("tier", tier).map_err(|e| anyhow::anyhow!("{e}"))?,
        },
        reporter: Actor {
            id: format!("partner:{slug}"),
            name: slug.to_string(),
            role: Some(Role::Partner),
        },
    })
}

fn build_escalation(
    rng: &mut StdRng,
    key: EscalationKey,
    now: Timestamp,
    vocabulary: &Vocabulary,
    clocks: ClockSettings<'_>,
) -> anyhow::Result<ExportedEscalation> {
    let Report {
        mut draft,
        partner,
        reporter,
    } = report(rng, now, vocabulary)?;
    // Clocks run from receipt and follow the lifecycle below (met by the
    // first partner-visible answer and the resolution); warnings and
    // breaches still owed are raised by the alert worker once serving.
    draft.clocks = start_clocks(&draft, partner, clocks, key)?;
    let created = draft.received_at;
    let p = phrases(draft.language.as_str());
    let (mut e, created_event) = draft.into_escalation(key, &reporter, created);
    let mut events = vec![created_event];
    let (agent_email, agent_name) = *AGENTS.choose(rng).expect("non-empty");
    let agent = Actor {
        id: format!("user:{agent_email}"),
        name: agent_name.into(),
        role: Some(Role::Agent),
    };

    // Older cases have travelled further along the lifecycle.
    let age_days = (now.as_second() - created.as_second()) / 86_400;
    let stage = match age_days {
        0..=2 => rng.random_range(0..4),
        3..=14 => rng.random_range(1..6),
        _ => rng.random_range(3..7),
    };
    let mut at = created;
    let step = |e: &mut Escalation, events: &mut Vec<NewEvent>, r: (Escalation, NewEvent)| {
        *e = r.0;
        events.push(r.1);
    };
    if stage >= 1 {
        at = later(rng, at, 6, now);
        let r = e.transition(Status::Triaged, None, &agent, at)?;
        step(&mut e, &mut events, r);
        let patch = EscalationPatch {
            assignee: Some(Some(agent_email.into())),
            queue: Some(Some(queue_for(e.language.as_str()))),
            ..Default::default()
        };
        let (next, more) = e
            .apply_patch(&patch, &agent, at)
            .map_err(|err| anyhow::anyhow!("{err}"))?;
        e = next;
        events.extend(more);
    }
    if stage >= 2 {
        at = later(rng, at, 12, now);
        let r = e.transition(Status::Investigating, None, &agent, at)?;
        step(&mut e, &mut events, r);
        at = later(rng, at, 4, now);
        let note = INTERNAL_NOTES.choose(rng).expect("non-empty");
        let r = e
            .comment(note, Visibility::Internal, &agent, at)
            .map_err(|err| anyhow::anyhow!("{err}"))?;
        step(&mut e, &mut events, r);
    }
    if stage == 3 {
        at = later(rng, at, 8, now);
        let target = if rng.random_bool(0.5) {
            Status::AwaitingPartner
        } else {
            Status::AwaitingInternal
        };
        let r = e.transition(target, Some("waiting for more information"), &agent, at)?;
        step(&mut e, &mut events, r);
    }
    if stage >= 4 {
        at = later(rng, at, 24, now);
        let r = e
            .comment(p.partner_messages[0], Visibility::Partner, &reporter, at)
            .map_err(|err| anyhow::anyhow!("{err}"))?;
        step(&mut e, &mut events, r);
        at = later(rng, at, 24, now);
        let decision = demo_decision(rng, &e)
            .validate(
                &e.subjects
                    .iter()
                    .map(|s| s.normalized_key.as_str())
                    .collect::<Vec<_>>(),
                &agent.name,
                at,
            )
            .map_err(|err| anyhow::anyhow!("demo decision: {err:?}"))?;
        let (next, more) = e.decide(decision, &agent, at)?;
        e = next;
        events.extend(more);
    }
    if stage >= 5 {
        at = later(rng, at, 72, now);
        let r = e.transition(Status::Closed, None, &agent, at)?;
        step(&mut e, &mut events, r);
    }
    if stage >= 6 && rng.random_bool(0.3) {
        at = later(rng, at, 48, now);
        let r = e.transition(
            Status::Investigating,
            Some("partner appealed the outcome"),
            &agent,
            at,
        )?;
        step(&mut e, &mut events, r);
    }
    Ok(exported(e, events))
}

/// Outcomes, policies and root causes from the seeded reference data, with
/// the outcomes weighted roughly as an escalations team sees them.
const DEMO_OUTCOMES: &[&str] = &[
    "removed",
    "removed",
    "removed",
    "restricted",
    "geo_withheld",
    "no_violation",
    "no_violation",
    "reinstated",
    "upheld",
    "information_disclosed",
    "referred",
];
const DEMO_POLICIES: &[&str] = &[
    "hate_speech",
    "harassment",
    "violent_extremism",
    "adult_nudity",
];
const DEMO_ROOT_CAUSES: &[&str] = &[
    "automation_false_positive",
    "automation_false_positive",
    "reviewer_error",
    "policy_gap",
    "product_bug",
    "coordinated_abuse",
    "partner_error",
    "user_error",
    "working_as_intended",
];

/// A plausible decision for a demo case: one action per subject, withheld
/// only in the case's own country when the outcome is `geo_withheld`.
fn demo_decision(rng: &mut StdRng, e: &Escalation) -> ombud_domain::decision::NewDecision {
    use ombud_domain::decision::{NewDecision, SubjectAction};
    let outcome = *DEMO_OUTCOMES.choose(rng).expect("non-empty");
    let countries = if outcome == "geo_withheld" {
        vec![e.country.clone()]
    } else {
        Vec::new()
    };
    NewDecision {
        outcome: outcome.into(),
        policy: Some((*DEMO_POLICIES.choose(rng).expect("non-empty")).into()),
        policy_version: Some("2026-10".into()),
        actions: e
            .subjects
            .iter()
            .map(|s| SubjectAction {
                subject: s.normalized_key.clone(),
                action: outcome.into(),
                countries: countries.clone(),
            })
            .collect(),
        root_cause: Some((*DEMO_ROOT_CAUSES.choose(rng).expect("non-empty")).into()),
        root_cause_note: String::new(),
        owning_team: None,
        upstream_fix: None,
    }
}

/// The clocks the demo SLA policies and the regulatory catalogue start for
/// `draft` at its receipt.
fn start_clocks(
    draft: &EscalationDraft,
    partner: PartnerFacts,
    clocks: ClockSettings<'_>,
    key: EscalationKey,
) -> anyhow::Result<Vec<sla::EscalationClock>> {
    let facts = EscalationFacts {
        partner: &draft.partner,
        partner_kind: partner.kind,
        partner_tier: partner.tier,
        escalation_type: &draft.escalation_type,
        priority: draft.priority,
        country: draft.country.as_str(),
    };
    sla::start_clocks(&facts, draft.received_at, clocks)
        .map_err(|e| anyhow::anyhow!("demo clocks of {key}: {e}"))
}

/// A backlog case received before `now`: new and unassigned in its
/// language's queue, its clocks started by `clocks` at receipt, and the
/// warnings and breaches due by `raised_by` already raised, as the alert
/// worker would have done.
pub fn open_escalation(
    rng: &mut StdRng,
    key: EscalationKey,
    now: Timestamp,
    vocabulary: &Vocabulary,
    clocks: ClockSettings<'_>,
    raised_by: Option<Timestamp>,
) -> anyhow::Result<ExportedEscalation> {
    let Report {
        mut draft,
        partner,
        reporter,
    } = report(rng, now, vocabulary)?;
    draft.queue = Some(queue_for(draft.language.as_str()));
    draft.clocks = start_clocks(&draft, partner, clocks, key)?;
    let created = draft.received_at;
    let (mut e, created_event) = draft.into_escalation(key, &reporter, created);
    let mut events = vec![created_event];
    while let Some(alert) = sla::pending_alerts(&e.clocks)
        .into_iter()
        .filter(|a| raised_by.is_some_and(|by| a.at <= by))
        .min_by_key(|a| a.at)
    {
        let (next, raised) = e
            .raise_clock_alerts(&[(alert.clock, alert.percent)], alert.at)
            .context("a pending alert that is due can be raised")?;
        e = next;
        events.extend(raised);
    }
    Ok(exported(e, events))
}

/// Numbers the events of `escalation` from 1, as the store keeps them.
fn exported(escalation: Escalation, events: Vec<NewEvent>) -> ExportedEscalation {
    let key = escalation.key;
    let events = events
        .into_iter()
        .zip(1..)
        .map(|(ev, seq)| StoredEvent {
            escalation: key,
            seq,
            kind: ev.kind,
            visibility: ev.visibility,
            actor: ev.actor,
            at: ev.at,
            data: ev.data,
        })
        .collect();
    ExportedEscalation { escalation, events }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_escalations_are_consistent_with_their_timelines() {
        let now: Timestamp = "2026-11-25T00:00:00Z".parse().unwrap();
        let vocabulary = Vocabulary::defaults();
        let mut rng = StdRng::seed_from_u64(7);
        let (policies, calendars) = (policies().unwrap(), calendars().unwrap());
        let clocks = demo_clocks(&policies, &calendars);
        let mut statuses = std::collections::HashSet::new();
        let mut languages = std::collections::HashSet::new();
        for n in 1..=400 {
            let x = build_escalation(&mut rng, EscalationKey(n), now, &vocabulary, clocks).unwrap();
            assert!(
                !x.escalation.clocks.is_empty(),
                "every demo case has clocks"
            );
            assert!(
                x.events
                    .windows(2)
                    .all(|w| w[0].at <= w[1].at && w[0].seq + 1 == w[1].seq)
            );
            assert!(
                x.escalation.created_at <= x.escalation.updated_at
                    && x.escalation.updated_at <= now
            );
            // The timeline agrees with the state: the last status event names the current status.
            let last_status = x.events.iter().rev().find_map(|e| {
                e.data.get("to").and_then(|t| t.as_str()).filter(|_| {
                    matches!(
                        e.kind,
                        ombud_domain::EventKind::StatusChanged | ombud_domain::EventKind::Reopened
                    )
                })
            });
            assert_eq!(
                last_status.unwrap_or("new"),
                x.escalation.status.as_str(),
                "{}",
                x.escalation.key
            );
            statuses.insert(x.escalation.status);
            languages.insert(x.escalation.language.to_string());
        }
        assert_eq!(
            statuses.len(),
            Status::ALL.len(),
            "every status appears: {statuses:?}"
        );
        assert!(languages.len() >= 8, "{languages:?}");
    }

    #[test]
    fn an_open_backlog_waits_unassigned_with_its_overdue_alerts_raised() {
        let now: Timestamp = "2026-11-25T00:00:00Z".parse().unwrap();
        let vocabulary = Vocabulary::defaults();
        let (policies, calendars) = (policies().unwrap(), calendars().unwrap());
        let clocks = demo_clocks(&policies, &calendars);
        let mut rng = StdRng::seed_from_u64(7);
        for n in 1..=200 {
            let x = open_escalation(
                &mut rng,
                EscalationKey(n),
                now,
                &vocabulary,
                clocks,
                Some(now),
            )
            .unwrap();
            let e = &x.escalation;
            assert_eq!((e.status, e.assignee.as_deref()), (Status::New, None));
            assert_eq!(e.queue, Some(queue_for(e.language.as_str())));
            assert!(e.due_at().is_some(), "{} has running clocks", e.key);
            assert!(
                sla::pending_alerts(&e.clocks).iter().all(|a| a.at > now),
                "nothing left for the alert worker at {now}"
            );
            assert!(x.events.windows(2).all(|w| w[0].at <= w[1].at));
            assert_eq!(x.events.len() as i64, e.version);
        }
    }
}
