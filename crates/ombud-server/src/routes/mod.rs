//! Handlers, one module per resource, named by verb.

pub mod analytics;
pub mod assignment;
pub mod clocks;
pub mod consults;
pub mod decisions;
pub(crate) mod documents;
pub mod emerging;
pub mod escalations;
pub mod fixes;
pub mod inbound;
pub mod links;
pub mod messages;
pub mod metrics;
pub mod partners;
pub mod reference;
pub mod root_causes;
pub mod routing;
pub mod schedules;
pub mod settings;
pub mod spikes;
pub mod subscriptions;
pub mod system;
pub mod transparency;
