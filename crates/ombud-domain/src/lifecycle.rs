//! The status lifecycle of an escalation as an explicit state machine:
//! new → triaged → investigating → awaiting partner / awaiting internal →
//! resolved → closed, with reopen from resolved or closed.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Triaged,
    Investigating,
    AwaitingPartner,
    AwaitingInternal,
    Resolved,
    Closed,
}

/// A refused transition; its message names the allowed targets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot move from {from} to {to}; allowed from {from}: {}", allowed_list(.from))]
pub struct TransitionError {
    pub from: Status,
    pub to: Status,
}

fn allowed_list(from: &Status) -> String {
    let allowed = from.allowed_next();
    if allowed.is_empty() {
        "none".into()
    } else {
        allowed
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl TransitionError {
    pub fn allowed(&self) -> &'static [Status] {
        self.from.allowed_next()
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::New,
        Status::Triaged,
        Status::Investigating,
        Status::AwaitingPartner,
        Status::AwaitingInternal,
        Status::Resolved,
        Status::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Triaged => "triaged",
            Status::Investigating => "investigating",
            Status::AwaitingPartner => "awaiting_partner",
            Status::AwaitingInternal => "awaiting_internal",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }

    pub fn parse(value: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// The statuses this one may move to. Reopening (resolved or closed back to
    /// investigating) is an ordinary edge of the graph.
    pub fn allowed_next(self) -> &'static [Status] {
        use Status::*;
        match self {
            New => &[Triaged, Investigating, Resolved],
            Triaged => &[Investigating, AwaitingPartner, AwaitingInternal, Resolved],
            Investigating => &[AwaitingPartner, AwaitingInternal, Resolved],
            AwaitingPartner => &[Investigating, AwaitingInternal, Resolved],
            AwaitingInternal => &[Investigating, AwaitingPartner, Resolved],
            Resolved => &[Closed, Investigating],
            Closed => &[Investigating],
        }
    }

    /// Checks one step of the lifecycle.
    pub fn transition(self, to: Status) -> Result<Status, TransitionError> {
        if self.allowed_next().contains(&to) {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }

    /// Open work: anything not resolved or closed.
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Resolved | Status::Closed)
    }

    /// Whether moving to `to` reopens a finished escalation.
    pub fn is_reopen(self, to: Status) -> bool {
        !self.is_open() && to.is_open()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn refusal_names_the_allowed_targets() {
        let err = Status::New.transition(Status::Closed).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot move from new to closed; allowed from new: triaged, investigating, resolved"
        );
    }

    #[test]
    fn closed_can_only_reopen() {
        assert_eq!(Status::Closed.allowed_next(), &[Status::Investigating]);
        assert!(Status::Closed.is_reopen(Status::Investigating));
    }

    fn any_status() -> impl Strategy<Value = Status> {
        proptest::sample::select(Status::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn no_status_moves_to_itself_or_back_to_new(from in any_status(), to in any_status()) {
            if let Ok(next) = from.transition(to) {
                prop_assert_ne!(next, from);
                prop_assert_ne!(next, Status::New);
            }
        }

        #[test]
        fn every_status_can_reach_closed(start in any_status()) {
            // Breadth-first search over the graph: no dead ends.
            let mut seen = vec![start];
            let mut i = 0;
            while i < seen.len() {
                for next in seen[i].allowed_next() {
                    if !seen.contains(next) { seen.push(*next); }
                }
                i += 1;
            }
            prop_assert!(seen.contains(&Status::Closed));
        }

        #[test]
        fn parse_round_trips(s in any_status()) {
            prop_assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }
}
