//! The analysts' SQL: a fixed set of read-only views over the data, with the
//! same names and columns on every backend, and a runner that lets a query
//! read those views and nothing else (no base table, no secret, no write).
//!
//! The views are the documented contract; `VIEWS` is their single source of
//! truth, checked against each backend by the conformance suite and shown to
//! analysts by the API and the console.

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::mpsc;

use crate::error::StoreResult;

/// One column of an analytics view, as documented to analysts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewColumn {
    pub name: &'static str,
    /// `text`, `integer` or `timestamp` (text, `YYYY-MM-DDTHH:MM:SSZ`, UTC).
    pub kind: &'static str,
    pub about: &'static str,
}

/// One analytics view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    pub name: &'static str,
    pub about: &'static str,
    pub columns: &'static [ViewColumn],
}

const fn col(name: &'static str, kind: &'static str, about: &'static str) -> ViewColumn {
    ViewColumn { name, kind, about }
}

/// Every view an analyst may query, in the order the docs list them.
pub const VIEWS: &[View] = &[
    View {
        name: "escalations",
        about: "One row per escalation, as it stands now.",
        columns: &[
            col("key", "text", "The escalation's key, such as ESC-1042."),
            col("type", "text", "Escalation type code."),
            col("title", "text", "The title as filed."),
            col("partner", "text", "The reporting partner's slug."),
            col(
                "channel",
                "text",
                "How it arrived: api, portal, email, import.",
            ),
            col("status", "text", "Workflow status code."),
            col("priority", "integer", "0 (P0, most urgent) to 4."),
            col("assignee", "text", "The assignee's email, if any."),
            col("queue", "text", "Queue code, if any."),
            col("country", "text", "ISO 3166-1 alpha-2 country."),
            col("language", "text", "BCP 47 language tag."),
            col("sensitive", "integer", "1 when it holds sensitive media."),
            col(
                "consults_open",
                "integer",
                "Required consults still unanswered.",
            ),
            col(
                "received_at",
                "timestamp",
                "When the report reached the partner.",
            ),
            col("created_at", "timestamp", "When Ombud filed it."),
            col("updated_at", "timestamp", "Its last change."),
            col(
                "due_at",
                "timestamp",
                "Its earliest running deadline, if any.",
            ),
            col(
                "outcome",
                "text",
                "The decision's outcome code, once decided.",
            ),
            col(
                "root_cause",
                "text",
                "The decision's root-cause code, if given.",
            ),
            col(
                "decided_at",
                "timestamp",
                "When the current decision was recorded.",
            ),
        ],
    },
    View {
        name: "events",
        about: "Every recorded change, oldest first per escalation: the timeline and audit trail.",
        columns: &[
            col("escalation_key", "text", "The escalation it belongs to."),
            col(
                "seq",
                "integer",
                "Its position on that escalation's timeline, from 1.",
            ),
            col("kind", "text", "Event kind, such as status_changed."),
            col("visibility", "text", "internal or partner."),
            col("actor", "text", "Who did it: an email, a token or system."),
            col("actor_name", "text", "The actor's display name."),
            col(
                "actor_role",
                "text",
                "The actor's role, if a person or token.",
            ),
            col("at", "timestamp", "When it happened."),
            col("data", "text", "The event's details as JSON."),
        ],
    },
    View {
        name: "clocks",
        about: "Every deadline of every escalation: SLA, regulatory and consult clocks.",
        columns: &[
            col("escalation_key", "text", "The escalation it runs on."),
            col(
                "kind",
                "text",
                "acknowledgement, first_response, next_response or resolution.",
            ),
            col("source_kind", "text", "policy, regulation or consult."),
            col(
                "source_id",
                "text",
                "The policy code, regulatory rule id or consult number.",
            ),
            col("target", "text", "The ISO 8601 duration it allows."),
            col("started_at", "timestamp", "When it started."),
            col("due_at", "timestamp", "When it is due; empty while paused."),
            col(
                "stopped_at",
                "timestamp",
                "When it was met; empty while it runs.",
            ),
        ],
    },
    View {
        name: "decisions",
        about: "The current decision of every decided escalation.",
        columns: &[
            col("escalation_key", "text", "The escalation it decided."),
            col("outcome", "text", "Outcome code."),
            col("policy", "text", "Policy code applied, if any."),
            col("policy_version", "text", "Version of that policy."),
            col("root_cause", "text", "Root-cause code, if given."),
            col("root_cause_note", "text", "Free text on the cause."),
            col("owning_team", "text", "Team that owns the cause."),
            col("fix_url", "text", "Link to the upstream fix, if any."),
            col(
                "fix_status",
                "text",
                "proposed, in_progress, shipped or wont_fix.",
            ),
            col("fix_owner", "text", "Who owns the fix."),
            col("decided_by", "text", "Who decided."),
            col("decided_at", "timestamp", "When."),
        ],
    },
    View {
        name: "decision_actions",
        about: "What each decision did to each subject, and where.",
        columns: &[
            col("escalation_key", "text", "The escalation decided."),
            col("subject", "text", "The subject's normalized key."),
            col("action", "text", "Outcome code applied to it."),
            col(
                "countries",
                "text",
                "Comma-separated countries; empty means everywhere.",
            ),
        ],
    },
    View {
        name: "consults",
        about: "Questions asked of cross-functional teams, and their answers.",
        columns: &[
            col("escalation_key", "text", "The escalation it was asked on."),
            col("id", "integer", "Its number within the escalation, from 1."),
            col("function", "text", "The consulted function's code."),
            col("required", "integer", "1 when it blocks resolution."),
            col("requested_by", "text", "Who asked."),
            col("requested_at", "timestamp", "When."),
            col("due_at", "timestamp", "Its deadline, if any."),
            col("verdict", "text", "The answer's verdict, once answered."),
            col("answered_by", "text", "Who answered."),
            col("answered_at", "timestamp", "When."),
        ],
    },
    View {
        name: "partners",
        about: "Reporting partners.",
        columns: &[
            col("slug", "text", "The partner's slug."),
            col("name", "text", "Its name."),
            col("kind", "text", "government, regulator, trusted_flagger, …"),
            col("tier", "integer", "1 (highest) to 3."),
            col("country", "text", "Its jurisdiction."),
            col("language", "text", "Its working language."),
            col("active", "integer", "1 while it may file."),
            col("created_at", "timestamp", "When it was added."),
        ],
    },
    View {
        name: "subjects",
        about: "The accounts, content and other subjects each escalation names.",
        columns: &[
            col("escalation_key", "text", "The escalation."),
            col("subject", "text", "The subject's normalized key."),
            col("kind", "text", "account, content, …"),
            col("surface", "text", "The product surface it lives on."),
        ],
    },
    View {
        name: "tags",
        about: "Tags on escalations.",
        columns: &[
            col("escalation_key", "text", "The escalation."),
            col("tag", "text", "The tag."),
        ],
    },
];

