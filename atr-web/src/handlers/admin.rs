//! Admin pages (administrators only).

use atr_core::model::{ReleasePhase, TaskStatus};
use salvo::prelude::*;

use super::Cx;
use crate::error::WebError;
use crate::pages;

fn require_admin(cx: &Cx) -> Result<(), WebError> {
    cx.uid()?;
    if cx.actor.admin {
        Ok(())
    } else {
        Err(WebError::forbidden("Only platform administrators may see this page."))
    }
}

#[handler]
pub(crate) async fn releases(depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    require_admin(&cx)?;
    let all = cx
        .run(|s| {
            Ok(s.read(|tx| {
                let mut all = Vec::new();
                for phase in ReleasePhase::ALL {
                    all.extend(tx.releases_in_phase(*phase)?);
                }
                Ok::<_, atr_storage::StorageError>(all)
            })?)
        })
        .await?;
    cx.render(res, pages::admin::releases(&cx.chrome(), &all));
    Ok(())
}

#[handler]
pub(crate) async fn tasks(depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    require_admin(&cx)?;
    let list = cx
        .run(|s| {
            Ok(s.read(|tx| {
                let mut all = Vec::new();
                for status in TaskStatus::ALL {
                    all.extend(tx.tasks_with_status(*status, 200)?);
                }
                Ok::<_, atr_storage::StorageError>(all)
            })?)
        })
        .await?;
    cx.render(res, pages::admin::tasks(&cx.chrome(), &list));
    Ok(())
}

/// The consistency report: database rows against the state directory (read-only).
#[handler]
pub(crate) async fn consistency(depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    require_admin(&cx)?;
    let at = super::now().unix();
    let report = cx.run(move |s| crate::consistency::report(s, at, 500)).await?;
    cx.render(res, pages::admin::consistency(&cx.chrome(), &report));
    Ok(())
}
