//! Subjects: the accounts, posts, ads… an escalation is about, normalised so
//! that the same subject is recognised across escalations whoever reports it.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::validation::{self, Collector, Invalid};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Account,
    Page,
    Group,
    Post,
    Comment,
    Message,
    Ad,
    AdAccount,
    Listing,
}

impl SubjectKind {
    pub const ALL: [SubjectKind; 9] = [
        SubjectKind::Account,
        SubjectKind::Page,
        SubjectKind::Group,
        SubjectKind::Post,
        SubjectKind::Comment,
        SubjectKind::Message,
        SubjectKind::Ad,
        SubjectKind::AdAccount,
        SubjectKind::Listing,
    ];

    pub fn parse(value: &str) -> Option<SubjectKind> {
        SubjectKind::ALL.into_iter().find(|k| k.as_str() == value)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Account => "account",
            SubjectKind::Page => "page",
            SubjectKind::Group => "group",
            SubjectKind::Post => "post",
            SubjectKind::Comment => "comment",
            SubjectKind::Message => "message",
            SubjectKind::Ad => "ad",
            SubjectKind::AdAccount => "ad_account",
            SubjectKind::Listing => "listing",
        }
    }
}

/// A subject as a caller submits it: an external id, a URL, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewSubject {
    pub kind: SubjectKind,
    /// A product surface code from the reference data (e.g. `social`, `ads`).
    pub surface: String,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// A validated, normalised subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Subject {
    pub kind: SubjectKind,
    pub surface: String,
    pub external_id: Option<String>,
    /// The URL in normalised form (https, no `www.`, no tracking parameters).
    pub url: Option<String>,
    /// The identity used to match this subject across escalations.
    pub normalized_key: String,
}

/// Query parameters that only track where a click came from.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid", "gclid", "igshid", "igsh", "si", "ref", "ref_src", "ref_url", "mc_cid", "mc_eid",
    "s", "t",
];

impl NewSubject {
    pub fn validate(&self) -> Result<Subject, Invalid> {
        let mut errors = Collector::default();
        let surface = errors.check(validation::code("surface", &self.surface));
        let external_id = match self.external_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(id) => errors.check(normalize_external_id(self.kind, id)),
        };
        let url = match self.url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => errors.check(normalize_url(raw)),
        };
        if self
            .external_id
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
            && self.url.as_deref().is_none_or(|s| s.trim().is_empty())
        {
            errors.push("external_id", "give an external_id, a url, or both");
        }
        errors.finish()?;
        let surface = surface.expect("checked");
        let normalized_key = match (&external_id, &url) {
            (Some(id), _) => format!("{surface}:{}:{id}", self.kind.as_str()),
            (None, Some(url)) => format!("url:{url}"),
            (None, None) => unreachable!("checked above"),
        };
        Ok(Subject {
            kind: self.kind,
            surface,
            external_id,
            url,
            normalized_key,
        })
    }
}

fn normalize_external_id(kind: SubjectKind, id: &str) -> Result<String, Invalid> {
    let id = validation::text("external_id", id, 1, 512)?;
    if id.chars().any(char::is_whitespace) {
        return Err(Invalid::one("external_id", "must not contain spaces"));
    }
    // Handles (`@Name`) are case-insensitive on the platforms we serve; numeric
    // and opaque ids are kept exactly as given.
    Ok(match (kind, id.strip_prefix('@')) {
        (SubjectKind::Account | SubjectKind::Page, Some(handle)) => {
            format!("@{}", handle.to_lowercase())
        }
        _ => id,
    })
}

const MAX_URL: usize = 2048;

