//! Metrics: per-escalation facts kept beside the state ([`facts`]) and the
//! tables computed from them ([`tables`]) for the dashboards, the API and
//! the downloads.

pub mod facts;
pub mod tables;

pub use facts::{Attainment, ConsultFacts, EscalationFacts, FACTS_VERSION, Milestones};
pub use tables::{ChartSpec, Dimension, Inputs, Lookups, Metric, MetricTable};

#[cfg(test)]
mod tests;
