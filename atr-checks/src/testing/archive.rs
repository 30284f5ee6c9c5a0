//! `ArchiveBuilder`: real tar/tar.gz/tar.bz2/tar.xz/zip archives in memory, including every hostile
//! form the archive checks must refuse (traversal, absolute paths, links out of the tree, hard links,
//! devices, non-UTF-8 names, bombs, truncation). Reusable by fuzz targets and other crates.
//!
//! ```
//! use atr_checks::archive::ArchiveFormat;
//! use atr_checks::testing::archive::ArchiveBuilder;
//! let bytes = ArchiveBuilder::source_release(ArchiveFormat::TarGz, "apache-foo-1.0")
//!     .file("apache-foo-1.0/../../evil", "x")
//!     .build();
//! assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
//! ```

use std::io::{Cursor, Write};

use crate::archive::ArchiveFormat;
use crate::licence::APACHE_LICENSE_2_0;

/// The ASF source header as a Java block comment.
pub const ASF_HEADER_JAVA: &str = "/*\n * Licensed to the Apache Software Foundation (ASF) under one or more\n * contributor license agreements.  See the NOTICE file distributed with\n * this work for additional information regarding copyright ownership.\n * The ASF licenses this file to You under the Apache License, Version 2.0\n * (the \"License\"); you may not use this file except in compliance with\n * the License.  You may obtain a copy of the License at\n *\n *      https://www.apache.org/licenses/LICENSE-2.0\n *\n * Unless required by applicable law or agreed to in writing, software\n * distributed under the License is distributed on an \"AS IS\" BASIS,\n * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.\n * See the License for the specific language governing permissions and\n * limitations under the License.\n */\n";

/// A GPL-2.0 header as found in GPL-licensed C files.
pub const GPL_HEADER_C: &str = "/*\n * This program is free software; you can redistribute it and/or modify\n * it under the terms of the GNU General Public License as published by\n * the Free Software Foundation; either version 2 of the License, or\n * (at your option) any later version.\n */\n";

/// A minimal valid NOTICE for `product`.
pub fn notice(product: &str) -> String {
    format!(
        "{product}\nCopyright 2024-2025 The Apache Software Foundation\n\nThis product includes software developed at\nThe Apache Software Foundation (https://www.apache.org/).\n"
    )
}

/// A Java source file with the ASF header.
pub fn java_source(class: &str) -> String {
    format!("{ASF_HEADER_JAVA}package org.apache.foo;\n\npublic class {class} {{}}\n")
}

/// A 64-bit ELF header followed by padding: compiled code for binary-in-source tests.
pub fn elf_bytes() -> Vec<u8> {
    let mut v = b"\x7fELF\x02\x01\x01\0".to_vec();
    v.resize(256, 0);
    v
}

#[derive(Debug, Clone)]
enum Entry {
    File { name: Vec<u8>, data: Vec<u8>, mode: u32 },
    Dir { name: Vec<u8> },
    Symlink { name: Vec<u8>, target: Vec<u8> },
    HardLink { name: Vec<u8>, target: Vec<u8> },
    CharDevice { name: Vec<u8> },
    Fifo { name: Vec<u8> },
    Pax { records: Vec<(String, String)> },
}

/// Builds archives entry by entry, writing names and links exactly as given (no sanitising).
#[derive(Debug, Clone)]
pub struct ArchiveBuilder {
    format: ArchiveFormat,
    entries: Vec<Entry>,
}

impl ArchiveBuilder {
    /// An empty archive of `format`.
    pub fn new(format: ArchiveFormat) -> Self {
        ArchiveBuilder { format, entries: Vec::new() }
    }

    /// A well-formed source release under `root/`: LICENSE (Apache 2.0), NOTICE, README and an
    /// ASF-headed Java file.
    pub fn source_release(format: ArchiveFormat, root: &str) -> Self {
        ArchiveBuilder::new(format)
            .dir(&format!("{root}/"))
            .file(&format!("{root}/LICENSE"), APACHE_LICENSE_2_0)
            .file(&format!("{root}/NOTICE"), notice("Apache Foo"))
            .file(&format!("{root}/README"), "Apache Foo.\n")
            .file(&format!("{root}/src/main/java/org/apache/foo/Foo.java"), java_source("Foo"))
    }

    /// Adds a regular file (mode 0644).
    pub fn file(self, name: &str, data: impl AsRef<[u8]>) -> Self {
        self.file_raw(name.as_bytes(), data)
    }

