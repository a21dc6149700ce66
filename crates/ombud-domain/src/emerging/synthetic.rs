//! A planted corpus to measure the clustering against a known truth:
//! background escalations in Latin-script languages, Japanese, Chinese and
//! Thai; clusters of near-duplicates (one base text, each copy with a few
//! characters changed, inserted or deleted, its own numbers, and different
//! case and punctuation); and clusters whose texts are unrelated but which
//! share a subject. The same spec gives the same corpus on every platform.
//!
//! The background shares a vocabulary and boilerplate sentences per script,
//! so unrelated texts do overlap, as real escalations about similar harms do.

use serde::{Deserialize, Serialize};

use super::SplitMix64;
use super::similarity::Item;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorpusSpec {
    pub seed: u64,
    /// Unrelated items, each in a cluster of its own.
    pub background: usize,
    /// Clusters of 3 to 8 near-duplicates.
    pub text_clusters: usize,
    /// Clusters of 2 to 5 unrelated texts sharing a subject key.
    pub subject_clusters: usize,
}

/// The generated items, shuffled, with ids 1 to n, and the planted clusters
/// as lists of ids.
#[derive(Debug, Clone)]
pub struct Corpus {
    pub items: Vec<Item>,
    pub planted: Vec<Vec<u64>>,
}

#[derive(Debug, Clone, Copy)]
enum Script {
    Latin,
    Japanese,
    Chinese,
    Thai,
}

const SCRIPTS: [Script; 4] = [
    Script::Latin,
    Script::Japanese,
    Script::Chinese,
    Script::Thai,
];

/// Where a number goes in a base text; each copy gets its own digits.
const NUMBER: char = '#';

const LATIN_WORDS: &[&str] = &[
    "account",
    "accounts",
    "fake",
    "scam",
    "page",
    "post",
    "posts",
    "user",
    "users",
    "profile",
    "impersonating",
    "impersonation",
    "brand",
    "giveaway",
    "phishing",
    "link",
    "links",
    "login",
    "password",
    "stolen",
    "hacked",
    "review",
    "urgent",
    "please",
    "report",
    "reported",
    "content",
    "video",
    "videos",
    "image",
    "images",
    "harassment",
    "threat",
    "threats",
    "spam",
    "bot",
    "bots",
    "network",
    "coordinated",
    "election",
    "misinformation",
    "health",
    "vaccine",
    "crypto",
    "investment",
    "fraud",
    "payment",
    "refund",
    "seller",
    "listing",
    "counterfeit",
    "product",
    "products",
    "trademark",
    "copyright",
    "infringement",
    "music",
    "stream",
    "live",
    "minor",
    "safety",
    "child",
    "harm",
    "hate",
    "speech",
    "group",
    "groups",
    "comment",
    "comments",
    "message",
    "messages",
    "ads",
    "advertiser",
    "campaign",
    "political",
    "celebrity",
    "deepfake",
    "voice",
    "clone",
    "romance",
    "loan",
    "job",
    "offer",
    "offers",
    "delivery",
    "parcel",
    "bank",
    "verification",
    "code",
    "sms",
    "marketplace",
    "government",
    "agency",
    "police",
    "court",
    "order",
    "takedown",
    "request",
    "legal",
    "notice",
    "our",
    "their",
    "this",
    "that",
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "on",
    "for",
    "with",
    "from",
    "by",
    "is",
    "are",
    "was",
    "has",
    "have",
    "been",
    "after",
    "before",
    "again",
    "new",
    "many",
    "several",
    "same",
    "multiple",
    "compte",
    "faux",
    "arnaque",
    "signalé",
    "cuenta",
    "falsa",
    "estafa",
    "página",
    "konto",
    "betrug",
    "gefälscht",
    "straße",
    "réclamation",
];

const LATIN_BOILERPLATE: &[&str] = &[
    "Please review urgently.",
    "Reported via the partner portal.",
    "See the attached screenshots.",
    "Thank you for your help.",
];

const KANJI: &str = "詐欺偽物乗取被害報告確認削除対応至急広告商品販売投稿動画画像写真個人情報漏洩脅迫\
誹謗中傷著作権侵害商標違反規約不正利用者登録電話番号銀行口座送金要求連絡先住所名前会社公式店舗通販発送返金\
問題多数件日本語表示内容悪質選挙医療薬品健康投資暗号資産偽造子供安全差別暴力自殺救済警察裁判所命令申請法的";

const HIRAGANA_ENDINGS: &[&str] = &[
    "の",
    "は",
    "が",
    "を",
    "に",
    "で",
    "と",
    "です",
    "ます",
    "した",
    "ている",
    "から",
    "ため",
    "について",
    "されて",
    "います",
    "ました",
    "ください",
];

