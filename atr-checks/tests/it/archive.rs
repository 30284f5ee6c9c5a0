//! Archive checks: every hostile case of the `ArchiveBuilder` and every rule (the real releases of
//! the dev corpus are in `corpus.rs`).

use std::io::Cursor;

use atr_checks::archive::{
    ArchiveCheckContext, ArchiveFormat, ArchiveLimits, ArchiveReport, ArchiveRole, MemberKind, check_archive,
    check_archive_reader, parity,
};
use atr_checks::licence::{APACHE_LICENSE_2_0, MemberLicence};
use atr_checks::testing::archive::{
    ArchiveBuilder, GPL_HEADER_C, elf_bytes, gzip_bomb, java_source, notice, truncated, zip_bomb,
};
use atr_core::check::{CheckResult, CheckStatus, CheckerId};

use crate::support::find;
use atr_core::path::RelPath;

const ALL_FORMATS: [ArchiveFormat; 5] = [
    ArchiveFormat::TarGz,
    ArchiveFormat::TarBz2,
    ArchiveFormat::TarXz,
    ArchiveFormat::Tar,
    ArchiveFormat::Zip,
];

fn run_ctx(name: &str, bytes: Vec<u8>, ctx: &ArchiveCheckContext) -> ArchiveReport {
    check_archive_reader(Cursor::new(bytes), &RelPath::new(name).unwrap(), ctx)
}

fn run(name: &str, bytes: Vec<u8>) -> ArchiveReport {
    run_ctx(name, bytes, &ArchiveCheckContext::new(ArchiveRole::Source))
}

fn name_for(stem: &str, f: ArchiveFormat) -> String {
    format!("{stem}{}", f.extension())
}

/// Results at or above `Suggestion` severity other than notes, as "status checker: message" lines.
fn problems(r: &ArchiveReport) -> Vec<&CheckResult> {
    r.results.iter().filter(|c| c.status != CheckStatus::Note).collect()
}

#[test]
fn a_clean_source_release_passes_in_every_format() {
    for f in ALL_FORMATS {
        let bytes = ArchiveBuilder::source_release(f, "apache-foo-1.0").build();
        let r = run(&name_for("apache-foo-1.0-src", f), bytes);
        assert!(problems(&r).is_empty(), "{f}: {:#?}", problems(&r));
        assert!(r.complete && r.tree_hash.is_some(), "{f}");
        assert_eq!(r.format, Some(f));
        find(&r, CheckStatus::Note, "Read all");
        find(&r, CheckStatus::Note, "exactly one root directory, `apache-foo-1.0`");
        find(&r, CheckStatus::Note, "starts with the full Apache License 2.0 text");
        find(&r, CheckStatus::Note, "has the product line");
        find(&r, CheckStatus::Note, "all files have approved licences");
        let java = r.listing.iter().find(|m| m.path.ends_with("Foo.java")).unwrap();
        assert_eq!(
            (java.kind, java.size, java.mode & 0o777),
            (MemberKind::File, java_source("Foo").len() as u64, 0o644)
        );
        assert_eq!(java.blake3, Some(*blake3::hash(java_source("Foo").as_bytes()).as_bytes()));
        let checker =
            if f == ArchiveFormat::Zip { CheckerId::ZIP_INTEGRITY } else { CheckerId::TARGZ_INTEGRITY };
        assert!(r.by_checker(checker).count() == 1, "{f}");
    }
}

#[test]
fn the_report_is_json_with_listing_and_tree_hash() {
    let r = run(
        "apache-foo-1.0.tar.gz",
        ArchiveBuilder::source_release(ArchiveFormat::TarGz, "apache-foo-1.0").build(),
    );
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["format"], "tar-gz");
    assert_eq!(v["tree_hash"].as_str().unwrap().len(), 64);
    assert_eq!(v["listing"][1]["path"], "apache-foo-1.0/LICENSE");
    assert_eq!(v["listing"][1]["kind"], "file");
    assert_eq!(v["licence_counts"]["Apache-2.0"], 1);
}

#[test]
fn path_traversal_is_a_blocker_naming_the_member() {
    for f in ALL_FORMATS {
        let bytes = ArchiveBuilder::source_release(f, "apache-foo-1.0")
            .file("apache-foo-1.0/../../evil.sh", "rm -rf /")
            .build();
        let r = run(&name_for("apache-foo-1.0", f), bytes);
        let b = find(&r, CheckStatus::Blocker, "path traversal");
        assert_eq!(b.member_rel_path.as_deref(), Some("apache-foo-1.0/../../evil.sh"), "{f}");
        // The walk goes on: the rest of the archive is still checked and listed.
        assert!(r.complete, "{f}");
        assert_eq!(r.listing.len(), 6, "{f}");
        // A refused member is never handed to the checkers.
        assert!(r.licences.iter().all(|(p, _)| !p.contains("..")), "{f}");
    }
}

