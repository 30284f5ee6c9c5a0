//! Distribution records through HTTP and the operations: record (members only, phase rule from
//! the core), list, the same record twice, delete; audited. The registry lookup against a fake
//! registry on loopback that speaks HTTP with real-shaped JSON: found (npm scoped, PyPI, Maven
//! Central, Docker Hub, Artifact Hub), a 404, and a registry that never answers.

use atr_core::model::distribution::DistributionInput;
use atr_core::model::{AuditAction, DistributionPlatform};
use salvo::http::StatusCode;

use super::TestApp;
use super::vote::{keys, member};
use crate::ops;

fn records(app: &TestApp) -> Vec<atr_core::model::Distribution> {
    let (p, v) = keys();
    app.storage.read(|tx| tx.distributions(&p, &v)).unwrap()
}

#[tokio::test]
async fn members_record_list_and_delete_distributions_of_a_release() {
    let app = TestApp::new();
    let (p, v) = keys();
    let now = crate::handlers::now();
    ops::start_release(&app.storage, &member("alice"), &p, v.clone(), now).unwrap();
    let (mut alice, token) = app.browser(Some("alice")).await;
    let (status, page) = alice.get(&app, "/distributions/test-client/0.1").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("No distribution is recorded") && page.contains(r#"value="PYPI""#), "{page}");

    // A committer who is not a member may not record; nothing is stored.
    let (mut bob, bob_token) = app.browser(Some("bob")).await;
    let form = "platform=PYPI&package=apache-test-client&version=0.1&staging=1";
    let (status, body) = bob
        .post(&app, "/distribution/record/test-client/0.1", &format!("csrf_token={bob_token}&{form}"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (_, page) = bob.get(&app, "/distributions/test-client/0.1").await;
    assert!(!page.contains("Record a distribution"), "no form for bob\n{page}");
    assert!(records(&app).is_empty());

    // A staging record while composing: pending, with the staging registry's URLs.
    let (status, body) =
        alice.post(&app, "/distribution/record/test-client/0.1", &format!("csrf_token={token}&{form}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let stored = records(&app);
    assert_eq!(stored.len(), 1);
    let d = &stored[0];
    assert_eq!(
        (d.platform, d.package.as_str(), d.version.as_str()),
        (DistributionPlatform::Pypi, "apache-test-client", "0.1")
    );
    assert!(d.staging && d.pending && d.upload_date.is_none(), "{d:?}");
    assert_eq!(d.api_url, "https://test.pypi.org/pypi/apache-test-client/0.1/json");
    assert_eq!(d.created_by.as_str(), "alice");
    let (_, page) = alice.get(&app, "/distributions/test-client/0.1").await;
    assert!(
        page.contains("Recorded PyPI apache-test-client@0.1 (pending: this server does not ask"),
        "flash\n{page}"
    );
    assert!(page.contains("this server does not ask package registries (registries.fetch is off)"), "{page}");
    assert!(page.contains("Refresh metadata"), "{page}");

    // The same record again is not added twice.
    let input = DistributionInput {
        platform: DistributionPlatform::Pypi,
        owner_namespace: None,
        package: "apache-test-client".into(),
        version: "0.1".into(),
        staging: true,
    };
    let off = crate::config::RegistryConfig { fetch: false, ..Default::default() };
    let (_, added) =
        ops::record_distribution(&app.storage, &member("alice"), &p, &v, input, &off, now).unwrap();
    assert!(!added);
    assert_eq!(records(&app).len(), 1);

    // Refusals name the rule: Maven has no staging registry, bad characters and unknown
    // platforms are refused. A published record is taken in any phase (as by ATR's API).
    for (form, expected) in [
        ("platform=MAVEN&owner_namespace=org.apache&package=x&version=0.1&staging=1", "no staging registry"),
        ("platform=PYPI&package=..%2Fx&version=0.1&staging=1", "not allowed"),
        ("platform=GITHUB&package=x&version=0.1", "is not a platform"),
    ] {
        let (status, body) = alice
            .post(&app, "/distribution/record/test-client/0.1", &format!("csrf_token={token}&{form}"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{form}: {body}");
        assert!(body.contains(expected), "{form}: {body}");
    }
    assert_eq!(records(&app).len(), 1, "nothing stored by a refusal");
    let npm = "platform=NPM_SCOPED&owner_namespace=apache&package=test-client&version=0.1";
    let (status, body) =
        alice.post(&app, "/distribution/record/test-client/0.1", &format!("csrf_token={token}&{npm}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let published = records(&app).into_iter().find(|d| !d.staging).unwrap();
    assert_eq!(published.api_url, "https://registry.npmjs.org/@apache/test-client");
    assert_eq!(published.web_url.as_deref(), Some("https://www.npmjs.com/package/@apache/test-client/v/0.1"));
    let del_npm = "platform=NPM_SCOPED&owner_namespace=apache&package=test-client&version=0.1";
    let (status, _) = alice
        .post(&app, "/distribution/delete/test-client/0.1", &format!("csrf_token={token}&{del_npm}"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Deleted by a member, audited both ways.
    let del = "platform=PYPI&owner_namespace=&package=apache-test-client&version=0.1";
    let (status, body) = bob
        .post(&app, "/distribution/delete/test-client/0.1", &format!("csrf_token={bob_token}&{del}"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) =
        alice.post(&app, "/distribution/delete/test-client/0.1", &format!("csrf_token={token}&{del}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(records(&app).is_empty());
    let (status, _) =
        alice.post(&app, "/distribution/delete/test-client/0.1", &format!("csrf_token={token}&{del}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "deleting again: there is no such record");
    let events = app.storage.read(|tx| tx.audit_events_for("test-client-0.1")).unwrap();
    let changes: Vec<&str> = events
        .iter()
        .filter(|e| e.action == AuditAction::DistributionChange)
        .map(|e| e.details["change"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["record", "record", "delete", "delete"]);
}

/// A fake registry on loopback: one thread answering each connection by the request's path with
/// real-shaped JSON (or a 404), like the public registries' APIs.
fn fake_registry() -> String {
    use std::io::{BufRead as _, BufReader, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let mut reader = BufReader::new(conn);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).map(|n| n == 0).unwrap_or(true) || h.trim().is_empty() {
                    break;
                }
            }
            let (status, body) = match path.as_str() {
                "/npm/@apache/test-client" => (
                    "200 OK",
                    r#"{"_id":"@apache/test-client","name":"@apache/test-client","dist-tags":{"latest":"0.1"},
                        "versions":{"0.1":{"name":"@apache/test-client","version":"0.1"}},
                        "time":{"created":"2024-03-01T10:00:00.000Z","modified":"2024-03-02T10:00:00.000Z","0.1":"2024-03-02T09:08:07.654Z"},
                        "homepage":"https://github.com/apache/test-client#readme"}"#,
                ),
                "/pypi/pypi/apache-test-client/0.1/json" => (
                    "200 OK",
                    r#"{"info":{"name":"apache-test-client","version":"0.1",
                        "project_url":"https://pypi.org/project/apache-test-client/",
                        "release_url":"https://pypi.org/project/apache-test-client/0.1/"},
                        "last_serial":1,"urls":[{"filename":"apache_test_client-0.1.tar.gz","packagetype":"sdist",
                        "upload_time":"2024-04-05T06:07:08","upload_time_iso_8601":"2024-04-05T06:07:08.123456Z"}],
                        "vulnerabilities":[]}"#,
                ),
                "/maven/solrsearch/select?q=g:org.apache.test+AND+a:test-client+AND+v:0.1&core=gav&rows=20&wt=json" => {
                    (
                        "200 OK",
                        r#"{"responseHeader":{"status":0,"QTime":1},"response":{"numFound":1,"start":0,
                        "docs":[{"id":"org.apache.test:test-client:0.1","g":"org.apache.test","a":"test-client",
                        "v":"0.1","p":"jar","timestamp":1717171717000,"ec":[".jar",".pom"],"tags":[]}]}}"#,
                    )
                }
                "/docker/v2/namespaces/library/repositories/test-client/tags/0.1" => (
                    "200 OK",
                    r#"{"creator":1,"id":2,"images":[],"last_updated":"2024-06-01T00:00:00.5Z","name":"0.1",
                        "repository":3,"full_size":100,"v2":true,"tag_status":"active",
                        "tag_last_pulled":"2024-06-03T00:00:00Z","tag_last_pushed":"2024-06-02T01:02:03.456Z"}"#,
                ),
                "/ah/api/v1/packages/helm/apache/test-client/0.1" => (
                    "200 OK",
                    r#"{"package_id":"x","name":"test-client","version":"0.1","ts":1700000000,
                        "available_versions":[{"version":"0.2","ts":1800000000},{"version":"0.1","ts":1700000000}],
                        "repository":{"name":"apache","url":"https://apache.github.io/charts"}}"#,
                ),
                _ => ("404 Not Found", r#"{"message":"Not Found"}"#),
            };
            let mut conn = reader.into_inner();
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

/// A registry that takes connections and never answers.
fn silent_registry() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            held.extend(conn.ok());
        }
    });
    base
}

#[tokio::test]
async fn the_registry_is_asked_and_an_unreachable_or_missing_package_stays_pending_with_the_reason() {
    let mut app = TestApp::new();
    let (p, v) = keys();
    let now = crate::handlers::now();
    ops::start_release(&app.storage, &member("alice"), &p, v.clone(), now).unwrap();
    let (fake, silent) = (fake_registry(), silent_registry());
    let bases = atr_core::model::Registries {
        npm: format!("{fake}/npm"),
        pypi: format!("{fake}/pypi"),
        pypi_staging: silent.clone(),
        maven: format!("{fake}/maven"),
        docker_hub: format!("{fake}/docker"),
        artifact_hub: format!("{fake}/ah"),
        artifact_hub_staging: format!("{fake}/ah-staging"),
    };
    let config = crate::config::RegistryConfig { fetch: true, timeout_ms: 500, bases };
    app.service = crate::routes::service(app.app.clone())
        .hoop(crate::handlers::distributions::InjectRegistries(config.clone()));
    let (mut alice, token) = app.browser(Some("alice")).await;
    for form in [
        "platform=NPM_SCOPED&owner_namespace=apache&package=test-client&version=0.1",
        "platform=PYPI&package=apache-test-client&version=0.1",
        "platform=MAVEN&owner_namespace=org.apache.test&package=test-client&version=0.1",
        "platform=DOCKER_HUB&package=test-client&version=0.1",
        "platform=ARTIFACT_HUB&owner_namespace=apache&package=test-client&version=0.1",
        "platform=NPM&package=not-published&version=0.1",
        "platform=PYPI&package=apache-test-client-staged&version=0.1&staging=1",
    ] {
        let (status, body) = alice
            .post(&app, "/distribution/record/test-client/0.1", &format!("csrf_token={token}&{form}"))
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{form}: {body}");
    }
    let (_, page) = alice.get(&app, "/distributions/test-client/0.1").await;
    assert!(page.contains("pending until the registry has been asked about it"), "{page}");
    assert_eq!(records(&app).len(), 7);
    let stats = app.settle();
    let failed =
        app.storage.read(|tx| tx.tasks_with_status(atr_core::model::TaskStatus::Failed, 10)).unwrap();
    assert_eq!(
        stats.failed_attempts,
        0,
        "{stats:?} {:?}",
        failed.iter().map(|t| &t.error).collect::<Vec<_>>()
    );

    let by = |app: &TestApp, platform: DistributionPlatform, package: &str| {
        records(app).into_iter().find(|d| d.platform == platform && d.package == package).unwrap()
    };
    let ts = |s| atr_core::time::Timestamp::parse_rfc3339(s).unwrap();
    let npm = by(&app, DistributionPlatform::NpmScoped, "test-client");
    assert!(!npm.pending && npm.pending_reason.is_none(), "{npm:?}");
    assert_eq!(npm.upload_date, Some(ts("2024-03-02T09:08:07Z")));
    assert_eq!(npm.api_url, format!("{fake}/npm/@apache/test-client"));
    assert!(npm.checked_at.is_some());
    let pypi = by(&app, DistributionPlatform::Pypi, "apache-test-client");
    assert!(!pypi.pending && !pypi.staging, "{pypi:?}");
    assert_eq!(pypi.upload_date, Some(ts("2024-04-05T06:07:08Z")));
    assert_eq!(pypi.web_url.as_deref(), Some("https://pypi.org/project/apache-test-client/0.1/"));
    let maven = by(&app, DistributionPlatform::Maven, "test-client");
    assert_eq!(
        (maven.pending, maven.upload_date),
        (false, Some(atr_core::time::Timestamp::from_unix(1717171717)))
    );
    let docker = by(&app, DistributionPlatform::DockerHub, "test-client");
    assert_eq!((docker.pending, docker.upload_date), (false, Some(ts("2024-06-02T01:02:03Z"))));
    let ah = by(&app, DistributionPlatform::ArtifactHub, "test-client");
    assert_eq!((ah.pending, ah.upload_date), (false, Some(atr_core::time::Timestamp::from_unix(1700000000))));

    // A 404: pending, with the reason, on the page and (as `pending`) in the API.
    let missing = by(&app, DistributionPlatform::Npm, "not-published");
    assert!(missing.pending && missing.upload_date.is_none(), "{missing:?}");
    let reason = missing.pending_reason.clone().unwrap();
    assert!(reason.contains("npm has no not-published 0.1 (HTTP 404"), "{reason}");
    let (_, page) = alice.get(&app, "/distributions/test-client/0.1").await;
    assert!(page.contains("npm has no not-published 0.1 (HTTP 404"), "{page}");
    assert!(page.contains("uploaded 2024-03-02"), "{page}");

    // The staging record was asked at TestPyPI, which never answers: pending with the time-out.
    let staged = by(&app, DistributionPlatform::Pypi, "apache-test-client-staged");
    assert!(staged.staging && staged.pending, "{staged:?}");
    assert!(staged.api_url.starts_with(&silent), "{staged:?}");
    let reason = staged.pending_reason.unwrap();
    assert!(reason.contains("PyPI did not answer in time") && reason.contains("within 0.5 s"), "{reason}");

    // A refresh asks again, at the registry base configured now (here one that never answers):
    // the record is pending again, with the reason, and keeps the date it had.
    let silent_config = crate::config::RegistryConfig {
        bases: atr_core::model::Registries { npm: silent.clone(), ..config.bases.clone() },
        ..config.clone()
    };
    app.service = crate::routes::service(app.app.clone())
        .hoop(crate::handlers::distributions::InjectRegistries(silent_config));
    let key = "platform=NPM_SCOPED&owner_namespace=apache&package=test-client&version=0.1";
    let (mut bob, bob_token) = app.browser(Some("bob")).await;
    let (status, _) = bob
        .post(&app, "/distribution/refresh/test-client/0.1", &format!("csrf_token={bob_token}&{key}"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a committer may not refresh");
    let (mut alice, token) = app.browser(Some("alice")).await;
    let (status, body) =
        alice.post(&app, "/distribution/refresh/test-client/0.1", &format!("csrf_token={token}&{key}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let started = std::time::Instant::now();
    app.settle();
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "the time-out bounds the wait");
    let npm = by(&app, DistributionPlatform::NpmScoped, "test-client");
    assert!(npm.pending, "{npm:?}");
    assert_eq!(npm.api_url, format!("{silent}/@apache/test-client"), "rebuilt from the configured base");
    let reason = npm.pending_reason.unwrap();
    assert!(reason.contains("npm (scoped) did not answer in time") && reason.contains("0.5 s"), "{reason}");
    assert_eq!(npm.upload_date, Some(ts("2024-03-02T09:08:07Z")), "what the registry said before is kept");
    let events = app.storage.read(|tx| tx.audit_events_for("test-client-0.1")).unwrap();
    let refreshes = events
        .iter()
        .filter(|e| e.action == AuditAction::DistributionChange && e.details["change"] == "refresh")
        .count();
    assert_eq!(refreshes, 1);
}
