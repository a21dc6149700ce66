//! Who acts: every event records an actor, and every request runs as one.

use serde::{Deserialize, Serialize};

/// What an authenticated principal may do. Partner principals are bound to
/// one partner and see only its escalations and partner-visible content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Manager,
    Agent,
    Partner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Manager, Role::Agent, Role::Partner];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Agent => "agent",
            Role::Partner => "partner",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == value)
    }

    pub fn is_staff(self) -> bool {
        self != Role::Partner
    }

    /// Admins and managers configure Ombud: partners, reference data and
    /// the settings documents.
    pub fn configures(self) -> bool {
        matches!(self, Role::Admin | Role::Manager)
    }
}

/// The author of a change as it is written into the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `user:<id>`, `token:<id>` or `system`.
    pub id: String,
    /// A display name kept with the event, so renaming a user does not rewrite history.
    pub name: String,
    pub role: Option<Role>,
}

impl Actor {
    pub fn system() -> Self {
        Actor {
            id: "system".into(),
            name: "Ombud".into(),
            role: None,
        }
    }
}
