//! Licence analysis: LICENSE/NOTICE/DISCLAIMER rules, RAT-class per-member licence detection and
//! gitignore-style exclusion rules. Pure functions over bytes; the archive pass feeds them.

pub mod files;
pub mod headers;
pub mod ignore;

pub use files::{APACHE_LICENSE_2_0, LicenceMismatch, NoticeIssue, check_licence_text, check_notice_text};
pub use headers::{Category, HEAD_BYTES, MemberLicence, classify};
pub use ignore::IgnoreRules;
