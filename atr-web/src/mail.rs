//! How mail leaves the platform: the site origin used in links and the optional SMTP relay, read
//! from the environment at start and handed to storage ([`atr_storage::Storage::configure_mail`]).
//!
//! | variable | default | meaning |
//! |----------|---------|---------|
//! | `ATR_SITE_ORIGIN` | `https://release-test.apache.org` | public origin of links in mails |
//! | `ATR_SMTP_HOST` | none | SMTP relay; unset: mail stays in `state/mail/outbox` and the list archives |
//! | `ATR_SMTP_PORT` | 587 | relay port (submission; STARTTLS is required) |
//! | `ATR_SMTP_CA_FILE` | web PKI roots | PEM of an extra CA for a private relay's certificate |
//! | `ATR_SMTP_HELLO` | `atr.apache.org` | the name given in `EHLO` |

use anyhow::Context as _;
use atr_storage::outbox::{DEFAULT_SITE_ORIGIN, MailSettings, SmtpRelay};

/// The mail settings from the environment (see the module table).
pub(crate) fn settings_from_environment() -> anyhow::Result<MailSettings> {
    settings_from(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
}

fn settings_from(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<MailSettings> {
    let site_origin = var("ATR_SITE_ORIGIN").unwrap_or_else(|| DEFAULT_SITE_ORIGIN.to_owned());
    let origin = site_origin.trim_end_matches('/').to_owned();
    let valid = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .is_some_and(|host| !host.is_empty() && !host.contains(['/', '?', '#', ' ']));
    anyhow::ensure!(
        valid,
        "ATR_SITE_ORIGIN={site_origin:?} is not an origin such as https://releases.example.org (scheme and host, no path)"
    );
    let relay = match var("ATR_SMTP_HOST") {
        None => None,
        Some(host) => {
            let port = match var("ATR_SMTP_PORT") {
                None => 587,
                Some(p) => p
                    .parse()
                    .with_context(|| format!("ATR_SMTP_PORT={p:?} is not a port number such as 587"))?,
            };
            let mut relay = SmtpRelay::new(host.trim(), port);
            if let Some(ca) = var("ATR_SMTP_CA_FILE") {
                let path = std::path::PathBuf::from(ca);
                anyhow::ensure!(path.is_file(), "ATR_SMTP_CA_FILE={} is not a readable file", path.display());
                relay.ca_file = Some(path);
            }
            if let Some(hello) = var("ATR_SMTP_HELLO") {
                relay.hello_name = hello;
            }
            Some(relay)
        }
    };
    Ok(MailSettings { site_origin: origin, relay })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> anyhow::Result<MailSettings> {
        settings_from(|n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn defaults_keep_mail_local() {
        let s = from(&[]).unwrap();
        assert_eq!(s, MailSettings::default());
        assert!(s.relay.is_none());
    }

    #[test]
    fn a_relay_and_an_origin_are_read_and_bad_values_named() {
        let s = from(&[
            ("ATR_SITE_ORIGIN", "https://releases.example.org/"),
            ("ATR_SMTP_HOST", "mail.example.org"),
        ])
        .unwrap();
        assert_eq!(s.site_origin, "https://releases.example.org");
        assert_eq!(s.relay, Some(SmtpRelay::new("mail.example.org", 587)));
        let e = from(&[("ATR_SMTP_HOST", "m"), ("ATR_SMTP_PORT", "smtp")]).unwrap_err();
        assert!(e.to_string().contains("ATR_SMTP_PORT"), "{e}");
        let e = from(&[("ATR_SITE_ORIGIN", "releases.example.org/x")]).unwrap_err();
        assert!(e.to_string().contains("ATR_SITE_ORIGIN"), "{e}");
    }
}
