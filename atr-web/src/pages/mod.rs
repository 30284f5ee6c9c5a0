//! Typed HTML pages: plain functions returning `Markup`.

use atr_core::permissions::Actor;
use maud::{DOCTYPE, Markup, html};
use salvo::http::header::{CONTENT_TYPE, HeaderValue};
use salvo::{Response, Scribe};

use crate::session::{CSRF_FIELD, Session};

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
    actor: &'a Actor,
    csrf: &'a str,
}

impl<'a> Chrome<'a> {
    pub(crate) fn new(actor: &'a Actor, session: &'a Session) -> Chrome<'a> {
        Chrome { actor, csrf: &session.csrf }
    }

    /// The hidden CSRF field every form carries.
    pub(crate) fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name=(CSRF_FIELD) value=(self.csrf); }
    }
}

/// The common layout of every page.
pub(crate) fn layout(chrome: &Chrome<'_>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · ATR" }
            }
            body {
                header {
                    nav aria-label="Main" {
                        a href="/" { "ATR · Trusted Releases" }
                        " "
                        @match &chrome.actor.uid {
                            Some(uid) => {
                                span { "Signed in as " strong { (uid) } }
                                form method="post" action="/logout" style="display:inline" {
                                    (chrome.csrf_field())
                                    button type="submit" { "Log out" }
                                }
                            }
                            None => a href="/login" { "Log in" },
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The home page.
pub(crate) fn home(chrome: &Chrome<'_>, state_dir: &str) -> Markup {
    layout(
        chrome,
        "Home",
        html! {
            h1 { "Trusted Releases" }
            p { "The server is running. The release pages arrive with the web issue." }
            p { "State directory: " code { (state_dir) } }
        },
    )
}

/// The login page, with an error message after a failed attempt.
pub(crate) fn login(chrome: &Chrome<'_>, error: Option<&str>) -> Markup {
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
        },
    )
}
