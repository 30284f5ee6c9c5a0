//! A small HTTP/1.1 client for the few outgoing requests of the platform (package registries from
//! the worker, the OIDC provider from the web server): hyper's low-level connection over
//! tokio-rustls (ring) with the web PKI roots, `https://` anywhere and plain `http://` as given
//! (callers decide which hosts may be plain; tests use loopback). One request per connection, a
//! time limit over the whole exchange and a size limit on the answer. No redirects are followed.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use tokio_rustls::rustls;

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    /// The request timed out (rather than failing otherwise).
    pub timed_out: bool,
    /// What happened, for people, naming the URL.
    pub message: String,
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HttpError {}

/// An answer: status and body (at most the caller's limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

/// A request body with its content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpBody {
    /// The `Content-Type` header.
    pub content_type: &'static str,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// The client: a TLS configuration shared by its requests.
#[derive(Debug, Clone)]
pub struct HttpClient {
    tls: Arc<rustls::ClientConfig>,
    user_agent: &'static str,
}

impl HttpClient {
    /// A client trusting the web PKI roots, sending `user_agent`.
    pub fn new(user_agent: &'static str) -> HttpClient {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("ring supports the default TLS versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
        HttpClient { tls: Arc::new(tls), user_agent }
    }

    /// One request (`POST` when a body is given, else `GET`) with `headers`, answered within
    /// `timeout` with at most `limit` bytes of body.
    pub async fn request(
        &self,
        url: &url::Url,
        headers: &[(&str, &str)],
        body: Option<HttpBody>,
        timeout: Duration,
        limit: usize,
    ) -> Result<HttpResponse, HttpError> {
        tokio::time::timeout(timeout, self.exchange(url, headers, body, limit)).await.map_err(|_| {
            HttpError {
                timed_out: true,
                message: format!("{url} did not answer within {}", seconds(timeout)),
            }
        })?
    }

    /// [`HttpClient::request`] for a `GET` from synchronous code (a worker task): runs it on a
    /// runtime of its own for this one request, on a thread of its own (so it also works when the
    /// caller is itself on an async runtime's thread, as an in-process test worker is).
    pub fn get_blocking(
        &self,
        url: &url::Url,
        headers: &[(&str, &str)],
        timeout: Duration,
        limit: usize,
    ) -> Result<HttpResponse, HttpError> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| HttpError {
                            timed_out: false,
                            message: format!("cannot start the HTTP client for {url}: {e}"),
                        })?;
                    runtime.block_on(self.request(url, headers, None, timeout, limit))
                })
                .join()
                .unwrap_or_else(|_| {
                    Err(HttpError { timed_out: false, message: format!("the request to {url} panicked") })
                })
        })
    }

    async fn exchange(
        &self,
        url: &url::Url,
        headers: &[(&str, &str)],
        body: Option<HttpBody>,
        limit: usize,
    ) -> Result<HttpResponse, HttpError> {
        let failed = |e: &dyn std::fmt::Display| HttpError {
            timed_out: false,
            message: format!("cannot reach {url}: {e}"),
        };
        let host = url.host_str().ok_or_else(|| failed(&"no host"))?.to_owned();
        let port = url.port_or_known_default().ok_or_else(|| failed(&"no port"))?;
        let bare_host = host.trim_matches(['[', ']']).to_owned();
        let tcp = tokio::net::TcpStream::connect((bare_host.as_str(), port)).await.map_err(|e| failed(&e))?;
        let mut path = url.path().to_owned();
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        let host_header = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let mut req = hyper::Request::builder()
            .method(if body.is_some() { "POST" } else { "GET" })
            .uri(path)
            .header("host", host_header)
            .header("user-agent", self.user_agent);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let bytes = match body {
            Some(b) => {
                req = req.header("content-type", b.content_type);
                b.bytes
            }
            None => Vec::new(),
        };
        let req = req.body(Full::new(Bytes::from(bytes))).map_err(|e| failed(&e))?;
        let (status, body) = match url.scheme() {
            "https" => {
                let name = rustls::pki_types::ServerName::try_from(bare_host).map_err(|e| failed(&e))?;
                let tls = tokio_rustls::TlsConnector::from(Arc::clone(&self.tls))
                    .connect(name, tcp)
                    .await
                    .map_err(|e| failed(&e))?;
                send(hyper_util::rt::TokioIo::new(tls), req, limit).await
            }
            "http" => send(hyper_util::rt::TokioIo::new(tcp), req, limit).await,
            other => Err(format!("the scheme {other}: is not HTTP")),
        }
        .map_err(|e| failed(&e))?;
        Ok(HttpResponse { status, body })
    }
}

fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 { format!("{} s", d.as_secs()) } else { format!("{:.1} s", d.as_secs_f64()) }
}

async fn send<T>(
    io: hyper_util::rt::TokioIo<T>,
    req: hyper::Request<Full<Bytes>>,
    limit: usize,
) -> Result<(u16, Vec<u8>), String>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.map_err(|e| e.to_string())?;
    let driver = tokio::spawn(conn);
    let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let body = Limited::new(res.into_body(), limit)
        .collect()
        .await
        .map_err(|e| format!("reading the answer: {e}"))?
        .to_bytes();
    driver.abort();
    Ok((status, body.to_vec()))
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use super::*;

    /// A loopback server answering each connection with `answer` (or never, when `None`).
    fn server(answer: Option<&'static str>) -> url::Url {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming() {
                let mut conn = conn.unwrap();
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                match answer {
                    Some(a) => {
                        let _ = conn.write_all(a.as_bytes());
                    }
                    None => held.push(conn),
                }
            }
        });
        url::Url::parse(&format!("http://{addr}/x?y=1")).unwrap()
    }

    #[test]
    fn answers_timeouts_limits_and_refusals() {
        let c = HttpClient::new("atr-test");
        let url = server(Some("HTTP/1.1 200 OK\r\ncontent-length: 7\r\nconnection: close\r\n\r\n{\"a\":1}"));
        let r =
            c.get_blocking(&url, &[("accept", "application/json")], Duration::from_secs(5), 1024).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, b"{\"a\":1}".as_slice()));
        let e = c.get_blocking(&url, &[], Duration::from_secs(5), 3).unwrap_err();
        assert!(!e.timed_out && e.message.contains("reading the answer"), "{e}");

        let silent = server(None);
        let e = c.get_blocking(&silent, &[], Duration::from_millis(300), 1024).unwrap_err();
        assert!(e.timed_out && e.message.contains("did not answer within 0.3 s"), "{e}");

        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let a = l.local_addr().unwrap();
            drop(l);
            url::Url::parse(&format!("http://{a}/")).unwrap()
        };
        let e = c.get_blocking(&closed, &[], Duration::from_secs(5), 1024).unwrap_err();
        assert!(!e.timed_out && e.message.starts_with(&format!("cannot reach {closed}")), "{e}");
    }
}
