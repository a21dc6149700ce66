//! Black-box tests of the JSON API: the real router served on 127.0.0.1:0
//! over a real SQLite file or a real PostgreSQL database, driven with reqwest.
//! Every test runs against both backends.

mod admin;
mod analytics;
mod assignment;
mod browser;
mod console;
mod consults;
mod decisions;
mod emerging;
mod helpers;
mod inbound;
mod links;
mod messages;
mod metrics;
mod reports;
mod rootcauses;
mod routing;
mod transparency;

mod deadlines;
mod errors;
mod escalations;
mod scoping;
mod setup;
mod smtp;
mod spikes;
mod webhooks;
