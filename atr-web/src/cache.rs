//! A cache of the compose page's release-specific part, checked on every request against the
//! change stamps the database keeps per release and project (`atr-storage` migration V7, bumped by
//! triggers in the writer's own transaction, whoever writes). A hit costs one read of two
//! primary-key rows; the view model and its rendered file lists are reused while the stamps are
//! unchanged and no ignore rule has expired since. The per-user chrome (header, flash message,
//! CSRF tokens) is never cached.
//!
//! Freshness: the stamps are read *before* the view is built, in an earlier snapshot than the
//! view's own reads. A change committed in between gives a view newer than its stamps, which the
//! next request rebuilds (never an entry older than its stamps).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use atr_core::ids::{ProjectKey, VersionKey};
use atr_core::time::Timestamp;
use atr_storage::Storage;
use atr_storage::db::page_stamps::PageStamp;
use atr_storage::quarantine::Quarantined;

use crate::error::WebError;
use crate::views::{self, ComposeView};

/// How many releases the cache keeps (least recently used goes first).
const RELEASES: usize = 16;
/// How many rendered bodies (file-list page × filter × editor or not) it keeps per release.
const BODIES_PER_RELEASE: usize = 8;

/// Everything the compose page shows about a release, built at one set of stamps.
#[derive(Debug)]
pub(crate) struct ComposeData {
    pub(crate) view: ComposeView,
    /// Uploads whose archives are being validated.
    pub(crate) pending: Vec<Quarantined>,
    /// The latest refused uploads.
    pub(crate) refused: Vec<Quarantined>,
}

/// Which rendering of a release's compose page a body is: who may edit, and which part of the
/// file list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct BodyKey {
    pub(crate) can_edit: bool,
    pub(crate) page: usize,
    pub(crate) filter: &'static str,
}

#[derive(Debug)]
struct Entry {
    stamp: PageStamp,
    valid_until: Option<Timestamp>,
    data: Arc<ComposeData>,
    bodies: Vec<(BodyKey, Arc<str>)>,
    last_used: u64,
}

/// The page cache of one server (one per `App`).
#[derive(Debug, Default)]
pub(crate) struct PageCache {
    compose: Mutex<Releases>,
}

#[derive(Debug, Default)]
struct Releases {
    entries: HashMap<(ProjectKey, VersionKey), Entry>,
    clock: u64,
}

impl Releases {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }
}

impl PageCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Releases> {
        self.compose.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The compose data of release `p`-`v` as of now: cached while the stamps are unchanged,
    /// built again (`views::compose` and the quarantine status) otherwise.
    pub(crate) fn compose(
        &self,
        s: &Storage,
        p: &ProjectKey,
        v: &VersionKey,
        now: Timestamp,
        refusals_shown: usize,
    ) -> Result<Arc<ComposeData>, WebError> {
        let stamp = s.read(|tx| tx.page_stamp(p, v))?;
        let key = (p.clone(), v.clone());
        if let Some(stamp) = stamp {
            let mut cache = self.lock();
            let tick = cache.tick();
            if let Some(e) = cache.entries.get_mut(&key)
                && e.stamp == stamp
                && e.valid_until.is_none_or(|t| now < t)
            {
                e.last_used = tick;
                return Ok(Arc::clone(&e.data));
            }
        }
        let view = views::compose(s, p, v, now)?;
        let (pending, refused) = crate::uploads::quarantine_status(s, p, v, refusals_shown)?;
        let valid_until = view.valid_until;
        let data = Arc::new(ComposeData { view, pending, refused });
        // Without a stamp (no release: the view was a 404 above) nothing is kept.
        if let Some(stamp) = stamp {
            let mut cache = self.lock();
            let last_used = cache.tick();
            if cache.entries.len() >= RELEASES
                && !cache.entries.contains_key(&key)
                && let Some(oldest) =
                    cache.entries.iter().min_by_key(|(_, e)| e.last_used).map(|(k, _)| k.clone())
            {
                cache.entries.remove(&oldest);
            }
            let entry = Entry { stamp, valid_until, data: Arc::clone(&data), bodies: Vec::new(), last_used };
            cache.entries.insert(key, entry);
        }
        Ok(data)
    }

    /// The body rendered by `render` for `data` and `key`: reused while `data` is the cached data
    /// of its release.
    pub(crate) fn compose_body(
        &self,
        data: &Arc<ComposeData>,
        key: BodyKey,
        render: impl FnOnce() -> String,
    ) -> Arc<str> {
        let release = (data.view.release.project_key.clone(), data.view.release.version_key.clone());
        if let Some(e) = self.lock().entries.get(&release)
            && Arc::ptr_eq(&e.data, data)
            && let Some((_, body)) = e.bodies.iter().find(|(k, _)| *k == key)
        {
            return Arc::clone(body);
        }
        let body: Arc<str> = Arc::from(render());
        if let Some(e) = self.lock().entries.get_mut(&release)
            && Arc::ptr_eq(&e.data, data)
            && !e.bodies.iter().any(|(k, _)| *k == key)
        {
            if e.bodies.len() >= BODIES_PER_RELEASE {
                e.bodies.remove(0);
            }
            e.bodies.push((key, Arc::clone(&body)));
        }
        body
    }

    /// How many releases are cached (for tests of the bound).
    #[cfg(test)]
    pub(crate) fn releases(&self) -> usize {
        self.lock().entries.len()
    }
}
