//! Deadlines: business calendars, targets and the arithmetic that turns a
//! start instant, a target and the pauses of a clock into a due instant.

pub mod calendar;
pub mod target;

use serde::{Deserialize, Serialize};

pub use calendar::{BusinessCalendar, CalendarSpec, Hours};
pub use target::{Budget, ClockBasis, DeadlineError, Pause, Target, TargetError};

/// Which deadline of an escalation a clock measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    Acknowledgement,
    FirstResponse,
    NextResponse,
    Resolution,
}

impl ClockKind {
    pub const ALL: [ClockKind; 4] = [
        ClockKind::Acknowledgement,
        ClockKind::FirstResponse,
        ClockKind::NextResponse,
        ClockKind::Resolution,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClockKind::Acknowledgement => "acknowledgement",
            ClockKind::FirstResponse => "first_response",
            ClockKind::NextResponse => "next_response",
            ClockKind::Resolution => "resolution",
        }
    }
}

#[cfg(test)]
mod tests;
