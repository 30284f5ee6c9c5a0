//! `distribution_status`: asks a package registry about one distribution record (its public JSON
//! API, at the URL the record names) and stores what it said. Found: the upload date (and the
//! registry's web page, where it names one) is filled in and the record is no longer pending. An
//! unreachable registry, a time-out, a 404 or an answer without the version leaves the record
//! pending with the reason, for the page and for a later refresh. Either way the task completes:
//! a registry that does not know the package yet is an expected state, not a failed task.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use atr_core::model::distribution::{DistributionFetch, FetchOutcome, read_metadata};
use atr_core::time::Timestamp;

use super::{Output, TaskContext};
use crate::http::HttpClient;

/// The largest registry answer read (npm's package documents list every version).
const ANSWER_LIMIT: usize = 32 << 20;

/// Asks the registry named by the task and updates the record.
pub fn status(t: &TaskContext<'_>) -> anyhow::Result<Output> {
    let spec = &t.task.task.spec;
    let args: DistributionFetch = serde_json::from_value(spec.task_args.clone())
        .context("the distribution_status task's arguments are not a registry lookup")?;
    let (project, version) = match (&spec.project_key, &spec.version_key) {
        (Some(p), Some(v)) => (p.clone(), v.clone()),
        _ => anyhow::bail!("the distribution_status task names no release"),
    };
    let outcome = ask(&args);
    let now = Timestamp::from_unix(
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default(),
    );
    let applied = t.storage.write(|tx| {
        let Some(mut record) = tx.distribution(
            &project,
            &version,
            args.platform,
            &args.owner_namespace,
            &args.package,
            &args.version,
        )?
        else {
            return Ok::<_, atr_storage::StorageError>("the record was deleted meanwhile");
        };
        if record.api_url != args.api_url {
            return Ok("the record was replaced meanwhile (another registry URL)");
        }
        record.apply_fetch(outcome.clone(), now);
        tx.upsert_distribution(&record)?;
        Ok("stored")
    })?;
    let (pending, reason, upload_date) = match &outcome {
        FetchOutcome::Found(m) => (false, None, Some(m.upload_date.to_string())),
        FetchOutcome::Pending(r) => (true, Some(r.clone()), None),
    };
    tracing::info!(url = %args.api_url, pending, applied, "registry asked");
    Ok(Output {
        results: Vec::new(),
        value: serde_json::json!({
            "kind": "distribution_status",
            "api_url": args.api_url,
            "pending": pending,
            "reason": reason,
            "upload_date": upload_date,
            "applied": applied,
        }),
    })
}

/// What the registry says about the record's version.
fn ask(args: &DistributionFetch) -> FetchOutcome {
    let registry = args.platform.display_name();
    let url = match url::Url::parse(&args.api_url) {
        Ok(u) => u,
        Err(e) => {
            return FetchOutcome::Pending(format!("the registry URL {} is not a URL: {e}", args.api_url));
        }
    };
    let client =
        HttpClient::new(concat!("atr-worker/", env!("CARGO_PKG_VERSION"), " (Apache Trusted Releases)"));
    let timeout = Duration::from_millis(args.timeout_ms.max(1));
    let answer = match client.get_blocking(&url, &[("accept", "application/json")], timeout, ANSWER_LIMIT) {
        Ok(a) => a,
        Err(e) if e.timed_out => {
            return FetchOutcome::Pending(format!(
                "{registry} did not answer in time ({e}); ask again with \"Refresh metadata\""
            ));
        }
        Err(e) => {
            return FetchOutcome::Pending(format!(
                "{registry} could not be reached ({e}); ask again with \"Refresh metadata\""
            ));
        }
    };
    let what = format!("{} {}", args.package, args.version);
    match answer.status {
        200..=299 => {}
        404 => {
            return FetchOutcome::Pending(format!(
                "{registry} has no {what} (HTTP 404 from {url}); it may not be published yet"
            ));
        }
        s => {
            return FetchOutcome::Pending(format!(
                "{registry} answered HTTP {s} for {what} from {url}; ask again later"
            ));
        }
    }
    let json: serde_json::Value = match serde_json::from_slice(&answer.body) {
        Ok(j) => j,
        Err(e) => {
            return FetchOutcome::Pending(format!("{registry} did not answer with JSON from {url}: {e}"));
        }
    };
    match read_metadata(args.platform, &args.package, &args.version, &json) {
        Ok(m) => FetchOutcome::Found(m),
        Err(e) => FetchOutcome::Pending(format!("{registry}: {e}")),
    }
}
