//! What analysts keep: saved queries over the analytics views, shared by
//! the team under a code, and the schedules that email them.

pub mod schedule;

use serde::{Deserialize, Serialize};

use crate::validation::{self, Collector, Invalid};

/// Longest query text kept, in characters.
pub const MAX_SQL: usize = 20_000;

/// A named query over the analytics views.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SavedQuery {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub sql: String,
    /// Who saved this version, filled in by the server.
    #[serde(default)]
    pub saved_by: String,
}

impl SavedQuery {
    /// Checks the shape; whether the SQL runs is for the database to say.
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut errors = Collector::default();
        errors.check(validation::code("code", &self.code));
        errors.check(validation::text("name", &self.name, 1, 200));
        errors.check(validation::text("description", &self.description, 0, 2000));
        errors.check(validation::text("sql", &self.sql, 1, MAX_SQL));
        errors.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query() -> SavedQuery {
        SavedQuery {
            code: "weekly-intake".into(),
            name: "Weekly intake".into(),
            description: String::new(),
            sql: "SELECT count(*) FROM escalations".into(),
            saved_by: String::new(),
        }
    }

    #[test]
    fn a_saved_query_needs_a_code_a_name_and_sql() {
        assert!(query().validate().is_ok());
        let broken = SavedQuery {
            code: "Not A Code".into(),
            name: " ".into(),
            sql: "x".repeat(MAX_SQL + 1),
            ..query()
        };
        let fields: Vec<String> = broken
            .validate()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["code", "name", "sql"]);
    }
}
