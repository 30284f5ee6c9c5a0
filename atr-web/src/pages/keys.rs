//! Key pages: the user's OpenPGP and SSH keys with the add/upload forms, and key details.

use atr_core::ids::CommitteeKey;
use atr_core::model::{PublicSigningKey, SshKey};
use atr_core::time::Timestamp;
use maud::{Markup, html};

use super::{Chrome, layout, time};
use crate::keyinfo::algorithm_name;

fn expiry(k: &PublicSigningKey, now: Timestamp) -> Markup {
    html! {
        @match k.expires {
            None => "never",
            Some(e) if e <= now => strong class="blocker" { "expired " (time(e)) },
            Some(e) if e <= now.plus_hours(24 * 90) => strong class="concern" { "expires soon: " (time(e)) },
            Some(e) => (time(e)),
        }
    }
}

fn committee_select(committees: &[CommitteeKey], required: bool) -> Markup {
    html! {
        select name="committee" required[required] {
            @if !required { option value="" { "(none)" } }
            @for c in committees { option value=(c) { (c) } }
        }
    }
}

/// The keys page of the logged-in user.
pub(crate) fn overview(
    chrome: &Chrome<'_>,
    keys: &[(PublicSigningKey, Vec<CommitteeKey>)],
    ssh: &[SshKey],
    committees: &[CommitteeKey],
    now: Timestamp,
) -> Markup {
    layout(
        chrome,
        "Keys",
        html! {
            h1 { "Your keys" }
            h2 { "OpenPGP keys" }
            @if keys.is_empty() { p { "No OpenPGP key is bound to you yet (a key is yours when one of its user IDs is your @apache.org address)." } }
            table {
                thead { tr { th { "Fingerprint" } th { "Algorithm" } th { "Created" } th { "Expires" } th { "Committees" } th { "" } } }
                tbody {
                    @for (k, cs) in keys {
                        tr {
                            td { a href={ "/keys/details/" (k.fingerprint) } { code { (k.fingerprint.to_uppercase()) } } }
                            td { (algorithm_name(k.algorithm)) " " (k.length) }
                            td { (time(k.created)) }
                            td { (expiry(k, now)) }
                            td { (cs.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")) }
                            td { (chrome.button_form("/keys/delete", "Delete", &[("fingerprint", k.fingerprint.as_str())])) }
                        }
                    }
                }
            }
            h3 { "Add an OpenPGP key" }
            form method="post" action="/keys/add" {
                (chrome.csrf_field())
                p { label { "ASCII-armored public key" br; textarea name="key" rows="6" cols="70" required {} } }
                p { label { "Committee " (committee_select(committees, false)) } }
                p { button type="submit" { "Add the key" } }
            }
            h3 { "Upload a KEYS file" }
            form method="post" action={ "/keys/upload?csrf_token=" (chrome.csrf()) } enctype="multipart/form-data" {
                p { label { "KEYS file " input type="file" name="keys_file" required; } }
                p { label { "Committee " (committee_select(committees, true)) } }
                p { button type="submit" { "Upload" } }
            }
            h2 { "SSH keys (for rsync uploads)" }
            p {
                "With a key added here, upload a directory into a draft (the draft is started if needed) with "
                code { "rsync -av -e 'ssh -p 2222' your-dir/ " (chrome.actor.uid.as_ref().map_or("UID", |u| u.as_str())) "@HOST:/PROJECT/VERSION/" }
                "; add " code { "--delete" } " to remove files you no longer have, and swap the two to download the latest revision."
            }
            ul {
                @for k in ssh {
                    li { code { (k.fingerprint) } " " (chrome.button_form("/keys/ssh/delete", "Delete", &[("fingerprint", &k.fingerprint)])) }
                }
            }
            form method="post" action="/keys/ssh/add" {
                (chrome.csrf_field())
                p { label { "Public key line " input name="key" size="70" required placeholder="ssh-ed25519 AAAA… you@host"; } }
                p { button type="submit" { "Add the SSH key" } }
            }
            h2 { "Committee KEYS files" }
            ul { @for c in committees { li { a href={ "/keys/export/" (c) } { (c) " KEYS" } } } }
        },
    )
}

/// The details of one key.
pub(crate) fn details(
    chrome: &Chrome<'_>,
    k: &PublicSigningKey,
    committees: &[CommitteeKey],
    now: Timestamp,
) -> Markup {
    layout(
        chrome,
        "Key details",
        html! {
            h1 { "Key " code { (k.fingerprint.to_uppercase()) } }
            table {
                tr { th { "Algorithm" } td { (algorithm_name(k.algorithm)) " " (k.length) } }
                tr { th { "Created" } td { (time(k.created)) } }
                tr { th { "Expires" } td { (expiry(k, now)) } }
                tr { th { "User IDs" } td { @for u in k.primary_declared_uid.iter().chain(&k.secondary_declared_uids) { (u) br; } } }
                tr { th { "ASF uid" } td { (k.apache_uid.as_ref().map_or("(none: no @apache.org user ID)", |u| u.as_str())) } }
                tr { th { "Committees" } td { (committees.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")) } }
            }
            pre { (k.ascii_armored_key) }
        },
    )
}
