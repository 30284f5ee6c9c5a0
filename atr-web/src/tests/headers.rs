//! Security headers on every answer (trust-chain issue, request hygiene): the Content-Security-Policy
//! allows no script and no inline style, framing is refused, content sniffing is off, and the
//! pages link the one stylesheet instead of carrying styles inline.

use salvo::http::StatusCode;
use salvo::test::{ResponseExt as _, TestClient};

use super::{BASE, TestApp};

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_pages_have_no_inline_style() {
    let app = TestApp::new();
    for path in [
        "/",
        "/projects/test-client",
        "/no/such/page",
        "/api/project/get/test-client",
        "/keys/export/test",
        "/static/atr.css",
    ] {
        let mut res = TestClient::get(format!("{BASE}{path}")).send(&app.service).await;
        let h = |n: &str| res.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
        let csp = h("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline") && !csp.contains("script-src"), "{path}: {csp}");
        assert_eq!(h("x-frame-options").as_deref(), Some("DENY"), "{path}");
        assert_eq!(h("x-content-type-options").as_deref(), Some("nosniff"), "{path}");
        assert_eq!(h("referrer-policy").as_deref(), Some("same-origin"), "{path}");
        let html = h("content-type").is_some_and(|t| t.starts_with("text/html"));
        let body = res.take_string().await.unwrap();
        if html {
            assert!(body.contains(r#"<link rel="stylesheet" href="/static/atr.css">"#), "{path}: {body}");
            assert!(
                !body.contains("<style") && !body.contains("style=\""),
                "{path}: no inline style\n{body}"
            );
            assert!(!body.contains("javascript:"), "{path}: {body}");
        }
    }
    let mut res = TestClient::get(format!("{BASE}/static/atr.css")).send(&app.service).await;
    assert_eq!(res.status_code, Some(StatusCode::OK));
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
    assert!(res.take_string().await.unwrap().contains(".inline{display:inline}"));
}
