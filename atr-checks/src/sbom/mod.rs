//! SBOMs: generate CycloneDX 1.6 JSON for a source archive natively, in the same single pass as
//! the archive checks; check every `*.cdx.json` of a revision (valid against the real CycloneDX
//! JSON schema of its declared version, describing an artifact that is there with matching
//! hashes); score it against the NTIA minimum elements; draw up its licence bill (ASF Category B
//! and X components); and flag source archives without an SBOM.
//!
//! ```no_run
//! use atr_checks::archive::{ArchiveCheckContext, ArchiveRole};
//! use atr_checks::sbom::{SbomRequest, generate, sbom_path};
//! use atr_core::path::RelPath;
//! use atr_core::time::Timestamp;
//!
//! let rel = RelPath::new("apache-foo-1.0-src.tar.gz").unwrap();
//! let req = SbomRequest::new("foo", "1.0", Timestamp::from_unix(1_767_225_600));
//! let sbom = generate(std::path::Path::new("/tmp/apache-foo-1.0-src.tar.gz"), &rel,
//!     &ArchiveCheckContext::new(ArchiveRole::Source), &req).unwrap();
//! std::fs::write(format!("/tmp/{}", sbom_path(&rel)), sbom.to_json()).unwrap();
//! ```

mod bom;
mod check;
mod collect;
pub mod licences;
pub mod manifest;
pub mod ntia;
pub mod schema;

pub use bom::{GenerateError, GeneratedSbom, SPEC_VERSION, SbomRequest, generate, sbom_path};
pub use check::{MAX_SBOM_BYTES, check_sbom_bytes, check_sbom_file, check_sbom_presence, sbom_subject};
pub use collect::ArtifactHashes;
