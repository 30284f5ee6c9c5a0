//! The compose phase in headless Chromium (Debian `chromium` and `chromium-driver`): log in, start
//! `test-client` 0.1, upload the three files of the project's fixture release (tests/fixtures), open the tarball's
//! report, add the fixture's OpenPGP key, generate a .sha256, delete a file, compare two revisions.
//! Two real worker processes check the uploads; the test waits (at most 60 s) for them to finish.
//! On failure, screenshots of the current, compose and report pages are saved in the temp dir.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use salvo::conn::{Acceptor as _, TcpListener};
use salvo::prelude::*;

use super::TestApp;
use crate::routes;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/apache-test-0.2");
const TARBALL: &str = "apache-test-0.2.tar.gz";

/// chromedriver, killed when dropped.
pub(super) struct Driver(pub(super) Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(super) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub(super) async fn connect(port: u16, profile: &std::path::Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                     format!("--user-data-dir={}", profile.display())],
        }),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match ClientBuilder::native()
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("chromedriver did not accept a session within 20 s: {e}"),
        }
    }
}

pub(super) type Step = Result<(), String>;

pub(super) fn check(cond: bool, what: &str, page: &str) -> Step {
    if cond { Ok(()) } else { Err(format!("{what}\n--- page ---\n{page}")) }
}

pub(super) async fn source(c: &Client) -> Result<String, String> {
    c.source().await.map_err(|e| e.to_string())
}

/// Marks the current page, runs `act` (a click that loads a page), and waits for a new page.
async fn and_wait(c: &Client, act: impl std::future::Future<Output = Step>) -> Step {
    c.execute("document.body.setAttribute('data-old', '1')", vec![]).await.map_err(|e| e.to_string())?;
    act.await?;
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("body:not([data-old])"))
        .await
        .map_err(|e| format!("no new page after the click: {e}"))?;
    Ok(())
}

async fn submit_in(c: &Client, form_xpath: &str) -> Step {
    let button = c
        .find(Locator::XPath(&format!("{form_xpath}//button[@type='submit']")))
        .await
        .map_err(|e| e.to_string())?;
    and_wait(c, async { button.click().await.map_err(|e| e.to_string()) }).await
}

/// Follows the link to `href` on the current page.
async fn click_link(c: &Client, href: &str) -> Step {
    let link =
        c.find(Locator::XPath(&format!("//a[@href='{href}']"))).await.map_err(|e| format!("{href}: {e}"))?;
    and_wait(c, async { link.click().await.map_err(|e| e.to_string()) }).await
}

async fn fill(c: &Client, css: &str, text: &str) -> Step {
    let field = c.find(Locator::Css(css)).await.map_err(|e| format!("{css}: {e}"))?;
    field.send_keys(text).await.map_err(|e| format!("{css}: {e}"))
}

async fn scenario(c: &Client, base: &str, password: &str) -> Step {
    let e = |e: fantoccini::error::CmdError| e.to_string();
    c.goto(&format!("{base}/login")).await.map_err(e)?;
    fill(c, "#uid", "bob").await?;
    fill(c, "#password", password).await?;
    submit_in(c, "//form[@action='/login']").await?;
    let page = source(c).await?;
    check(page.contains("Signed in as <strong>bob</strong>"), "logged in", &page)?;

    c.goto(&format!("{base}/start/test-client")).await.map_err(e)?;
    fill(c, "#version", "0.1").await?;
    submit_in(c, "//form[@action='/start/test-client']").await?;
    let page = source(c).await?;
    check(page.contains("Started test-client-0.1"), "release started, flash shown", &page)?;

    let link = c.find(Locator::LinkText("Upload files to this draft")).await.map_err(e)?;
    and_wait(c, async { link.click().await.map_err(e) }).await?;
    let files: Vec<String> = [TARBALL, "apache-test-0.2.tar.gz.asc", "apache-test-0.2.tar.gz.sha512"]
        .iter()
        .map(|f| {
            // chromedriver wants canonical paths (no `..`).
            let path = std::fs::canonicalize(format!("{FIXTURE}/{f}")).unwrap_or_else(|e| panic!("{f}: {e}"));
            path.display().to_string()
        })
        .collect();
    fill(c, "#files", &files.join("\n")).await?;
    submit_in(c, "//form[@enctype='multipart/form-data']").await?;
    let page = source(c).await?;
    check(
        page.contains("the archives are validated now") && page.contains(&format!("<code>{TARBALL}</code>")),
        "three files uploaded, held in quarantine while the tarball is validated",
        &page,
    )?;

    // A real worker validates the tarball, then real workers check the new revision; the compose
    // page refreshes by itself until they are done.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        c.goto(&format!("{base}/compose/test-client/0.1")).await.map_err(e)?;
        let page = source(c).await?;
        if page.contains("Latest revision <strong>00002</strong>")
            && page.contains("All checks of this revision are done.")
        {
            break;
        }
        check(Instant::now() < deadline, "checks done within 60 s", &page)?;
        check(
            page.contains("checks are running") || page.contains("Validating "),
            "validation or ongoing checks shown while waiting",
            &page,
        )?;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let link = c
        .find(Locator::XPath(&format!("//a[@href='/report/test-client/0.1/{TARBALL}']")))
        .await
        .map_err(e)?;
    and_wait(c, async { link.click().await.map_err(e) }).await?;
    let page = source(c).await?;
    check(page.contains("Check report") && page.contains("Results by checker"), "report page", &page)?;
    check(
        !page.contains("still running") && page.contains("atr.tasks.checks.targz.integrity"),
        "the workers' results on the report",
        &page,
    )?;

    c.goto(&format!("{base}/keys")).await.map_err(e)?;
    let key = std::fs::read_to_string(format!("{FIXTURE}/signer.asc")).map_err(|e| e.to_string())?;
    fill(c, "form[action='/keys/add'] textarea[name=key]", &key).await?;
    c.find(Locator::Css("form[action='/keys/add'] option[value=test]"))
        .await
        .map_err(e)?
        .click()
        .await
        .map_err(e)?;
    submit_in(c, "//form[@action='/keys/add']").await?;
    let page = source(c).await?;
    check(page.contains("Added key ") && page.contains("0F15DA58C059358F"), "key added", &page)?;

    // Actions on a file are on its own page, linked from its row of the compose page.
    c.goto(&format!("{base}/compose/test-client/0.1")).await.map_err(e)?;
    click_link(c, &format!("/draft/file/test-client/0.1/{TARBALL}")).await?;
    let hashgen = format!(
        "//form[input[@name='path' and @value='{TARBALL}'] and input[@name='hash_type' and @value='sha256']]"
    );
    submit_in(c, &hashgen).await?;
    let page = source(c).await?;
    check(page.contains(&format!("Generated {TARBALL}.sha256.")), "sha256 generated", &page)?;

    click_link(c, &format!("/draft/file/test-client/0.1/{TARBALL}.sha512")).await?;
    let delete = format!(
        "//form[@action='/draft/delete-file/test-client/0.1' and input[@name='path' and @value='{TARBALL}.sha512']]"
    );
    submit_in(c, &delete).await?;
    let page = source(c).await?;
    check(page.contains(&format!("Deleted {TARBALL}.sha512.")), "file deleted", &page)?;

    c.goto(&format!("{base}/revisions/test-client/0.1")).await.map_err(e)?;
    fill(c, "input[name=from]", "2").await?;
    fill(c, "input[name=to]", "4").await?;
    submit_in(c, "//form[@method='get']").await?;
    let page = source(c).await?;
    check(page.contains("1 added, 1 removed, 0 changed, 2 unchanged."), "revisions compared", &page)
}

