//! The SBOM's side of the single archive pass: keeps the build manifests (and the root LICENSE)
//! whole as they stream by, and hashes the archive's own bytes as the walker reads them.

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use sha2::Digest;

use super::manifest::ManifestKind;
use crate::archive::{MemberInfo, Visitor};

/// Largest manifest kept (a `package-lock.json` of a large project is a few MiB).
pub(crate) const MANIFEST_CAP: usize = 16 << 20;
/// Total bytes kept over the whole archive.
pub(crate) const MANIFEST_BUDGET: usize = 64 << 20;
/// Largest root LICENSE kept.
const LICENCE_CAP: usize = 1 << 20;

/// A manifest kept whole.
#[derive(Debug, Clone)]
pub(crate) struct Kept {
    pub(crate) path: String,
    pub(crate) kind: ManifestKind,
    pub(crate) content: Vec<u8>,
}

/// What the collector is keeping from the current member.
#[derive(Debug)]
enum Current {
    Manifest(ManifestKind, Vec<u8>),
    Licence(Vec<u8>),
}

/// Collects manifests and the root LICENSE during the archive walk.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    current: Option<Current>,
    truncated: bool,
    used: usize,
    pub(crate) manifests: Vec<Kept>,
    /// Manifests not kept whole: (path, why).
    pub(crate) skipped: Vec<(String, String)>,
    /// `(path, content)` of `LICENSE`/`LICENSE.txt` at the top of the tree (root dir or beside it).
    pub(crate) root_licence: Option<(String, Vec<u8>)>,
}

fn is_root_licence(path: &str) -> bool {
    let segments = path.split('/').count();
    let name = path.rsplit('/').next().unwrap_or(path);
    segments <= 2 && matches!(name, "LICENSE" | "LICENSE.txt" | "LICENCE" | "LICENSE.md")
}

impl Visitor for Collector {
    fn member(&mut self, m: &MemberInfo) -> bool {
        self.current = None;
        self.truncated = false;
        if let Some(kind) = ManifestKind::of_member(&m.path) {
            if m.size as usize > MANIFEST_CAP {
                self.skipped.push((m.path.clone(), format!("larger than {} MiB", MANIFEST_CAP >> 20)));
                return false;
            }
            if self.used.saturating_add(m.size as usize) > MANIFEST_BUDGET {
                self.skipped.push((
                    m.path.clone(),
                    format!("the manifests of the archive exceed {} MiB together", MANIFEST_BUDGET >> 20),
                ));
                return false;
            }
            self.current = Some(Current::Manifest(kind, Vec::with_capacity(m.size as usize)));
            return true;
        }
        if self.root_licence.is_none() && is_root_licence(&m.path) {
            self.current = Some(Current::Licence(Vec::new()));
            return true;
        }
        false
    }

    fn data(&mut self, chunk: &[u8]) {
        let (buf, cap) = match &mut self.current {
            Some(Current::Manifest(_, buf)) => (buf, MANIFEST_CAP),
            Some(Current::Licence(buf)) => (buf, LICENCE_CAP),
            None => return,
        };
        let room = cap.saturating_sub(buf.len());
        if chunk.len() > room {
            self.truncated = true;
        }
        let take = room.min(chunk.len());
        buf.extend_from_slice(&chunk[..take]);
        self.used += take;
    }

    fn member_end(&mut self, m: &MemberInfo) {
        match self.current.take() {
            Some(Current::Manifest(kind, content)) if !self.truncated => {
                self.manifests.push(Kept { path: m.path.clone(), kind, content })
            }
            Some(Current::Manifest(..)) => {
                self.skipped.push((m.path.clone(), format!("larger than {} MiB", MANIFEST_CAP >> 20)))
            }
            Some(Current::Licence(content)) => self.root_licence = Some((m.path.clone(), content)),
            None => {}
        }
    }
}

/// Digests of the artifact's own (compressed) bytes, as the SBOM gives them: at least one.
///
/// One strong digest ties an SBOM to its artifact. Digests the caller already has (the SHA-512
/// or SHA-256 that the checksum check of the same file computed) are used as they are and
/// nothing is hashed in the pass ([`super::SbomRequest::with_known_sha512`]); otherwise the pass
/// computes the SHA-256, which costs a third of a SHA-512 where the CPU has SHA instructions (as
/// x86-64 and ARMv8 servers do). No other digest is computed: each one costs CPU here and again
/// in every check of the SBOM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactHashes {
    /// SHA-512, lower-case hex, when the caller supplied it.
    pub sha512: Option<String>,
    /// SHA-256, lower-case hex: supplied, or computed when no digest was supplied.
    pub sha256: Option<String>,
    /// Size in bytes.
    pub size: u64,
}

/// The digest computed in the pass.
type Digests = sha2::Sha256;

/// Bytes handed to the hashing thread at a time.
const BATCH: usize = 1 << 20;
/// Batches in flight before the walk waits for the hashing thread.
const IN_FLIGHT: usize = 4;

/// The running digests of a file read from its start.
///
/// The digests are computed on a thread of their own, fed in [`BATCH`]-sized copies of what the
/// walk reads, so hashing the compressed bytes overlaps the decompression instead of adding to it
/// (if no thread can be started, they are computed inline).
#[derive(Debug, Default)]
pub(crate) struct HashState {
    /// Bytes read but not yet handed over.
    pending: Vec<u8>,
    /// The hashing thread, once started: where to send batches and what it returns.
    worker: Option<(SyncSender<Vec<u8>>, JoinHandle<Digests>)>,
    /// Digests computed inline (no thread could be started).
    inline: Option<Digests>,
    /// Bytes `0..hashed` went into the digests.
    hashed: u64,
    /// A read skipped bytes (random access, as for zip): the digests must be made afresh.
    gap: bool,
}