    /// Adds a regular file whose name is raw bytes (for non-UTF-8 names).
    pub fn file_raw(mut self, name: &[u8], data: impl AsRef<[u8]>) -> Self {
        self.entries.push(Entry::File { name: name.to_vec(), data: data.as_ref().to_vec(), mode: 0o644 });
        self
    }

    /// Adds an executable file (mode 0755).
    pub fn executable(mut self, name: &str, data: impl AsRef<[u8]>) -> Self {
        self.entries.push(Entry::File {
            name: name.as_bytes().to_vec(),
            data: data.as_ref().to_vec(),
            mode: 0o755,
        });
        self
    }

    /// Adds a directory entry.
    pub fn dir(mut self, name: &str) -> Self {
        self.entries.push(Entry::Dir { name: name.as_bytes().to_vec() });
        self
    }

    /// Adds a symbolic link.
    pub fn symlink(mut self, name: &str, target: &str) -> Self {
        self.entries
            .push(Entry::Symlink { name: name.as_bytes().to_vec(), target: target.as_bytes().to_vec() });
        self
    }

    /// Adds a hard link (tar only; ignored for zip, which has none).
    pub fn hard_link(mut self, name: &str, target: &str) -> Self {
        self.entries
            .push(Entry::HardLink { name: name.as_bytes().to_vec(), target: target.as_bytes().to_vec() });
        self
    }

    /// Adds a character device (tar: a device entry; zip: an entry whose Unix mode says character device).
    pub fn char_device(mut self, name: &str) -> Self {
        self.entries.push(Entry::CharDevice { name: name.as_bytes().to_vec() });
        self
    }

    /// Adds a FIFO.
    pub fn fifo(mut self, name: &str) -> Self {
        self.entries.push(Entry::Fifo { name: name.as_bytes().to_vec() });
        self
    }

    /// Adds a pax extended header (`x`) with `records` that applies to the next entry (tar only).
    pub fn pax(mut self, records: &[(&str, &str)]) -> Self {
        let records = records.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.entries.push(Entry::Pax { records });
        self
    }

    /// The archive bytes.
    pub fn build(&self) -> Vec<u8> {
        match self.format {
            ArchiveFormat::Zip => self.build_zip(),
            other => compress(other, &self.build_tar()),
        }
    }

    /// The uncompressed tar stream.
    pub fn build_tar(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for e in &self.entries {
            match e {
                Entry::File { name, data, mode } => tar_entry(&mut out, name, b'0', data, *mode, None),
                Entry::Dir { name } => tar_entry(&mut out, name, b'5', &[], 0o755, None),
                Entry::Symlink { name, target } => tar_entry(&mut out, name, b'2', &[], 0o777, Some(target)),
                Entry::HardLink { name, target } => tar_entry(&mut out, name, b'1', &[], 0o644, Some(target)),
                Entry::CharDevice { name } => tar_entry(&mut out, name, b'3', &[], 0o644, None),
                Entry::Fifo { name } => tar_entry(&mut out, name, b'6', &[], 0o644, None),
                Entry::Pax { records } => {
                    let mut data = Vec::new();
                    for (k, v) in records {
                        let body = format!(" {k}={v}\n");
                        let mut len = body.len() + 1;
                        while format!("{len}{body}").len() != len {
                            len += 1;
                        }
                        data.extend_from_slice(format!("{len}{body}").as_bytes());
                    }
                    tar_entry(&mut out, b"PaxHeaders/x", b'x', &data, 0o644, None);
                }
            }
        }
        out.extend_from_slice(&[0u8; 1024]);
        out
    }

    fn build_zip(&self) -> Vec<u8> {
        use zip::write::SimpleFileOptions;
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for e in &self.entries {
            match e {
                Entry::File { name, data, mode } => {
                    w.start_file(String::from_utf8_lossy(name), opts.unix_permissions(*mode))
                        .expect("zip file");
                    w.write_all(data).expect("zip write");
                }
                Entry::Dir { name } => {
                    w.add_directory(String::from_utf8_lossy(name), opts).expect("zip dir");
                }
                Entry::Symlink { name, target } => {
                    w.add_symlink(String::from_utf8_lossy(name), String::from_utf8_lossy(target), opts)
                        .expect("zip symlink");
                }
                Entry::HardLink { .. } | Entry::Pax { .. } => {}
                Entry::CharDevice { name } | Entry::Fifo { name } => {
                    let kind = if matches!(e, Entry::Fifo { .. }) { 0o010_644 } else { 0o020_644 };
                    w.start_file(String::from_utf8_lossy(name), opts.unix_permissions(kind))
                        .expect("zip special");
                }
            }
        }
        let mut bytes = w.finish().expect("zip finish").into_inner();
        // The zip writer only stores permission bits; write the file type of special entries into the
        // central directory ("made by" Unix, external attributes = mode << 16) by hand.
        for e in &self.entries {
            let (name, mode) = match e {
                Entry::CharDevice { name } => (name, 0o020_644u32),
                Entry::Fifo { name } => (name, 0o010_644u32),
                _ => continue,
            };
            set_zip_unix_mode(&mut bytes, name, mode);
        }
        bytes
    }
}

