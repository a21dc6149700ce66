//! Analysts' SQL through the API and the console: the documented views,
//! row caps and streamed downloads that open in a spreadsheet library with
//! the same values, saved queries, and every escape refused.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use ombud_domain::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::console::{Browser, add_user, location};
use crate::helpers::{TestApp, assert_problem, on_both_backends, police_case};

on_both_backends!(
    analysts_query_the_views_and_download_every_row,
    saved_queries_are_kept_and_run_for_the_team,
    the_console_runs_saves_and_downloads_queries
);

fn query_path(sql: &str, extra: &str) -> String {
    let query = serde_urlencoded::to_string([("sql", sql)]).unwrap();
    format!("/api/v1/analytics/query?{query}{extra}")
}

/// Every row of the first sheet of an XLSX file, as JSON cells.
pub fn xlsx_rows(bytes: &[u8]) -> Vec<Vec<Value>> {
    let mut workbook: Xlsx<_> =
        open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("an XLSX file");
    let sheet = workbook.sheet_names()[0].clone();
    let range = workbook.worksheet_range(&sheet).expect("a sheet");
    range
        .rows()
        .map(|row| {
            row.iter()
                .map(|cell| match cell {
                    Data::Empty => Value::Null,
                    Data::String(s) => json!(s),
                    Data::Int(i) => json!(i),
                    Data::Float(f) if f.fract() == 0.0 => json!(*f as i64),
                    Data::Float(f) => json!(f),
                    Data::Bool(b) => json!(b),
                    other => json!(other.to_string()),
                })
                .collect()
        })
        .collect()
}

/// Every record of a CSV file, header first.
pub fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

async fn analysts_query_the_views_and_download_every_row(app: TestApp) {
    for title in [
        "Takeover one",
        "=HYPERLINK(\"http://evil.example\")",
        "三件目",
    ] {
        app.file(&app.police, police_case(title)).await;
    }
    let views: Value = app
        .get("/api/v1/analytics/views", &app.admin)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = views
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "escalations",
            "events",
            "clocks",
            "decisions",
            "decision_actions",
            "consults",
            "partners",
            "subjects",
            "tags"
        ]
    );

    let sql = "SELECT key, title, priority FROM escalations ORDER BY created_at, key";
    for (token, status) in [
        (&app.agent, StatusCode::FORBIDDEN),
        (&app.police, StatusCode::FORBIDDEN),
    ] {
        assert_problem(
            app.get(&query_path(sql, ""), token).await,
            status,
            "forbidden",
        )
        .await;
    }
    let answer: Value = app
        .get(&query_path(sql, ""), &app.admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["columns"], json!(["key", "title", "priority"]));
    assert_eq!(answer["truncated"], json!(false));
    let rows = answer["rows"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1][1], json!("=HYPERLINK(\"http://evil.example\")"));
    assert_eq!(rows[0][2], json!(1), "P1 reads as the number 1");

    let capped: Value = app
        .get(&query_path(sql, "&limit=2"), &app.admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(capped["rows"].as_array().unwrap().len(), 2);
    assert_eq!(capped["truncated"], json!(true));
    for bad in ["&limit=0", "&limit=10001", "&format=pdf", "&colour=blue"] {
        assert_problem(
            app.get(&query_path(sql, bad), &app.admin).await,
            StatusCode::BAD_REQUEST,
            "bad_query",
        )
        .await;
    }
    assert_problem(
        app.get("/api/v1/analytics/query", &app.admin).await,
        StatusCode::BAD_REQUEST,
        "bad_query",
    )
    .await;

    // Escapes: refused with the reason, and nothing changes.
    let before = app.escalation_count().await;
    for escape in [
        "SELECT password_hash FROM users",
        "SELECT * FROM tokens",
        "DELETE FROM escalations",
        "SELECT 1; DELETE FROM escalations",
        "WITH gone AS (DELETE FROM events RETURNING 1) SELECT * FROM gone",
        "UPDATE escalations SET status = 'closed'",
    ] {
        let problem = assert_problem(
            app.get(&query_path(escape, ""), &app.admin).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "query_failed",
        )
        .await;
        assert!(
            !problem["detail"].as_str().unwrap().is_empty(),
            "{escape}: {problem}"
        );
    }
    assert_eq!(app.escalation_count().await, before);

    // CSV: every row, RFC 4180, formulas defused.
    let csv = app.get(&query_path(sql, "&format=csv"), &app.admin).await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("query.csv")
    );
    let records = csv_rows(&csv.text().await.unwrap());
    assert_eq!(records[0], ["key", "title", "priority"]);
    assert_eq!(records.len(), 4);
    assert_eq!(records[2][1], "'=HYPERLINK(\"http://evil.example\")");
    assert_eq!(records[3][1], "三件目");

    // XLSX: opens in a spreadsheet library with the JSON answer's values.
    let xlsx = app.get(&query_path(sql, "&format=xlsx"), &app.admin).await;
    assert_eq!(xlsx.status(), StatusCode::OK);
    let sheet = xlsx_rows(&xlsx.bytes().await.unwrap());
    assert_eq!(
        sheet[0],
        vec![json!("key"), json!("title"), json!("priority")]
    );
    assert_eq!(
        json!(sheet[1..]),
        json!(rows),
        "the spreadsheet holds what the JSON answer holds"
    );
}

