//! `ombud mailgate`: reads one RFC 5322 message on stdin, as an MTA pipes
//! it (like RT's rt-mailgate), and posts it to the server. Its exit status
//! tells the MTA what to do: 0 delivered, 67 (EX_NOUSER) unknown sender —
//! bounce it, 65 (EX_DATAERR) refused otherwise, 75 (EX_TEMPFAIL) the server
//! could not be reached or failed — try again later.

use std::io::Read;

use sha2::{Digest, Sha256};

#[derive(Debug, clap::Args)]
pub struct MailgateArgs {
    /// The Ombud server, e.g. `http://127.0.0.1:8080`.
    #[arg(long, env = "OMBUD_MAILGATE_URL")]
    url: String,
    /// An admin or manager API token.
    #[arg(long, env = "OMBUD_MAILGATE_TOKEN", hide_env_values = true)]
    token: String,
}

const EX_DATAERR: u8 = 65;
const EX_NOUSER: u8 = 67;
const EX_TEMPFAIL: u8 = 75;

/// Returns the exit status for the MTA.
pub async fn run(args: MailgateArgs) -> u8 {
    let mut message = Vec::new();
    if let Err(error) = std::io::stdin().read_to_end(&mut message) {
        eprintln!("mailgate: cannot read the message: {error}");
        return EX_TEMPFAIL;
    }
    // The same message retried by the MTA is the same request.
    let key = hex::encode(Sha256::digest(&message));
    let sent = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/mail/inbound",
            args.url.trim_end_matches('/')
        ))
        .bearer_auth(&args.token)
        .header("content-type", "message/rfc822")
        .header("idempotency-key", key)
        .body(message)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(error) => {
            eprintln!("mailgate: cannot reach {}: {error}", args.url);
            return EX_TEMPFAIL;
        }
    };
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if status.is_success() {
        println!(
            "{} {}",
            body["outcome"].as_str().unwrap_or("accepted"),
            body["escalation"].as_str().unwrap_or_default()
        );
        return 0;
    }
    let detail = body["detail"].as_str().unwrap_or("no detail");
    eprintln!("mailgate: {status}: {detail}");
    match (status.as_u16(), body["code"].as_str()) {
        (_, Some("unknown_sender")) => EX_NOUSER,
        (400..=499, _) => EX_DATAERR,
        _ => EX_TEMPFAIL,
    }
}
