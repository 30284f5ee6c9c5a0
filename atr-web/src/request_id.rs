//! Request ids: every response carries `X-Request-Id`, and every log line of a request names it.
//!
//! The id is the client's own when it sent a sane one (1 to 64 characters of `A-Z a-z 0-9 . _ -`,
//! so a proxy's id can be followed through), otherwise a fresh random one. The hoop runs the rest
//! of the request inside a `request` tracing span carrying the id, method and path, and logs one
//! line when the response is ready.

use std::time::Instant;

use argon2::password_hash::rand_core::{OsRng, RngCore as _};
use salvo::http::HeaderValue;
use salvo::prelude::*;
use tracing::Instrument as _;

/// The header that carries the request id, in both directions.
pub(crate) const HEADER: &str = "x-request-id";

/// The id of the current request, in the depot for handlers that want to show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestId(pub(crate) String);

/// Whether a client-sent id is safe to echo and log as it is.
pub(crate) fn is_sane(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A fresh random id: 16 hex digits (64 bits).
pub(crate) fn fresh() -> String {
    let mut bytes = [0u8; 8];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hoop that gives each request its id, span and response header.
#[handler]
pub(crate) async fn hoop(req: &mut Request, depot: &mut Depot, res: &mut Response, ctrl: &mut FlowCtrl) {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane(v))
        .map_or_else(fresh, str::to_owned);
    let value = HeaderValue::from_str(&id).expect("a sane id is a valid header value");
    res.headers_mut().insert(HEADER, value.clone());
    depot.insert_typed(RequestId(id.clone()));
    let span = tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path());
    let started = Instant::now();
    async {
        ctrl.call_next(req, depot, res).await;
        let status = res.status_code.unwrap_or(salvo::http::StatusCode::OK);
        tracing::info!(status = status.as_u16(), micros = started.elapsed().as_micros() as u64, "response");
    }
    .instrument(span)
    .await;
    // A handler may have replaced the headers; the id is set again on the way out.
    res.headers_mut().insert(HEADER, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids_are_short_and_plain() {
        assert!(is_sane("abc-123_X.y"));
        assert!(is_sane(&"a".repeat(64)));
        for bad in ["", &"a".repeat(65), "a b", "a\nb", "ä", "a;b", "<script>"] {
            assert!(!is_sane(bad), "{bad:?}");
        }
        let a = fresh();
        assert!(a.len() == 16 && is_sane(&a) && a != fresh());
    }
}
