//! The SQL behind `EscalationStore::list`: filters, keyset and offset pages,
//! and free-text search planned by how many documents its terms match.
//!
//! Search has two plans. A term of three characters or more is looked up in
//! the trigram index; when that finds few documents (the usual case for the
//! names, ids and phrases people search for), the page is cut from them.
//! Terms too short for trigrams (two-character Chinese or Japanese words),
//! or terms so common that the index would return a large part of the
//! database, are instead checked with `instr` on the documents of each
//! escalation in sort order, which stops as soon as the page is full.

use std::collections::BTreeSet;

use ombud_domain::{Escalation, Status};
use ombud_store::codec::{self, micros};
use ombud_store::listing::search_terms;
use ombud_store::{
    Cursor, EscalationFilter, Page, Scope, SortDirection, SortField, StoreError, StoreResult,
};
use sqlx::sqlite::{Sqlite, SqlitePool};
use sqlx::{QueryBuilder, Row};

use crate::backend;

/// Above this many matching documents, a term is checked row by row in sort
/// order rather than looked up. Reading this many index entries takes a few
/// milliseconds; a term this common fills a page within some thousands of rows.
const INDEXED_MATCHES: i64 = 4000;

/// How a search finds its escalations.
enum Search<'t> {
    None,
    /// From the trigram index (`fts`, an FTS5 query), with the shorter terms
    /// checked on the documents it finds.
    Indexed {
        fts: String,
        short: Vec<&'t str>,
    },
    /// Every term checked on each candidate's documents.
    Scanned {
        terms: &'t [String],
    },
}

/// Each term as an FTS5 string, so that user input is never query syntax;
/// juxtaposed strings must all occur.
fn fts_query(terms: &[&str]) -> String {
    terms
        .iter()
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn plan<'t>(
    pool: &SqlitePool,
    terms: &'t [String],
    relevance: bool,
) -> StoreResult<Search<'t>> {
    if terms.is_empty() {
        return Ok(Search::None);
    }
    // Trigrams need three characters.
    let (long, short): (Vec<&str>, Vec<&str>) = terms
        .iter()
        .map(String::as_str)
        .partition(|t| t.chars().count() >= 3);
    if long.is_empty() {
        return Ok(Search::Scanned { terms });
    }
    let fts = fts_query(&long);
    // Ranking needs the index's scores, however many documents match.
    if !relevance {
        let matches: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT 1 FROM search_fts WHERE search_fts MATCH ? LIMIT ?)",
        )
        .bind(&fts)
        .bind(INDEXED_MATCHES)
        .fetch_one(pool)
        .await
        .map_err(backend)?;
        if matches >= INDEXED_MATCHES {
            return Ok(Search::Scanned { terms });
        }
    }
    Ok(Search::Indexed { fts, short })
}

/// Conditions on a search document `d`: it contains every term in `terms`,
/// and `scope` may read it.
fn push_document_checks<'a>(query: &mut QueryBuilder<'a, Sqlite>, terms: &[&str], scope: &Scope) {
    for term in terms {
        query.push(" AND instr(d.body, ");
        query.push_bind(term.to_string());
        query.push(") > 0");
    }
    if scope.partner().is_some() {
        query.push(" AND d.visibility = 'partner'");
    }
}

/// Adds `column IN (values…)` when `values` is not empty.
fn push_any<'a, T: sqlx::Encode<'a, Sqlite> + sqlx::Type<Sqlite> + Send + 'a>(
    query: &mut QueryBuilder<'a, Sqlite>,
    column: &str,
    values: impl ExactSizeIterator<Item = T>,
) {
    if values.len() == 0 {
        return;
    }
    query.push(format!(" AND {column} IN ("));
    let mut list = query.separated(", ");
    for v in values {
        list.push_bind(v);
    }
    list.push_unseparated(")");
}

/// Adds ` AND column` matching any of `values`, where `None` matches NULL.
fn push_any_or_null<'a>(
    query: &mut QueryBuilder<'a, Sqlite>,
    column: &str,
    values: &[Option<String>],
) {
    if values.is_empty() {
        return;
    }
    let named: Vec<&String> = values.iter().flatten().collect();
    query.push(" AND (");
    if named.is_empty() {
        query.push("FALSE");
    } else {
        query.push(format!("{column} IN ("));
        let mut list = query.separated(", ");
        for v in named {
            list.push_bind(v.to_string());
        }
        list.push_unseparated(")");
    }
    if values.iter().any(Option::is_none) {
        query.push(format!(" OR {column} IS NULL"));
    }
    query.push(")");
}

/// Whether `statuses` are exactly the open ones, as the work lists ask.
fn open_only(statuses: &[Status]) -> bool {
    let open: BTreeSet<Status> = Status::ALL.into_iter().filter(|s| s.is_open()).collect();
    statuses.iter().copied().collect::<BTreeSet<_>>() == open
}