/// A browser session against the app: the app served on a loopback port, chromedriver, and a
/// headless Chromium with a fresh profile. Stopped by [`Chromium::finish`].
pub(super) struct Chromium {
    /// `http://127.0.0.1:<port>` of the app.
    pub(super) base: String,
    /// The WebDriver session.
    pub(super) client: Client,
    handle: salvo::server::ServerHandle,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

impl Chromium {
    /// Serves `app` on a free loopback port and opens Chromium through chromedriver.
    pub(super) async fn start(app: &TestApp) -> Chromium {
        let acceptor = TcpListener::new("127.0.0.1:0").bind().await;
        let base = format!(
            "http://{}",
            acceptor.holdings()[0].local_addr.to_string().trim_start_matches("socket://")
        );
        let server = Server::new(acceptor);
        let handle = server.handle();
        tokio::spawn(server.serve(routes::service(app.app.clone())));
        let port = free_port();
        let driver = Driver(
            Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver runs (Debian packages chromium and chromium-driver)"),
        );
        let profile = tempfile::tempdir().unwrap();
        let client = connect(port, profile.path()).await;
        Chromium { base, client, handle, _driver: driver, _profile: profile }
    }

    /// Closes the browser and stops the server; when `outcome` failed, first saves screenshots
    /// of the current page and of `pages` (see [`save_screenshots`]) and then panics with both.
    pub(super) async fn finish(self, outcome: Step, prefix: &str, pages: &[(&str, String)]) {
        if let Err(failure) = outcome {
            let shots = save_screenshots(&self.client, prefix, pages).await;
            let _ = self.client.close().await;
            self.handle.stop_forceful();
            panic!("{failure}\nscreenshots: {shots:?}");
        }
        self.client.close().await.unwrap();
        self.handle.stop_forceful();
    }
}

/// Saves a screenshot of the current page and of each of `pages` (name, URL) as
/// `<tmp>/atr-web-<prefix>-<name>.png`, for a failed browser test to show what it saw.
pub(super) async fn save_screenshots(
    c: &Client,
    prefix: &str,
    pages: &[(&str, String)],
) -> Vec<std::path::PathBuf> {
    let dir = std::env::temp_dir();
    let mut saved = Vec::new();
    let current = std::iter::once(("current", None));
    for (name, url) in current.chain(pages.iter().map(|(n, u)| (*n, Some(u)))) {
        if let Some(url) = url {
            let _ = c.goto(url).await;
        }
        if let Ok(png) = c.screenshot().await {
            let path = dir.join(format!("atr-web-{prefix}-{name}.png"));
            if std::fs::write(&path, png).is_ok() {
                saved.push(path);
            }
        }
    }
    saved
}

#[tokio::test]
async fn a_release_manager_composes_a_release_in_chromium() {
    let app = TestApp::new();
    let browser = Chromium::start(&app).await;
    let mut workers = atr_worker::ManagerConfig::new(app.storage.layout().root());
    workers.workers = 2;
    let manager = atr_worker::Manager::start(workers)
        .expect("the worker program is built next to the tests (cargo build -p atr-worker)");
    let outcome = scenario(&browser.client, &browser.base, &app.passwords["bob"]).await;
    let stats = tokio::task::spawn_blocking(move || manager.shutdown()).await.unwrap().unwrap();
    assert_eq!(stats.died_with_task, 0, "{stats:?}");
    let base = &browser.base;
    let pages = [
        ("compose", format!("{base}/compose/test-client/0.1")),
        ("report", format!("{base}/report/test-client/0.1/{TARBALL}")),
    ];
    browser.finish(outcome, "browser", &pages).await;
}