#[test]
fn absolute_paths_are_blockers() {
    for f in [ArchiveFormat::TarGz, ArchiveFormat::Zip] {
        let r = run(
            &name_for("apache-foo-1.0", f),
            ArchiveBuilder::source_release(f, "apache-foo-1.0").file("/etc/cron.d/x", "x").build(),
        );
        let b = find(&r, CheckStatus::Blocker, "absolute path");
        assert_eq!(b.member_rel_path.as_deref(), Some("etc/cron.d/x"), "{f}");
    }
}

#[test]
fn symlinks_out_of_the_tree_are_blockers_and_inside_are_fine() {
    for f in [ArchiveFormat::TarGz, ArchiveFormat::Zip] {
        let bytes = ArchiveBuilder::source_release(f, "apache-foo-1.0")
            .symlink("apache-foo-1.0/passwd", "../../etc/passwd")
            .symlink("apache-foo-1.0/abs", "/etc/shadow")
            .symlink("apache-foo-1.0/README.link", "README")
            .build();
        let r = run(&name_for("apache-foo-1.0", f), bytes);
        let blockers: Vec<_> = r.results.iter().filter(|c| c.status == CheckStatus::Blocker).collect();
        assert_eq!(blockers.len(), 2, "{f}: {blockers:#?}");
        assert!(blockers.iter().all(|b| b.message.contains("points outside the archive")), "{f}");
        let inside = r.listing.iter().find(|m| m.path == "apache-foo-1.0/README.link").unwrap();
        assert_eq!(
            (inside.kind, inside.link_target.as_deref()),
            (MemberKind::Symlink, Some("README")),
            "{f}"
        );
    }
}

#[test]
fn hard_links_devices_and_fifos_are_blockers() {
    let bytes = ArchiveBuilder::source_release(ArchiveFormat::TarGz, "apache-foo-1.0")
        .hard_link("apache-foo-1.0/hl", "/etc/passwd")
        .hard_link("apache-foo-1.0/hl2", "apache-foo-1.0/README")
        .char_device("apache-foo-1.0/tty")
        .fifo("apache-foo-1.0/pipe")
        .build();
    let r = run("apache-foo-1.0.tar.gz", bytes);
    assert_eq!(
        find(&r, CheckStatus::Blocker, "hard link to `/etc/passwd`").member_rel_path.as_deref(),
        Some("apache-foo-1.0/hl")
    );
    find(&r, CheckStatus::Blocker, "hard link to `apache-foo-1.0/README`");
    find(&r, CheckStatus::Blocker, "is a character device");
    find(&r, CheckStatus::Blocker, "is a FIFO");
    let zr = run(
        "apache-foo-1.0.zip",
        ArchiveBuilder::source_release(ArchiveFormat::Zip, "apache-foo-1.0")
            .char_device("apache-foo-1.0/tty")
            .fifo("apache-foo-1.0/p")
            .build(),
    );
    assert_eq!(
        find(&zr, CheckStatus::Blocker, "is a character device").member_rel_path.as_deref(),
        Some("apache-foo-1.0/tty")
    );
    find(&zr, CheckStatus::Blocker, "is a FIFO");
}

#[test]
fn non_utf8_and_control_character_names_are_blockers() {
    let bytes = ArchiveBuilder::source_release(ArchiveFormat::Tar, "apache-foo-1.0")
        .file_raw(b"apache-foo-1.0/caf\xe9.txt", "x")
        .file("apache-foo-1.0/a\nb", "x")
        .build();
    let r = run("apache-foo-1.0.tar", bytes);
    assert_eq!(
        find(&r, CheckStatus::Blocker, "not valid UTF-8").member_rel_path.as_deref(),
        Some("apache-foo-1.0/caf\u{fffd}.txt")
    );
    find(&r, CheckStatus::Blocker, "control character");
}

#[test]
fn pax_headers_name_members_and_must_agree_on_sizes() {
    let long = format!("apache-foo-1.0/{}/Long.java", "deep".repeat(40));
    let ok = ArchiveBuilder::source_release(ArchiveFormat::Tar, "apache-foo-1.0")
        .pax(&[("path", long.as_str()), ("size", "5")])
        .file("apache-foo-1.0/short-name", "hello")
        .build();
    let r = run("apache-foo-1.0.tar", ok);
    assert!(r.complete, "{:#?}", r.results);
    assert!(r.listing.iter().any(|m| m.path == long && m.size == 5));
    let lying = ArchiveBuilder::source_release(ArchiveFormat::Tar, "apache-foo-1.0")
        .pax(&[("size", "999999")])
        .file("apache-foo-1.0/x", "hello")
        .build();
    let r = run("apache-foo-1.0.tar", lying);
    find(&r, CheckStatus::Blocker, "a pax header gives the next member 999999 bytes but its tar header 5");
}

