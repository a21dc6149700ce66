//! Untrusted identifiers from URLs, query strings and bodies: keys, cursors,
//! subject URLs, language tags, countries and slugs. Parsing must never
//! panic, and whatever parses must re-parse to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ombud_domain::{Country, EscalationKey, Language, Slug};
use ombud_store::Cursor;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Some(key) = EscalationKey::parse(text) {
        assert_eq!(EscalationKey::parse(&key.to_string()), Some(key));
    }
    if let Some(cursor) = Cursor::decode(text) {
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
    }
    if let Ok(url) = ombud_domain::subject::normalize_url(text) {
        assert_eq!(ombud_domain::subject::normalize_url(&url).as_deref(), Ok(url.as_str()));
    }
    if let Ok(lang) = Language::parse("language", text) {
        assert_eq!(Language::parse("language", lang.as_str()), Ok(lang.clone()));
    }
    if let Ok(country) = Country::parse("country", text) {
        assert_eq!(country.as_str().len(), 2);
    }
    let _ = Slug::parse("slug", text);
});
