//! The `ombud` binary: parses the command line, loads configuration, picks
//! the storage backend from the database URL, and runs the command.

mod bench;
mod config;
mod demo;
mod mailgate;
mod transfer;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use ombud_domain::{Clock, NewPartner, Role, SystemClock};
use ombud_store::Stores;

use crate::config::{Config, Overrides};

#[derive(Debug, Parser)]
#[command(
    name = "ombud",
    version,
    about = "Escalation management for trust & safety teams"
)]
struct Cli {
    #[command(flatten)]
    overrides: Overrides,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API.
    Serve,
    /// Seed demo data into an empty store, print the credentials, and serve.
    Demo {
        /// How many escalations to seed.
        #[arg(long, default_value_t = 5000)]
        count: u64,
        /// Seed and print, but do not serve.
        #[arg(long)]
        no_serve: bool,
    },
    /// Apply the database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage partners.
    #[command(subcommand)]
    Partner(PartnerCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Write everything as JSON Lines (to stdout or --output).
    Export {
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Read an export into an empty store (from stdin or --input).
    Import {
        #[arg(long)]
        input: Option<PathBuf>,
    },
    /// Write a consistent copy of the SQLite database while it serves.
    Backup {
        /// The new file to write.
        #[arg(long)]
        to: PathBuf,
    },
    /// Print the default configuration as TOML.
    Config,
    /// Measure throughput and latency over HTTP against a child server.
    Bench(bench::BenchArgs),
    /// Post one email read on stdin to the server (for an MTA pipe).
    Mailgate(mailgate::MailgateArgs),
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from OMBUD_PASSWORD or stdin.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The partner a partner user belongs to.
        #[arg(long)]
        partner: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum PartnerCommand {
    /// Register a partner.
    Add {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        /// government, regulator, law_enforcement, court, ngo, trusted_flagger, advertiser, public_figure_team, internal_team
        #[arg(long)]
        kind: String,
        #[arg(long, default_value_t = 2)]
        tier: i64,
        /// ISO 3166-1 alpha-2.
        #[arg(long)]
        country: String,
        #[arg(long, default_value = "en")]
        language: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print only its secret on stdout.
    Create {
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Required for the partner role.
        #[arg(long)]
        partner: Option<String>,
        #[arg(long)]
        name: String,
    },
}

fn parse_role(value: &str) -> Result<Role, String> {
    Role::parse(value)
        .ok_or_else(|| format!("unknown role {value:?}; use admin, manager, agent or partner"))
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(&cli.overrides, |name| std::env::var(name).ok())?;
    if let Command::Config = cli.command {
        print!("{}", Config::default_toml());
        return Ok(());
    }
    if let Command::Mailgate(args) = cli.command {
        let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
        std::process::exit(i32::from(runtime.block_on(mailgate::run(args))));
    }
    init_tracing(&config)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(run(cli.command, config))
}

fn init_tracing(config: &Config) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .with_context(|| format!("invalid log filter {:?}", config.log))?;
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    Ok(())
}

/// Opens the store the configuration names, applying migrations.
async fn open_store(config: &Config) -> anyhow::Result<Stores> {
    match &config.database_url {
        Some(url) if config.is_postgres() => ombud_store_postgres::open(
            &url.0,
            config.analytics_database_url.as_ref().map(|u| u.0.as_str()),
        )
        .await
        .with_context(|| format!("opening PostgreSQL at {}", config::redact(&url.0))),
        Some(url) => bail!(
            "unsupported database URL {}; use postgres://… or omit it for SQLite",
            config::redact(&url.0)
        ),
        None => ombud_store_sqlite::open(&config.data)
            .await
            .with_context(|| format!("opening SQLite in {}", config.data.display())),
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match command {
        Command::Config | Command::Mailgate(_) => {
            unreachable!("handled before the runtime starts")
        }
        Command::Bench(args) => bench::run(args, &config).await,
        Command::Serve => serve(open_store(&config).await?, clock, &config).await,
        Command::Demo { count, no_serve } => {
            let stores = open_store(&config).await?;
            if stores.maintenance.escalation_count().await? == 0 {
                seed_demo(&stores, count, clock.now(), demo::Shape::Lifecycle).await?;
            }
            let admin =
                create_token(&stores, clock.as_ref(), Role::Admin, None, "demo admin").await?;
            let partner = create_token(
                &stores,
                clock.as_ref(),
                Role::Partner,
                Some("jp-npa-cyber"),
                "demo partner",
            )
            .await?;
            if no_serve {
                println!(
                    "Ombud demo data is ready; `ombud serve` will serve it at http://{}/",
                    config.addr
                );
            } else {
                println!("Ombud demo is serving at http://{}/", config.addr);
            }
            println!(
                "  console: http://{}/console — sign in as {} (agent) or {} (admin), password {}",
                config.addr,
                demo::DEMO_AGENT,
                demo::DEMO_ADMIN,
                demo::DEMO_PASSWORD
            );
            println!("  admin API token:   {admin}");
            println!("  partner API token: {partner}   (partner jp-npa-cyber)");
            println!(
                "  try: curl -H 'Authorization: Bearer {admin}' 'http://{}/api/v1/escalations?limit=5'",
                config.addr
            );
            if no_serve {
                Ok(())
            } else {
                serve(stores, clock, &config).await
            }
        }
        Command::Migrate => {
            let stores = open_store(&config).await?;
            eprintln!(
                "migrations applied ({}); {} escalations stored",
                stores.maintenance.backend_name(),
                stores.maintenance.escalation_count().await?
            );
            Ok(())
        }
        Command::User(UserCommand::Add {
            email,
            name,
            role,
            partner,
        }) => {
            let request = ombud_server::auth::UserRequest {
                email,
                name,
                role,
                partner,
                password: read_password()?,
            };
            let stores = open_store(&config).await?;
            let user = ombud_server::auth::create_user(&stores, &request, clock.now())
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
            eprintln!("added user {} ({})", user.email, user.role.as_str());
            Ok(())
        }
        Command::Partner(PartnerCommand::Add {
            slug,
            name,
            kind,
            tier,
            country,
            language,
        }) => {
            let partner = NewPartner {
                slug,
                name,
                kind,
                tier,
                country,
                language,
                contacts: Vec::new(),
                allowed_types: Vec::new(),
            }
            .validate(clock.now())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            let stores = open_store(&config).await?;
            stores.directory.create_partner(&partner).await?;
            eprintln!("added partner {}", partner.slug.as_str());
            Ok(())
        }
        Command::Token(TokenCommand::Create {
            role,
            partner,
            name,
        }) => {
            let stores = open_store(&config).await?;
            let secret =
                create_token(&stores, clock.as_ref(), role, partner.as_deref(), &name).await?;
            println!("{secret}");
            Ok(())
        }
        Command::Export { output } => {
            let stores = open_store(&config).await?;
            match output {
                Some(path) => {
                    let file = std::fs::File::create(&path)
                        .with_context(|| format!("creating {}", path.display()))?;
                    transfer::export(&stores, std::io::BufWriter::new(file)).await
                }
                None => {
                    transfer::export(&stores, std::io::BufWriter::new(std::io::stdout().lock()))
                        .await
                }
            }
        }
        Command::Import { input } => {
            let stores = open_store(&config).await?;
            let reader: Box<dyn std::io::BufRead> = match input {
                Some(path) => Box::new(std::io::BufReader::new(
                    std::fs::File::open(&path)
                        .with_context(|| format!("opening {}", path.display()))?,
                )),
                None => Box::new(std::io::stdin().lock()),
            };
            transfer::import(&stores, reader).await
        }
        Command::Backup { to } => {
            if config.is_postgres() {
                bail!("backup copies the SQLite database; for PostgreSQL use pg_dump");
            }
            let stores = open_store(&config).await?;
            stores.maintenance.backup(&to).await?;
            eprintln!("backup written to {}", to.display());
            Ok(())
        }
    }
}

async fn serve(stores: Stores, clock: Arc<dyn Clock>, config: &Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.addr)
        .await
        .with_context(|| format!("binding {}", config.addr))?;
    tracing::info!(addr = %listener.local_addr()?, backend = stores.maintenance.backend_name(), "serving");
    let state = ombud_server::AppState::new(stores, clock, config.server()?);
    ombud_server::serve(listener, state, shutdown_signal())
        .await
        .context("serving")
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
    tracing::info!("shutting down");
}

/// A token for the demo's printed credentials.
async fn create_token(
    stores: &Stores,
    clock: &dyn Clock,
    role: Role,
    partner: Option<&str>,
    name: &str,
) -> anyhow::Result<String> {
    ombud_server::auth::create_token(stores, name, role, partner, clock.now())
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail))
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("OMBUD_PASSWORD") {
        return Ok(password);
    }
    if std::io::stdin().is_terminal() {
        eprint!("password: ");
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

async fn seed_demo(
    stores: &Stores,
    count: u64,
    now: jiff::Timestamp,
    shape: demo::Shape,
) -> anyhow::Result<()> {
    demo::seed_directory(stores, now).await?;
    demo::seed_settings(stores, now).await?;
    let bar = transfer::progress_bar(count, "seeding demo escalations");
    demo::seed_escalations(stores, count, now, 42, shape, |n| bar.set_position(n)).await?;
    bar.finish_and_clear();
    stores.maintenance.refresh_statistics().await?;
    eprintln!("seeded {count} demo escalations");
    Ok(())
}