impl HashState {
    fn update(&mut self, bytes: &[u8]) {
        self.hashed += bytes.len() as u64;
        if let Some(d) = &mut self.inline {
            d.update(bytes);
            return;
        }
        if self.pending.capacity() == 0 {
            self.pending.reserve_exact(BATCH);
        }
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= BATCH {
            self.hand_over();
        }
    }

    /// Sends the pending bytes to the hashing thread, starting it first if need be.
    fn hand_over(&mut self) {
        let batch = std::mem::take(&mut self.pending);
        if batch.is_empty() {
            return;
        }
        if self.worker.is_none() && self.inline.is_none() {
            let (tx, rx) = sync_channel::<Vec<u8>>(IN_FLIGHT);
            let spawned = std::thread::Builder::new().name("sbom-hash".into()).spawn(move || {
                let mut d = Digests::default();
                for b in rx {
                    d.update(&b);
                }
                d
            });
            match spawned {
                Ok(handle) => self.worker = Some((tx, handle)),
                Err(_) => self.inline = Some(Digests::default()),
            }
        }
        if let Some(d) = &mut self.inline {
            d.update(&batch);
        } else if let Some((tx, _)) = &self.worker
            && let Err(returned) = tx.send(batch)
        {
            // The thread is gone (it cannot fail short of a panic): `finish` reports it.
            drop(returned);
        }
    }

    /// The digests of everything hashed so far.
    fn digests(mut self) -> io::Result<Digests> {
        if let Some(mut d) = self.inline.take() {
            d.update(&self.pending);
            return Ok(d);
        }
        let Some((tx, handle)) = self.worker.take() else {
            let mut d = Digests::default();
            d.update(&self.pending);
            return Ok(d);
        };
        let tail = std::mem::take(&mut self.pending);
        let sent = tail.is_empty() || tx.send(tail).is_ok();
        drop(tx);
        match handle.join() {
            Ok(d) if sent => Ok(d),
            _ => Err(io::Error::other("the hashing thread stopped before the end of the file")),
        }
    }

    /// Completes the digest, reading from `file` whatever the walk did not read in order
    /// (the tail after a tar's end marker; the whole file after a zip's random access), and
    /// returns the SHA-256 (lower-case hex) and the size of the file.
    pub(crate) fn finish<F: Read + Seek>(mut self, mut file: F) -> io::Result<(String, u64)> {
        if self.gap {
            self = HashState::default();
        }
        file.seek(SeekFrom::Start(self.hashed))?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => self.update(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let size = self.hashed;
        let d = self.digests()?;
        Ok((hex(&d.finalize()), size))
    }
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A reader that feeds the bytes it reads in file order into a [`HashState`], so the archive is
/// read from disk once for both the walk and the artifact's digests.
#[derive(Debug)]
pub(crate) struct HashingReader<'s, R> {
    inner: R,
    pos: u64,
    state: &'s mut HashState,
}

impl<'s, R> HashingReader<'s, R> {
    pub(crate) fn new(inner: R, state: &'s mut HashState) -> Self {
        HashingReader { inner, pos: 0, state }
    }
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let (start, end) = (self.pos, self.pos + n as u64);
        let st = &mut *self.state;
        if !st.gap {
            if start > st.hashed {
                st.gap = true;
            } else if end > st.hashed {
                let skip = (st.hashed - start) as usize;
                st.update(&buf[skip..n]);
            }
        }
        self.pos = end;
        Ok(n)
    }
}

impl<R: Seek> Seek for HashingReader<'_, R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = self.inner.seek(to)?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_in_order_and_after_random_access() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let expected = HashState::default().finish(io::Cursor::new(&data)).unwrap();
        // In order, with a re-read of the head (as the sniffing does).
        let mut st = HashState::default();
        {
            let mut r = HashingReader::new(io::Cursor::new(&data), &mut st);
            let mut head = [0u8; 100];
            r.read_exact(&mut head).unwrap();
            r.seek(SeekFrom::Start(0)).unwrap();
            let mut half = vec![0u8; 60_000];
            r.read_exact(&mut half).unwrap();
        }
        assert_eq!(st.finish(io::Cursor::new(&data)).unwrap(), expected);
        // Random access: starts again.
        let mut st = HashState::default();
        {
            let mut r = HashingReader::new(io::Cursor::new(&data), &mut st);
            r.seek(SeekFrom::Start(90_000)).unwrap();
            let mut tail = vec![0u8; 10_000];
            r.read_exact(&mut tail).unwrap();
        }
        assert_eq!(st.finish(io::Cursor::new(&data)).unwrap(), expected);
        assert_eq!(expected.1, 100_000);
        assert_eq!(expected.0, hex(&sha2::Sha256::digest(&data)));
    }

    #[test]
    fn hashes_many_batches_on_the_hashing_thread() {
        let data: Vec<u8> =
            (0..(3 * BATCH + 12_345) as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
        let mut st = HashState::default();
        {
            let mut r = HashingReader::new(io::Cursor::new(&data), &mut st);
            let mut part = vec![0u8; 2 * BATCH + 7];
            r.read_exact(&mut part).unwrap();
        }
        assert!(st.worker.is_some(), "whole batches went to the hashing thread");
        let (sha256, size) = st.finish(io::Cursor::new(&data)).unwrap();
        assert_eq!(sha256, hex(&sha2::Sha256::digest(&data)));
        assert_eq!(size, data.len() as u64);
    }
}
