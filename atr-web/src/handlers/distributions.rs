//! Handlers of the distribution records of a release: list, record, refresh the registry
//! metadata, delete (rules in `atr-core`, operations in `ops`).

use atr_core::model::DistributionPlatform;
use atr_core::model::distribution::DistributionInput;
use atr_core::permissions::{Action, authorise};
use salvo::prelude::*;
use serde::Deserialize;

use super::{Cx, form, now, release_params};
use crate::config::RegistryConfig;
use crate::error::WebError;
use crate::{ops, pages};

/// A hoop that makes the configured registries available to the distribution handlers and the
/// API. The server always installs it (`main.rs`); without it (in-process tests that do not set
/// one) registries are not asked, so no test reaches for the network by accident.
#[derive(Debug, Clone)]
pub(crate) struct InjectRegistries(pub(crate) RegistryConfig);

#[async_trait]
impl Handler for InjectRegistries {
    async fn handle(&self, _req: &mut Request, depot: &mut Depot, _res: &mut Response, _ctrl: &mut FlowCtrl) {
        depot.insert_typed(self.0.clone());
    }
}

/// The registry configuration of this request (lookups off when no hoop set it).
pub(crate) fn registries(depot: &Depot) -> RegistryConfig {
    depot
        .get_typed::<RegistryConfig>()
        .cloned()
        .unwrap_or_else(|_| RegistryConfig { fetch: false, ..RegistryConfig::default() })
}

#[handler]
pub(crate) async fn page(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let (pp, vv) = (p.clone(), v.clone());
    let (project, release, records) = cx
        .run(move |s| {
            let project = s
                .read(|tx| tx.project(&pp))?
                .ok_or_else(|| WebError::not_found(format!("There is no project `{pp}`.")))?;
            let release = s
                .read(|tx| tx.release(&pp, &vv))?
                .ok_or_else(|| WebError::not_found(format!("There is no release {pp} {vv}.")))?;
            Ok((project, release, ops::list_distributions(s, &pp, &vv)?))
        })
        .await?;
    let can_edit = authorise(&cx.actor, Action::RecordDistribution, &project.committee_key).is_ok();
    cx.render(res, pages::distributions::page(&cx.chrome(), &p, &v, release.phase, &records, can_edit));
    Ok(())
}

fn platform(raw: &str) -> Result<DistributionPlatform, WebError> {
    raw.trim().parse().map_err(|_| {
        let names: Vec<&str> = DistributionPlatform::ALL.iter().map(|p| p.as_str()).collect();
        WebError::invalid(format!(
            "`{}` is not a platform; use one of {}.",
            raw.escape_debug(),
            names.join(", ")
        ))
    })
}

#[derive(Debug, Deserialize)]
struct RecordForm {
    platform: String,
    #[serde(default)]
    owner_namespace: String,
    package: String,
    version: String,
    #[serde(default)]
    staging: Option<String>,
}

#[handler]
pub(crate) async fn record(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let f: RecordForm = form(req, "platform, package and version").await?;
    let input = DistributionInput {
        platform: platform(&f.platform)?,
        owner_namespace: Some(f.owner_namespace),
        package: f.package,
        version: f.version,
        staging: f.staging.is_some_and(|s| !s.is_empty() && s != "0"),
    };
    let (actor, at, (pp, vv)) = (cx.actor.clone(), now(), (p.clone(), v.clone()));
    let config = registries(depot);
    let fetch = config.fetch;
    let (d, added) =
        cx.run(move |s| ops::record_distribution(s, &actor, &pp, &vv, input, &config, at)).await?;
    let what = format!("{} {}@{}", d.platform.display_name(), d.package, d.version);
    let message = match (added, fetch) {
        (true, true) => format!("Recorded {what}; pending until the registry has been asked about it."),
        (true, false) => format!("Recorded {what} (pending: this server does not ask registries)."),
        (false, _) => format!("{what} is already recorded."),
    };
    cx.redirect(res, &format!("/distributions/{p}/{v}"), added, message);
    Ok(())
}

/// Asks the registry about one record again (the button beside each record).
#[handler]
pub(crate) async fn refresh(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let key = record_key(req).await?;
    let (actor, at, (pp, vv)) = (cx.actor.clone(), now(), (p.clone(), v.clone()));
    let config = registries(depot);
    let message = format!(
        "Asking {} about {}@{} again; the status below changes when it has answered.",
        key.platform.display_name(),
        key.package,
        key.version
    );
    cx.run(move |s| ops::refresh_distribution(s, &actor, &pp, &vv, &key, &config, at)).await?;
    cx.redirect(res, &format!("/distributions/{p}/{v}"), true, message);
    Ok(())
}

/// The record a refresh or delete button names.
async fn record_key(req: &mut Request) -> Result<ops::DistributionKey, WebError> {
    let f: RecordKeyForm = form(req, "platform, owner_namespace, package and version").await?;
    Ok(ops::DistributionKey {
        platform: platform(&f.platform)?,
        owner_namespace: f.owner_namespace,
        package: f.package,
        version: f.version,
    })
}

#[derive(Debug, Deserialize)]
struct RecordKeyForm {
    platform: String,
    #[serde(default)]
    owner_namespace: String,
    package: String,
    version: String,
}

#[handler]
pub(crate) async fn delete(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let key = record_key(req).await?;
    let (actor, at, (pp, vv)) = (cx.actor.clone(), now(), (p.clone(), v.clone()));
    let message =
        format!("Deleted the {} record of {}@{}.", key.platform.display_name(), key.package, key.version);
    cx.run(move |s| ops::delete_distribution(s, &actor, &pp, &vv, &key, at)).await?;
    cx.redirect(res, &format!("/distributions/{p}/{v}"), true, message);
    Ok(())
}