async fn saved_queries_are_kept_and_run_for_the_team(app: TestApp) {
    app.file(&app.police, police_case("Counted")).await;
    let path = "/api/v1/analytics/saved-queries/open-by-country";
    let query = json!({
        "code": "open-by-country",
        "name": "Open by country",
        "description": "Backlog per country",
        "sql": "SELECT country, count(*) AS open FROM escalations WHERE status <> 'closed' GROUP BY country ORDER BY country;"
    });
    assert_problem(
        app.put(path, &app.agent, &query).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let saved = app.put(path, &app.admin, &query).await;
    assert_eq!(saved.status(), StatusCode::CREATED);
    let saved: Value = saved.json().await.unwrap();
    assert!(!saved["saved_by"].as_str().unwrap().is_empty(), "{saved}");

    let listed: Value = app
        .get("/api/v1/analytics/saved-queries", &app.admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["code"], "open-by-country");
    let ran: Value = app
        .get(&format!("{path}/run"), &app.admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ran["columns"], json!(["country", "open"]));
    assert_eq!(ran["rows"], json!([["JP", 1]]));
    let csv = app.get(&format!("{path}/run?format=csv"), &app.admin).await;
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("open-by-country.csv")
    );
    assert_eq!(
        csv_rows(&csv.text().await.unwrap()),
        [["country", "open"], ["JP", "1"]]
    );

    // A write is refused when saved, not only when run; the code must match.
    let writes = json!({"code": "wipe", "name": "Wipe", "sql": "DELETE FROM escalations"});
    let problem = assert_problem(
        app.put("/api/v1/analytics/saved-queries/wipe", &app.admin, &writes)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "sql");
    assert_problem(
        app.put("/api/v1/analytics/saved-queries/other", &app.admin, &query)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;

    let deleted = app
        .request(reqwest::Method::DELETE, path, &app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.get(&format!("{path}/run"), &app.admin).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

async fn the_console_runs_saves_and_downloads_queries(app: TestApp) {
    app.file(&app.police, police_case("Seen in the console"))
        .await;
    add_user(&app, "lead@example.com", Role::Manager, None).await;
    add_user(&app, "agent@example.com", Role::Agent, None).await;

    let mut agent = Browser::new(&app);
    agent.sign_in("agent@example.com", "/console").await;
    assert_eq!(
        agent.get("/console/analytics").await.status(),
        StatusCode::FORBIDDEN
    );

    let mut lead = Browser::new(&app);
    let csrf = lead.sign_in("lead@example.com", "/console").await;
    let sql = "SELECT key, title FROM escalations";
    let encoded = serde_urlencoded::to_string([("sql", sql)]).unwrap();
    let page = lead.get(&format!("/console/analytics?{encoded}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Seen in the console"),
        "the result table shows the row"
    );
    assert!(
        html.contains("escalation_key"),
        "the views are documented on the page"
    );

    let refused = lead
        .get(&format!(
            "/console/analytics?{}",
            serde_urlencoded::to_string([("sql", "SELECT * FROM users")]).unwrap()
        ))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.text().await.unwrap().contains("analytics views"),
        "the reason is shown beside the query"
    );

    let saved = lead
        .post(
            "/console/analytics/saved",
            &[
                ("csrf", &csrf),
                ("code", "all-titles"),
                ("name", "All titles"),
                ("description", ""),
                ("sql", sql),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert!(location(&saved).contains("saved=all-titles"));
    let opened = lead
        .get("/console/analytics?saved=all-titles")
        .await
        .text()
        .await
        .unwrap();
    assert!(opened.contains("All titles") && opened.contains("Seen in the console"));

    let csv = lead
        .get(&format!("/console/analytics/download.csv?{encoded}"))
        .await;
    assert_eq!(csv.status(), StatusCode::OK);
    let records = csv_rows(&csv.text().await.unwrap());
    assert_eq!(records.len(), 2);
    assert_eq!(records[1][1], "Seen in the console");
    let xlsx = lead
        .get(&format!("/console/analytics/download.xlsx?{encoded}"))
        .await;
    assert_eq!(
        xlsx_rows(&xlsx.bytes().await.unwrap())[1][1],
        json!("Seen in the console")
    );

    // Any work list downloads as XLSX too, with the CSV's rows.
    let list_csv = csv_rows(
        &lead
            .get("/console/export.csv?view=all")
            .await
            .text()
            .await
            .unwrap(),
    );
    let list_xlsx = xlsx_rows(
        &lead
            .get("/console/export.xlsx?view=all")
            .await
            .bytes()
            .await
            .unwrap(),
    );
    assert_eq!(list_xlsx.len(), list_csv.len());
    assert_eq!(list_xlsx[1][0], json!(list_csv[1][0]));

    let deleted = lead
        .post(
            "/console/analytics/saved/delete",
            &[("csrf", &csrf), ("code", "all-titles")],
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        lead.get("/console/analytics?saved=all-titles")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}
