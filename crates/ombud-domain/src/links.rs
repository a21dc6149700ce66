//! Links between escalations (duplicate, related, parent and child) and the
//! detection of likely duplicates on intake: the same normalised subject, or
//! the same partner with similar text within a week. Text similarity uses
//! character trigrams, so it works for Japanese and Thai as for English.

use std::collections::HashSet;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::actor::Actor;
use crate::escalation::{Escalation, EscalationDraft, EscalationKey, Visibility};
use crate::event::{EventKind, NewEvent};
use crate::validation::Invalid;

/// How two escalations relate, seen from the one holding the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// Found on intake; a person confirms it by merging.
    PossibleDuplicate,
    DuplicateOf,
    HasDuplicate,
    Related,
    ParentOf,
    ChildOf,
}

impl LinkKind {
    pub const ALL: [LinkKind; 6] = [
        LinkKind::PossibleDuplicate,
        LinkKind::DuplicateOf,
        LinkKind::HasDuplicate,
        LinkKind::Related,
        LinkKind::ParentOf,
        LinkKind::ChildOf,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::PossibleDuplicate => "possible_duplicate",
            LinkKind::DuplicateOf => "duplicate_of",
            LinkKind::HasDuplicate => "has_duplicate",
            LinkKind::Related => "related",
            LinkKind::ParentOf => "parent_of",
            LinkKind::ChildOf => "child_of",
        }
    }

    pub fn parse(value: &str) -> Option<LinkKind> {
        LinkKind::ALL.into_iter().find(|k| k.as_str() == value)
    }

    /// The same link seen from the other escalation.
    pub fn inverse(self) -> LinkKind {
        match self {
            LinkKind::PossibleDuplicate => LinkKind::PossibleDuplicate,
            LinkKind::DuplicateOf => LinkKind::HasDuplicate,
            LinkKind::HasDuplicate => LinkKind::DuplicateOf,
            LinkKind::Related => LinkKind::Related,
            LinkKind::ParentOf => LinkKind::ChildOf,
            LinkKind::ChildOf => LinkKind::ParentOf,
        }
    }
}

/// A link to another escalation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Link {
    pub kind: LinkKind,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "ESC-1042"))]
    pub key: EscalationKey,
    /// Why: `same subject …`, `similar text (0.82)`, or a person's note.
    pub reason: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
}

/// Text at least this similar, from the same partner, suggests a duplicate.
pub const SIMILAR_TEXT: f64 = 0.5;
/// How far back the same partner's escalations are compared by text.
pub const TEXT_WINDOW: SignedDuration = SignedDuration::from_hours(7 * 24);

fn trigrams(text: &str) -> HashSet<[char; 3]> {
    let chars: Vec<char> = text
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_ascii_punctuation())
        .collect();
    chars.windows(3).map(|w| [w[0], w[1], w[2]]).collect()
}

