-- Uploads held outside any revision until their archives are validated (issue 5, "Quarantine").
CREATE TABLE quarantine (
    id              INTEGER PRIMARY KEY,
    project_key     TEXT NOT NULL,
    version_key     TEXT NOT NULL,
    requested_by    TEXT NOT NULL,
    description     TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    -- 'pending' until the validation task decides; 'accepted' names the revision it became;
    -- 'failed' keeps the explanation for the uploader; the files are gone in both end states.
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'failed')),
    files           TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(files)),
    error           TEXT,
    revision_number INTEGER,
    finished_at     INTEGER,
    CHECK (status <> 'failed' OR error IS NOT NULL),
    CHECK (status <> 'accepted' OR revision_number IS NOT NULL),
    FOREIGN KEY (project_key, version_key) REFERENCES releases (project_key, version_key) ON DELETE CASCADE
) STRICT;
CREATE INDEX quarantine_by_release ON quarantine (project_key, version_key, status);
