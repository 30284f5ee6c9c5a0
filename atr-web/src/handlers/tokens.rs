//! Handlers of personal access tokens.

use salvo::prelude::*;
use serde::Deserialize;

use super::{Cx, form, now};
use crate::error::WebError;
use crate::{ops, pages};

async fn render(cx: &Cx, res: &mut Response, new_token: Option<&str>) -> Result<(), WebError> {
    let uid = cx.uid()?;
    let mine = cx.run(move |s| Ok(s.read(|tx| tx.tokens_of(&uid))?)).await?;
    cx.render(res, pages::tokens::tokens(&cx.chrome(), &mine, new_token));
    Ok(())
}

#[handler]
pub(crate) async fn list(depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    render(&Cx::of(depot), res, None).await
}

#[derive(Debug, Deserialize)]
struct CreateForm {
    label: String,
    days: u32,
}

/// Creates a token and shows it once, on this response (never in a cookie or a URL).
#[handler]
pub(crate) async fn create(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    cx.uid()?;
    let f: CreateForm = form(req, "label and days").await?;
    let (actor, at) = (cx.actor.clone(), now());
    let token = cx.run(move |s| ops::create_token(s, &actor, &f.label, f.days, at)).await?;
    render(&cx, res, Some(&token)).await
}

#[derive(Debug, Deserialize)]
struct DeleteForm {
    id: i64,
}

#[handler]
pub(crate) async fn delete(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    cx.uid()?;
    let f: DeleteForm = form(req, "id").await?;
    let (actor, at) = (cx.actor.clone(), now());
    cx.run(move |s| ops::delete_token(s, &actor, f.id, at)).await?;
    cx.redirect(res, "/tokens", true, "The token is deleted; programs using it can no longer log in.");
    Ok(())
}
