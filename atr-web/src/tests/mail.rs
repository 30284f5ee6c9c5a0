//! Mail through a real SMTP relay: a small server on loopback speaking real SMTP (EHLO, STARTTLS
//! with a test certificate, MAIL, RCPT, DATA, QUIT) receives what the worker's `message_send`
//! task hands it, and the delivered message is the RFC 5322 message of the outbox.

use std::io::{BufRead as _, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use atr_storage::outbox::{MailSettings, SmtpRelay};
use salvo::http::StatusCode;

use super::TestApp;
use super::vote::{draft_with_files, latest, phase};

/// One SMTP transaction as the relay saw it.
#[derive(Debug, Default)]
struct Received {
    /// Whether the transaction ran inside TLS (after STARTTLS).
    tls: bool,
    /// The `EHLO` names, in order.
    hello: Vec<String>,
    mail_from: String,
    rcpt_to: Vec<String>,
    /// The message, dot-unstuffed, without the final `.` line.
    data: Vec<u8>,
}

/// How the test relay behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relay {
    /// Offers STARTTLS and accepts mail.
    Good,
    /// Offers no STARTTLS (a relay the client must refuse to send to in plain text).
    NoTls,
}

fn reply<S: Read + Write>(r: &mut BufReader<S>, line: &str) {
    r.get_mut().write_all(line.as_bytes()).unwrap();
    r.get_mut().flush().unwrap();
}

fn command<S: Read + Write>(r: &mut BufReader<S>) -> Option<String> {
    let mut line = String::new();
    (r.read_line(&mut line).ok()? > 0).then(|| line.trim_end_matches(['\r', '\n']).to_owned())
}

fn address(arg: &str) -> String {
    arg.split_once('<').and_then(|(_, a)| a.split_once('>')).map(|(a, _)| a.to_owned()).unwrap_or_default()
}

/// Serves SMTP commands after the greeting (and after STARTTLS); returns at QUIT, end of input or
/// STARTTLS (`true`: switch to TLS now).
fn session<S: Read + Write>(r: &mut BufReader<S>, tls: bool, mode: Relay, got: &mut Vec<Received>) -> bool {
    let mut current = Received { tls, ..Received::default() };
    while let Some(line) = command(r) {
        let upper = line.to_ascii_uppercase();
        if let Some(name) = upper.strip_prefix("EHLO ") {
            current.hello.push(name.to_ascii_lowercase());
            if tls || mode == Relay::NoTls {
                reply(r, "250-relay.test\r\n250 8BITMIME\r\n");
            } else {
                reply(r, "250-relay.test\r\n250-8BITMIME\r\n250 STARTTLS\r\n");
            }
        } else if upper == "STARTTLS" && !tls && mode == Relay::Good {
            reply(r, "220 2.0.0 Ready to start TLS\r\n");
            return true;
        } else if upper.starts_with("MAIL FROM:") {
            current.mail_from = address(&line);
            reply(r, "250 2.1.0 Ok\r\n");
        } else if upper.starts_with("RCPT TO:") {
            current.rcpt_to.push(address(&line));
            reply(r, "250 2.1.5 Ok\r\n");
        } else if upper == "DATA" {
            reply(r, "354 End data with <CR><LF>.<CR><LF>\r\n");
            let mut raw = Vec::new();
            loop {
                let mut l = Vec::new();
                assert!(r.read_until(b'\n', &mut l).unwrap() > 0, "the client hung up in DATA");
                if l == b".\r\n" {
                    break;
                }
                raw.extend_from_slice(if l.starts_with(b"..") { &l[1..] } else { &l });
            }
            current.data = raw;
            got.push(std::mem::replace(&mut current, Received { tls, ..Received::default() }));
            reply(r, "250 2.0.0 Ok: queued\r\n");
        } else if upper == "QUIT" {
            reply(r, "221 2.0.0 Bye\r\n");
            return false;
        } else if upper == "RSET" || upper == "NOOP" {
            reply(r, "250 2.0.0 Ok\r\n");
        } else {
            reply(r, "502 5.5.2 Command not recognised\r\n");
        }
    }
    false
}

/// A relay on 127.0.0.1 for `connections` connections, with a certificate for 127.0.0.1 signed by
/// itself; returns its port, the certificate (PEM, the CA to trust) and what it received.
fn start_relay(mode: Relay, connections: usize) -> (u16, String, std::thread::JoinHandle<Vec<Received>>) {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert_pem = made.cert.pem();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![made.cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into()),
            )
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let mut got = Vec::new();
        for _ in 0..connections {
            let (tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
            let mut plain = BufReader::new(tcp);
            reply(&mut plain, "220 relay.test ESMTP test relay\r\n");
            if session(&mut plain, false, mode, &mut got) {
                assert!(plain.buffer().is_empty(), "no plain text may follow STARTTLS");
                let tcp: TcpStream = plain.into_inner();
                let conn = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
                let mut secure = BufReader::new(rustls::StreamOwned::new(conn, tcp));
                session(&mut secure, true, mode, &mut got);
            }
        }
        got
    });
    (port, cert_pem, handle)
}

