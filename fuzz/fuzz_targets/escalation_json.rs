//! Untrusted JSON bodies of `POST /escalations` and `PATCH /escalations/{key}`:
//! parsing and validation must never panic, and a valid draft must satisfy
//! the limits it promises.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ombud_domain::{Actor, EscalationKey, EscalationPatch, NewEscalation};

fuzz_target!(|data: &[u8]| {
    let now: jiff::Timestamp = "2026-11-25T00:00:00Z".parse().unwrap();
    if let Ok(new) = serde_json::from_slice::<NewEscalation>(data)
        && let Ok(draft) = new.validate("fuzz-partner", "api", now)
    {
        assert!(draft.title.chars().count() <= ombud_domain::escalation::MAX_TITLE);
        assert!(draft.received_at <= now);
        let (escalation, _) = draft.into_escalation(EscalationKey(1), &Actor::system(), now);
        if let Ok(patch) = serde_json::from_slice::<EscalationPatch>(data) {
            let _ = escalation.apply_patch(&patch, &Actor::system(), now);
        }
    }
});