/// The index a work list is read from when SQLite, which keeps no
/// statistics here, would choose a worse one: the open ones waiting on a
/// consult, an agent's open cases (`escalations_held`), the open
/// unassigned ones by deadline, or the open ones of one queue, country,
/// type or priority by deadline (migration 0016; the first of these the
/// filter names with a single value leads, the likely most selective, and
/// the others are checked on the rows it yields in order).
fn work_list_index(filter: &EscalationFilter) -> Option<&'static str> {
    if !open_only(&filter.statuses) || !filter.tags.is_empty() || filter.q.is_some() {
        return None;
    }
    if filter.awaiting_consult {
        return Some("escalations_awaiting_consult");
    }
    match (&filter.assignee, filter.sort) {
        (Some(Some(_)), _) => Some("escalations_held"),
        (Some(None), SortField::DueAt) => Some("escalations_unassigned_by_due"),
        (None, SortField::DueAt) => [
            (filter.queue.is_some(), "escalations_open_queue_by_due"),
            (
                filter.countries.len() == 1,
                "escalations_open_country_by_due",
            ),
            (filter.types.len() == 1, "escalations_open_type_by_due"),
            (
                filter.priorities.len() == 1,
                "escalations_open_priority_by_due",
            ),
        ]
        .into_iter()
        .find_map(|(named, index)| named.then_some(index)),
        _ => None,
    }
}

/// Adds the filter's conditions. The open statuses are written as the
/// partial indexes' own predicate. Sorted by deadline without a work-list
/// index, the broad conditions — a set of statuses, unassigned — are kept
/// off their own indexes (a unary `+`): SQLite then walks the deadline
/// index, where the cases with running clocks (the open ones) come first,
/// and stops after a page instead of sorting every open or unassigned case.
fn push_filters<'a>(
    query: &mut QueryBuilder<'a, Sqlite>,
    filter: &'a EscalationFilter,
    indexed: bool,
) {
    let broad = if filter.sort == SortField::DueAt && !indexed {
        "+"
    } else {
        ""
    };
    if open_only(&filter.statuses) {
        query.push(format!(
            " AND {broad}e.status NOT IN ('resolved', 'closed')"
        ));
    } else {
        push_any(
            query,
            &format!("{broad}e.status"),
            filter.statuses.iter().map(|s| s.as_str()),
        );
    }
    push_any(query, "e.type", filter.types.iter().map(String::as_str));
    push_any(
        query,
        "e.priority",
        filter.priorities.iter().map(|p| p.rank()),
    );
    push_any(
        query,
        "e.partner",
        filter.partners.iter().map(String::as_str),
    );
    push_any(
        query,
        "e.country",
        filter.countries.iter().map(String::as_str),
    );
    push_any(
        query,
        "e.language",
        filter.languages.iter().map(String::as_str),
    );
    push_any_or_null(query, "e.surface", &filter.surfaces);
    push_any_or_null(query, "e.policy", &filter.policies);
    match &filter.assignee {
        None => {}
        Some(None) => {
            query.push(format!(" AND {broad}e.assignee IS NULL"));
        }
        Some(Some(a)) => {
            query.push(" AND e.assignee = ").push_bind(a.as_str());
        }
    }
    if let Some(q) = &filter.queue {
        query.push(" AND e.queue = ").push_bind(q.as_str());
    }
    if filter.awaiting_consult {
        query.push(" AND e.consults_open > 0");
    }
    for (column, op, bound) in [
        ("e.created_at", ">=", filter.created_from),
        ("e.created_at", "<", filter.created_to),
        ("e.received_at", ">=", filter.received_from),
        ("e.received_at", "<", filter.received_to),
        ("e.updated_at", ">=", filter.updated_from),
        ("e.updated_at", "<", filter.updated_to),
    ] {
        if let Some(at) = bound {
            query
                .push(format!(" AND {column} {op} "))
                .push_bind(micros(at));
        }
    }
}

fn push_tag<'a>(query: &mut QueryBuilder<'a, Sqlite>, tag: &'a str) {
    query
        .push(" AND EXISTS (SELECT 1 FROM escalation_tags x WHERE x.tag = ")
        .push_bind(tag)
        .push(" AND x.escalation_id = e.id)");
}