/// One row of a query's result, or why reading stopped.
pub type Row = StoreResult<Vec<serde_json::Value>>;

/// A running query: its column names, then its rows as they are read. Cells
/// are JSON values: null, a number, a string (timestamps are strings).
pub struct QueryRows {
    pub columns: Vec<String>,
    pub rows: BoxStream<'static, Row>,
}

impl std::fmt::Debug for QueryRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryRows")
            .field("columns", &self.columns)
            .finish_non_exhaustive()
    }
}

/// Runs analysts' SQL over `VIEWS`.
#[async_trait]
pub trait AnalyticsStore: Send + Sync {
    /// Starts one read-only statement. A statement that writes, reads
    /// anything but the analytics views, or does not parse fails here with
    /// `StoreError::Query` naming why; one that runs longer than `timeout`
    /// ends its row stream with `StoreError::Query`. At most `limit` rows
    /// are read when given.
    async fn query(
        &self,
        sql: &str,
        limit: Option<u64>,
        timeout: Duration,
    ) -> StoreResult<QueryRows>;
}

/// The statement without the trailing semicolons and blanks people type,
/// which would otherwise count as a second (empty) statement.
pub fn trimmed_statement(sql: &str) -> &str {
    sql.trim_end_matches(|c: char| c == ';' || c.is_whitespace())
}

/// The rows a backend's reading task sends, as the stream `QueryRows`
/// holds; dropping the stream tells that task to stop.
pub fn rows_from(mut receiver: mpsc::Receiver<Row>) -> BoxStream<'static, Row> {
    futures::stream::poll_fn(move |cx| receiver.poll_recv(cx)).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/analytics.md documents every view and column analysts can use.
    #[test]
    fn the_docs_list_every_view_and_column() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/analytics.md");
        let docs = std::fs::read_to_string(path).expect("docs/analytics.md");
        for view in VIEWS {
            let heading = format!("### `{}`", view.name);
            let section = docs
                .split_once(&heading)
                .unwrap_or_else(|| panic!("no section for view {}", view.name))
                .1
                .split("\n### ")
                .next()
                .unwrap();
            for column in view.columns {
                let row = format!("| `{}` | {} |", column.name, column.kind);
                assert!(
                    section.contains(&row),
                    "{}.{} is not documented",
                    view.name,
                    column.name
                );
            }
        }
    }

    #[test]
    fn trailing_semicolons_and_blanks_are_not_a_second_statement() {
        assert_eq!(trimmed_statement("SELECT 1; \n ;"), "SELECT 1");
        assert_eq!(trimmed_statement("SELECT ';'"), "SELECT ';'");
    }
}
