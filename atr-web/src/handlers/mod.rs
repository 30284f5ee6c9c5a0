//! Request handlers: each parses its input, calls one operation of [`crate::ops`] or query of
//! [`crate::views`], and renders one page of [`crate::pages`]. Business rules live in `atr-core`.

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

use std::sync::Arc;

use atr_core::ids::{CommitteeKey, ProjectKey, Uid, VersionKey};
use atr_core::path::RelPath;
use atr_core::permissions::Actor;
use atr_core::time::Timestamp;
use atr_storage::Storage;
use salvo::prelude::*;

use crate::error::WebError;
use crate::pages::{Chrome, Page};
use crate::routes::App;
use crate::session::{self, Flash, Session};

/// The flash message that arrived with this request (set by the session hoop).
#[derive(Debug, Clone)]
pub(crate) struct IncomingFlash(pub(crate) Option<Flash>);

/// Everything a handler needs about the request: the app, who is asking, the session and flash.
#[derive(Debug)]
pub(crate) struct Cx {
    pub(crate) app: App,
    pub(crate) actor: Actor,
    pub(crate) session: Session,
    pub(crate) flash: Option<Flash>,
}

impl Cx {
    /// The context of this request.
    pub(crate) fn of(depot: &Depot) -> Cx {
        let app = depot.get_typed::<App>().expect("the InjectApp hoop runs first").clone();
        let session = depot.get_typed::<Session>().expect("the session hoop runs first").clone();
        let flash = depot.get_typed::<IncomingFlash>().ok().and_then(|f| f.0.clone());
        let actor = session.actor(&app.accounts.current(), &app.storage);
        Cx { app, actor, session, flash }
    }

    /// What the layout needs.
    pub(crate) fn chrome(&self) -> Chrome<'_> {
        Chrome::new(&self.actor, &self.session).with_flash(self.flash.as_ref())
    }

    /// Renders a page.
    pub(crate) fn render(&self, res: &mut Response, page: maud::Markup) {
        res.render(Page(page));
    }

    /// The logged-in uid, or 401.
    pub(crate) fn uid(&self) -> Result<Uid, WebError> {
        self.actor.uid.clone().ok_or_else(WebError::unauthenticated)
    }

    /// Runs storage work on the blocking pool.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Storage) -> Result<T, WebError> + Send + 'static,
    ) -> Result<T, WebError> {
        let storage = Arc::clone(&self.app.storage);
        tokio::task::spawn_blocking(move || f(&storage)).await?
    }

    /// Redirects (303) to `to`, with a message shown once there.
    pub(crate) fn redirect(&self, res: &mut Response, to: &str, ok: bool, message: impl Into<String>) {
        let flash = Flash { ok, message: message.into() };
        session::write_flash(res, &self.app.session_key, &flash, self.app.secure_cookies);
        res.render(Redirect::other(to));
    }
}

/// The current time as the core's timestamp.
pub(crate) fn now() -> Timestamp {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Timestamp::from_unix(i64::try_from(since.as_secs()).unwrap_or(i64::MAX))
}

/// A path parameter parsed into a validated identifier.
fn param<T: std::str::FromStr>(req: &Request, name: &str) -> Result<T, WebError>
where
    T::Err: std::fmt::Display,
{
    let raw = req.param::<String>(name).unwrap_or_default();
    raw.parse::<T>().map_err(|e| WebError::not_found(format!("No such {name} `{}`: {e}", raw.escape_debug())))
}

/// The `{project}` and `{version}` path parameters.
pub(crate) fn release_params(req: &Request) -> Result<(ProjectKey, VersionKey), WebError> {
    Ok((param(req, "project")?, param(req, "version")?))
}

/// The `{project}` path parameter.
pub(crate) fn project_param(req: &Request) -> Result<ProjectKey, WebError> {
    param(req, "project")
}

/// The `{committee}` path parameter.
pub(crate) fn committee_param(req: &Request) -> Result<CommitteeKey, WebError> {
    param(req, "committee")
}

/// The `{**path}` path parameter, as a validated relative path.
pub(crate) fn path_param(req: &Request) -> Result<RelPath, WebError> {
    let raw = req.param::<String>("path").unwrap_or_default();
    RelPath::new(raw.as_str())
        .map_err(|e| WebError::not_found(format!("No such file `{}`: {e}", raw.escape_debug())))
}

/// A form field parsed as a relative path (422 when it is not one).
pub(crate) fn rel_path_field(raw: &str) -> Result<RelPath, WebError> {
    RelPath::new(raw)
        .map_err(|e| WebError::invalid(format!("`{}` is not a valid file path: {e}", raw.escape_debug())))
}

/// Parses a urlencoded form into `T`, refusing with 400 and the fields expected.
pub(crate) async fn form<T: serde::de::DeserializeOwned>(
    req: &mut Request,
    fields: &str,
) -> Result<T, WebError> {
    req.parse_form::<T>()
        .await
        .map_err(|e| WebError::bad_request(format!("The form is incomplete ({e}); it needs {fields}.")))
}
