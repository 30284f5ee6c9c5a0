//! Release artifact checks.

pub mod archive;
pub mod hashes;
pub mod keys;
pub mod licence;
pub mod paths;
pub mod signature;
#[cfg(feature = "testing")]
pub mod testing;
