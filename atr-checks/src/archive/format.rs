//! Archive formats: what a file name promises and what its first bytes are.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An archive format the walker reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArchiveFormat {
    /// A tar stream compressed with gzip (`.tar.gz`, `.tgz`).
    TarGz,
    /// A tar stream compressed with bzip2 (`.tar.bz2`).
    TarBz2,
    /// A tar stream compressed with xz (`.tar.xz`).
    TarXz,
    /// An uncompressed tar stream (`.tar`).
    Tar,
    /// A zip archive, or a zip-based artifact (`.zip`, `.jar`, `.war`, `.whl`, …).
    Zip,
}

/// Extensions of zip-based artifacts other than `.zip` (LICENSE/NOTICE live in format-specific places).
const ZIP_ARTIFACT_EXTENSIONS: [&str; 14] =
    ["jar", "war", "ear", "whl", "nar", "aar", "apk", "nbm", "vsix", "nupkg", "snupkg", "egg", "hpi", "sar"];

impl ArchiveFormat {
    /// The format a file name promises, and the name without its archive extension.
    ///
    /// `apache-foo-1.0-src.tar.gz` → (`TarGz`, `apache-foo-1.0-src`). `None` for names that are not archives.
    pub fn from_name(name: &str) -> Option<(ArchiveFormat, &str)> {
        let lower = name.to_ascii_lowercase();
        let table: [(&str, ArchiveFormat); 6] = [
            (".tar.gz", ArchiveFormat::TarGz),
            (".tgz", ArchiveFormat::TarGz),
            (".tar.bz2", ArchiveFormat::TarBz2),
            (".tar.xz", ArchiveFormat::TarXz),
            (".tar", ArchiveFormat::Tar),
            (".zip", ArchiveFormat::Zip),
        ];
        for (ext, fmt) in table {
            if lower.ends_with(ext) && lower.len() > ext.len() {
                return Some((fmt, &name[..name.len() - ext.len()]));
            }
        }
        let (stem, ext) = lower.rsplit_once('.')?;
        if !stem.is_empty() && ZIP_ARTIFACT_EXTENSIONS.contains(&ext) {
            return Some((ArchiveFormat::Zip, &name[..stem.len()]));
        }
        None
    }

    /// Whether the name is a zip-based artifact other than a plain `.zip` (`.jar`, `.whl`, …).
    pub fn is_zip_artifact_name(name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        lower.rsplit_once('.').is_some_and(|(_, ext)| ZIP_ARTIFACT_EXTENSIONS.contains(&ext))
    }

    /// The container the content must start with.
    pub fn container(self) -> Container {
        match self {
            ArchiveFormat::TarGz => Container::Gzip,
            ArchiveFormat::TarBz2 => Container::Bzip2,
            ArchiveFormat::TarXz => Container::Xz,
            ArchiveFormat::Tar => Container::Tar,
            ArchiveFormat::Zip => Container::Zip,
        }
    }

    /// The archive format of a container (compressed containers are assumed to hold tar).
    pub fn of_container(c: Container) -> Option<ArchiveFormat> {
        match c {
            Container::Gzip => Some(ArchiveFormat::TarGz),
            Container::Bzip2 => Some(ArchiveFormat::TarBz2),
            Container::Xz => Some(ArchiveFormat::TarXz),
            Container::Tar => Some(ArchiveFormat::Tar),
            Container::Zip => Some(ArchiveFormat::Zip),
            Container::Unknown => None,
        }
    }

    /// Whether the format is tar-based.
    pub fn is_tar(self) -> bool {
        !matches!(self, ArchiveFormat::Zip)
    }

    /// The usual extension (`.tar.gz`, `.zip`, …).
    pub fn extension(self) -> &'static str {
        match self {
            ArchiveFormat::TarGz => ".tar.gz",
            ArchiveFormat::TarBz2 => ".tar.bz2",
            ArchiveFormat::TarXz => ".tar.xz",
            ArchiveFormat::Tar => ".tar",
            ArchiveFormat::Zip => ".zip",
        }
    }
}

impl fmt::Display for ArchiveFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ArchiveFormat::TarGz => "tar.gz",
            ArchiveFormat::TarBz2 => "tar.bz2",
            ArchiveFormat::TarXz => "tar.xz",
            ArchiveFormat::Tar => "tar",
            ArchiveFormat::Zip => "zip",
        })
    }
}