#[test]
fn duplicate_members_are_blockers() {
    let bytes = ArchiveBuilder::source_release(ArchiveFormat::TarGz, "apache-foo-1.0")
        .file("apache-foo-1.0/README", "other")
        .build();
    let r = run("apache-foo-1.0.tar.gz", bytes);
    find(&r, CheckStatus::Blocker, "appears more than once");
}

#[track_caller]
fn assert_limit(r: &ArchiveReport, field: &str) {
    let b = find(r, CheckStatus::Blocker, &format!("raise `{field}`"));
    assert_eq!(b.data["limit"], field);
    assert!(!r.complete && r.tree_hash.is_none());
}

#[test]
fn gzip_bomb_is_stopped_early_by_the_ratio_limit() {
    let bomb = gzip_bomb("apache-foo-1.0", 256 << 20);
    let len = bomb.len() as u64;
    assert!(len < 1 << 20, "the bomb compresses well ({len} bytes)");
    let r = run("apache-foo-1.0.tar.gz", bomb);
    assert_limit(&r, "max_ratio");
    let b = find(&r, CheckStatus::Blocker, "compression ratio limit of 100:1");
    assert_eq!(b.member_rel_path.as_deref(), Some("apache-foo-1.0/zeros"));
    let read = b.data["uncompressed_bytes_read"].as_u64().unwrap();
    assert!(read <= ArchiveLimits::DEFAULT.ratio_budget(len) + (1 << 20), "stopped after {read} bytes");
    assert!(read < 256 << 20);
}

#[test]
fn zip_bomb_is_stopped_early_by_the_ratio_limit() {
    let bomb = zip_bomb("apache-foo-1.0", 256 << 20);
    let r = run("apache-foo-1.0.zip", bomb);
    assert_limit(&r, "max_ratio");
    assert!(r.uncompressed_bytes < 256 << 20);
}

#[test]
fn each_limit_is_named_with_its_value_and_field() {
    let tree = ArchiveBuilder::source_release(ArchiveFormat::TarGz, "apache-foo-1.0")
        .file("apache-foo-1.0/big.txt", "x".repeat(5000));
    let cases: [(ArchiveLimits, &str); 4] = [
        (ArchiveLimits { max_total_bytes: 8 * 1024, ..ArchiveLimits::DEFAULT }, "max_total_bytes"),
        (ArchiveLimits { max_members: 3, ..ArchiveLimits::DEFAULT }, "max_members"),
        (ArchiveLimits { max_member_bytes: 4096, ..ArchiveLimits::DEFAULT }, "max_member_bytes"),
        (ArchiveLimits { max_ratio: 1, ..ArchiveLimits::DEFAULT }, "max_ratio"),
    ];
    for (limits, field) in cases {
        for f in [ArchiveFormat::TarGz, ArchiveFormat::Zip] {
            let mut b = tree.clone();
            if f == ArchiveFormat::Zip {
                b = ArchiveBuilder::source_release(f, "apache-foo-1.0")
                    .file("apache-foo-1.0/big.txt", "x".repeat(5000));
            }
            let mut limits = limits;
            if field == "max_ratio" {
                // 5000 repeated bytes compress far below the archive size floor; make the floor matter.
                limits.max_ratio = 0;
            }
            let r = run_ctx(
                &name_for("apache-foo-1.0", f),
                b.build(),
                &ArchiveCheckContext::new(ArchiveRole::Source).with_limits(limits),
            );
            assert_limit(&r, field);
            let b = find(&r, CheckStatus::Blocker, &format!("(currently {})", field_value(&limits, field)));
            assert!(b.message.contains("If the archive is legitimate"), "{}", b.message);
        }
    }
}

fn field_value(l: &ArchiveLimits, field: &str) -> u64 {
    match field {
        "max_total_bytes" => l.max_total_bytes,
        "max_members" => l.max_members,
        "max_member_bytes" => l.max_member_bytes,
        "max_ratio" => l.max_ratio,
        _ => l.max_depth,
    }
}

#[test]
fn too_deep_paths_are_blockers() {
    let deep = format!("apache-foo-1.0/{}x.txt", "d/".repeat(40));
    let r = run(
        "apache-foo-1.0.tar.gz",
        ArchiveBuilder::source_release(ArchiveFormat::TarGz, "apache-foo-1.0").file(&deep, "x").build(),
    );
    let b = find(&r, CheckStatus::Blocker, "raise `max_depth`");
    assert_eq!(b.member_rel_path.as_deref(), Some(deep.as_str()));
}

