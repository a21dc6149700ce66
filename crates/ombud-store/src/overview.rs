//! The counts the console's overview shows, computed by the database.

use jiff::civil::Date;
use ombud_domain::{Priority, Status};

/// The backlog and recent intake at an instant.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Overview {
    /// Open escalations by status and priority (only non-zero cells).
    pub backlog: Vec<(Status, Priority, u64)>,
    /// Open escalations whose earliest deadline has passed.
    pub breached: u64,
    /// Open escalations due within the window asked for.
    pub due_soon: u64,
    /// Escalations created per UTC day and type since the start asked for
    /// (only non-zero cells), by day.
    pub intake: Vec<(Date, String, u64)>,
}

/// How many open cases each work list holds, each counted up to a cap
/// (a count at the cap means "at least").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WorkCounts {
    /// Held by the agent asked about.
    pub mine: u64,
    pub unassigned: u64,
    /// With a deadline before the instant asked about (breached included).
    pub breaching: u64,
    /// With a consult waiting for its answer.
    pub awaiting_consult: u64,
    pub open: u64,
}

impl WorkCounts {
    /// From the five counts in field order, as the backends select them.
    pub fn from_row(row: (i64, i64, i64, i64, i64)) -> WorkCounts {
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        WorkCounts {
            mine: n(row.0),
            unassigned: n(row.1),
            breaching: n(row.2),
            awaiting_consult: n(row.3),
            open: n(row.4),
        }
    }
}

/// The UTC day of a timestamp in microseconds, as the queries bucket it.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;