/// What the first bytes of a file say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Container {
    /// gzip (`1f 8b`).
    Gzip,
    /// bzip2 (`BZh`).
    Bzip2,
    /// xz (`fd 37 7a 58 5a 00`).
    Xz,
    /// zip (`PK\x03\x04`, or `PK\x05\x06` for an empty archive).
    Zip,
    /// tar (`ustar` at offset 257, or a valid old-style header checksum).
    Tar,
    /// None of the above.
    Unknown,
}

impl Container {
    /// Bytes needed by [`Container::sniff`].
    pub const SNIFF_LEN: usize = 512;

    /// Detects the container from the first bytes of a file (up to [`Container::SNIFF_LEN`]).
    pub fn sniff(head: &[u8]) -> Container {
        if head.starts_with(&[0x1f, 0x8b]) {
            Container::Gzip
        } else if head.starts_with(b"BZh") {
            Container::Bzip2
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Container::Xz
        } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            Container::Zip
        } else if head.len() >= 512 && (head[257..262] == *b"ustar" || tar_checksum_ok(&head[..512])) {
            Container::Tar
        } else {
            Container::Unknown
        }
    }
}

impl fmt::Display for Container {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Container::Gzip => "gzip",
            Container::Bzip2 => "bzip2",
            Container::Xz => "xz",
            Container::Zip => "zip",
            Container::Tar => "tar",
            Container::Unknown => "unrecognised",
        })
    }
}

/// Whether a 512-byte block is an old-style tar header with a valid checksum.
fn tar_checksum_ok(block: &[u8]) -> bool {
    if block.iter().all(|b| *b == 0) {
        return false;
    }
    let field = &block[148..156];
    let digits: String =
        field.iter().map(|b| *b as char).filter(|c| c.is_ascii_digit() && *c != '8' && *c != '9').collect();
    let Ok(expected) = u32::from_str_radix(&digits, 8) else { return false };
    let sum: u32 =
        block.iter().enumerate().map(|(i, b)| if (148..156).contains(&i) { 32 } else { u32::from(*b) }).sum();
    sum == expected
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_formats_and_stems() {
        assert_eq!(
            ArchiveFormat::from_name("apache-foo-1.0-src.tar.gz"),
            Some((ArchiveFormat::TarGz, "apache-foo-1.0-src"))
        );
        assert_eq!(ArchiveFormat::from_name("foo-1.0.TGZ"), Some((ArchiveFormat::TarGz, "foo-1.0")));
        assert_eq!(ArchiveFormat::from_name("foo.tar.bz2"), Some((ArchiveFormat::TarBz2, "foo")));
        assert_eq!(ArchiveFormat::from_name("foo.tar.xz"), Some((ArchiveFormat::TarXz, "foo")));
        assert_eq!(ArchiveFormat::from_name("foo.tar"), Some((ArchiveFormat::Tar, "foo")));
        assert_eq!(ArchiveFormat::from_name("foo-1.0.jar"), Some((ArchiveFormat::Zip, "foo-1.0")));
        assert_eq!(
            ArchiveFormat::from_name("foo-1.0-py3-none-any.whl"),
            Some((ArchiveFormat::Zip, "foo-1.0-py3-none-any"))
        );
        assert_eq!(ArchiveFormat::from_name("foo.tar.gz.asc"), None);
        assert_eq!(ArchiveFormat::from_name(".tar.gz"), None);
        assert!(ArchiveFormat::is_zip_artifact_name("x.jar"));
        assert!(!ArchiveFormat::is_zip_artifact_name("x.zip"));
    }

    #[test]
    fn magic_bytes() {
        assert_eq!(Container::sniff(&[0x1f, 0x8b, 8]), Container::Gzip);
        assert_eq!(Container::sniff(b"BZh91AY"), Container::Bzip2);
        assert_eq!(Container::sniff(b"PK\x03\x04"), Container::Zip);
        assert_eq!(Container::sniff(b"hello"), Container::Unknown);
        let mut h = tar::Header::new_old();
        h.set_path("a.txt").unwrap();
        h.set_size(0);
        h.set_cksum();
        assert_eq!(Container::sniff(h.as_bytes()), Container::Tar);
        let mut u = tar::Header::new_ustar();
        u.set_path("a.txt").unwrap();
        u.set_cksum();
        assert_eq!(Container::sniff(u.as_bytes()), Container::Tar);
    }
}