const JAPANESE_BOILERPLATE: &[&str] = &[
    "至急ご確認ください。",
    "スクリーンショットを添付します。",
    "よろしくお願いいたします。",
];

const HANZI: &str = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之\
过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已\
老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很\
业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼\
体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受\
光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科";

const CHINESE_BOILERPLATE: &[&str] = &["请尽快处理。", "附上截图。", "谢谢你们的帮助。"];

const THAI_CONSONANTS: &str = "กขคงจฉชซญดตถทธนบปผพฟภมยรลวศสหอฮ";
const THAI_LEADING: &str = "เแโไ";
const THAI_VOWELS: &str = "าะิีึืุู";
const THAI_TONES: &str = "่้๊๋";
const THAI_FINALS: &str = "กงดนมยว";

const THAI_BOILERPLATE: &[&str] = &["กรุณาตรวจสอบโดยด่วน", "ขอบคุณครับ", "แนบภาพหน้าจอมาด้วย"];

/// Generates the corpus `spec` describes.
pub fn corpus(spec: &CorpusSpec) -> Corpus {
    let mut rng = SplitMix64(spec.seed);
    let kanji: Vec<char> = KANJI.chars().collect();
    let hanzi: Vec<char> = HANZI.chars().collect();
    let alphabet = Alphabet {
        kanji: &kanji,
        hanzi: &hanzi,
    };
    // (label, text, subjects); label 0 is the background.
    let mut drafts: Vec<(usize, String, Vec<String>)> = Vec::new();
    for index in 0..spec.background {
        let script = rng.pick(&SCRIPTS);
        let text = alphabet.text(&mut rng, script, true);
        drafts.push((
            0,
            with_numbers(&mut rng, &text),
            own_subjects(&mut rng, index),
        ));
    }
    for cluster in 0..spec.text_clusters {
        let label = cluster + 1;
        let script = rng.pick(&SCRIPTS);
        let base = alphabet.text(&mut rng, script, false);
        for copy in 0..rng.between(3, 8) {
            let text = alphabet.near_duplicate(&mut rng, script, &base);
            let subjects = own_subjects(&mut rng, spec.background + label * 16 + copy);
            drafts.push((label, text, subjects));
        }
    }
    for cluster in 0..spec.subject_clusters {
        let label = spec.text_clusters + cluster + 1;
        let shared = format!("account:shared-{cluster}-{:x}", rng.next_u64());
        for _ in 0..rng.between(2, 5) {
            let script = rng.pick(&SCRIPTS);
            let text = alphabet.text(&mut rng, script, true);
            drafts.push((label, with_numbers(&mut rng, &text), vec![shared.clone()]));
        }
    }
    // Fisher–Yates, so that clusters are not runs of neighbours.
    for i in (1..drafts.len()).rev() {
        drafts.swap(i, rng.below(i + 1));
    }
    let mut planted = vec![Vec::new(); spec.text_clusters + spec.subject_clusters];
    let items = drafts
        .into_iter()
        .enumerate()
        .map(|(position, (label, text, subjects))| {
            let id = position as u64 + 1;
            if label > 0 {
                planted[label - 1].push(id);
            }
            Item { id, text, subjects }
        })
        .collect();
    Corpus { items, planted }
}

/// Zero to two subject keys no other item holds.
fn own_subjects(rng: &mut SplitMix64, index: usize) -> Vec<String> {
    (0..rng.below(3))
        .map(|n| format!("post:own-{index}-{n}-{:x}", rng.next_u64()))
        .collect()
}

