//! Filters, sorting, scopes and cursor pages for listing escalations.

use jiff::Timestamp;
use ombud_domain::{EscalationKey, Priority, Status};

/// Who is reading: staff see every escalation; a partner only its own, and
/// only what is partner-visible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Staff,
    Partner(String),
}

impl Scope {
    pub fn partner(&self) -> Option<&str> {
        match self {
            Scope::Staff => None,
            Scope::Partner(slug) => Some(slug),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortField {
    #[default]
    CreatedAt,
    UpdatedAt,
    Priority,
    Key,
    /// Nearest deadline first (ascending); escalations with no running
    /// clock sort after every deadline.
    DueAt,
    /// Best search match first; only with `q`.
    Relevance,
}

impl SortField {
    pub fn parse(value: &str) -> Option<SortField> {
        Some(match value {
            "created_at" => SortField::CreatedAt,
            "updated_at" => SortField::UpdatedAt,
            "priority" => SortField::Priority,
            "key" => SortField::Key,
            "due_at" => SortField::DueAt,
            "relevance" => SortField::Relevance,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDirection {
    Asc,
    #[default]
    Desc,
}

/// Every filter is optional; list-valued ones match any of their values,
/// except `tags`, which must all be present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EscalationFilter {
    pub statuses: Vec<Status>,
    pub types: Vec<String>,
    pub priorities: Vec<Priority>,
    pub partners: Vec<String>,
    /// `Some(None)` lists unassigned escalations.
    pub assignee: Option<Option<String>>,
    pub queue: Option<String>,
    /// Only escalations with a consult still waiting for its answer.
    pub awaiting_consult: bool,
    pub countries: Vec<String>,
    pub languages: Vec<String>,
    /// The first subject's surface; `None` matches escalations without subjects.
    pub surfaces: Vec<Option<String>>,
    /// The decision's policy; `None` matches escalations without one.
    pub policies: Vec<Option<String>>,
    pub tags: Vec<String>,
    pub created_from: Option<Timestamp>,
    pub created_to: Option<Timestamp>,
    /// When the report reached the partner (`received_at`), like the
    /// creation bounds: from included, to excluded.
    pub received_from: Option<Timestamp>,
    pub received_to: Option<Timestamp>,
    pub updated_from: Option<Timestamp>,
    pub updated_to: Option<Timestamp>,
    /// Free text, matched as substrings in any script.
    pub q: Option<String>,
    pub sort: SortField,
    pub direction: SortDirection,
    pub cursor: Option<Cursor>,
    /// 1..=200.
    pub limit: u32,
}

/// Where the next page starts: after the row with this sort value and key
/// (keyset pagination), or, for relevance order, at an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    After { value: i64, key: EscalationKey },
    Offset(u64),
}

impl Cursor {
    /// An opaque, URL-safe token.
    pub fn encode(&self) -> String {
        let plain = match self {
            Cursor::After { value, key } => format!("a:{value}:{}", key.0),
            Cursor::Offset(n) => format!("o:{n}"),
        };
        hex::encode(plain)
    }

    pub fn decode(token: &str) -> Option<Cursor> {
        let bytes = hex::decode(token).ok()?;
        let plain = String::from_utf8(bytes).ok()?;
        let mut parts = plain.split(':');
        let cursor = match parts.next()? {
            "a" => Cursor::After {
                value: parts.next()?.parse().ok()?,
                key: EscalationKey(parts.next()?.parse().ok()?),
            },
            "o" => Cursor::Offset(parts.next()?.parse().ok()?),
            _ => return None,
        };
        parts.next().is_none().then_some(cursor)
    }
}

/// One page of results and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// Splits free text into search terms: whitespace-separated, at most 8,
/// each at most 100 characters. Quotes and operators are plain text.
pub fn search_terms(q: &str) -> Vec<String> {
    q.split_whitespace()
        .take(8)
        .map(|t| t.chars().take(100).collect::<String>().to_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        for c in [
            Cursor::After {
                value: -5,
                key: EscalationKey(42),
            },
            Cursor::Offset(100),
        ] {
            assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }
        for bad in [
            "",
            "zz",
            &hex::encode("a:1"),
            &hex::encode("o:1:2"),
            &hex::encode("x:1"),
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn search_terms_are_lowercased_and_bounded() {
        assert_eq!(
            search_terms("  Hacked  アカウント "),
            ["hacked", "アカウント"]
        );
        assert_eq!(search_terms(&"a ".repeat(20)).len(), 8);
    }
}
