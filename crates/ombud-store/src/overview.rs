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

/// The UTC day of a timestamp in microseconds, as the queries bucket it.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;
