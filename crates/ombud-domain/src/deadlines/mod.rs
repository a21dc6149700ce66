//! Deadlines: business calendars, targets and the arithmetic that turns a
//! start instant, a target and the pauses of a clock into a due instant.

pub mod calendar;
pub mod target;

pub use calendar::{BusinessCalendar, CalendarSpec, Hours};
pub use target::{Budget, ClockBasis, DeadlineError, Pause, Target, TargetError};

#[cfg(test)]
mod tests;
