//! Upstream fixes tracked as records of their own. A decision names the fix
//! for its root cause by a link to another team's tracker
//! (`decision::UpstreamFix`); the record behind that link keeps the root
//! cause it belongs to, where the fix stands now, and every change of status
//! or owner with who made it and when, so that the moment it first shipped —
//! from which recurrences count — is known exactly.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::decision::{FixStatus, UpstreamFix};
use crate::validation::{self, Collector, Invalid};

const MAX_URL: usize = 2000;
const MAX_OWNER: usize = 200;
const MAX_NOTE: usize = 2000;
/// Characters of the link's last segment kept in a fix's code.
const MAX_SLUG: usize = 40;

/// A tracked upstream fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Fix {
    /// Derived from the link by [`Fix::code_for`], e.g. `fix-pol-12-5e1f0c2a`.
    pub code: String,
    /// The root-cause code it should stop from recurring.
    pub root_cause: String,
    /// The fix in the owning team's tracker: what decisions name.
    pub url: String,
    pub status: FixStatus,
    /// Who drives it (a person or a team).
    pub owner: String,
    /// When it first reached `shipped` (or when Ombud first heard it had).
    /// It stays when the fix later moves on: escalations filed after that
    /// moment are recurrences whatever became of the fix.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub shipped_at: Option<Timestamp>,
    /// Every change, oldest first; the first is the one that tracked it.
    pub history: Vec<FixChange>,
}

/// One change of a fix's status or owner: the state it left the fix in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FixChange {
    pub status: FixStatus,
    pub owner: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// Who made it, as the timeline names them.
    pub by: String,
    /// The escalation whose decision made it, when a decision did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// A change asked for directly (not through a decision): a new status, a
/// new owner, or both, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FixUpdate {
    /// Left out: the status stays.
    #[serde(default)]
    pub status: Option<FixStatus>,
    /// Left out: the owner stays; empty: nobody.
    #[serde(default)]
    pub owner: Option<String>,
    /// Kept in the history (a release name, why it was dropped…).
    #[serde(default)]
    pub note: String,
}

impl Fix {
    /// The code of the fix behind `url`: the link's last segment as a slug
    /// and a hash of the whole link, so that it reads well and is the same
    /// wherever and whenever it is worked out — two decisions naming a new
    /// link at once both land on one record.
    pub fn code_for(url: &str) -> String {
        let url = url.trim();
        let tail = url
            .rsplit(['/', '?', '=', '&', '#'])
            .find(|s| !s.is_empty())
            .unwrap_or_default();
        let mut slug = String::new();
        for c in tail.chars().map(|c| c.to_ascii_lowercase()) {
            if slug.len() >= MAX_SLUG {
                break;
            }
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let slug = slug.trim_end_matches('-');
        let hash = fnv1a(url.as_bytes());
        let short = (hash ^ (hash >> 32)) as u32;
        if slug.is_empty() {
            format!("fix-{short:08x}")
        } else {
            format!("fix-{slug}-{short:08x}")
        }
    }

    /// A new record for the fix a decision names, first seen by `by` at `at`.
    pub fn track(
        fix: &UpstreamFix,
        root_cause: &str,
        by: &str,
        escalation: Option<&str>,
        at: Timestamp,
    ) -> Fix {
        Fix {
            code: Fix::code_for(&fix.url),
            root_cause: root_cause.to_string(),
            url: fix.url.trim().to_string(),
            status: fix.status,
            owner: fix.owner.trim().to_string(),
            shipped_at: (fix.status == FixStatus::Shipped).then_some(at),
            history: vec![FixChange {
                status: fix.status,
                owner: fix.owner.trim().to_string(),
                at,
                by: by.to_string(),
                escalation: escalation.map(str::to_string),
                note: String::new(),
            }],
        }
    }

    /// Applies a direct change; `None` when it changes neither status nor
    /// owner (asking twice is harmless).
    pub fn update(
        &self,
        update: &FixUpdate,
        by: &str,
        at: Timestamp,
    ) -> Result<Option<Fix>, Invalid> {
        let mut errors = Collector::default();
        let owner = match &update.owner {
            Some(owner) => errors.check(validation::text("owner", owner, 0, MAX_OWNER)),
            None => Some(self.owner.clone()),
        };
        let note = errors.check(validation::text("note", &update.note, 0, MAX_NOTE));
        errors.finish()?;
        Ok(self.record(
            update.status.unwrap_or(self.status),
            owner.expect("checked"),
            by,
            None,
            note.expect("checked"),
            at,
        ))
    }

    /// What a decision on `escalation` naming this fix as `decided` does
    /// to the record; `None` when nothing changes. The record is where the
    /// fix stands: a decision moves it only with what the decider changed.
    /// When the escalation's previous decision (`before`) named the same
    /// fix, a status or owner it repeats is not a change — amending an
    /// outcome resends the old fix fields, which must not undo a status set
    /// on the record since. A decision that newly names the fix states its
    /// status, and that is applied. An empty owner leaves the owner as is.
    pub fn follow_decision(
        &self,
        decided: &UpstreamFix,
        before: Option<&UpstreamFix>,
        by: &str,
        escalation: &str,
        at: Timestamp,
    ) -> Option<Fix> {
        let before = before.filter(|b| b.url.trim() == self.url);
        let status = match before {
            Some(b) if b.status == decided.status => self.status,
            _ => decided.status,
        };
        let owner = decided.owner.trim();
        let owner = match before {
            _ if owner.is_empty() => self.owner.clone(),
            Some(b) if b.owner.trim() == owner => self.owner.clone(),
            _ => owner.to_string(),
        };
        self.record(status, owner, by, Some(escalation), String::new(), at)
    }

    /// The one place a fix changes: a history entry for every change, and
    /// the first move to `shipped` kept as `shipped_at`.
    fn record(
        &self,
        status: FixStatus,
        owner: String,
        by: &str,
        escalation: Option<&str>,
        note: String,
        at: Timestamp,
    ) -> Option<Fix> {
        if status == self.status && owner == self.owner {
            return None;
        }
        let mut next = self.clone();
        next.status = status;
        next.owner.clone_from(&owner);
        if status == FixStatus::Shipped && next.shipped_at.is_none() {
            next.shipped_at = Some(at);
        }
        next.history.push(FixChange {
            status,
            owner,
            at,
            by: by.to_string(),
            escalation: escalation.map(str::to_string),
            note,
        });
        Some(next)
    }

    /// Checks a stored or imported record's shape: a valid code that is the
    /// link's own, a root-cause code, an http(s) link, and a history that
    /// ends where the record stands.
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut errors = Collector::default();
        errors.check(validation::code("root_cause", &self.root_cause));
        if let Some(url) = errors.check(validation::text("url", &self.url, 1, MAX_URL))
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            errors.push("url", format!("{url:?} is not an http(s) link"));
        }
        if self.code != Fix::code_for(&self.url) {
            errors.push(
                "code",
                format!("the code of this link is {:?}", Fix::code_for(&self.url)),
            );
        }
        errors.check(validation::text("owner", &self.owner, 0, MAX_OWNER));
        match self.history.last() {
            None => errors.push("history", "a fix has at least the change that tracked it"),
            Some(last) if last.status != self.status || last.owner != self.owner => errors.push(
                "history",
                "the last change must leave the fix in its status and owner",
            ),
            Some(_) => {}
        }
        errors.finish()
    }
}