/// Replaces each `NUMBER` with 3 to 9 random digits.
fn with_numbers(rng: &mut SplitMix64, text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c == NUMBER {
            for _ in 0..rng.between(3, 9) {
                out.push(char::from(b'0' + rng.below(10) as u8));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[derive(Debug)]
struct Alphabet<'a> {
    kanji: &'a [char],
    hanzi: &'a [char],
}

impl Alphabet<'_> {
    /// A random text in `script`, with `NUMBER` marks; background texts get
    /// a boilerplate sentence one time in three.
    fn text(&self, rng: &mut SplitMix64, script: Script, boilerplate: bool) -> String {
        let mut text = match script {
            Script::Latin => self.latin(rng),
            Script::Japanese => self.japanese(rng),
            Script::Chinese => self.chinese(rng),
            Script::Thai => self.thai(rng),
        };
        if boilerplate && rng.chance(1, 3) {
            let sentences = match script {
                Script::Latin => LATIN_BOILERPLATE,
                Script::Japanese => JAPANESE_BOILERPLATE,
                Script::Chinese => CHINESE_BOILERPLATE,
                Script::Thai => THAI_BOILERPLATE,
            };
            text.push(' ');
            text.push_str(rng.pick(sentences));
        }
        text
    }

    fn latin(&self, rng: &mut SplitMix64) -> String {
        let words = rng.between(12, 30);
        let number_at = rng.below(words);
        let mut text = String::new();
        for i in 0..words {
            if i > 0 {
                text.push_str(if rng.chance(1, 12) { ", " } else { " " });
            }
            if i == number_at {
                text.push_str("id ");
                text.push(NUMBER);
                text.push(' ');
            }
            text.push_str(rng.pick(LATIN_WORDS));
        }
        text.push('.');
        text
    }

    fn japanese(&self, rng: &mut SplitMix64) -> String {
        let length = rng.between(40, 100);
        let mut text = String::from("番号");
        text.push(NUMBER);
        text.push('、');
        while text.chars().count() < length {
            match rng.below(3) {
                0 => text.extend((0..rng.between(2, 3)).map(|_| rng.pick(self.kanji))),
                1 => text.extend((0..rng.between(3, 6)).map(|_| katakana(rng))),
                _ => text.push_str(rng.pick(HIRAGANA_ENDINGS)),
            }
            if rng.chance(1, 10) {
                text.push(if rng.chance(1, 2) { '、' } else { '。' });
            }
        }
        text
    }

    fn chinese(&self, rng: &mut SplitMix64) -> String {
        let length = rng.between(40, 90);
        let mut text = String::from("编号");
        text.push(NUMBER);
        text.push('，');
        while text.chars().count() < length {
            text.push(rng.pick(self.hanzi));
            if rng.chance(1, 12) {
                text.push(if rng.chance(1, 2) { '，' } else { '。' });
            }
        }
        text
    }

    fn thai(&self, rng: &mut SplitMix64) -> String {
        let length = rng.between(40, 110);
        let mut text = String::from("หมายเลข ");
        text.push(NUMBER);
        while text.chars().count() < length {
            text.push(' ');
            for _ in 0..rng.between(3, 8) {
                thai_syllable(rng, &mut text);
            }
        }
        text
    }

    /// One random character of `script`, for edits.
    fn character(&self, rng: &mut SplitMix64, script: Script) -> char {
        match script {
            Script::Latin => char::from(b'a' + rng.below(26) as u8),
            Script::Japanese if rng.chance(1, 2) => rng.pick(self.kanji),
            Script::Japanese => katakana(rng),
            Script::Chinese => rng.pick(self.hanzi),
            Script::Thai => pick_char(rng, THAI_CONSONANTS),
        }
    }

    /// A copy of `base` with 1 to 3 characters substituted, inserted or
    /// deleted, its own numbers, and sometimes other case or punctuation.
    fn near_duplicate(&self, rng: &mut SplitMix64, script: Script, base: &str) -> String {
        let mut chars: Vec<char> = base.chars().collect();
        for _ in 0..rng.between(1, 3) {
            let at = rng.below(chars.len());
            if chars[at] == NUMBER {
                continue;
            }
            match rng.below(3) {
                0 => chars[at] = self.character(rng, script),
                1 => chars.insert(at, self.character(rng, script)),
                _ => {
                    chars.remove(at);
                }
            }
        }
        let mut text: String = chars.into_iter().collect();
        if rng.chance(1, 4) {
            text = text.to_uppercase();
        }
        if rng.chance(1, 3) {
            text.push_str(" !!");
        }
        if rng.chance(1, 4) {
            text = text.replace(' ', "  ");
        }
        with_numbers(rng, &text)
    }
}

fn katakana(rng: &mut SplitMix64) -> char {
    if rng.chance(1, 10) {
        'ー'
    } else {
        char::from_u32(0x30a1 + rng.below(0x30f3 - 0x30a1 + 1) as u32).unwrap_or('ア')
    }
}

fn pick_char(rng: &mut SplitMix64, letters: &str) -> char {
    let count = letters.chars().count();
    letters.chars().nth(rng.below(count)).unwrap_or(' ')
}

/// A Thai syllable: an optional leading vowel, a consonant, an optional
/// vowel and tone mark, an optional final consonant.
fn thai_syllable(rng: &mut SplitMix64, text: &mut String) {
    if rng.chance(1, 4) {
        text.push(pick_char(rng, THAI_LEADING));
    }
    text.push(pick_char(rng, THAI_CONSONANTS));
    if rng.chance(1, 2) {
        text.push(pick_char(rng, THAI_VOWELS));
    }
    if rng.chance(1, 3) {
        text.push(pick_char(rng, THAI_TONES));
    }
    if rng.chance(1, 3) {
        text.push(pick_char(rng, THAI_FINALS));
    }
}
