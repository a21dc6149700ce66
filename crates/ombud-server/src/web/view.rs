//! What the console and the portal show alike, prepared for templates.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use ombud_domain::sla::{ClockSource, ClockState, EscalationClock};
use ombud_domain::{NewSubject, RefKind, StoredEvent, Subject, SubjectKind, Visibility};

use super::WebResult;
use crate::AppState;
use crate::error::ApiError;

/// `2026-11-25 18:00 JST`: an instant as the reader's clock shows it.
pub(super) fn when(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned(zone.clone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// One timeline entry.
pub(super) struct TimelineItem {
    pub what: String,
    pub actor: String,
    /// RFC 3339, for the `datetime` attribute.
    pub at: String,
    /// In the reader's time zone.
    pub at_local: String,
    pub text: String,
    pub visibility: &'static str,
}

impl TimelineItem {
    pub(super) fn of(event: &StoredEvent, zone: &TimeZone) -> TimelineItem {
        let text = ["body", "note", "reason"]
            .iter()
            .find_map(|field| event.data.get(*field).and_then(|v| v.as_str()))
            .unwrap_or_default();
        TimelineItem {
            what: event.kind.as_str().replace('_', " "),
            actor: event.actor.name.clone(),
            at: event.at.to_string(),
            at_local: when(event.at, zone),
            text: text.to_string(),
            visibility: match event.visibility {
                Visibility::Internal => "internal",
                Visibility::Partner => "partner",
            },
        }
    }
}

/// `account on social: https://…`: what a subject is and where.
pub(super) fn subject_label(subject: &Subject) -> String {
    let id = subject
        .url
        .as_deref()
        .or(subject.external_id.as_deref())
        .unwrap_or(&subject.normalized_key);
    format!("{} on {}: {id}", subject.kind.as_str(), subject.surface)
}

/// The subject a form names: its kind, surface, and a link (`http…`) or an
/// id; `None` when no kind or nothing was given.
pub(super) fn subject_from(kind: &str, surface: &str, text: &str) -> Option<NewSubject> {
    let text = text.trim();
    let kind = SubjectKind::parse(kind).filter(|_| !text.is_empty())?;
    let is_link = text.starts_with("http://") || text.starts_with("https://");
    Some(NewSubject {
        kind,
        surface: surface.to_string(),
        external_id: (!is_link).then(|| text.to_string()),
        url: is_link.then(|| text.to_string()),
    })
}

/// A run of text, marked when it is a search match.
pub(super) struct Highlighted {
    pub text: String,
    pub hit: bool,
}

/// Splits `text` into runs that match one of `terms` (lower case, as the
/// search reads them) and runs that do not. Matching is by character,
/// ignoring case, inside words too: as the search matches Japanese or Thai,
/// which have no spaces between words.
pub(super) fn highlight(text: &str, terms: &[String]) -> Vec<Highlighted> {
    // The lower-cased text, and for each of its bytes the original
    // character it came from (lower-casing may change lengths).
    let chars: Vec<char> = text.chars().collect();
    let mut lower = String::with_capacity(text.len());
    let mut origin = Vec::with_capacity(text.len());
    for (i, c) in chars.iter().enumerate() {
        for l in c.to_lowercase() {
            lower.push(l);
            origin.extend(std::iter::repeat_n(i, l.len_utf8()));
        }
    }
    let mut hit = vec![false; chars.len()];
    for term in terms.iter().filter(|t| !t.is_empty()) {
        for (start, found) in lower.match_indices(term.as_str()) {
            for &i in &origin[start..start + found.len()] {
                hit[i] = true;
            }
        }
    }
    let mut runs: Vec<Highlighted> = Vec::new();
    for (c, hit) in chars.into_iter().zip(hit) {
        match runs.last_mut() {
            Some(run) if run.hit == hit => run.text.push(c),
            _ => runs.push(Highlighted {
                text: c.to_string(),
                hit,
            }),
        }
    }
    runs
}

/// The faults of a refused input, one line each, for a page to list.
pub(super) fn fault_lines(error: &ApiError) -> Vec<String> {
    if error.errors.is_empty() {
        vec![error.detail.clone()]
    } else {
        error
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect()
    }
}

/// The first value of field `name` in a form read as pairs (forms whose
/// fields repeat or are named by data), trimmed; empty when absent.
pub(super) fn form_value<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.trim())
        .unwrap_or_default()
}

