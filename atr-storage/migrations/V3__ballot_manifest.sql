-- Trusted ballots record what exactly was voted on: the SHA-256 (hex) of the voted revision's artifact
-- manifest (atr_core::model::manifest_text). NULL for ballots tabulated from mail.
ALTER TABLE ballots ADD COLUMN manifest_digest TEXT
    CHECK (manifest_digest IS NULL OR (length(manifest_digest) = 64 AND manifest_digest NOT GLOB '*[^0-9a-f]*'));