pub(crate) async fn list(
    pool: &SqlitePool,
    filter: &EscalationFilter,
    scope: &Scope,
) -> StoreResult<Page<Escalation>> {
    let terms = filter.q.as_deref().map(search_terms).unwrap_or_default();
    let relevance = filter.sort == SortField::Relevance && !terms.is_empty();
    let search = plan(pool, &terms, relevance).await?;
    // Newest first within a tag is read in order from the tag index, whose
    // rows carry the creation time.
    let by_tag = match filter.tags.split_first() {
        Some((first, _)) if !relevance && filter.sort == SortField::CreatedAt => Some(first),
        _ => None,
    };
    let (sort_column, key_column) = match (by_tag, filter.sort) {
        (Some(_), _) => ("t.created_at", "t.escalation_id"),
        (None, SortField::CreatedAt | SortField::Relevance) => ("e.created_at", "e.id"),
        (None, SortField::UpdatedAt) => ("e.updated_at", "e.id"),
        (None, SortField::Priority) => ("e.priority", "e.id"),
        (None, SortField::Key) => ("e.id", "e.id"),
        (None, SortField::DueAt) => (codec::DUE_AT_SORT, "e.id"),
    };

    let mut query = QueryBuilder::<Sqlite>::new("SELECT e.state FROM ");
    if let Some(tag) = by_tag {
        // CROSS JOIN keeps the tag index as the outer loop, which is what
        // delivers the rows already sorted.
        query.push(
            "escalation_tags t CROSS JOIN escalations e ON e.id = t.escalation_id AND t.tag = ",
        );
        query.push_bind(tag.as_str());
    } else {
        query.push("escalations e");
    }
    let indexed = match work_list_index(filter) {
        Some(index) if by_tag.is_none() => {
            query.push(format!(" INDEXED BY {index}"));
            true
        }
        _ => false,
    };
    match &search {
        Search::Indexed { fts, short } if relevance => {
            // bm25() only works in the query that runs the MATCH, so that
            // query is materialised rather than flattened into the join.
            query.push(
                " JOIN (SELECT d.escalation_id AS id, MIN(f.rank) AS rank FROM \
                 (WITH m AS MATERIALIZED (SELECT rowid, bm25(search_fts) AS rank FROM search_fts WHERE search_fts MATCH ",
            );
            query.push_bind(fts.clone());
            query.push(
                ") SELECT rowid, rank FROM m) f JOIN search_docs d ON d.id = f.rowid WHERE 1 = 1",
            );
            push_document_checks(&mut query, short, scope);
            query.push(" GROUP BY d.escalation_id) m ON m.id = e.id");
        }
        _ => {}
    }
    query.push(" WHERE 1 = 1");
    match &search {
        Search::Indexed { fts, short } if !relevance => {
            query.push(
                " AND e.id IN (SELECT d.escalation_id FROM search_fts \
                 JOIN search_docs d ON d.id = search_fts.rowid WHERE search_fts MATCH ",
            );
            query.push_bind(fts.clone());
            push_document_checks(&mut query, short, scope);
            query.push(")");
        }
        Search::Scanned { terms } => {
            query.push(" AND EXISTS (SELECT 1 FROM search_docs d WHERE d.escalation_id = e.id");
            let terms: Vec<&str> = terms.iter().map(String::as_str).collect();
            push_document_checks(&mut query, &terms, scope);
            query.push(")");
        }
        _ => {}
    }
    if let Some(partner) = scope.partner() {
        query
            .push(" AND e.partner = ")
            .push_bind(partner.to_string());
    }
    push_filters(&mut query, filter, indexed);
    let other_tags = if by_tag.is_some() {
        &filter.tags[1..]
    } else {
        &filter.tags[..]
    };
    for tag in other_tags {
        push_tag(&mut query, tag);
    }

    let limit = i64::from(filter.limit.max(1));
    if relevance {
        let offset = match filter.cursor {
            Some(Cursor::Offset(n)) => i64::try_from(n).unwrap_or(i64::MAX),
            _ => 0,
        };
        // Short terms alone give no scores: all rank alike, newest key first.
        if matches!(search, Search::Indexed { .. }) {
            query.push(" ORDER BY m.rank ASC, e.id DESC");
        } else {
            query.push(" ORDER BY e.id DESC");
        }
        query
            .push(" LIMIT ")
            .push_bind(limit + 1)
            .push(" OFFSET ")
            .push_bind(offset);
        let mut items = fetch(pool, query).await?;
        let next = (items.len() as i64 > limit)
            .then(|| Cursor::Offset(u64::try_from(offset + limit).unwrap_or(u64::MAX)));
        items.truncate(limit as usize);
        return Ok(Page { items, next });
    }

    let (op, dir) = match filter.direction {
        SortDirection::Asc => (">", "ASC"),
        SortDirection::Desc => ("<", "DESC"),
    };
    if let Some(Cursor::After { value, key }) = filter.cursor {
        query
            .push(format!(" AND ({sort_column}, {key_column}) {op} ("))
            .push_bind(value)
            .push(", ")
            .push_bind(key.0)
            .push(")");
    }
    query
        .push(format!(
            " ORDER BY {sort_column} {dir}, {key_column} {dir} LIMIT "
        ))
        .push_bind(limit + 1);
    let mut items = fetch(pool, query).await?;
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|last| Cursor::After {
            value: codec::sort_value(last, filter.sort),
            key: last.key,
        })
    } else {
        None
    };
    Ok(Page { items, next })
}

async fn fetch(
    pool: &SqlitePool,
    mut query: QueryBuilder<'_, Sqlite>,
) -> StoreResult<Vec<Escalation>> {
    let rows = query.build().fetch_all(pool).await.map_err(backend)?;
    rows.iter()
        .map(|row| codec::decode_state(row.get::<&str, _>("state")))
        .collect::<Result<_, StoreError>>()
}