/// The earliest moment any of `fixes` shipped: where a root cause's
/// recurrences start.
pub fn first_shipped<'a>(fixes: impl IntoIterator<Item = &'a Fix>) -> Option<Timestamp> {
    fixes.into_iter().filter_map(|f| f.shipped_at).min()
}

/// Whether an escalation filed at `created_at` recurs after a fix shipped
/// at `shipped_at`: filed strictly later, both read to the second (as the
/// analytics views write times), so one filed in the very second the fix
/// shipped is not counted.
pub fn recurs(created_at: Timestamp, shipped_at: Option<Timestamp>) -> bool {
    shipped_at.is_some_and(|shipped| created_at.as_second() > shipped.as_second())
}

/// 64-bit FNV-1a: small, stable across releases and platforms (unlike the
/// standard library's hasher), enough to tell links apart in a code.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(time: &str) -> Timestamp {
        format!("2026-11-25T{time}Z").parse().unwrap()
    }

    fn upstream(status: FixStatus, owner: &str) -> UpstreamFix {
        UpstreamFix {
            url: "https://tracker.example/browse/POL-12".into(),
            status,
            owner: owner.into(),
        }
    }

    #[test]
    fn codes_read_well_are_stable_and_valid() {
        let code = Fix::code_for("https://tracker.example/browse/POL-12");
        assert!(code.starts_with("fix-pol-12-"), "{code}");
        assert_eq!(
            code,
            Fix::code_for(" https://tracker.example/browse/POL-12 ")
        );
        assert_ne!(code, Fix::code_for("https://other.example/browse/POL-12"));
        // A pinned value: codes are stored, so the derivation may not drift.
        assert_eq!(Fix::code_for("https://t.example/1"), "fix-1-a1d905b5");
        for url in [
            "https://github.com/org/repo/issues/42",
            "https://jira.example/browse?id=ÅÄ-9",
            "https://tracker.example/",
            &format!("https://tracker.example/{}", "x".repeat(300)),
        ] {
            let code = Fix::code_for(url);
            assert!(validation::code("code", &code).is_ok(), "{url}: {code}");
        }
    }

    #[test]
    fn history_records_every_change_and_the_first_shipping_stays() {
        let fix = Fix::track(
            &upstream(FixStatus::Proposed, "amara"),
            "automation_false_positive",
            "Aiko",
            Some("ESC-1"),
            at("09:00:00"),
        );
        assert_eq!(fix.shipped_at, None);
        assert!(fix.validate().is_ok());
        let shipped = |update: &FixUpdate, fix: &Fix, time| {
            fix.update(update, "Mika", at(time)).unwrap().unwrap()
        };
        let fix = shipped(
            &FixUpdate {
                status: Some(FixStatus::Shipped),
                note: "release 4.2".into(),
                ..Default::default()
            },
            &fix,
            "10:00:00",
        );
        assert_eq!(fix.shipped_at, Some(at("10:00:00")));
        // Reverted, then shipped again: still first shipped at ten.
        let fix = shipped(
            &FixUpdate {
                status: Some(FixStatus::InProgress),
                owner: Some("ml-platform".into()),
                ..Default::default()
            },
            &fix,
            "11:00:00",
        );
        let fix = shipped(
            &FixUpdate {
                status: Some(FixStatus::Shipped),
                ..Default::default()
            },
            &fix,
            "12:00:00",
        );
        assert_eq!(fix.shipped_at, Some(at("10:00:00")));
        assert_eq!(fix.owner, "ml-platform", "the owner stays when left out");
        let steps: Vec<(FixStatus, &str, &str)> = fix
            .history
            .iter()
            .map(|c| (c.status, c.by.as_str(), c.note.as_str()))
            .collect();
        assert_eq!(
            steps,
            [
                (FixStatus::Proposed, "Aiko", ""),
                (FixStatus::Shipped, "Mika", "release 4.2"),
                (FixStatus::InProgress, "Mika", ""),
                (FixStatus::Shipped, "Mika", ""),
            ]
        );
        assert!(fix.validate().is_ok());
        // Asking for what is already so changes nothing.
        let again = FixUpdate {
            status: Some(FixStatus::Shipped),
            ..Default::default()
        };
        assert_eq!(fix.update(&again, "Mika", at("13:00:00")).unwrap(), None);
        let too_long = FixUpdate {
            owner: Some("o".repeat(201)),
            ..Default::default()
        };
        assert_eq!(
            fix.update(&too_long, "Mika", at("13:00:00")).unwrap_err().0[0].field,
            "owner"
        );
    }

    #[test]
    fn a_decision_moves_the_record_only_with_what_it_changed() {
        let tracked = Fix::track(
            &upstream(FixStatus::Proposed, "amara"),
            "policy_gap",
            "Aiko",
            Some("ESC-1"),
            at("09:00:00"),
        );
        let shipped = tracked
            .update(
                &FixUpdate {
                    status: Some(FixStatus::Shipped),
                    ..Default::default()
                },
                "Mika",
                at("10:00:00"),
            )
            .unwrap()
            .unwrap();
        // ESC-1's decision is amended, resending its old fix fields: the
        // status set on the record since is not undone.
        let before = upstream(FixStatus::Proposed, "amara");
        assert_eq!(
            shipped.follow_decision(&before, Some(&before), "Aiko", "ESC-1", at("11:00:00")),
            None
        );
        // The amendment changes the status: applied, naming the escalation.
        let moved = shipped
            .follow_decision(
                &upstream(FixStatus::WontFix, ""),
                Some(&before),
                "Aiko",
                "ESC-1",
                at("11:00:00"),
            )
            .unwrap();
        assert_eq!(moved.status, FixStatus::WontFix);
        assert_eq!(moved.owner, "amara", "an empty owner keeps the owner");
        assert_eq!(
            moved.history.last().unwrap().escalation.as_deref(),
            Some("ESC-1")
        );
        // Another escalation newly names the fix with a status: applied.
        let named = shipped
            .follow_decision(
                &upstream(FixStatus::InProgress, "ml-platform"),
                None,
                "Kenji",
                "ESC-2",
                at("12:00:00"),
            )
            .unwrap();
        assert_eq!(
            (named.status, named.owner.as_str()),
            (FixStatus::InProgress, "ml-platform")
        );
        assert_eq!(named.shipped_at, Some(at("10:00:00")));
    }

    #[test]
    fn recurrence_starts_the_second_after_the_first_fix_shipped() {
        let mut early = Fix::track(
            &upstream(FixStatus::Shipped, ""),
            "policy_gap",
            "Aiko",
            None,
            at("10:00:00.400"),
        );
        let late = Fix {
            shipped_at: Some(at("12:00:00")),
            ..early.clone()
        };
        let never = Fix {
            shipped_at: None,
            ..early.clone()
        };
        let first = first_shipped([&late, &early, &never]);
        assert_eq!(first, Some(at("10:00:00.400")));
        assert!(!recurs(at("09:59:59"), first));
        assert!(!recurs(at("10:00:00.900"), first), "the same second");
        assert!(recurs(at("10:00:01"), first));
        early.shipped_at = None;
        assert_eq!(first_shipped([&early, &never]), None);
        assert!(!recurs(at("23:00:00"), None));
    }

    #[test]
    fn a_record_whose_code_or_history_disagrees_is_refused() {
        let mut fix = Fix::track(
            &upstream(FixStatus::Proposed, ""),
            "policy_gap",
            "Aiko",
            None,
            at("09:00:00"),
        );
        fix.code = "fix-other".into();
        fix.status = FixStatus::Shipped;
        let fields: Vec<String> = fix
            .validate()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["code", "history"]);
    }
}
