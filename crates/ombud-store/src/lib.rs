//! Ombud's storage contract: one trait per aggregate, the errors they return,
//! the row-free models they exchange, and (feature `conformance`) the story
//! every backend must pass. No SQL and no HTTP live here.

pub mod analytics;
pub mod blob;
pub mod codec;
#[cfg(feature = "conformance")]
pub mod conformance;
mod directory;
mod error;
mod escalations;
mod idempotency;
pub mod listing;
mod maintenance;
pub mod metrics;
mod outbox;
mod overview;
mod reference;
mod settings;
mod spikes;

use std::sync::Arc;

pub use analytics::{AnalyticsStore, QueryRows};
pub use blob::{BlobStore, FsBlobStore, sha256_hex};
pub use directory::{
    DirectoryStore, NewSession, NewToken, NewUser, Session, Token, User, UserCredentials,
};
pub use error::{StoreError, StoreResult};
pub use escalations::{Assign, Claim, ClaimQuery, DueAlert, EscalationStore, ExportedEscalation};
pub use idempotency::{IdempotencyBegin, IdempotencyStore, SavedResponse};
pub use listing::{Cursor, EscalationFilter, Page, Scope, SortDirection, SortField};
pub use maintenance::Maintenance;
pub use metrics::{FactsFilter, MetricsStore};
pub use outbox::{
    Attempt, AttemptOutcome, Delivery, DeliveryRecord, FanOut, OutboxEntry, OutboxSource,
    OutboxStore,
};
pub use overview::{MICROS_PER_DAY, Overview, WorkCounts};
pub use reference::ReferenceStore;
pub use settings::{Expect, Setting, SettingKind, SettingsStore, settings_version};
pub use spikes::{Acknowledgement, NewSpikeAlert, SpikeAlert, SpikeFilter, SpikeStore};

/// Every store a running Ombud needs, chosen once at start-up from the
/// database URL and shared by all requests.
#[derive(Clone)]
pub struct Stores {
    pub escalations: Arc<dyn EscalationStore>,
    pub directory: Arc<dyn DirectoryStore>,
    pub reference: Arc<dyn ReferenceStore>,
    pub settings: Arc<dyn SettingsStore>,
    pub outbox: Arc<dyn OutboxStore>,
    pub spikes: Arc<dyn SpikeStore>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub maintenance: Arc<dyn Maintenance>,
    pub analytics: Arc<dyn AnalyticsStore>,
    pub metrics: Arc<dyn MetricsStore>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores")
            .field("backend", &self.maintenance.backend_name())
            .finish()
    }
}
