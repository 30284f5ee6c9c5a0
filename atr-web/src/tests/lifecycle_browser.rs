//! The release lifecycle after compose in headless Chromium (Debian `chromium` and
//! `chromium-driver`): alice (committee member) starts a trusted-mode vote on the checked draft,
//! casts her +1 in the browser and sees the ballot's manifest digest; two more members vote and the
//! vote is resolved as passed by the web's operation at a time after its end (as tests/vote.rs does,
//! the minimum duration being enforced); she moves the tarball into `source/` in the preview and
//! announces: the files are in `downloads/` with the same inode as the voted revision, KEYS beside
//! them, and the downloads area lists them. Checks run through the real worker in-process
//! (`TestApp::settle`). On failure, screenshots of the current, vote and finish pages are saved in
//! the temp dir.

use std::time::Duration;

use atr_core::model::{ReleasePhase, VoteChoice, VoteMode, VoteResolution};
use fantoccini::{Client, Locator};

use super::TestApp;
use super::browser::{Chromium, Step, check, source};
use super::vote::{
    draft_with_files, finish_checks, fixture, keys, latest, member, phase, set_vote_mode, sha512_hex,
};
use crate::ops;

const TARBALL: &str = "apache-test-0.2.tar.gz";
const BASE_PATH: &str = "test-client/0.1";

fn err(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

/// Marks the current page, clicks `xpath`, and waits for a new page.
async fn click_and_wait(c: &Client, xpath: &str) -> Step {
    c.execute("document.body.setAttribute('data-old', '1')", vec![]).await.map_err(err)?;
    let target = c.find(Locator::XPath(xpath)).await.map_err(|e| format!("{xpath}: {e}"))?;
    target.click().await.map_err(|e| format!("{xpath}: {e}"))?;
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("body:not([data-old])"))
        .await
        .map_err(|e| format!("no new page after clicking {xpath}: {e}"))?;
    Ok(())
}

async fn submit_in(c: &Client, form_xpath: &str) -> Step {
    click_and_wait(c, &format!("{form_xpath}//button[@type='submit']")).await
}

async fn fill(c: &Client, locator: Locator<'_>, text: &str) -> Step {
    let field = c.find(locator).await.map_err(err)?;
    field.send_keys(text).await.map_err(err)
}

fn inode(path: &std::path::Path) -> Result<u64, String> {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata(path).map(|m| m.ino()).map_err(|e| format!("{}: {e}", path.display()))
}

