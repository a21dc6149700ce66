//! Ombud's domain: what an escalation is, how it may change, and the rules that
//! hold whatever the storage or transport. Pure logic: no IO, no async, no SQL.

pub mod accounting;
pub mod actor;
pub mod assignment;
pub mod clock;
pub mod consult;
pub mod deadlines;
pub mod decision;
pub mod emerging;
pub mod escalation;
pub mod event;
pub mod fix;
pub mod geo;
pub mod lifecycle;
pub mod links;
pub mod metrics;
pub mod partner;
pub mod preferences;
pub mod reference;
pub mod regulatory;
pub mod report;
pub mod routing;
pub mod sla;
pub mod sor;
pub mod subject;
pub mod template;
pub mod transparency;
pub mod validation;
pub mod webhook;
pub mod workflow;

pub use actor::{Actor, Role};
pub use clock::{Clock, ManualClock, SystemClock};
pub use escalation::{
    Escalation, EscalationDraft, EscalationKey, EscalationPatch, Evidence, NewEscalation, Priority,
    RiskFlag, TransitionRefused, Visibility,
};
pub use event::{EventKind, NewEvent, StoredEvent};
pub use geo::{Country, Language};
pub use lifecycle::{Status, TransitionError};
pub use partner::{Contact, NewPartner, Partner, PartnerKind, PartnerPatch, Slug, Tier};
pub use reference::{RefItem, RefKind};
pub use subject::{NewSubject, Subject, SubjectKind};
pub use validation::{FieldError, Invalid};
