//! Settings: documents administrators edit that shape how escalations are
//! handled (business calendars, SLA policies, regulation settings). Each is
//! a JSON body under a kind and a code, versioned for optimistic concurrency.
//! The domain validates bodies; the store keeps them.

use async_trait::async_trait;
use jiff::Timestamp;

use crate::error::{StoreError, StoreResult};

/// What a setting configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SettingKind {
    /// `ombud_domain::deadlines::CalendarSpec`, by calendar code.
    Calendar,
    /// `ombud_domain::sla::SlaPolicy`, by policy code.
    SlaPolicy,
    /// `ombud_domain::sla::RegulationSetting`, by regulatory rule id.
    Regulation,
    /// `ombud_domain::routing::RoutingRule`, by rule code.
    RoutingRule,
    /// `ombud_domain::assignment::Queue`, by queue code.
    Queue,
    /// `ombud_domain::assignment::AgentProfile`, by the agent's email.
    Agent,
    /// `ombud_domain::webhook::WebhookSubscription`, by subscription code.
    Webhook,
    /// `ombud_domain::template::Template`, by template code.
    Template,
    /// `ombud_domain::preferences::Preferences`, by the user's email.
    Preferences,
    /// `ombud_domain::report::SavedQuery`, by query code.
    SavedQuery,
    /// `ombud_domain::report::schedule::ReportSchedule`: when a saved query
    /// is emailed, and to whom, by the saved query's code.
    ReportSchedule,
    /// `ombud_domain::report::schedule::ReportRun`: a scheduled report's
    /// last send, by the saved query's code. Workers claim a send by
    /// replacing the version they read (`Expect::Version`, or
    /// `Expect::Absent` for the first), so one node sends each slot.
    ReportRun,
    /// `ombud_domain::fix::Fix`, by the code derived from its link.
    Fix,
    /// `ombud_domain::sor::SorProfile`, the one statement-of-reasons
    /// profile, under the code `default`.
    SorProfile,
    /// `ombud_domain::emerging::spikes::SpikeRule`, the one rule spike
    /// detection applies, under the code `default`.
    SpikeRule,
}

impl SettingKind {
    pub const ALL: [SettingKind; 15] = [
        SettingKind::Calendar,
        SettingKind::SlaPolicy,
        SettingKind::Regulation,
        SettingKind::RoutingRule,
        SettingKind::Queue,
        SettingKind::Agent,
        SettingKind::Webhook,
        SettingKind::Template,
        SettingKind::Preferences,
        SettingKind::SavedQuery,
        SettingKind::ReportSchedule,
        SettingKind::ReportRun,
        SettingKind::Fix,
        SettingKind::SorProfile,
        SettingKind::SpikeRule,
    ];

    pub fn parse(text: &str) -> Option<SettingKind> {
        SettingKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SettingKind::Calendar => "calendar",
            SettingKind::SlaPolicy => "sla_policy",
            SettingKind::Regulation => "regulation",
            SettingKind::RoutingRule => "routing_rule",
            SettingKind::Queue => "queue",
            SettingKind::Agent => "agent",
            SettingKind::Webhook => "webhook",
            SettingKind::Template => "template",
            SettingKind::Preferences => "preferences",
            SettingKind::SavedQuery => "saved_query",
            SettingKind::ReportSchedule => "report_schedule",
            SettingKind::ReportRun => "report_run",
            SettingKind::Fix => "fix",
            SettingKind::SorProfile => "sor_profile",
            SettingKind::SpikeRule => "spike_rule",
        }
    }
}

/// A stored setting.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub code: String,
    pub body: serde_json::Value,
    /// 1 when created, bumped by every replacement.
    pub version: i64,
    pub updated_at: Timestamp,
}

/// Which version a write expects to replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Create or replace, whatever is there.
    Any,
    /// Create only: `Conflict` if the code exists.
    Absent,
    /// Replace only this version: `NotFound` if absent, `VersionConflict` if it moved on.
    Version(i64),
}

#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// All settings of a kind, ordered by code.
    async fn list(&self, kind: SettingKind) -> StoreResult<Vec<Setting>>;
    /// `NotFound` if there is none.
    async fn get(&self, kind: SettingKind, code: &str) -> StoreResult<Setting>;
    /// Creates or replaces a setting as `expect` allows; returns what is stored.
    async fn put(
        &self,
        kind: SettingKind,
        code: &str,
        body: &serde_json::Value,
        expect: Expect,
        at: Timestamp,
    ) -> StoreResult<Setting>;
    /// Stores an exported setting as it was (version and time included);
    /// `Conflict` if the code exists.
    async fn restore(&self, kind: SettingKind, setting: &Setting) -> StoreResult<()>;
    /// `NotFound` if there is none.
    async fn delete(&self, kind: SettingKind, code: &str) -> StoreResult<()>;
}

/// The version a write stores, given what it expects and the stored
/// version; the same rule for every backend.
pub fn settings_version(
    kind: SettingKind,
    code: &str,
    expect: Expect,
    current: Option<i64>,
) -> StoreResult<i64> {
    match (expect, current) {
        (Expect::Absent, Some(_)) => Err(StoreError::Conflict(format!(
            "{} {code:?} already exists",
            kind.as_str()
        ))),
        (Expect::Version(_), None) => Err(StoreError::NotFound),
        (Expect::Version(expected), Some(current)) if expected != current => {
            Err(StoreError::VersionConflict { expected, current })
        }
        (_, current) => Ok(current.map_or(1, |v| v + 1)),
    }
}
