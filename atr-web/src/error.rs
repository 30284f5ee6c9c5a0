//! `WebError`: what a handler returns when it cannot serve the request, rendered as an HTML page
//! with the status that fits (refusals of the core and storage errors map to 401/403/404/409/422).

use atr_core::error::{Refusal, RefusalKind};
use atr_storage::StorageError;
use maud::html;
use salvo::http::StatusCode;
use salvo::{Response, Scribe};

/// An error page: a status and a message written for the person who asked.
#[derive(Debug)]
pub(crate) struct WebError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    /// The exact text the JSON API answers with instead, where the client's contract fixes one
    /// ([`Refusal::api_text`]).
    pub(crate) api_text: Option<&'static str>,
}

impl WebError {
    /// An error of `status` with `message`.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> WebError {
        WebError { status, message: message.into(), api_text: None }
    }

    /// 400: the request is malformed.
    pub(crate) fn bad_request(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404: the thing named does not exist.
    pub(crate) fn not_found(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::NOT_FOUND, message)
    }

    /// 403: the actor may not do this.
    pub(crate) fn forbidden(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::FORBIDDEN, message)
    }

    /// 401: the actor must log in.
    pub(crate) fn unauthenticated() -> WebError {
        WebError::new(StatusCode::UNAUTHORIZED, "You are not logged in. Log in and try again.")
    }

    /// 409: the request conflicts with the current state (it exists already, it changed meanwhile).
    pub(crate) fn conflict(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::CONFLICT, message)
    }

    /// 422: the input is understood but refused.
    pub(crate) fn invalid(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// 500: something failed on our side; the details go to the log, not to the page.
    pub(crate) fn internal(what: &str, error: impl std::fmt::Display) -> WebError {
        tracing::error!("{what}: {error}");
        WebError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("The server could not {what}. The error is logged; try again or ask an administrator."),
        )
    }
}

impl From<Refusal> for WebError {
    fn from(r: Refusal) -> WebError {
        let status = match r.kind {
            RefusalKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            RefusalKind::Forbidden => StatusCode::FORBIDDEN,
            RefusalKind::NotFound => StatusCode::NOT_FOUND,
            RefusalKind::Conflict | RefusalKind::TooEarly => StatusCode::CONFLICT,
            RefusalKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        };
        WebError { api_text: r.api_text, ..WebError::new(status, r.to_string()) }
    }
}

impl From<StorageError> for WebError {
    fn from(e: StorageError) -> WebError {
        match &e {
            StorageError::NotFound { .. } | StorageError::NoSuchFile { .. } => {
                WebError::not_found(e.to_string())
            }
            StorageError::AlreadyExists { .. }
            | StorageError::NewerRevision { .. }
            | StorageError::WrongPhase { .. }
            | StorageError::RevisionsExhausted { .. } => WebError::new(StatusCode::CONFLICT, e.to_string()),
            StorageError::PathConflict { .. } | StorageError::Publication(_) => {
                WebError::invalid(e.to_string())
            }
            _ => WebError::internal("read or write its storage", e),
        }
    }
}

impl From<tokio::task::JoinError> for WebError {
    fn from(e: tokio::task::JoinError) -> WebError {
        WebError::internal("finish a background step", e)
    }
}

impl Scribe for WebError {
    fn render(self, res: &mut Response) {
        res.status_code(self.status);
        let title = self.status.canonical_reason().unwrap_or("Error");
        let page = html! {
            (maud::DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · ATR" }
                    link rel="stylesheet" href=(crate::pages::STYLESHEET_URL);
                }
                body {
                    header {
                        nav aria-label="Main" {
                            a href="/" { "ATR · Trusted Releases" }
                            @if self.status == StatusCode::UNAUTHORIZED { " · " a href="/login" { "Log in" } }
                        }
                    }
                    main {
                        h1 { (title) }
                        p role="alert" class="flash error" { (self.message) }
                        p { a href="/" { "Home" } }
                    }
                }
            }
        };
        crate::pages::Page(page).render(res);
    }
}
