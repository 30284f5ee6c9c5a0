//! `message_send`: hands one message of the Maildir outbox to the SMTP relay named in the task
//! (STARTTLS required, rustls), then marks it sent (`cur/`). The message is sent exactly as it was
//! written to the outbox and the list archive, so what the list receives is what we archived.

use std::time::Duration;

use anyhow::{Context as _, anyhow};
use atr_storage::outbox::SendArgs;
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{SmtpTransport, Transport as _};

use super::{Output, TaskContext};

/// Sends the outbox message named by the task's arguments through its relay.
pub fn send(t: &TaskContext<'_>) -> anyhow::Result<Output> {
    let args: SendArgs = serde_json::from_value(t.task.task.spec.task_args.clone())
        .context("the message_send task's arguments are not a send request")?;
    let file = t.storage.outbox_unsent(&args.outbox_file)?;
    if !file.exists() {
        let sent = t.storage.mark_sent(&args.outbox_file)?;
        if sent.exists() {
            // An earlier attempt was accepted by the relay but could not record completion.
            return Ok(done(&args, "already sent"));
        }
        return Err(anyhow!("the outbox has no message {:?} (removed by an operator?)", args.outbox_file));
    }
    let message = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let from: Address =
        args.from.parse().with_context(|| format!("the sender {:?} is not an address", args.from))?;
    let to = args
        .to
        .iter()
        .map(|a| a.parse::<Address>().with_context(|| format!("the recipient {a:?} is not an address")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let envelope = Envelope::new(Some(from), to).context("the envelope has no recipient")?;

    let relay = &args.relay;
    let mut tls = TlsParameters::builder(relay.host.clone());
    if let Some(ca) = &relay.ca_file {
        let pem = std::fs::read(ca).with_context(|| format!("reading the relay CA {}", ca.display()))?;
        tls = tls.add_root_certificate(
            Certificate::from_pem(&pem)
                .with_context(|| format!("{} is not a PEM certificate", ca.display()))?,
        );
    }
    let tls = tls.build_rustls().context("setting up TLS for the relay")?;
    let transport = SmtpTransport::builder_dangerous(relay.host.as_str())
        .port(relay.port)
        .tls(Tls::Required(tls))
        .hello_name(ClientId::Domain(relay.hello_name.clone()))
        .timeout(Some(Duration::from_secs(relay.timeout_secs)))
        .build();
    // lettre ends DATA with CRLF "." CRLF; the message's own last CRLF is that first one, so the
    // relay receives the outbox bytes exactly (no extra blank line).
    let data = message.strip_suffix(b"\r\n").unwrap_or(&message);
    let response = transport
        .send_raw(&envelope, data)
        .with_context(|| format!("the relay {}:{} did not take the message", relay.host, relay.port))?;
    t.storage.mark_sent(&args.outbox_file)?;
    tracing::info!(message_id = %args.message_id, relay = %relay.host, code = %response.code(), "mail sent");
    Ok(done(&args, &response.code().to_string()))
}

fn done(args: &SendArgs, response: &str) -> Output {
    Output {
        results: Vec::new(),
        value: serde_json::json!({
            "kind": "mail",
            "message_id": args.message_id,
            "relay": format!("{}:{}", args.relay.host, args.relay.port),
            "response": response,
        }),
    }
}
