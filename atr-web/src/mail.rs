//! How mail leaves the platform: the site origin used in links and the optional SMTP relay, from
//! the configuration (`[mail]` in the file, overridden by the environment variables; see
//! `config.rs`) checked at start and handed to storage ([`atr_storage::Storage::configure_mail`]).
//!
//! | key | variable | default | meaning |
//! |-----|----------|---------|---------|
//! | `mail.site_origin` | `ATR_SITE_ORIGIN` | `https://release-test.apache.org` | public origin of links in mails |
//! | `mail.smtp_host` | `ATR_SMTP_HOST` | none | SMTP relay; unset: mail stays in `state/mail/outbox` and the list archives |
//! | `mail.smtp_port` | `ATR_SMTP_PORT` | 587 | relay port (submission; STARTTLS is required) |
//! | `mail.smtp_ca_file` | `ATR_SMTP_CA_FILE` | web PKI roots | PEM of an extra CA for a private relay's certificate |
//! | `mail.smtp_hello` | `ATR_SMTP_HELLO` | `atr.apache.org` | the name given in `EHLO` |

use atr_storage::outbox::{DEFAULT_SITE_ORIGIN, MailSettings, SmtpRelay};

use crate::config::MailConfig;

/// The mail settings of the configuration (see the module table), checked.
pub(crate) fn settings(config: &MailConfig) -> anyhow::Result<MailSettings> {
    let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let site_origin = given(&config.site_origin).unwrap_or_else(|| DEFAULT_SITE_ORIGIN.to_owned());
    let origin = site_origin.trim_end_matches('/').to_owned();
    let valid = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .is_some_and(|host| !host.is_empty() && !host.contains(['/', '?', '#', ' ']));
    anyhow::ensure!(
        valid,
        "mail.site_origin / ATR_SITE_ORIGIN={site_origin:?} is not an origin such as https://releases.example.org (scheme and host, no path)"
    );
    let relay = match given(&config.smtp_host) {
        None => None,
        Some(host) => {
            let mut relay = SmtpRelay::new(&host, config.smtp_port.unwrap_or(587));
            if let Some(path) = &config.smtp_ca_file {
                anyhow::ensure!(
                    path.is_file(),
                    "mail.smtp_ca_file / ATR_SMTP_CA_FILE={} is not a readable file",
                    path.display()
                );
                relay.ca_file = Some(path.clone());
            }
            if let Some(hello) = given(&config.smtp_hello) {
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
        let get = |n: &str| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| (*v).to_owned());
        settings(&MailConfig {
            site_origin: get("ATR_SITE_ORIGIN"),
            smtp_host: get("ATR_SMTP_HOST"),
            smtp_port: get("ATR_SMTP_PORT").map(|p| p.parse().unwrap()),
            smtp_ca_file: get("ATR_SMTP_CA_FILE").map(Into::into),
            smtp_hello: get("ATR_SMTP_HELLO"),
        })
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
        let s =
            from(&[("ATR_SMTP_HOST", "m"), ("ATR_SMTP_PORT", "2525"), ("ATR_SMTP_HELLO", "atr.example.org")])
                .unwrap();
        let relay = s.relay.unwrap();
        assert_eq!((relay.port, relay.hello_name.as_str()), (2525, "atr.example.org"));
        let e = from(&[("ATR_SMTP_HOST", "m"), ("ATR_SMTP_CA_FILE", "/nonexistent/ca.pem")]).unwrap_err();
        assert!(e.to_string().contains("ATR_SMTP_CA_FILE=/nonexistent/ca.pem is not a readable file"), "{e}");
        let e = from(&[("ATR_SITE_ORIGIN", "releases.example.org/x")]).unwrap_err();
        assert!(e.to_string().contains("ATR_SITE_ORIGIN"), "{e}");
    }
}
