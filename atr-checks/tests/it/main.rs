//! Integration tests of atr-checks: real keys and signatures, real gpg, the fixture release, the dev corpus.

mod archive;
mod cli;
mod corpus;
mod directory;
mod gpg;
mod hashes;
mod paths;
mod sbom;
mod signatures;
mod support;