/// One option of a select, as the form last had it.
pub(super) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub(super) fn choices(
    options: impl IntoIterator<Item = (String, String)>,
    chosen: &str,
) -> Vec<Choice> {
    options
        .into_iter()
        .map(|(value, label)| Choice {
            selected: value == chosen,
            value,
            label,
        })
        .collect()
}

/// The active entries of a kind of reference data, as options.
pub(super) async fn reference_choices(
    state: &AppState,
    kind: RefKind,
    chosen: &str,
) -> WebResult<Vec<Choice>> {
    let items = state.stores.reference.list(kind).await?;
    Ok(choices(
        items
            .into_iter()
            .filter(|item| item.active)
            .map(|item| (item.code, item.label)),
        chosen,
    ))
}

/// A deadline this close is shown as breaching soon.
pub(super) const SOON: SignedDuration = SignedDuration::from_hours(2);

/// `1d 4h`, `3h 12m`, `45m`: a duration as people read it on a list.
pub(super) fn span(duration: SignedDuration) -> String {
    let minutes = duration.as_mins().abs();
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours) {
        (0, 0) => format!("{mins}m"),
        (0, _) => format!("{hours}h {mins}m"),
        _ => format!("{days}d {hours}h"),
    }
}

/// How a due instant reads at `now`, and the row's urgency class.
pub(super) fn due(due_at: Option<Timestamp>, now: Timestamp) -> (String, &'static str) {
    match due_at {
        None => ("—".into(), ""),
        Some(at) if at <= now => (
            format!("breached {} ago", span(now.duration_since(at))),
            "breached",
        ),
        Some(at) => {
            let left = at.duration_since(now);
            (
                format!("in {}", span(left)),
                if left <= SOON { "soon" } else { "" },
            )
        }
    }
}

/// One clock as the workspace shows it.
pub(super) struct ClockRow {
    pub kind: &'static str,
    pub source: String,
    pub target: String,
    pub state: &'static str,
    pub due: String,
    pub left: String,
    pub urgency: &'static str,
}

pub(super) fn clock_row(clock: &EscalationClock, now: Timestamp, zone: &TimeZone) -> ClockRow {
    let state = clock.state(now);
    let (left, urgency) = match state {
        ClockState::Running => due(clock.due_at, now),
        ClockState::Breached => due(clock.due_at, now),
        _ => ("—".into(), ""),
    };
    ClockRow {
        kind: clock.kind.as_str(),
        source: match &clock.source {
            ClockSource::Policy(code) => format!("SLA policy {code}"),
            ClockSource::Regulation(id) => format!("regulation {id}"),
            ClockSource::Consult(n) => format!("consult #{n}"),
        },
        target: clock.target.clone(),
        state: match state {
            ClockState::Armed => "waiting for the partner",
            ClockState::Running => "running",
            ClockState::Paused => "paused",
            ClockState::Met => "met",
            ClockState::MetLate => "met late",
            ClockState::Breached => "breached",
        },
        due: clock
            .due_at
            .map(|at| when(at, zone))
            .unwrap_or_else(|| "—".into()),
        left,
        urgency,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn marked(text: &str, terms: &[&str]) -> String {
        let terms: Vec<String> = terms.iter().map(|t| t.to_string()).collect();
        highlight(text, &terms)
            .into_iter()
            .map(|run| match run.hit {
                true => format!("[{}]", run.text),
                false => run.text,
            })
            .collect()
    }

    #[test]
    fn matches_are_marked_in_every_script_and_any_case() {
        assert_eq!(
            marked("東京の偽アカウント", &["偽アカ"]),
            "東京の[偽アカ]ウント"
        );
        assert_eq!(marked("บัญชีปลอมของตำรวจ", &["ปลอม"]), "บัญชี[ปลอม]ของตำรวจ");
        assert_eq!(
            marked("Fake POLICE account", &["police", "acc"]),
            "Fake [POLICE] [acc]ount"
        );
        assert_eq!(marked("İstanbul", &["i̇st"]), "[İst]anbul");
        assert_eq!(marked("no match", &["zzz", ""]), "no match");
    }

    proptest! {
        #[test]
        fn runs_put_back_together_are_the_text(text in "\\PC{0,40}", term in "\\PC{0,4}") {
            let runs = highlight(&text, &[term.to_lowercase()]);
            let joined: String = runs.iter().map(|r| r.text.as_str()).collect();
            prop_assert_eq!(joined, text);
            for pair in runs.windows(2) {
                prop_assert_ne!(pair[0].hit, pair[1].hit);
            }
        }
    }
}