async fn scenario(app: &TestApp, c: &Client, base: &str) -> Step {
    let (p, v) = keys();
    c.goto(&format!("{base}/login")).await.map_err(err)?;
    fill(c, Locator::Css("#uid"), "alice").await?;
    fill(c, Locator::Css("#password"), &app.passwords["alice"]).await?;
    submit_in(c, "//form[@action='/login']").await?;
    let page = source(c).await?;
    check(page.contains("Signed in as <strong>alice</strong>"), "alice logged in", &page)?;

    // Start the vote on the checked draft.
    let draft = latest(app);
    c.goto(&format!("{base}/vote/{BASE_PATH}")).await.map_err(err)?;
    submit_in(c, &format!("//form[@action='/vote/start/{BASE_PATH}']")).await?;
    let page = source(c).await?;
    check(page.contains("The vote has started; the vote mail"), "vote started, mail sent", &page)?;
    check(phase(app) == ReleasePhase::Candidate, "the release is a candidate", &page)?;
    let voted_tarball = app.storage.layout().revision(&p, &v, draft).join(TARBALL);
    let voted_inode = inode(&voted_tarball)?;

    // alice's binding +1, with the digest of what she voted on.
    let ballot_form = format!("//form[@action='/vote/ballot/{BASE_PATH}']");
    c.find(Locator::XPath(&format!("{ballot_form}//input[@name='choice' and @value='+1']")))
        .await
        .map_err(err)?
        .click()
        .await
        .map_err(err)?;
    submit_in(c, &ballot_form).await?;
    let page = source(c).await?;
    check(
        page.contains(&format!("Your binding vote +1 on revision {draft} is recorded.")),
        "alice's ballot recorded",
        &page,
    )?;
    let manifest = format!("{TARBALL}\0{}\n", sha512_hex(&fixture(TARBALL)));
    let digest: String = {
        use sha2::Digest as _;
        sha2::Sha256::digest(manifest.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    };
    check(page.contains(&digest), "the ballot shows the manifest digest of the voted revision", &page)?;

    // Two more members; then the vote is resolved after its end (the core refuses it before).
    let now = crate::handlers::now();
    for uid in ["dave", "erin"] {
        ops::cast_ballot(&app.storage, &member(uid), &p, &v, VoteChoice::Yes, String::new(), now)
            .map_err(err)?;
    }
    c.refresh().await.map_err(err)?;
    let page = source(c).await?;
    check(page.contains("<th>Binding</th><td>3</td><td>0</td><td>0</td>"), "three binding +1", &page)?;
    ops::resolve_vote(
        &app.storage,
        &member("alice"),
        &p,
        &v,
        ops::ResolveRequest {
            resolution: VoteResolution::Passed,
            evidence: None,
            result_body: None,
            test_mode_bypass: false,
        },
        now.plus_hours(73),
    )
    .map_err(err)?;
    check(phase(app) == ReleasePhase::Preview, "the vote passed: preview", "")?;
    finish_checks(app);

    // Preview: move the tarball (and its companions) into source/.
    c.goto(&format!("{base}/finish/{BASE_PATH}")).await.map_err(err)?;
    let move_form =
        format!("//form[@action='/finish/move/{BASE_PATH}' and input[@name='path' and @value='{TARBALL}']]");
    fill(c, Locator::XPath(&format!("{move_form}//input[@name='directory']")), "source").await?;
    submit_in(c, &move_form).await?;
    let page = source(c).await?;
    check(page.contains("Moved: revision"), "tarball moved", &page)?;
    check(page.contains(&format!("source/{TARBALL}.asc")), "its signature moved with it", &page)?;
    finish_checks(app);

    // Announce the moved revision.
    c.goto(&format!("{base}/finish/{BASE_PATH}")).await.map_err(err)?;
    submit_in(c, &format!("//form[@action='/announce/{BASE_PATH}']")).await?;
    let page = source(c).await?;
    check(page.contains("Announced: 4 files published."), "announced", &page)?;
    check(phase(app) == ReleasePhase::Release, "the release is final", &page)?;

    let downloads = app.storage.layout().downloads().join("test");
    let published = downloads.join("test-client-0.1/source").join(TARBALL);
    check(
        inode(&published)? == voted_inode,
        &format!("{} is the voted file itself (same inode)", published.display()),
        "",
    )?;
    let keys_file = std::fs::read_to_string(downloads.join("KEYS")).map_err(err)?;
    check(keys_file.contains("BEGIN PGP PUBLIC KEY BLOCK"), "KEYS beside the release", &keys_file)?;

    // The public downloads area lists them.
    c.goto(&format!("{base}/downloads/test/")).await.map_err(err)?;
    let page = source(c).await?;
    check(
        page.contains("test-client-0.1/") && page.contains("KEYS"),
        "downloads/test lists release and KEYS",
        &page,
    )?;
    c.goto(&format!("{base}/downloads/test/test-client-0.1/source/")).await.map_err(err)?;
    let page = source(c).await?;
    check(
        page.contains(TARBALL) && page.contains(&format!("{TARBALL}.sha512")),
        "source/ lists the files",
        &page,
    )
}

#[tokio::test]
async fn a_release_is_voted_on_finished_and_announced_in_chromium() {
    let app = TestApp::new();
    set_vote_mode(&app, VoteMode::Trusted);
    let _ = draft_with_files(&app).await;

    let browser = Chromium::start(&app).await;
    let outcome = scenario(&app, &browser.client, &browser.base).await;
    let base = &browser.base;
    let pages =
        [("vote", format!("{base}/vote/{BASE_PATH}")), ("finish", format!("{base}/finish/{BASE_PATH}"))];
    browser.finish(outcome, "lifecycle-browser", &pages).await;
}
