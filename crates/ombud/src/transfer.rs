//! `ombud export` and `ombud import`: everything as JSON Lines, in a fixed
//! order, so that export → import → export is byte-identical. Passwords and
//! API tokens travel as the hashes the store keeps, never as secrets.

use std::collections::HashSet;
use std::io::{BufRead, Write};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ombud_domain::{Partner, RefItem, RefKind};
use ombud_store::{ExportedEscalation, Setting, SettingKind, StoreError, Stores, Token, User};
use serde::{Deserialize, Serialize};

const FORMAT: &str = "ombud-export";
const VERSION: u32 = 1;
const BATCH: u32 = 500;

/// One line of an export.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Line {
    Header {
        format: String,
        version: u32,
    },
    Reference {
        kind: RefKind,
        item: RefItem,
    },
    Setting {
        kind: String,
        code: String,
        body: serde_json::Value,
        version: i64,
        updated_at: jiff::Timestamp,
    },
    Partner(Partner),
    User {
        user: User,
        password_hash: String,
    },
    Token {
        token: Token,
        secret_sha256: String,
    },
    Escalation(Box<ExportedEscalation>),
    Blob {
        sha256: String,
        base64: String,
    },
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
pub fn progress_bar(len: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} ({per_sec}, eta {eta})")
            .expect("valid template"),
    );
    bar.set_message(message);
    bar
}

fn write_line(out: &mut impl Write, line: &Line) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, line)?;
    out.write_all(b"\n")?;
    Ok(())
}

pub async fn export(stores: &Stores, mut out: impl Write) -> anyhow::Result<()> {
    write_line(
        &mut out,
        &Line::Header {
            format: FORMAT.into(),
            version: VERSION,
        },
    )?;
    for kind in RefKind::ALL {
        for item in stores.reference.list(kind).await? {
            write_line(&mut out, &Line::Reference { kind, item })?;
        }
    }
    for kind in SettingKind::ALL {
        for setting in stores.settings.list(kind).await? {
            write_line(
                &mut out,
                &Line::Setting {
                    kind: kind.as_str().into(),
                    code: setting.code,
                    body: setting.body,
                    version: setting.version,
                    updated_at: setting.updated_at,
                },
            )?;
        }
    }
    for partner in stores.directory.list_partners().await? {
        write_line(&mut out, &Line::Partner(partner))?;
    }
    for user in stores.directory.list_users().await? {
        let password_hash = stores
            .directory
            .user_credentials(&user.email)
            .await?
            .password_hash;
        write_line(
            &mut out,
            &Line::User {
                user,
                password_hash,
            },
        )?;
    }
    for (token, secret_sha256) in stores.directory.export_tokens().await? {
        write_line(
            &mut out,
            &Line::Token {
                token,
                secret_sha256,
            },
        )?;
    }
    let total = stores.maintenance.escalation_count().await?;
    let bar = progress_bar(u64::try_from(total).unwrap_or(0), "exporting");
    let mut written_blobs = HashSet::new();
    let mut after = None;
    loop {
        let batch = stores.escalations.export_batch(after, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.escalation.key);
        for exported in batch {
            let blobs: Vec<String> = exported
                .escalation
                .evidence
                .iter()
                .map(|e| e.sha256.clone())
                .collect();
            write_line(&mut out, &Line::Escalation(Box::new(exported)))?;
            for sha256 in blobs {
                if written_blobs.insert(sha256.clone()) {
                    let bytes = stores
                        .blobs
                        .get(&sha256)
                        .await
                        .with_context(|| format!("reading evidence blob {sha256}"))?;
                    write_line(
                        &mut out,
                        &Line::Blob {
                            sha256,
                            base64: BASE64.encode(&bytes),
                        },
                    )?;
                }
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    out.flush()?;
    Ok(())
}

pub async fn import(stores: &Stores, input: impl BufRead) -> anyhow::Result<()> {
    if stores.maintenance.escalation_count().await? > 0
        || !stores.directory.list_partners().await?.is_empty()
    {
        bail!("import needs an empty store (no partners, no escalations)");
    }
    let mut batch = Vec::new();
    let mut escalations = 0_u64;
    let bar = progress_bar(0, "importing");
    for (n, line) in input.lines().enumerate() {
        let line = line.with_context(|| format!("reading line {}", n + 1))?;
        let parsed: Line = serde_json::from_str(&line)
            .with_context(|| format!("line {} is not an export line", n + 1))?;
        match parsed {
            Line::Header { format, version } => {
                if n != 0 || format != FORMAT || version != VERSION {
                    bail!(
                        "line {}: expected an {FORMAT} version {VERSION} header first",
                        n + 1
                    );
                }
            }
            _ if n == 0 => bail!("line 1: not an {FORMAT} file (no header)"),
            Line::Reference { kind, item } => match stores.reference.create(kind, &item).await {
                // The defaults are seeded on open; the export's version wins.
                Err(StoreError::Conflict(_)) => stores.reference.update(kind, &item).await?,
                other => other?,
            },
            Line::Setting {
                kind,
                code,
                body,
                version,
                updated_at,
            } => {
                let kind = SettingKind::parse(&kind)
                    .with_context(|| format!("line {}: unknown setting kind {kind:?}", n + 1))?;
                let setting = Setting {
                    code,
                    body,
                    version,
                    updated_at,
                };
                stores.settings.restore(kind, &setting).await?
            }
            Line::Partner(partner) => stores.directory.create_partner(&partner).await?,
            Line::User {
                user,
                password_hash,
            } => stores.directory.import_user(&user, &password_hash).await?,
            Line::Token {
                token,
                secret_sha256,
            } => {
                stores
                    .directory
                    .import_token(&token, &secret_sha256)
                    .await?
            }
            Line::Escalation(exported) => {
                batch.push(*exported);
                if batch.len() >= BATCH as usize {
                    escalations += flush(stores, &mut batch).await?;
                    bar.set_position(escalations);
                }
            }
            Line::Blob { sha256, base64 } => {
                let bytes = BASE64
                    .decode(base64)
                    .with_context(|| format!("line {}: bad base64", n + 1))?;
                let stored = stores.blobs.put(bytes.into()).await?;
                if stored != sha256 {
                    bail!(
                        "line {}: blob content does not match its SHA-256 {sha256}",
                        n + 1
                    );
                }
            }
        }
    }
    escalations += flush(stores, &mut batch).await?;
    bar.finish_and_clear();
    stores.maintenance.refresh_statistics().await?;
    eprintln!("imported {escalations} escalations");
    Ok(())
}

async fn flush(stores: &Stores, batch: &mut Vec<ExportedEscalation>) -> anyhow::Result<u64> {
    if batch.is_empty() {
        return Ok(0);
    }
    stores.escalations.import(batch).await?;
    let n = batch.len() as u64;
    batch.clear();
    Ok(n)
}
