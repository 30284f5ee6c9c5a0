//! Typed HTML pages: plain functions returning `Markup`, one module per area.

pub(crate) mod admin;
pub(crate) mod browse;
pub(crate) mod compose;
pub(crate) mod distributions;
pub(crate) mod downloads;
pub(crate) mod files;
pub(crate) mod ignores;
pub(crate) mod keys;
pub(crate) mod svn;
pub(crate) mod tokens;
pub(crate) mod vote;

use atr_core::permissions::Actor;
use maud::{DOCTYPE, Markup, html};
use salvo::http::header::{CONTENT_TYPE, HeaderValue};
use salvo::{Response, Scribe};

use crate::session::{CSRF_FIELD, Flash, Session};

/// A rendered HTML page, written to the response with the right content type.
#[derive(Debug)]
pub(crate) struct Page(pub(crate) Markup);

impl Scribe for Page {
    fn render(self, res: &mut Response) {
        res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        let _ = res.write_body(self.0.into_string());
    }
}

/// What every page needs to know about the request: who is looking, and the form token.
#[derive(Debug)]
pub(crate) struct Chrome<'a> {
    pub(crate) actor: &'a Actor,
    csrf: &'a str,
    flash: Option<&'a Flash>,
}

impl<'a> Chrome<'a> {
    pub(crate) fn new(actor: &'a Actor, session: &'a Session) -> Chrome<'a> {
        Chrome { actor, csrf: &session.csrf, flash: None }
    }

    /// Adds the message to show once on this page.
    pub(crate) fn with_flash(mut self, flash: Option<&'a Flash>) -> Chrome<'a> {
        self.flash = flash;
        self
    }

    /// The CSRF token (for forms that carry it in their action URL, such as uploads).
    pub(crate) fn csrf(&self) -> &str {
        self.csrf
    }

    /// A form posting to `action` with only a submit button (delete buttons and the like).
    pub(crate) fn button_form(&self, action: &str, label: &str, hidden: &[(&str, &str)]) -> Markup {
        html! {
            form method="post" action=(action) class="inline" {
                (self.csrf_field())
                @for (name, value) in hidden { input type="hidden" name=(name) value=(value); }
                button type="submit" { (label) }
            }
        }
    }

    /// The hidden CSRF field every form carries.
    pub(crate) fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name=(CSRF_FIELD) value=(self.csrf); }
    }
}

/// The common layout of every page.
pub(crate) fn layout(chrome: &Chrome<'_>, title: &str, body: Markup) -> Markup {
    layout_with_head(chrome, title, html! {}, body)
}

/// A page that refreshes itself every few seconds while `refresh` (no JavaScript needed).
pub(crate) fn refreshing(chrome: &Chrome<'_>, title: &str, refresh: bool, body: Markup) -> Markup {
    let head = html! { @if refresh { meta http-equiv="refresh" content="5"; } };
    layout_with_head(chrome, title, head, body)
}

/// The common layout with extra elements in `head`.
fn layout_with_head(chrome: &Chrome<'_>, title: &str, head: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · ATR" }
                link rel="stylesheet" href=(STYLESHEET_URL);
                (head)
            }
            body {
                header {
                    nav aria-label="Main" {
                        a href="/" { "ATR · Trusted Releases" }
                        " · " a href="/committees" { "Committees" }
                        " · " a href="/projects" { "Projects" }
                        @if chrome.actor.uid.is_some() {
                            " · " a href="/keys" { "Keys" }
                            " · " a href="/tokens" { "Tokens" }
                        }
                        @if chrome.actor.admin {
                            " · " a href="/admin/releases" { "Admin" }
                        }
                        " · "
                        @match &chrome.actor.uid {
                            Some(uid) => {
                                span { "Signed in as " strong { (uid) } }
                                form method="post" action="/logout" class="inline" {
                                    (chrome.csrf_field())
                                    button type="submit" { "Log out" }
                                }
                            }
                            None => a href="/login" { "Log in" },
                        }
                    }
                }
                main {
                    @if let Some(flash) = chrome.flash {
                        p role=(if flash.ok { "status" } else { "alert" }) class=(if flash.ok { "flash ok" } else { "flash error" }) {
                            (flash.message)
                        }
                    }
                    (body)
                }
            }
        }
    }
}

/// The login page, with an error message after a failed attempt.
pub(crate) fn login(chrome: &Chrome<'_>, error: Option<&str>, single_sign_on: Option<&str>) -> Markup {
    layout(
        chrome,
        "Log in",
        html! {
            h1 { "Log in" }
            @if let Some(error) = error {
                p role="alert" { (error) }
            }
            form method="post" action="/login" {
                (chrome.csrf_field())
                p { label for="uid" { "User id" } br; input id="uid" name="uid" autocomplete="username" required; }
                p {
                    label for="password" { "Password" } br;
                    input id="password" name="password" type="password" autocomplete="current-password" required;
                }
                p { button type="submit" { "Log in" } }
            }
            @if let Some(label) = single_sign_on {
                p { a href="/auth/oidc/login" { (label) } }
            }
        },
    )
}

/// Where the stylesheet is served; pages link it, so no style is inline (the Content-Security-Policy
/// allows styles from this origin only).
pub(crate) const STYLESHEET_URL: &str = "/static/atr.css";

/// A little CSS: readable tables and visible status colours, no JavaScript anywhere.
pub(crate) const STYLE: &str = ".inline{display:inline}body{font-family:sans-serif;max-width:72rem;margin:auto;padding:0 1rem}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}\
.flash{padding:.5rem;border:1px solid}.ok{background:#e6ffe6}.error{background:#ffe6e6}\
.blocker,.exception{color:#a00;font-weight:bold}.concern{color:#a60}.suggestion{color:#046}\
pre{background:#f6f6f6;padding:.5rem;overflow:auto}";

/// The URL of a release's main page for its phase.
pub(crate) fn release_url(r: &atr_core::model::Release) -> String {
    format!("/compose/{}/{}", r.project_key, r.version_key)
}

/// A timestamp as UTC date and time.
pub(crate) fn time(t: atr_core::time::Timestamp) -> String {
    t.to_string()
}
