//! Downloads of any table — a work list, a query, a metric — as CSV or
//! XLSX, streamed with no row cap; and the same XLSX file in memory, for a
//! scheduled report's attachment. Rows arrive as a stream of JSON cells;
//! once the headers are sent, a failure can only cut the file short, so a
//! reader that errs ends the body with an error the client sees as a broken
//! download rather than a silently short file.

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use rust_xlsxwriter::{Format as CellFormat, Workbook, Worksheet, XlsxError};
use serde_json::Value;
use tokio::sync::mpsc;

/// A row of cells, or why reading stopped.
pub type Row = Result<Vec<Value>, String>;

/// The formats a table downloads as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn parse(text: &str) -> Option<Format> {
        match text {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

/// The rows of one table to download.
pub struct Table {
    /// The file's name without extension; `[A-Za-z0-9_-]` only.
    pub name: String,
    pub columns: Vec<String>,
    pub rows: BoxStream<'static, Row>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("name", &self.name)
            .field("columns", &self.columns)
            .finish_non_exhaustive()
    }
}

/// The download response: headers now, the body as it is produced.
pub fn download(table: Table, format: Format) -> Response {
    let filename = format!(
        "{}.{}",
        table
            .name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            .collect::<String>(),
        format.extension()
    );
    let body = match format {
        Format::Csv => Body::from_stream(csv_body(table)),
        Format::Xlsx => Body::from_stream(xlsx_body(table)),
    };
    (
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// Text as a spreadsheet should read it: text that would start a formula
/// (`=`, `+`, `-`, `@`, tab, return) is prefixed with `'`, so a partner's
/// title can never run as one when the file is opened (CSV injection).
pub fn defused(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    }
}

/// A cell as CSV text: numbers as written, text defused, null empty.
fn csv_cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => defused(text),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => defused(&other.to_string()),
    }
}

fn csv_record(cells: impl IntoIterator<Item = String>) -> std::io::Result<Bytes> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    out.write_record(cells).map_err(std::io::Error::other)?;
    out.into_inner()
        .map(Bytes::from)
        .map_err(|e| std::io::Error::other(e.into_error()))
}

/// RFC 4180 CSV (csv crate), one record per row as rows arrive.
fn csv_body(table: Table) -> impl Stream<Item = std::io::Result<Bytes>> {
    let header = csv_record(table.columns.iter().map(|c| defused(c)));
    futures::stream::once(async move { header }).chain(table.rows.map(|row| match row {
        Ok(cells) => csv_record(cells.iter().map(csv_cell)),
        Err(error) => Err(std::io::Error::other(error)),
    }))
}

/// Rows one worksheet holds (Excel's limit), the header included.
const SHEET_ROWS: u32 = 1_048_576;

/// Hands the bytes rust_xlsxwriter writes to the response body.
struct ChannelWriter(mpsc::Sender<std::io::Result<Bytes>>);

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "download abandoned")
            })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn sheet<'a>(
    workbook: &'a mut Workbook,
    columns: &[String],
    bold: &CellFormat,
) -> Result<&'a mut Worksheet, XlsxError> {
    let sheet = workbook.add_worksheet_with_constant_memory()?;
    for (i, column) in columns.iter().enumerate() {
        sheet.write_string_with_format(0, col(i)?, column, bold)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(sheet)
}

fn col(i: usize) -> Result<u16, XlsxError> {
    u16::try_from(i).map_err(|_| XlsxError::ParameterError("too many columns".into()))
}

/// Integers beyond 2^53 lose digits as spreadsheet numbers: they go as text.
const EXACT_INTEGER: i64 = 1 << 53;

fn write_cell(
    sheet: &mut Worksheet,
    row: u32,
    column: u16,
    value: &Value,
) -> Result<(), XlsxError> {
    match value {
        Value::Null => {}
        Value::Bool(b) => {
            sheet.write_boolean(row, column, *b)?;
        }
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) if i.abs() > EXACT_INTEGER => {
                sheet.write_string(row, column, i.to_string())?;
            }
            (_, Some(f)) => {
                sheet.write_number(row, column, f)?;
            }
            _ => {
                sheet.write_string(row, column, n.to_string())?;
            }
        },
        // Strings are written as strings: XLSX keeps them apart from
        // formulas, so nothing needs defusing.
        Value::String(text) => {
            sheet.write_string(row, column, text)?;
        }
        other => {
            sheet.write_string(row, column, other.to_string())?;
        }
    }
    Ok(())
}

/// Writes every row of `table` into a constant-memory workbook (each sheet
/// spills to a temporary file), starting a new sheet at Excel's row limit,
/// then writes the finished file to `out`; returns how many rows it holds.
/// Blocking: it pulls the rows from their async stream through `runtime`.
fn write_xlsx(
    table: Table,
    out: impl Write + Send,
    runtime: tokio::runtime::Handle,
) -> Result<u64, String> {
    let Table {
        columns, mut rows, ..
    } = table;
    let mut workbook = Workbook::new();
    let bold = CellFormat::new().set_bold();
    let mut sheets = 1usize;
    let mut sheet_row = 1u32;
    let mut written = 0u64;
    let mut current = sheet(&mut workbook, &columns, &bold).map_err(|e| e.to_string())?;
    while let Some(row) = runtime.block_on(rows.next()) {
        let cells = row?;
        if sheet_row == SHEET_ROWS {
            sheets += 1;
            sheet_row = 1;
            current = sheet(&mut workbook, &columns, &bold).map_err(|e| e.to_string())?;
        }
        for (i, value) in cells.iter().enumerate() {
            write_cell(
                current,
                sheet_row,
                col(i).map_err(|e| e.to_string())?,
                value,
            )
            .map_err(|e| e.to_string())?;
        }
        sheet_row += 1;
        written += 1;
    }
    tracing::debug!(sheets, rows = written, "xlsx export written");
    workbook.save_to_writer(out).map_err(|e| e.to_string())?;
    Ok(written)
}

fn xlsx_body(table: Table) -> impl Stream<Item = std::io::Result<Bytes>> {
    let (sender, mut receiver) = mpsc::channel(16);
    let runtime = tokio::runtime::Handle::current();
    let errors = sender.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(error) = write_xlsx(table, ChannelWriter(sender), runtime) {
            let _ = errors.blocking_send(Err(std::io::Error::other(error)));
        }
    });
    futures::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

/// Every row of `table` as an XLSX file in memory, and how many rows it
/// holds: the same file a download streams, for an email attachment. An
/// error is the reader's or the writer's, and no file is made.
pub async fn xlsx_file(table: Table) -> Result<(Vec<u8>, u64), String> {
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut file = Vec::new();
        let rows = write_xlsx(table, &mut file, runtime)?;
        Ok((file, rows))
    })
    .await
    .map_err(|e| format!("the XLSX writer stopped: {e}"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_would_run_as_formulas_are_defused() {
        assert_eq!(defused("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defused("-1+1"), "'-1+1");
        assert_eq!(defused("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defused("偽アカウント"), "偽アカウント");
        assert_eq!(defused(""), "");
        assert_eq!(
            csv_cell(&serde_json::json!(-3)),
            "-3",
            "numbers are numbers"
        );
        assert_eq!(csv_cell(&serde_json::Value::Null), "");
    }
}