/// Normalises a subject URL: https, lower-case host without `www.`/`m.`,
/// no default port, no fragment, no tracking parameters, sorted query, no
/// trailing slash.
pub fn normalize_url(raw: &str) -> Result<String, Invalid> {
    let invalid = |why: &str| Invalid::one("url", format!("{raw:?} is not a usable URL: {why}"));
    if raw.chars().count() > MAX_URL {
        return Err(invalid("longer than 2048 characters"));
    }
    let mut url = Url::parse(raw).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("only http and https URLs identify subjects"));
    }
    let host = url
        .host_str()
        .ok_or_else(|| invalid("it has no host"))?
        .to_string();
    // Strip mobile and www prefixes for as long as a registrable name remains,
    // so that normalising twice changes nothing (`www.m.com` → `m.com`).
    let mut host = host.as_str();
    while let Some(rest) = host
        .strip_prefix("www.")
        .or_else(|| host.strip_prefix("m."))
        && rest.contains('.')
    {
        host = rest;
    }
    let host = host.to_string();
    url.set_scheme("https").map_err(|()| invalid("scheme"))?;
    url.set_host(Some(&host))
        .map_err(|e| invalid(&e.to_string()))?;
    url.set_port(None).map_err(|()| invalid("port"))?;
    url.set_fragment(None);
    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            !k.starts_with("utm_") && !TRACKING_PARAMS.contains(&k.as_str())
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    params.sort();
    if params.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(params);
    }
    let path = url.path().to_string();
    if path.len() > 1 && path.ends_with('/') {
        url.set_path(path.trim_end_matches('/'));
    }
    let mut out = url.to_string();
    if url.path() == "/" && url.query().is_none() {
        out.pop();
    }
    // Percent-encoding can grow a URL; bound the stored form, not only the input.
    if out.len() > MAX_URL {
        return Err(invalid("longer than 2048 characters once normalised"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn subject(kind: SubjectKind, id: Option<&str>, url: Option<&str>) -> Result<Subject, Invalid> {
        NewSubject {
            kind,
            surface: "social".into(),
            external_id: id.map(Into::into),
            url: url.map(Into::into),
        }
        .validate()
    }

    #[test]
    fn the_same_post_url_from_two_reporters_is_one_subject() {
        let a = subject(
            SubjectKind::Post,
            None,
            Some("http://www.Example.com/p/123/?utm_source=x&b=2&a=1#top"),
        )
        .unwrap();
        let b = subject(
            SubjectKind::Post,
            None,
            Some("https://m.example.com:443/p/123?a=1&b=2"),
        )
        .unwrap();
        assert_eq!(a.normalized_key, b.normalized_key);
        assert_eq!(a.url.as_deref(), Some("https://example.com/p/123?a=1&b=2"));
    }

    #[test]
    fn handles_are_case_insensitive_but_ids_are_not() {
        let a = subject(SubjectKind::Account, Some(" @JaneDoe "), None).unwrap();
        assert_eq!(a.normalized_key, "social:account:@janedoe");
        let b = subject(SubjectKind::Ad, Some("AbC123"), None).unwrap();
        assert_eq!(b.normalized_key, "social:ad:AbC123");
    }

    #[test]
    fn a_subject_needs_an_id_or_a_url() {
        let err = subject(SubjectKind::Post, None, Some("  ")).unwrap_err();
        assert_eq!(err.0[0].field, "external_id");
        assert!(subject(SubjectKind::Post, None, Some("ftp://example.com/x")).is_err());
        assert!(subject(SubjectKind::Post, None, Some("not a url")).is_err());
    }

    #[test]
    fn a_url_that_grows_past_the_limit_when_encoded_is_refused() {
        // Found by the `identifiers` fuzz target: characters in the query
        // grow several times once percent-encoded.
        let raw = format!("http://example.com/?q={}", "é".repeat(1000));
        assert!(raw.chars().count() <= MAX_URL);
        assert!(normalize_url(&raw).is_err());
    }

    proptest! {
        #[test]
        fn url_normalisation_is_idempotent(
            host in "[a-z]{1,10}\\.(com|jp|co\\.th)",
            path in "(/[a-zA-Z0-9_-]{1,8}){0,3}/?",
            query in proptest::collection::vec(("[a-z]{1,5}", "[a-z0-9]{0,5}"), 0..4),
        ) {
            let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let raw = format!("http://www.{host}{path}?{}", q.join("&"));
            let once = normalize_url(&raw).unwrap();
            let twice = normalize_url(&once).unwrap();
            prop_assert_eq!(once, twice);
        }

        #[test]
        fn url_normalisation_never_panics(raw in "\\PC{0,80}") {
            let _ = normalize_url(&raw);
        }
    }
}
