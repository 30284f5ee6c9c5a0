//! Per-endpoint rate limits on the API's expensive calls: a token bucket per (endpoint, uid or
//! address), kept in memory. A refused call answers 429 in the API's error shape with a
//! `Retry-After` header.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use salvo::prelude::*;

use super::{ApiActor, ApiError, ApiState, app};

/// An expensive endpoint with its own limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Expensive {
    /// `POST /release/upload` (decodes and stores a file, may queue a quarantine).
    Upload,
    /// `POST /key/add` and `POST /keys/upload` (parse OpenPGP keys).
    KeyUpload,
    /// `POST /vote/start` (reads every check result, sends mail).
    VoteStart,
    /// `POST /sbom/generate` (queues a task that reads an archive).
    SbomGenerate,
    /// `POST /svn/import` (queues a task that fetches from SVN).
    SvnImport,
    /// `GET /checks/list` (may encode tens of thousands of results).
    ChecksList,
    /// `POST /vote/cast` (hashes the voted artifacts, sends a receipt): 60 an hour, as ATR.
    VoteCast,
}

impl Expensive {
    /// The endpoint's name in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Expensive::Upload => "/release/upload",
            Expensive::KeyUpload => "key uploads",
            Expensive::VoteStart => "/vote/start",
            Expensive::SbomGenerate => "/sbom/generate",
            Expensive::SvnImport => "/svn/import",
            Expensive::ChecksList => "/checks/list",
            Expensive::VoteCast => "/vote/cast",
        }
    }

    /// The bucket: how many calls may come at once, and how often one more is allowed.
    pub(crate) fn rule(self) -> (u32, Duration) {
        match self {
            Expensive::Upload => (120, Duration::from_millis(500)),
            Expensive::KeyUpload => (20, Duration::from_secs(30)),
            Expensive::VoteStart => (10, Duration::from_secs(60)),
            Expensive::SbomGenerate => (30, Duration::from_secs(10)),
            Expensive::SvnImport => (10, Duration::from_secs(60)),
            Expensive::ChecksList => (200, Duration::from_millis(100)),
            Expensive::VoteCast => (60, Duration::from_secs(60)),
        }
    }
}

/// Beyond this many buckets, full ones (callers idle long enough) are forgotten.
const MAX_BUCKETS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The token buckets of one server.
#[derive(Debug, Default)]
pub(crate) struct Buckets(Mutex<HashMap<(Expensive, String), Bucket>>);

impl Buckets {
    /// Takes one token from the bucket of (`what`, `who`) at `now`, or refuses with 429 and the
    /// seconds until a token is back.
    pub(crate) fn take(&self, what: Expensive, who: &str, now: Instant) -> Result<(), ApiError> {
        let (capacity, every) = what.rule();
        let capacity = f64::from(capacity);
        let mut buckets = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            buckets.retain(|(w, _), b| {
                let (cap, every) = w.rule();
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() / every.as_secs_f64()
                    < f64::from(cap)
            });
        }
        let bucket = buckets.entry((what, who.to_owned())).or_insert(Bucket { tokens: capacity, at: now });
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() / every.as_secs_f64();
        bucket.tokens = (bucket.tokens + refill).min(capacity);
        bucket.at = now.max(bucket.at);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - bucket.tokens) * every.as_secs_f64()).ceil().max(1.0);
        // A few seconds, positive.
        let wait = wait as u64;
        Err(ApiError::too_many(
            format!(
                "Too many requests to {} for {who}: at most {} at once and one more every {:?}; try again in {wait} seconds.",
                what.name(),
                capacity,
                every
            ),
            wait,
        ))
    }
}

/// The caller's address without the port.
pub(crate) fn client_address(req: &Request) -> String {
    let address = req.remote_addr().to_string();
    let address = address.strip_prefix("socket://").unwrap_or(&address);
    address.rsplit_once(':').map_or(address, |(host, _)| host).to_owned()
}

/// Takes a token for `what` from the bucket of the authenticated user, or of the caller's
/// address when the call is public (429 with `Retry-After` when it is empty).
pub(crate) fn throttle(req: &Request, depot: &Depot, what: Expensive) -> Result<(), ApiError> {
    let who = match depot.get_typed::<ApiActor>().ok().and_then(|a| a.0.uid.clone()) {
        Some(uid) => format!("uid {uid}"),
        None => format!("address {}", client_address(req)),
    };
    let app = app(depot);
    let state = ApiState::of(app.storage.layout().root())?;
    state.buckets.take(what, &who, Instant::now())
}