fn set_zip_unix_mode(bytes: &mut [u8], name: &[u8], mode: u32) {
    let mut i = 0;
    while i + 46 <= bytes.len() {
        if &bytes[i..i + 4] == b"PK\x01\x02" {
            let name_len = u16::from_le_bytes([bytes[i + 28], bytes[i + 29]]) as usize;
            if bytes.get(i + 46..i + 46 + name_len) == Some(name) {
                bytes[i + 5] = 3;
                bytes[i + 38..i + 42].copy_from_slice(&(mode << 16).to_le_bytes());
                return;
            }
        }
        i += 1;
    }
}

fn tar_entry(out: &mut Vec<u8>, name: &[u8], typeflag: u8, data: &[u8], mode: u32, link: Option<&[u8]>) {
    if name.len() > 100 {
        let mut long = name.to_vec();
        long.push(0);
        tar_entry(out, b"././@LongLink", b'L', &long, 0o644, None);
    }
    let mut h = tar::Header::new_gnu();
    {
        let gnu = h.as_gnu_mut().expect("gnu header");
        let n = name.len().min(100);
        gnu.name[..n].copy_from_slice(&name[..n]);
        if let Some(l) = link {
            let n = l.len().min(100);
            gnu.linkname[..n].copy_from_slice(&l[..n]);
        }
    }
    h.set_mode(mode);
    h.set_size(data.len() as u64);
    h.set_mtime(1_735_689_600);
    h.set_entry_type(tar::EntryType::new(typeflag));
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    let pad = (512 - data.len() % 512) % 512;
    out.extend(std::iter::repeat_n(0u8, pad));
}

/// Compresses a tar stream for a tar-based format.
pub fn compress(format: ArchiveFormat, tar: &[u8]) -> Vec<u8> {
    match format {
        ArchiveFormat::TarGz => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(tar).expect("gzip");
            e.finish().expect("gzip")
        }
        ArchiveFormat::TarBz2 => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            e.write_all(tar).expect("bzip2");
            e.finish().expect("bzip2")
        }
        ArchiveFormat::TarXz => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
            e.write_all(tar).expect("xz");
            e.finish().expect("xz")
        }
        ArchiveFormat::Tar | ArchiveFormat::Zip => tar.to_vec(),
    }
}

/// A `.tar.gz` holding `root/zeros` with `uncompressed` zero bytes, streamed so the bomb is never in memory.
pub fn gzip_bomb(root: &str, uncompressed: u64) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut h = tar::Header::new_gnu();
    h.set_path(format!("{root}/zeros")).expect("path");
    h.set_size(uncompressed);
    h.set_mode(0o644);
    h.set_cksum();
    e.write_all(h.as_bytes()).expect("gzip");
    let zeros = vec![0u8; 1 << 20];
    let mut left = uncompressed;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        e.write_all(&zeros[..n]).expect("gzip");
        left -= n as u64;
    }
    e.write_all(&[0u8; 1024]).expect("gzip");
    e.finish().expect("gzip")
}

/// A `.zip` holding `root/zeros` with `uncompressed` zero bytes, deflated.
pub fn zip_bomb(root: &str, uncompressed: u64) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9))
        .large_file(uncompressed >= u64::from(u32::MAX));
    w.start_file(format!("{root}/zeros"), opts).expect("zip");
    let zeros = vec![0u8; 1 << 20];
    let mut left = uncompressed;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        w.write_all(&zeros[..n]).expect("zip");
        left -= n as u64;
    }
    w.finish().expect("zip").into_inner()
}

/// The first `keep` bytes of an archive (a truncated download).
pub fn truncated(bytes: &[u8], keep: usize) -> Vec<u8> {
    bytes[..keep.min(bytes.len())].to_vec()
}
