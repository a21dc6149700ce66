//! Webhook subscriptions: where to send which events, and how often to
//! retry a delivery that failed.

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

use crate::event::EventKind;
use crate::validation::{self, Collector, Invalid};

/// The kind of the event a spike alert sends to webhooks; the other kinds
/// are escalation events (`EventKind`).
pub const SPIKE_DETECTED: &str = "spike_detected";

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: u32 = 10;

/// A subscription to escalation events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookSubscription {
    pub code: String,
    /// Where deliveries are POSTed (`https://…`; `http://` for loopback tests).
    pub url: String,
    /// The HMAC-SHA256 key deliveries are signed with; write-only in the API
    /// (left out when empty, which is how reads show it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub secret: String,
    /// Event kinds to send, e.g. `status_changed` or `spike_detected`;
    /// empty: all.
    #[serde(default)]
    pub event_types: Vec<String>,
    #[serde(default = "active")]
    pub active: bool,
}

fn active() -> bool {
    true
}

impl WebhookSubscription {
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut errors = Collector::default();
        errors.check(validation::code("code", &self.code));
        match url::Url::parse(&self.url) {
            Ok(url) if matches!(url.scheme(), "https" | "http") && url.host().is_some() => {}
            _ => errors.push("url", "an http:// or https:// URL with a host"),
        }
        if self.secret.len() < 16 {
            errors.push("secret", "at least 16 characters, to sign deliveries");
        }
        for (index, kind) in self.event_types.iter().enumerate() {
            if kind != SPIKE_DETECTED && EventKind::parse(kind).is_none() {
                errors.push(
                    format!("event_types[{index}]"),
                    format!("{kind:?} is not an event kind"),
                );
            }
        }
        errors.finish()
    }

    /// Whether an event of `kind` goes to this subscription.
    pub fn wants(&self, kind: &str) -> bool {
        self.active && (self.event_types.is_empty() || self.event_types.iter().any(|k| k == kind))
    }
}

/// How long to wait after the `attempts`-th failed attempt: 30 s, doubling
/// up to 6 hours; `None` once [`MAX_ATTEMPTS`] have failed.
pub fn retry_delay(attempts: u32) -> Option<SignedDuration> {
    if attempts >= MAX_ATTEMPTS {
        return None;
    }
    let seconds = 30_i64.saturating_mul(1 << attempts.saturating_sub(1).min(20));
    Some(SignedDuration::from_secs(seconds.min(6 * 60 * 60)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_then_stop() {
        let delays: Vec<i64> = (1..=MAX_ATTEMPTS)
            .map_while(retry_delay)
            .map(|d| d.as_secs())
            .collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1920, 3840, 7680]);
        assert_eq!(retry_delay(MAX_ATTEMPTS), None);
    }

    #[test]
    fn subscriptions_name_their_faults_and_filter_events() {
        let bad = WebhookSubscription {
            code: "Bad Code".into(),
            url: "ftp://example.com".into(),
            secret: "short".into(),
            event_types: vec!["status_changed".into(), "exploded".into()],
            active: true,
        };
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["code", "url", "secret", "event_types[1]"]);
        let good = WebhookSubscription {
            code: "siem".into(),
            url: "https://siem.example/hooks/ombud".into(),
            secret: "0123456789abcdef".into(),
            event_types: vec!["status_changed".into(), SPIKE_DETECTED.into()],
            active: true,
        };
        assert!(good.validate().is_ok());
        assert!(good.wants(SPIKE_DETECTED));
        assert!(good.wants("status_changed") && !good.wants("comment_added"));
        assert!(
            !WebhookSubscription {
                active: false,
                ..good
            }
            .wants("status_changed")
        );
    }
}
