//! The local mail adapter: complete RFC 5322 messages written to a Maildir outbox and appended
//! to a local list archive, so the vote thread can be tabulated from real mail.
//!
//! - `mail/outbox/{tmp,new,cur}/`: a Maildir. A message is written to `tmp/`, synced, then
//!   renamed into `new/`, so a reader (an SMTP relay job, a person) never sees half a message.
//! - `mail/lists/<list>.mbox`: an mboxrd archive per list (`From ` separator lines, body lines
//!   matching `>*From ` get one more `>`), appended under an exclusive file lock; readable by
//!   `atr_core::tabulate::parse_mbox`.
//!
//! When an SMTP relay is configured ([`Storage::configure_mail`]), [`Storage::send_mail`] also
//! queues a `message_send` task in the same transaction; a worker hands the outbox file to the
//! relay (STARTTLS required) and moves it to `cur/` once the relay accepted it. Without a relay
//! the outbox is the end of the road (an operator or a local MTA picks it up).
//!
//! Messages use CRLF line ends in the Maildir (wire format) and LF in the mbox (Unix archive
//! convention). Bodies that are not plain ASCII with short lines are sent quoted-printable
//! UTF-8; non-ASCII display names and subjects are RFC 2047 encoded words.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use atr_core::time::Timestamp;

use crate::Storage;
use crate::error::StorageError;
use crate::revision::fsync_dir;

/// Why a mail could not be written.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// A header field would break the message (line break, missing `@`, …).
    #[error("the mail's {field} is invalid: {reason}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// Why, and what is allowed.
        reason: String,
    },
    /// Writing it failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A mail to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// Sender address (`uid@apache.org`).
    pub from: String,
    /// Sender display name (may be empty).
    pub from_name: String,
    /// Recipient addresses.
    pub to: Vec<String>,
    /// Subject.
    pub subject: String,
    /// Plain-text body (`\n` line ends).
    pub body: String,
    /// The Message-ID this replies to (without angle brackets).
    pub in_reply_to: Option<String>,
    /// When it is sent.
    pub date: Timestamp,
}

/// Where a mail was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// Its Message-ID (without angle brackets).
    pub message_id: String,
    /// The file in `mail/outbox/new/`.
    pub outbox_file: PathBuf,
    /// The list archives it was appended to.
    pub archives: Vec<PathBuf>,
}

/// An SMTP relay the workers hand mail to. Stored in each `message_send` task, so the worker needs
/// no configuration of its own.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SmtpRelay {
    /// Host name of the relay (also the name its TLS certificate must carry).
    pub host: String,
    /// Port (587: submission with STARTTLS).
    pub port: u16,
    /// PEM file of an extra CA to trust (a private relay's certificate); the web PKI roots otherwise.
    pub ca_file: Option<PathBuf>,
    /// The name we give in `EHLO`.
    pub hello_name: String,
    /// Seconds before a silent relay is given up on (the attempt fails and is retried).
    pub timeout_secs: u64,
}

impl SmtpRelay {
    /// A relay at `host:port`, trusting the web PKI, greeting as `atr.apache.org`, 30 s timeout.
    pub fn new(host: impl Into<String>, port: u16) -> SmtpRelay {
        SmtpRelay {
            host: host.into(),
            port,
            ca_file: None,
            hello_name: MESSAGE_ID_DOMAIN.to_owned(),
            timeout_secs: 30,
        }
    }
}

/// How mail leaves this platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    /// The public origin links in mails point to (`https://release-test.apache.org`), no trailing `/`.
    pub site_origin: String,
    /// The SMTP relay, or `None` to keep mail in the Maildir outbox and the list archives only.
    pub relay: Option<SmtpRelay>,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings { site_origin: DEFAULT_SITE_ORIGIN.to_owned(), relay: None }
    }
}

/// The site origin when none is configured.
pub const DEFAULT_SITE_ORIGIN: &str = "https://release-test.apache.org";

/// The arguments of a `message_send` task.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SendArgs {
    /// The file name in `mail/outbox/new/`.
    pub outbox_file: String,
    /// The Message-ID (without angle brackets).
    pub message_id: String,
    /// The envelope sender.
    pub from: String,
    /// The envelope recipients.
    pub to: Vec<String>,
    /// Where to send it.
    pub relay: SmtpRelay,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Domain of the Message-IDs we make.
pub const MESSAGE_ID_DOMAIN: &str = "atr.apache.org";