fn relay_settings(app: &TestApp, port: u16, cert_pem: &str) -> MailSettings {
    let ca = app.storage.layout().root().join("relay-ca.pem");
    std::fs::write(&ca, cert_pem).unwrap();
    let mut relay = SmtpRelay::new("127.0.0.1", port);
    relay.ca_file = Some(ca);
    relay.timeout_secs = 10;
    MailSettings { site_origin: "https://releases.example.org".to_owned(), relay: Some(relay) }
}

fn files_in(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> =
        std::fs::read_dir(dir).map(|d| d.map(|e| e.unwrap().path()).collect()).unwrap_or_default();
    out.sort();
    out
}

#[tokio::test]
async fn the_vote_mail_goes_through_an_smtp_relay_over_starttls() {
    let app = TestApp::new();
    let (port, cert, relay) = start_relay(Relay::Good, 1);
    app.storage.configure_mail(relay_settings(&app, port, &cert));
    let (mut alice, token) = draft_with_files(&app).await;
    let form = format!("csrf_token={token}&revision={}&email_to=dev%40test.apache.org", latest(&app));
    let (status, body) = alice.post(&app, "/vote/start/test-client/0.1", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(phase(&app), atr_core::model::ReleasePhase::Candidate);

    // Queued, not yet sent: the message waits in the outbox for a worker.
    let outbox = app.storage.mail_outbox();
    let waiting = files_in(&outbox.join("new"));
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    let written = std::fs::read(&waiting[0]).unwrap();
    let stats = app.settle();
    assert_eq!((stats.completed, stats.failed_attempts), (1, 0), "{stats:?}");

    let got = relay.join().unwrap();
    assert_eq!(got.len(), 1, "{got:?}");
    let mail = &got[0];
    assert!(mail.tls, "sent only after STARTTLS");
    assert_eq!(mail.hello, ["atr.apache.org"], "EHLO again inside TLS");
    assert_eq!(mail.mail_from, "alice@apache.org");
    assert_eq!(mail.rcpt_to, ["dev@test.apache.org"]);
    assert_eq!(mail.data, written, "the relay got exactly the message of the outbox");
    let text = String::from_utf8(mail.data.clone()).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("headers, blank line, body");
    for header in [
        "From: alice <alice@apache.org>",
        "To: dev@test.apache.org",
        "Subject: [VOTE] Release Apache Test Client 0.1",
        "MIME-Version: 1.0",
    ] {
        assert!(head.lines().any(|l| l == header), "{header} in\n{head}");
    }
    assert!(head.lines().any(|l| l.starts_with("Date: ") && l.ends_with(" +0000")), "{head}");
    assert!(
        head.lines().any(|l| l.starts_with("Message-ID: <") && l.ends_with("@atr.apache.org>")),
        "{head}"
    );
    assert!(text.split("\r\n").all(|l| !l.contains('\n')), "CRLF line ends only");
    assert!(
        body.contains("https://releases.example.org/vote/test-client/0.1"),
        "links use the configured site origin\n{body}"
    );
    assert!(body.contains(&format!("revision {}", latest(&app))), "{body}");

    // Sent: moved to cur/ (Maildir "seen"); the task records the relay's answer.
    assert!(files_in(&outbox.join("new")).is_empty());
    let sent = files_in(&outbox.join("cur"));
    assert_eq!(sent.len(), 1);
    assert!(sent[0].to_string_lossy().ends_with(":2,S"), "{sent:?}");
    let tasks =
        app.storage.read(|tx| tx.tasks_with_status(atr_core::model::TaskStatus::Completed, 100)).unwrap();
    let send = tasks.iter().find(|t| t.spec.task_type == atr_core::model::TaskType::MessageSend).unwrap();
    assert_eq!(send.result.as_ref().unwrap()["response"], "250", "{send:?}");
}

#[tokio::test]
async fn a_relay_without_starttls_gets_nothing_and_the_mail_stays_in_the_outbox() {
    let app = TestApp::new();
    let (mut alice, token) = draft_with_files(&app).await;
    let (port, cert, relay) = start_relay(Relay::NoTls, 5);
    app.storage.configure_mail(relay_settings(&app, port, &cert));
    let form = format!("csrf_token={token}&revision={}&email_to=dev%40test.apache.org", latest(&app));
    let (status, body) = alice.post(&app, "/vote/start/test-client/0.1", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");

    let stats = app.settle();
    assert_eq!((stats.completed, stats.failed_attempts), (0, 5), "every attempt refused: {stats:?}");
    let got = relay.join().unwrap();
    assert!(got.is_empty(), "nothing was sent in plain text: {got:?}");
    let failed =
        app.storage.read(|tx| tx.tasks_with_status(atr_core::model::TaskStatus::Failed, 100)).unwrap();
    let send = failed.iter().find(|t| t.spec.task_type == atr_core::model::TaskType::MessageSend).unwrap();
    let error = send.error.clone().unwrap_or_default();
    assert!(error.contains("did not take the message"), "{error}");
    let outbox = app.storage.mail_outbox();
    assert_eq!(files_in(&outbox.join("new")).len(), 1, "kept for a later attempt or an operator");
    assert!(files_in(&outbox.join("cur")).is_empty());
}