/// Jaccard similarity of the character trigrams of two texts, 0 to 1.
pub fn text_similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (trigrams(a), trigrams(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    a.intersection(&b).count() as f64 / a.union(&b).count() as f64
}

/// The candidates that are likely duplicates of `draft`, with the reason.
pub fn likely_duplicates(
    draft: &EscalationDraft,
    candidates: &[Escalation],
) -> Vec<(EscalationKey, String)> {
    let text = format!("{} {}", draft.title, draft.description);
    candidates
        .iter()
        .filter_map(|candidate| {
            let shared = draft.subjects.iter().find(|s| {
                candidate
                    .subjects
                    .iter()
                    .any(|c| c.normalized_key == s.normalized_key)
            });
            if let Some(subject) = shared {
                return Some((
                    candidate.key,
                    format!("same subject {}", subject.normalized_key),
                ));
            }
            let recent = draft
                .received_at
                .duration_since(candidate.received_at)
                .abs()
                <= TEXT_WINDOW;
            if candidate.partner != draft.partner || !recent {
                return None;
            }
            let similarity = text_similarity(
                &text,
                &format!("{} {}", candidate.title, candidate.description),
            );
            (similarity >= SIMILAR_TEXT).then(|| {
                (
                    candidate.key,
                    format!("similar text from the same partner ({similarity:.2})"),
                )
            })
        })
        .collect()
}

impl Escalation {
    /// Links this escalation to `other`; the caller links `other` back with
    /// the inverse kind.
    pub fn link(
        &self,
        kind: LinkKind,
        other: EscalationKey,
        reason: &str,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<(Escalation, NewEvent), Invalid> {
        if other == self.key {
            return Err(Invalid::one("to", "an escalation cannot link to itself"));
        }
        if self.links.iter().any(|l| l.key == other && l.kind == kind) {
            return Err(Invalid::one(
                "to",
                format!("{} is already linked to {other}", self.key),
            ));
        }
        let link = Link {
            kind,
            key: other,
            reason: reason.to_string(),
            at,
        };
        let event = NewEvent::new(
            EventKind::Linked,
            Visibility::Internal,
            actor,
            at,
            json!(link),
        );
        let mut next = self.clone();
        next.links.push(link);
        next.updated_at = at.max(next.updated_at);
        next.version += 1;
        Ok((next, event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_as_they_are_written_and_invert_back() {
        for kind in LinkKind::ALL {
            assert_eq!(LinkKind::parse(kind.as_str()), Some(kind));
            assert_eq!(kind.inverse().inverse(), kind);
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
    use crate::escalation::NewEscalation;
    use crate::subject::{NewSubject, SubjectKind};

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn draft(partner: &str, title: &str, url: &str, received: &str) -> EscalationDraft {
        NewEscalation {
            escalation_type: "impersonation".into(),
            title: title.into(),
            country: "TH".into(),
            language: "th".into(),
            subjects: vec![NewSubject {
                kind: SubjectKind::Account,
                surface: "social".into(),
                external_id: None,
                url: Some(url.into()),
            }],
            ..Default::default()
        }
        .validate(partner, "api", at(received))
        .unwrap()
    }

    fn stored(draft: EscalationDraft, key: i64) -> Escalation {
        let at = draft.received_at;
        draft
            .into_escalation(EscalationKey(key), &Actor::system(), at)
            .0
    }

    #[test]
    fn the_same_subject_or_similar_text_from_the_same_partner_is_a_likely_duplicate() {
        let existing = [
            stored(
                draft(
                    "th-police",
                    "บัญชีปลอมแอบอ้างเป็นดารา",
                    "https://social.example/fake1",
                    "2026-11-20T00:00:00Z",
                ),
                1,
            ),
            stored(
                draft(
                    "th-police",
                    "Crypto scam ad",
                    "https://www.social.example/star?fbclid=x",
                    "2026-10-01T00:00:00Z",
                ),
                2,
            ),
            stored(
                draft(
                    "other",
                    "บัญชีปลอมแอบอ้างเป็นดารา",
                    "https://social.example/fake3",
                    "2026-11-20T00:00:00Z",
                ),
                3,
            ),
            stored(
                draft(
                    "th-police",
                    "บัญชีปลอมแอบอ้างเป็นดารา",
                    "https://social.example/fake4",
                    "2026-09-01T00:00:00Z",
                ),
                4,
            ),
        ];
        let new = draft(
            "th-police",
            "บัญชีปลอมแอบอ้างเป็นดาราดัง",
            "https://social.example/star",
            "2026-11-25T00:00:00Z",
        );
        let found = likely_duplicates(&new, &existing);
        let keys: Vec<i64> = found.iter().map(|(k, _)| k.0).collect();
        // 1: similar Thai text, same partner, this week; 2: the same account
        // behind a tracking URL; not 3 (another partner), not 4 (too old).
        assert_eq!(keys, [1, 2]);
        assert!(found[0].1.starts_with("similar text"), "{}", found[0].1);
        assert!(found[1].1.starts_with("same subject"), "{}", found[1].1);
    }

    #[test]
    fn similarity_is_language_independent() {
        assert!(text_similarity("アカウントが乗っ取られました", "アカウントが乗っ取られた") > 0.6);
        assert!(text_similarity("アカウントが乗っ取られました", "広告が却下されました") < 0.2);
        assert_eq!(text_similarity("", "anything"), 0.0);
    }

    #[test]
    fn links_are_refused_to_self_and_twice() {
        let e = stored(
            draft("p", "t", "https://social.example/a", "2026-11-25T00:00:00Z"),
            1,
        );
        let actor = Actor::system();
        let now = at("2026-11-25T01:00:00Z");
        assert!(
            e.link(LinkKind::Related, EscalationKey(1), "", &actor, now)
                .is_err()
        );
        let (linked, event) = e
            .link(
                LinkKind::ParentOf,
                EscalationKey(2),
                "incident",
                &actor,
                now,
            )
            .unwrap();
        assert_eq!(event.kind, EventKind::Linked);
        assert!(
            linked
                .link(LinkKind::ParentOf, EscalationKey(2), "", &actor, now)
                .is_err()
        );
        assert_eq!(LinkKind::ParentOf.inverse(), LinkKind::ChildOf);
    }
}