impl Storage {
    /// `mail/outbox/`: the Maildir of messages to send.
    pub fn mail_outbox(&self) -> PathBuf {
        self.layout().root().join("mail").join("outbox")
    }

    /// `mail/lists/<list>.mbox`: the local archive of a list.
    pub fn list_archive(&self, list: &str) -> Result<PathBuf, MailError> {
        check_address("list", list)?;
        Ok(self
            .layout()
            .root()
            .join("mail")
            .join("lists")
            .join(format!("{}.mbox", list.to_ascii_lowercase())))
    }

    /// Sets how mail leaves (site origin, SMTP relay) for this process.
    pub fn configure_mail(&self, settings: MailSettings) {
        *self.mail.write().unwrap_or_else(std::sync::PoisonError::into_inner) = settings;
    }

    /// How mail leaves (see [`Storage::configure_mail`]).
    pub fn mail_settings(&self) -> MailSettings {
        self.mail.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Sends `mail`: written into the outbox and the archives of `lists` ([`Storage::deliver_local`]),
    /// and, when a relay is configured, a `message_send` task queued in `tx` for a worker to hand it
    /// to the relay. Rolled back with `tx`, the task goes; the outbox file stays for an operator.
    pub fn send_mail(
        &self,
        tx: &crate::db::Tx<'_>,
        mail: &OutgoingMail,
        lists: &[&str],
    ) -> Result<Delivered, MailError> {
        let delivered = self.deliver_local(mail, lists)?;
        if let Some(relay) = self.mail_settings().relay {
            let args = SendArgs {
                outbox_file: delivered
                    .outbox_file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                message_id: delivered.message_id.clone(),
                from: mail.from.clone(),
                to: mail.to.clone(),
                relay,
            };
            let spec = atr_core::model::TaskSpec {
                task_type: atr_core::model::TaskType::MessageSend,
                task_args: serde_json::to_value(&args).map_err(|e| MailError::Invalid {
                    field: "task",
                    reason: format!("the send task could not be encoded: {e}"),
                })?,
                asf_uid: None,
                project_key: None,
                version_key: None,
                revision_number: None,
                primary_rel_path: None,
            };
            let opts = crate::db::tasks::EnqueueOptions { max_attempts: 5, ..Default::default() };
            tx.enqueue_task_with(&spec, mail.date, &opts)?;
        }
        Ok(delivered)
    }

    /// The outbox file of a `message_send` task: `new/<name>` while unsent.
    pub fn outbox_unsent(&self, name: &str) -> Result<PathBuf, MailError> {
        Ok(self.mail_outbox().join("new").join(checked_name(name)?))
    }

    /// Marks the outbox file `name` as sent: moved to `cur/<name>:2,S` (Maildir "seen").
    /// Idempotent: a file already there is fine.
    pub fn mark_sent(&self, name: &str) -> Result<PathBuf, MailError> {
        let name = checked_name(name)?;
        let cur = self.mail_outbox().join("cur");
        fs::create_dir_all(&cur).map_err(StorageError::io("create directory", &cur))?;
        let sent = cur.join(format!("{name}:2,S"));
        let new = self.mail_outbox().join("new").join(name);
        if new.exists() {
            fs::rename(&new, &sent).map_err(StorageError::io("move into outbox/cur", &sent))?;
            fsync_dir(&cur)?;
        }
        Ok(sent)
    }

    /// Writes `mail` into the outbox and appends it to the archive of each recipient in `lists`
    /// (the recipients that are mailing lists). Returns its Message-ID and where it went.
    pub fn deliver_local(&self, mail: &OutgoingMail, lists: &[&str]) -> Result<Delivered, MailError> {
        let message_id = make_message_id(mail);
        let wire = render(mail, &message_id)?;
        let archives = lists.iter().map(|l| self.list_archive(l)).collect::<Result<Vec<_>, _>>()?;

        let outbox = self.mail_outbox();
        for sub in ["tmp", "new", "cur"] {
            let d = outbox.join(sub);
            fs::create_dir_all(&d).map_err(StorageError::io("create directory", &d))?;
        }
        let unique = format!(
            "{}.P{}Q{}.{}",
            mail.date.unix(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            &blake3::hash(message_id.as_bytes()).to_hex()[..12]
        );
        let tmp = outbox.join("tmp").join(&unique);
        let new = outbox.join("new").join(&unique);
        write_new(&tmp, &wire)?;
        fs::rename(&tmp, &new).map_err(StorageError::io("move into the outbox", &new))?;
        fsync_dir(&outbox.join("new"))?;

        let lf = String::from_utf8_lossy(&wire).replace("\r\n", "\n");
        for archive in &archives {
            append_mbox(archive, &mail.from, mail.date, &lf)?;
        }
        Ok(Delivered { message_id, outbox_file: new, archives })
    }
}

fn checked_name(name: &str) -> Result<&str, MailError> {
    if name.is_empty()
        || name.starts_with('.')
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
    {
        return Err(MailError::Invalid {
            field: "outbox file",
            reason: format!("{name:?} is not an outbox name"),
        });
    }
    Ok(name)
}

fn make_message_id(mail: &OutgoingMail) -> String {
    let mut h = blake3::Hasher::new();
    h.update(mail.from.as_bytes());
    h.update(mail.subject.as_bytes());
    h.update(mail.body.as_bytes());
    h.update(&mail.date.unix().to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    h.update(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    format!("{}.{}@{MESSAGE_ID_DOMAIN}", mail.date.unix(), &h.finalize().to_hex()[..24])
}

fn write_new(path: &Path, data: &[u8]) -> Result<(), StorageError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(StorageError::io("create", path))?;
    f.write_all(data).map_err(StorageError::io("write", path))?;
    f.sync_all().map_err(StorageError::io("fsync", path))
}

fn append_mbox(path: &Path, from: &str, date: Timestamp, message: &str) -> Result<(), StorageError> {
    if let Some(p) = path.parent() {
        fs::create_dir_all(p).map_err(StorageError::io("create directory", p))?;
    }
    let mut out = format!("From {from} {}\n", asctime(date));
    for line in message.split_inclusive('\n') {
        if line.trim_start_matches('>').starts_with("From ") {
            out.push('>');
        }
        out.push_str(line);
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push('\n');
    let mut f =
        OpenOptions::new().append(true).create(true).open(path).map_err(StorageError::io("open", path))?;
    f.lock().map_err(StorageError::io("lock", path))?;
    f.write_all(out.as_bytes()).map_err(StorageError::io("append to", path))?;
    f.sync_all().map_err(StorageError::io("fsync", path))?;
    f.unlock().map_err(StorageError::io("unlock", path))
}

fn check_header(field: &'static str, v: &str) -> Result<(), MailError> {
    if v.chars().any(|c| c.is_control()) {
        return Err(MailError::Invalid {
            field,
            reason: format!("{v:?} holds a line break or control character, which would forge headers"),
        });
    }
    Ok(())
}

fn check_address(field: &'static str, a: &str) -> Result<(), MailError> {
    check_header(field, a)?;
    let ok = a.split_once('@').is_some_and(|(l, d)| {
        !l.is_empty()
            && !d.is_empty()
            && a.chars().all(|c| c.is_ascii_alphanumeric() || "@.-_+".contains(c))
            && !d.starts_with('.')
            && !a.contains("..")
    });
    if ok {
        Ok(())
    } else {
        Err(MailError::Invalid {
            field,
            reason: format!("{a:?} is not a plain address like dev@foo.apache.org"),
        })
    }
}

/// Renders `mail` as a complete RFC 5322 message with CRLF line ends.
pub fn render(mail: &OutgoingMail, message_id: &str) -> Result<Vec<u8>, MailError> {
    check_address("sender", &mail.from)?;
    check_header("sender name", &mail.from_name)?;
    check_header("subject", &mail.subject)?;
    if mail.to.is_empty() {
        return Err(MailError::Invalid { field: "recipients", reason: "there is no recipient".into() });
    }
    for t in &mail.to {
        check_address("recipient", t)?;
    }
    if let Some(r) = &mail.in_reply_to {
        check_header("In-Reply-To", r)?;
    }
    let mut h = String::new();
    let from = if mail.from_name.is_empty() {
        mail.from.clone()
    } else {
        format!("{} <{}>", display_name(&mail.from_name), mail.from)
    };
    h.push_str(&format!("From: {from}\r\n"));
    h.push_str(&format!("To: {}\r\n", mail.to.join(", ")));
    h.push_str(&format!("Subject: {}\r\n", encode_header_text(&mail.subject)));
    h.push_str(&format!("Date: {}\r\n", rfc5322_date(mail.date)));
    h.push_str(&format!("Message-ID: <{message_id}>\r\n"));
    if let Some(r) = &mail.in_reply_to {
        h.push_str(&format!("In-Reply-To: <{r}>\r\nReferences: <{r}>\r\n"));
    }
    h.push_str("MIME-Version: 1.0\r\n");
    let body = mail.body.replace("\r\n", "\n");
    let plain = body.is_ascii() && body.lines().all(|l| l.len() <= 998);
    let encoded = if plain {
        h.push_str("Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n");
        body.replace('\n', "\r\n")
    } else {
        h.push_str(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n",
        );
        encode_qp(&body)
    };
    h.push_str("\r\n");
    h.push_str(&encoded);
    if !h.ends_with("\r\n") {
        h.push_str("\r\n");
    }
    Ok(h.into_bytes())
}

fn display_name(name: &str) -> String {
    if !name.is_ascii() {
        return encode_word(name);
    }
    if name.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ') {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

fn encode_header_text(s: &str) -> String {
    if s.is_ascii() { s.to_string() } else { encode_word(s) }
}

/// One RFC 2047 B-encoded word per ≤45 bytes of UTF-8 (whole characters), separated by folding.
fn encode_word(s: &str) -> String {
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in s.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
    }
    words.join("\r\n ")
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= c.len() {
                out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Quoted-printable (RFC 2045) with soft breaks at 76 columns and CRLF hard breaks.
fn encode_qp(body: &str) -> String {
    let mut out = String::new();
    for (i, line) in body.split('\n').enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        let bytes = line.as_bytes();
        let mut col = 0;
        for (j, &b) in bytes.iter().enumerate() {
            let last = j + 1 == bytes.len();
            let literal = ((b == b' ' || b == b'\t') && !last) || ((33..=126).contains(&b) && b != b'=');
            let piece = if literal { char::from(b).to_string() } else { format!("={b:02X}") };
            if col + piece.len() > 75 {
                out.push_str("=\r\n");
                col = 0;
            }
            out.push_str(&piece);
            col += piece.len();
        }
    }
    out
}

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// (weekday, year, month name, day, hh:mm:ss) of a timestamp, in UTC.
fn parts(t: Timestamp) -> (&'static str, String, &'static str, String, String) {
    let iso = t.to_string(); // 2026-11-03T10:00:00Z
    let weekday = DAYS[t.unix().div_euclid(86_400).rem_euclid(7) as usize];
    let month: usize = iso[5..7].parse().unwrap_or(1);
    (weekday, iso[0..4].to_string(), MONTHS[month - 1], iso[8..10].to_string(), iso[11..19].to_string())
}

/// `Tue, 03 Nov 2026 10:00:00 +0000`.
pub fn rfc5322_date(t: Timestamp) -> String {
    let (w, y, m, d, hms) = parts(t);
    format!("{w}, {d} {m} {y} {hms} +0000")
}

/// `Tue Nov  3 10:00:00 2026` (the mbox separator's date).
fn asctime(t: Timestamp) -> String {
    let (w, y, m, d, hms) = parts(t);
    let d: u32 = d.parse().unwrap_or(1);
    format!("{w} {m} {d:>2} {hms} {y}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let t = Timestamp::parse_rfc3339("2026-11-03T10:00:00Z").unwrap();
        assert_eq!(rfc5322_date(t), "Tue, 03 Nov 2026 10:00:00 +0000");
        assert_eq!(asctime(t), "Tue Nov  3 10:00:00 2026");
        assert_eq!(rfc5322_date(Timestamp::EPOCH), "Thu, 01 Jan 1970 00:00:00 +0000");
    }

    #[test]
    fn encoders() {
        assert_eq!(base64(b"+1 (binding)"), "KzEgKGJpbmRpbmcp");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(encode_qp("a=b é "), "a=3Db =C3=A9=20");
        let long = "x".repeat(100);
        assert!(encode_qp(&long).lines().all(|l| l.len() <= 76));
    }

    #[test]
    fn header_injection_is_refused() {
        let mail = OutgoingMail {
            from: "alice@apache.org".into(),
            from_name: "Alice".into(),
            to: vec!["dev@foo.apache.org".into()],
            subject: "[VOTE] x\r\nBcc: victim@example.org".into(),
            body: "hi".into(),
            in_reply_to: None,
            date: Timestamp::EPOCH,
        };
        let e = render(&mail, "id@x").unwrap_err();
        assert!(e.to_string().contains("line break"), "{e}");
        let bad_to =
            OutgoingMail { subject: "ok".into(), to: vec!["dev@foo.apache.org>, x@y".into()], ..mail };
        assert!(render(&bad_to, "id@x").is_err());
    }
}
