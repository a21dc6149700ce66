//! Configuration: defaults, then a TOML file, then `OMBUD_*` environment
//! variables, then command-line flags. Loading never writes anything.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// A database URL; its password never appears in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(pub String);

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

/// Replaces the password of `scheme://user:password@host` with `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the SQLite database and the evidence files live.
    pub data: PathBuf,
    /// `postgres://…` selects PostgreSQL; empty means SQLite in `data`.
    pub database_url: Option<DatabaseUrl>,
    /// PostgreSQL only: where analysts' SQL logs in; empty means
    /// `database_url` as the `ombud_analyst` role without a password.
    pub analytics_database_url: Option<DatabaseUrl>,
    /// The address to listen on.
    pub addr: String,
    /// A tracing filter such as `info` or `ombud_server=debug,info`.
    pub log: String,
    /// Largest JSON body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest evidence upload accepted, in bytes.
    pub max_upload_bytes: usize,
    /// The SMTP relay for outbound email: `smtp://host:port`, or with
    /// credentials over STARTTLS (`smtp://user:pass@host:587?tls=required`)
    /// or TLS (`smtps://user:pass@host:465`); none: no email.
    pub smtp_url: Option<String>,
    /// The From address of outbound email.
    pub mail_from: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        let server = ombud_server::ServerConfig::default();
        Config {
            data: PathBuf::from("data"),
            database_url: None,
            analytics_database_url: None,
            addr: "127.0.0.1:8080".into(),
            log: "info".into(),
            max_body_bytes: server.max_body_bytes,
            max_upload_bytes: server.max_upload_bytes,
            smtp_url: None,
            mail_from: None,
        }
    }
}

/// Values given on the command line; they override everything else.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct Overrides {
    /// Data directory (SQLite database and evidence files).
    #[arg(long, global = true)]
    pub data: Option<PathBuf>,
    /// Database URL; `postgres://…` selects PostgreSQL.
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Listen address, HOST:PORT.
    #[arg(long, global = true)]
    pub addr: Option<String>,
    /// A TOML configuration file (see `ombud config`).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
}

impl Config {
    /// Layers the file, the environment (`vars`) and the flags over the defaults.
    pub fn load(
        flags: &Overrides,
        vars: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Config> {
        let file = flags
            .config
            .clone()
            .or_else(|| vars("OMBUD_CONFIG").map(PathBuf::from));
        let mut config = match file {
            Some(path) => Self::from_file(&path)?,
            None => Config::default(),
        };
        if let Some(v) = vars("OMBUD_DATA") {
            config.data = v.into();
        }
        if let Some(v) = vars("OMBUD_DATABASE_URL").filter(|v| !v.is_empty()) {
            config.database_url = Some(DatabaseUrl(v));
        }
        if let Some(v) = vars("OMBUD_ANALYTICS_DATABASE_URL").filter(|v| !v.is_empty()) {
            config.analytics_database_url = Some(DatabaseUrl(v));
        }
        if let Some(v) = vars("OMBUD_ADDR") {
            config.addr = v;
        }
        if let Some(v) = vars("OMBUD_LOG") {
            config.log = v;
        }
        if let Some(v) = vars("OMBUD_SMTP_URL").filter(|v| !v.is_empty()) {
            config.smtp_url = Some(v);
        }
        if let Some(v) = vars("OMBUD_MAIL_FROM").filter(|v| !v.is_empty()) {
            config.mail_from = Some(v);
        }
        for (name, slot) in [
            ("OMBUD_MAX_BODY_BYTES", &mut config.max_body_bytes),
            ("OMBUD_MAX_UPLOAD_BYTES", &mut config.max_upload_bytes),
        ] {
            if let Some(v) = vars(name) {
                *slot = v
                    .parse()
                    .with_context(|| format!("{name}={v:?} is not a number of bytes"))?;
            }
        }
        if let Some(v) = &flags.data {
            config.data = v.clone();
        }
        if let Some(v) = &flags.database_url {
            config.database_url = Some(DatabaseUrl(v.clone()));
        }
        if let Some(v) = &flags.addr {
            config.addr = v.clone();
        }
        Ok(config)
    }

    fn from_file(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
    }

    pub fn server(&self) -> anyhow::Result<ombud_server::ServerConfig> {
        let mail = match (&self.smtp_url, &self.mail_from) {
            (None, None) => None,
            (Some(url), Some(from)) => Some(
                ombud_server::mail::MailConfig::from_url(url, from)
                    .map_err(|e| anyhow::anyhow!("smtp_url / mail_from: {e}"))?,
            ),
            _ => anyhow::bail!("set both smtp_url and mail_from to send email, or neither"),
        };
        Ok(ombud_server::ServerConfig {
            max_body_bytes: self.max_body_bytes,
            max_upload_bytes: self.max_upload_bytes,
            mail,
            ..Default::default()
        })
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url
            .as_ref()
            .is_some_and(|u| u.0.starts_with("postgres://") || u.0.starts_with("postgresql://"))
    }

    /// The default configuration as a commented TOML document.
    pub fn default_toml() -> String {
        let body =
            toml::to_string_pretty(&Config::default()).expect("the default config serialises");
        format!(
            "# Ombud configuration. Precedence: defaults < this file < OMBUD_* environment < flags.\n\
             # database_url = \"postgres://ombud@db.internal/ombud\"  # omit for SQLite in `data`\n{body}"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_environment_beats_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ombud.toml");
        std::fs::write(
            &file,
            "addr = \"0.0.0.0:9000\"\nlog = \"debug\"\ndata = \"/srv/file\"\n",
        )
        .unwrap();
        let env = |name: &str| match name {
            "OMBUD_DATA" => Some("/srv/env".to_string()),
            "OMBUD_LOG" => Some("warn".to_string()),
            _ => None,
        };
        let flags = Overrides {
            data: Some("/srv/flag".into()),
            config: Some(file),
            ..Default::default()
        };
        let config = Config::load(&flags, env).unwrap();
        assert_eq!(config.addr, "0.0.0.0:9000");
        assert_eq!(config.log, "warn");
        assert_eq!(config.data, PathBuf::from("/srv/flag"));
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ombud.toml");
        std::fs::write(&file, "adress = \"x\"\n").unwrap();
        let flags = Overrides {
            config: Some(file),
            ..Default::default()
        };
        let error = format!("{:#}", Config::load(&flags, |_| None).unwrap_err());
        assert!(error.contains("adress"), "{error}");
    }

    #[test]
    fn passwords_are_redacted() {
        let url = DatabaseUrl("postgres://ombud:hunter2@db:5432/ombud".into());
        assert_eq!(format!("{url:?}"), "postgres://ombud:***@db:5432/ombud");
        assert_eq!(redact("postgres://ombud@db/x"), "postgres://ombud@db/x");
    }

    #[test]
    fn the_printed_default_parses_back() {
        let parsed: Config = toml::from_str(&Config::default_toml()).unwrap();
        assert_eq!(parsed, Config::default());
    }
}