#[test]
fn truncated_streams_are_blockers_naming_where_reading_failed() {
    for f in [
        ArchiveFormat::TarGz,
        ArchiveFormat::TarBz2,
        ArchiveFormat::TarXz,
        ArchiveFormat::Tar,
        ArchiveFormat::Zip,
    ] {
        let big: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let full =
            ArchiveBuilder::source_release(f, "apache-foo-1.0").file("apache-foo-1.0/data.bin", &big).build();
        let cut = truncated(&full, full.len() * 2 / 3);
        let r = run(&name_for("apache-foo-1.0", f), cut);
        let b = r
            .results
            .iter()
            .find(|c| c.status == CheckStatus::Blocker)
            .unwrap_or_else(|| panic!("{f}: {:#?}", r.results));
        assert!(b.message.contains("truncated or corrupt"), "{f}: {}", b.message);
        // What could not be read is not reported missing.
        assert!(
            !r.results
                .iter()
                .any(|c| c.checker == CheckerId::LICENSE_FILES && c.status == CheckStatus::Blocker),
            "{f}: {:#?}",
            r.results
        );
        if f != ArchiveFormat::Zip {
            assert_eq!(b.member_rel_path.as_deref(), Some("apache-foo-1.0/data.bin"), "{f}");
        }
        assert!(!r.complete && r.tree_hash.is_none(), "{f}");
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[test]
fn xz_asking_for_a_huge_dictionary_is_refused_without_allocating_it() {
    let mut xz = ArchiveBuilder::source_release(ArchiveFormat::TarXz, "apache-foo-1.0").build();
    // Block header after the 12-byte stream header: size, flags, LZMA2 filter (0x21), 1 property byte.
    let size = (usize::from(xz[12]) + 1) * 4;
    assert_eq!((xz[13] & 0xC0, xz[14], xz[15]), (0, 0x21, 1), "unexpected xz block header");
    xz[16] = 40; // dictionary of 4 GiB
    let crc = crc32(&xz[12..12 + size - 4]);
    xz[12 + size - 4..12 + size].copy_from_slice(&crc.to_le_bytes());
    let r = run("apache-foo-1.0.tar.xz", xz);
    let b = find(&r, CheckStatus::Blocker, "truncated or corrupt");
    assert!(b.message.to_lowercase().contains("memory"), "{}", b.message);
}

#[test]
fn corrupt_zip_crc_is_a_blocker() {
    let mut bytes =
        ArchiveBuilder::new(ArchiveFormat::Zip).file("apache-foo-1.0/a.txt", "hello hello hello").build();
    // Flip a bit in the stored CRC of the local header and the central directory.
    let crc_pos: Vec<usize> = bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"PK\x03\x04" || *w == b"PK\x01\x02")
        .map(|(i, w)| if w == b"PK\x03\x04" { i + 14 } else { i + 16 })
        .collect();
    for p in crc_pos {
        bytes[p] ^= 1;
    }
    let r = run("apache-foo-1.0.zip", bytes);
    let b = find(&r, CheckStatus::Blocker, "truncated or corrupt");
    assert!(b.message.contains("checksum"), "{}", b.message);
    assert_eq!(b.member_rel_path.as_deref(), Some("apache-foo-1.0/a.txt"));
}

#[test]
fn format_must_match_the_name() {
    let zip = ArchiveBuilder::source_release(ArchiveFormat::Zip, "apache-foo-1.0").build();
    let r = run("apache-foo-1.0.tar.gz", zip);
    let b = find(&r, CheckStatus::Blocker, "named as a tar.gz archive but its content is zip");
    assert!(b.message.contains("(.zip)"));
    assert_eq!(r.format, Some(ArchiveFormat::Zip));
    let text = run("apache-foo-1.0.tar.gz", b"just some text, not an archive at all".to_vec());
    find(&text, CheckStatus::Blocker, "not a recognised archive");
    let xz_as_bz2 = run(
        "apache-foo-1.0.tar.bz2",
        ArchiveBuilder::source_release(ArchiveFormat::TarXz, "apache-foo-1.0").build(),
    );
    find(&xz_as_bz2, CheckStatus::Blocker, "content is xz");
}

#[test]
fn root_directory_rules() {
    let tgz = ArchiveFormat::TarGz;
    // -src / -source / -source-release / -bin suffixes may be absent from the root.
    for name in [
        "apache-foo-1.0-src",
        "apache-foo-1.0-source",
        "apache-foo-1.0-source-release",
        "apache-foo-1.0-bin",
        "apache-foo-1.0",
    ] {
        let r = run(&format!("{name}.tar.gz"), ArchiveBuilder::source_release(tgz, "apache-foo-1.0").build());
        assert!(problems(&r).is_empty(), "{name}: {:#?}", problems(&r));
    }
    let wrong = run("apache-foo-1.0.tar.gz", ArchiveBuilder::source_release(tgz, "foo").build());
    let c = find(
        &wrong,
        CheckStatus::Concern,
        "Root directory `foo` does not match the expected name `apache-foo-1.0`",
    );
    assert_eq!(c.checker, CheckerId::TARGZ_STRUCTURE);
    let wrong_zip =
        run("apache-foo-1.0-src.zip", ArchiveBuilder::source_release(ArchiveFormat::Zip, "foo").build());
    let c = find(&wrong_zip, CheckStatus::Concern, "(or `apache-foo-1.0`)");
    assert_eq!(c.checker, CheckerId::ZIP_STRUCTURE);
    let several = run(
        "apache-foo-1.0.tar.gz",
        ArchiveBuilder::source_release(tgz, "apache-foo-1.0").file("other/x", "x").build(),
    );
    find(&several, CheckStatus::Concern, "Multiple root directories found: `apache-foo-1.0`, `other`");
    let beside = run(
        "apache-foo-1.0.tar.gz",
        ArchiveBuilder::source_release(tgz, "apache-foo-1.0").file("stray.txt", "x").build(),
    );
    find(&beside, CheckStatus::Concern, "beside the root directory `apache-foo-1.0`: `stray.txt`");
    let flat = run(
        "apache-foo-1.0.tar.gz",
        ArchiveBuilder::new(tgz)
            .file("LICENSE", APACHE_LICENSE_2_0)
            .file("NOTICE", notice("Apache Foo"))
            .build(),
    );
    find(&flat, CheckStatus::Concern, "No root directory");
    let empty = run("apache-foo-1.0.tar.gz", ArchiveBuilder::new(tgz).build());
    find(&empty, CheckStatus::Concern, "The archive is empty");
    let link =
        run("apache-foo-1.0.tar.gz", ArchiveBuilder::new(tgz).symlink("apache-foo-1.0", "elsewhere").build());
    find(&link, CheckStatus::Concern, "is a symbolic link");
    // AppleDouble files do not count as a second root.
    let mac = run(
        "apache-foo-1.0.tar.gz",
        ArchiveBuilder::source_release(tgz, "apache-foo-1.0").file("._apache-foo-1.0", "x").build(),
    );
    assert!(
        mac.results.iter().all(|c| c.checker != CheckerId::TARGZ_STRUCTURE || c.status == CheckStatus::Note)
    );
}

#[test]
fn npm_pack_archives_are_accepted_when_package_json_matches() {
    let tree = |version: &str| {
        ArchiveBuilder::new(ArchiveFormat::TarGz)
            .file("package/package.json", format!(r#"{{"name":"@apache/foo","version":"{version}"}}"#))
            .file("package/LICENSE", APACHE_LICENSE_2_0)
            .file("package/NOTICE", notice("Apache Foo"))
            .build()
    };
    let ok = run("apache-foo-1.2.3.tgz", tree("1.2.3"));
    find(&ok, CheckStatus::Note, "npm package archive");
    let bad = run("apache-foo-1.2.3.tgz", tree("9.9.9"));
    find(&bad, CheckStatus::Concern, "npm archive's package.json");
}

#[test]
fn missing_and_invalid_licence_files() {
    let tgz = ArchiveFormat::TarGz;
    let no_notice = ArchiveBuilder::new(tgz).file("apache-foo-1.0/LICENSE", APACHE_LICENSE_2_0).build();
    let r = run("apache-foo-1.0.tar.gz", no_notice);
    let b = find(&r, CheckStatus::Blocker, "No NOTICE file found in the root directory `apache-foo-1.0/`");
    assert_eq!(b.checker, CheckerId::LICENSE_FILES);
    let mit = "MIT License\n\nCopyright (c) 2024 Foo\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\n";
    let r = run(
        "apache-foo-1.0.tar.gz",
        ArchiveBuilder::new(tgz)
            .file("apache-foo-1.0/LICENSE", mit)
            .file("apache-foo-1.0/NOTICE", notice("Apache Foo"))
            .build(),
    );
    let b = find(&r, CheckStatus::Blocker, "does not start with the full Apache License 2.0 text");
    assert!(b.message.contains("line 1"), "{}", b.message);
    let diff: Vec<String> = serde_json::from_value(b.data["diff"].clone()).unwrap();
    assert!(
        diff.contains(&"+ MIT License".to_owned()) && diff.contains(&"- Apache License".to_owned()),
        "{diff:?}"
    );
    // NOTICE without the ASF parts: each missing part is named.
    let r = run(
        "apache-foo-1.0.tar.gz",
        ArchiveBuilder::new(tgz)
            .file("apache-foo-1.0/LICENSE", APACHE_LICENSE_2_0)
            .file("apache-foo-1.0/NOTICE", "Foo\nCopyright Bob\n")
            .build(),
    );
    let b = find(&r, CheckStatus::Blocker, "is incomplete");
    assert!(
        b.message.contains("name the product")
            && b.message.contains("copyright line")
            && b.message.contains("attribution"),
        "{}",
        b.message
    );
    // LICENSE in a subdirectory is not at the root.
    let r = run(
        "apache-foo-1.0.tar.gz",
        ArchiveBuilder::new(tgz)
            .file("apache-foo-1.0/sub/LICENSE", APACHE_LICENSE_2_0)
            .file("apache-foo-1.0/NOTICE", notice("Apache Foo"))
            .build(),
    );
    find(&r, CheckStatus::Blocker, "No LICENSE file found");
}

#[test]
fn licence_txt_names_are_accepted_with_a_suggestion() {
    let b = ArchiveBuilder::new(ArchiveFormat::TarXz)
        .file("commons-foo-1.0-src/LICENSE.txt", APACHE_LICENSE_2_0)
        .file("commons-foo-1.0-src/NOTICE.txt", notice("Apache Commons Foo"))
        .build();
    let r = run("commons-foo-1.0-src.tar.xz", b);
    assert!(r.results.iter().all(|c| c.status >= CheckStatus::Note), "{:#?}", problems(&r));
    let s = find(
        &r,
        CheckStatus::Suggestion,
        "`commons-foo-1.0-src/LICENSE.txt` is accepted as the LICENSE file",
    );
    assert_eq!(s.checker, CheckerId::LICENSE_FILES);
    find(&r, CheckStatus::Suggestion, "NOTICE.txt");
}

#[test]
fn binary_jars_keep_licence_files_in_meta_inf() {
    let ctx = ArchiveCheckContext::new(ArchiveRole::Binary);
    let jar = ArchiveBuilder::new(ArchiveFormat::Zip)
        .file("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        .file("META-INF/LICENSE", APACHE_LICENSE_2_0)
        .file("META-INF/NOTICE", notice("Apache Foo"))
        .file("org/apache/foo/Foo.class", b"\xca\xfe\xba\xbe\x00\x00\x00\x34")
        .build();
    let r = run_ctx("apache-foo-1.0.jar", jar, &ctx);
    assert!(problems(&r).is_empty(), "{:#?}", problems(&r));
    // A jar without them gets a concern, never a blocker (ATR's false positive, user-wants #4).
    let bare =
        ArchiveBuilder::new(ArchiveFormat::Zip).file("org/apache/foo/Foo.class", b"\xca\xfe\xba\xbe").build();
    let r = run_ctx("apache-foo-1.0.jar", bare, &ctx);
    assert!(r.results.iter().all(|c| c.status != CheckStatus::Blocker), "{:#?}", r.results);
    find(&r, CheckStatus::Concern, "No LICENSE file found in the customary place");
    // Binaries get no header analysis and no compiled-code concern.
    assert!(r.by_checker(CheckerId::RAT).next().is_none() && r.licences.is_empty());
}

#[test]
fn podlings_need_a_disclaimer() {
    let ctx = ArchiveCheckContext::new(ArchiveRole::Source).with_podling(true);
    let base = ArchiveBuilder::source_release(ArchiveFormat::TarGz, "apache-foo-1.0-incubating");
    let r = run_ctx("apache-foo-1.0-incubating.tar.gz", base.clone().build(), &ctx);
    find(&r, CheckStatus::Blocker, "No DISCLAIMER or DISCLAIMER-WIP file found");
    let r = run_ctx(
        "apache-foo-1.0-incubating.tar.gz",
        base.file(
            "apache-foo-1.0-incubating/DISCLAIMER-WIP",
            "Apache Foo is an effort undergoing incubation",
        )
        .build(),
        &ctx,
    );
    find(&r, CheckStatus::Note, "Podling disclaimer `apache-foo-1.0-incubating/DISCLAIMER-WIP` is present");
}

#[test]
fn headers_spdx_gpl_and_unknown_files() {
    let b = ArchiveBuilder::source_release(ArchiveFormat::TarGz, "apache-foo-1.0")
        .file("apache-foo-1.0/src/nohdr.c", "int main(void) { return 0; }\n")
        .file("apache-foo-1.0/src/spdx.rs", "// SPDX-License-Identifier: Apache-2.0\nfn main() {}\n")
        .file("apache-foo-1.0/src/mit.js", "/* SPDX-License-Identifier: MIT */\nexport {};\n")
        .file("apache-foo-1.0/src/gpl.c", format!("{GPL_HEADER_C}int x;\n"))
        .file("apache-foo-1.0/conf/settings.ini", "[main]\nkey = value\n")
        .file(
            "apache-foo-1.0/gen/Parser.java",
            "/* Generated By:JavaCC: Do not edit this line. Parser.java */\nclass Parser {}\n",
        );
    let r = run("apache-foo-1.0.tar.gz", b.build());
    let h = find(&r, CheckStatus::Concern, "has no Apache licence header");
    assert_eq!(
        (h.checker, h.member_rel_path.as_deref()),
        (CheckerId::LICENSE_HEADERS, Some("apache-foo-1.0/src/nohdr.c"))
    );
    let g = find(&r, CheckStatus::Blocker, "Category X");
    assert_eq!((g.checker, g.member_rel_path.as_deref()), (CheckerId::RAT, Some("apache-foo-1.0/src/gpl.c")));
    let u = find(&r, CheckStatus::Concern, "has no recognised licence");
    assert_eq!(u.member_rel_path.as_deref(), Some("apache-foo-1.0/conf/settings.ini"));
    let summary = find(&r, CheckStatus::Blocker, "Licence analysis of");
    assert_eq!(summary.data["spdx"]["Apache-2.0"], 1);
    assert_eq!(summary.data["spdx"]["MIT"], 1);
    assert_eq!(summary.data["unknown"], 2);
    let verdict = |p: &str| r.licences.iter().find(|(m, _)| m.ends_with(p)).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(verdict("spdx.rs"), MemberLicence::Apache { spdx: true });
    assert_eq!(verdict("Parser.java"), MemberLicence::Generated);
    assert_eq!(r.licence_counts["unknown"], 2);
    let hs = find(&r, CheckStatus::Concern, "source files:");
    assert_eq!(hs.data["spdx_apache"], 1);
    assert_eq!(hs.data["missing"], 1);
}

#[test]
fn rat_excludes_and_the_revision_ignore_file_are_honoured() {
    let b = ArchiveBuilder::source_release(ArchiveFormat::TarGz, "apache-foo-1.0")
        .file("apache-foo-1.0/conf/settings.ini", "key = value\n")
        .file("apache-foo-1.0/src/nohdr.c", "int x;\n")
        .file("apache-foo-1.0/.rat-excludes", "conf/**\n");
    let r = run("apache-foo-1.0.tar.gz", b.clone().build());
    assert!(!r.results.iter().any(|c| c.message.contains("settings.ini")), "{:#?}", r.results);
    find(&r, CheckStatus::Concern, "nohdr.c");
    // ATR's form: patterns rooted at `/<artifact>/<member path>`.
    let atr_form = ArchiveCheckContext::new(ArchiveRole::Source)
        .with_header_ignore("/apache-foo-1.0.tar.gz/apache-foo-1.0/src/*.c\n");
    let r = run_ctx("apache-foo-1.0.tar.gz", b.clone().build(), &atr_form);
    assert!(problems(&r).is_empty(), "{:#?}", problems(&r));
    let ctx = ArchiveCheckContext::new(ArchiveRole::Source).with_header_ignore("*.c\n");
    let r = run_ctx("apache-foo-1.0.tar.gz", b.build(), &ctx);
    assert!(problems(&r).is_empty(), "{:#?}", problems(&r));
    assert_eq!(r.licence_counts["excluded"], 2);
}

#[test]
fn compiled_code_in_a_source_archive_is_a_concern_listing_members() {
    let b = ArchiveBuilder::source_release(ArchiveFormat::TarGz, "apache-foo-1.0")
        .executable("apache-foo-1.0/bin/tool", elf_bytes())
        .file(
            "apache-foo-1.0/lib/dep.jar",
            ArchiveBuilder::new(ArchiveFormat::Zip).file("A.class", b"\xca\xfe\xba\xbe").build(),
        )
        .file("apache-foo-1.0/data/image.dat", b"\x00\x01\x02 not code");
    let r = run("apache-foo-1.0.tar.gz", b.build());
    let c = find(&r, CheckStatus::Concern, "contains 2 compiled files");
    assert!(
        c.message.contains("`apache-foo-1.0/bin/tool`") && c.message.contains("`apache-foo-1.0/lib/dep.jar`"),
        "{}",
        c.message
    );
    assert_eq!(c.data["compiled"][0]["kind"], "ELF executable or library");
}

#[test]
fn parity_across_formats() {
    let tree = |f| {
        ArchiveBuilder::source_release(f, "apache-foo-1.0")
            .executable("apache-foo-1.0/build.sh", "#!/bin/sh\n")
    };
    let tgz = run("apache-foo-1.0-src.tar.gz", tree(ArchiveFormat::TarGz).build());
    let zip = run("apache-foo-1.0-src.zip", tree(ArchiveFormat::Zip).build());
    let other =
        run("apache-foo-1.0-bin.tar.gz", ArchiveBuilder::source_release(ArchiveFormat::TarGz, "x").build());
    assert_eq!(tgz.tree_hash, zip.tree_hash);
    let (a, b, c) = (
        RelPath::new("apache-foo-1.0-src.tar.gz").unwrap(),
        RelPath::new("apache-foo-1.0-src.zip").unwrap(),
        RelPath::new("apache-foo-1.0-bin.tar.gz").unwrap(),
    );
    let res = parity(&[(&a, &tgz), (&b, &zip), (&c, &other)]);
    assert_eq!(res.len(), 1);
    assert_eq!((res[0].checker, res[0].status), (CheckerId::PARITY, CheckStatus::Note));
    assert!(res[0].message.contains("identical trees (5 files)"), "{}", res[0].message);
    let changed =
        run("apache-foo-1.0-src.zip", tree(ArchiveFormat::Zip).file("apache-foo-1.0/extra.txt", "x").build());
    let zip2 = run(
        "apache-foo-1.0-src.zip",
        ArchiveBuilder::source_release(ArchiveFormat::Zip, "apache-foo-1.0")
            .executable("apache-foo-1.0/build.sh", "#!/bin/bash\n")
            .build(),
    );
    let res = parity(&[(&a, &tgz), (&b, &changed)]);
    assert_eq!(res[0].status, CheckStatus::Concern);
    assert!(
        res[0].message.contains("apache-foo-1.0/extra.txt (only in apache-foo-1.0-src.zip)"),
        "{}",
        res[0].message
    );
    let res = parity(&[(&a, &tgz), (&b, &zip2)]);
    assert!(
        res[0].message.contains("1 members differ: `apache-foo-1.0/build.sh (content differs)`"),
        "{}",
        res[0].message
    );
    let broken = run("apache-foo-1.0-src.zip", truncated(&tree(ArchiveFormat::Zip).build(), 100));
    assert_eq!(parity(&[(&a, &tgz), (&b, &broken)])[0].status, CheckStatus::Exception);
}

#[test]
fn check_archive_reads_from_disk_and_reports_unreadable_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("apache-foo-1.0.tar.bz2");
    std::fs::write(&path, ArchiveBuilder::source_release(ArchiveFormat::TarBz2, "apache-foo-1.0").build())
        .unwrap();
    let rel = RelPath::new("apache-foo-1.0.tar.bz2").unwrap();
    let ctx = ArchiveCheckContext::new(ArchiveRole::Source);
    let r = check_archive(&path, &rel, &ctx);
    assert!(problems(&r).is_empty(), "{:#?}", problems(&r));
    let missing = check_archive(&dir.path().join("nope.tar.gz"), &rel, &ctx);
    assert_eq!(missing.results[0].status, CheckStatus::Exception);
    assert!(missing.results[0].message.contains("Cannot open the archive"));
}

// ---- robustness: damaged archives never panic and keep the report's invariants ----

fn assert_invariants(name: &str, r: &ArchiveReport) {
    assert_eq!(r.complete, r.tree_hash.is_some(), "{name}");
    assert!(
        r.results.iter().all(|c| c.primary_rel_path.as_ref().map(RelPath::as_str) == Some(name)),
        "{name}"
    );
    if !r.complete {
        assert!(
            r.results.iter().any(|c| c.status.blocks_vote()),
            "{name}: an unreadable archive must block: {:#?}",
            r.results
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    #[test]
    fn damaged_archives_never_panic(format in 0usize..5, flips in proptest::collection::vec((0usize..4096, 1u8..=255), 1..8), cut in 0usize..4096) {
        let f = ALL_FORMATS[format];
        let mut bytes = ArchiveBuilder::source_release(f, "apache-foo-1.0").build();
        for (pos, x) in flips {
            let i = pos % bytes.len();
            bytes[i] ^= x;
        }
        if cut % 3 == 0 {
            bytes.truncate(cut % bytes.len().max(1));
        }
        let name = name_for("apache-foo-1.0", f);
        let r = run(&name, bytes);
        assert_invariants(&name, &r);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048), format in 0usize..5) {
        let name = name_for("apache-foo-1.0", ALL_FORMATS[format]);
        let r = run(&name, bytes);
        assert_invariants(&name, &r);
    }
}
