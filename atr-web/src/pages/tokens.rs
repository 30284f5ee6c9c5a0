//! Personal access tokens: list, create (shown once), delete.

use atr_core::model::PersonalAccessToken;
use maud::{Markup, html};

use super::{Chrome, layout, time};
use crate::ops::MAX_TOKEN_DAYS;

/// The tokens page; `new_token` is shown once, right after it was made.
pub(crate) fn tokens(chrome: &Chrome<'_>, tokens: &[PersonalAccessToken], new_token: Option<&str>) -> Markup {
    layout(
        chrome,
        "Tokens",
        html! {
            h1 { "Personal access tokens" }
            @if let Some(t) = new_token {
                section role="status" class="flash ok" {
                    p { "Your new token. Copy it now: it is shown only once and cannot be recovered." }
                    pre { code id="new-token" { (t) } }
                }
            }
            @if tokens.is_empty() { p { "No tokens." } }
            table {
                thead { tr { th { "Label" } th { "Created" } th { "Expires" } th { "Last used" } th { "" } } }
                tbody {
                    @for t in tokens {
                        tr {
                            td { (t.label) } td { (time(t.created)) } td { (time(t.expires)) }
                            td { (t.last_used.map(time).unwrap_or_else(|| "never".to_owned())) }
                            td { (chrome.button_form("/tokens/delete", "Delete", &[("id", &t.id.unwrap_or_default().to_string())])) }
                        }
                    }
                }
            }
            h2 { "Create a token" }
            form method="post" action="/tokens" {
                (chrome.csrf_field())
                label { "Label " input name="label" required placeholder="release laptop"; } " "
                label { "Days (1 to " (MAX_TOKEN_DAYS) ") " input name="days" type="number" value="180" min="1" max=(MAX_TOKEN_DAYS); } " "
                button type="submit" { "Create" }
            }
        },
    )
}
