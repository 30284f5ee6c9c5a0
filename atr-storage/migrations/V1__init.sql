-- Initial schema of the release platform.
--
-- Conventions:
--   * Times are INTEGER seconds since the Unix epoch (UTC), matching atr_core::time::Timestamp.
--   * Enumerations are TEXT with a CHECK listing every allowed value (the wire names).
--   * JSON columns are TEXT checked with json_valid().
--   * A release is identified by (project_key, version_key); `<project>-<version>` is only a display form
--     because it is ambiguous (`foo-bar` + `1` and `foo` + `bar-1`).
--   * Every table is STRICT, so a wrong type is an error rather than a silent conversion.
-- Forward-only: never edit this file once applied; add V2__….sql instead.

CREATE TABLE committees (
    key         TEXT PRIMARY KEY NOT NULL,
    full_name   TEXT,
    is_podling  INTEGER NOT NULL DEFAULT 0 CHECK (is_podling IN (0, 1)),
    parent_key  TEXT REFERENCES committees (key) ON DELETE RESTRICT
) STRICT;

-- Who belongs to a committee, and in which role. One row per (committee, uid, role).
CREATE TABLE committee_people (
    committee_key TEXT NOT NULL REFERENCES committees (key) ON DELETE CASCADE,
    uid           TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('member', 'committer', 'release_manager')),
    PRIMARY KEY (committee_key, uid, role)
) STRICT;
CREATE INDEX committee_people_by_uid ON committee_people (uid);

CREATE TABLE projects (
    key                   TEXT PRIMARY KEY NOT NULL,
    committee_key         TEXT NOT NULL REFERENCES committees (key) ON DELETE RESTRICT,
    name                  TEXT NOT NULL,
    status                TEXT NOT NULL DEFAULT 'active'
                              CHECK (status IN ('active', 'dormant', 'retired', 'standing')),
    super_project_key     TEXT REFERENCES projects (key) ON DELETE SET NULL,
    description           TEXT NOT NULL DEFAULT '',
    category              TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(category)),
    programming_languages TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(programming_languages)),
    created_at            INTEGER NOT NULL,
    created_by            TEXT NOT NULL,
    -- The project's release policy as a JSON object (atr_core::model::ReleasePolicy).
    release_policy        TEXT NOT NULL CHECK (json_valid(release_policy))
) STRICT;
CREATE INDEX projects_by_committee ON projects (committee_key);

CREATE TABLE releases (
    project_key       TEXT NOT NULL REFERENCES projects (key) ON DELETE RESTRICT,
    version_key       TEXT NOT NULL,
    phase             TEXT NOT NULL
                          CHECK (phase IN ('release_candidate_draft', 'release_candidate', 'release_preview', 'release')),
    created_at        INTEGER NOT NULL,
    released_at       INTEGER,
    vote_mode         TEXT CHECK (vote_mode IS NULL OR vote_mode IN ('email', 'trusted', 'manual')),
    vote_seq          INTEGER NOT NULL DEFAULT 0 CHECK (vote_seq >= 0),
    vote_round        TEXT CHECK (vote_round IS NULL OR vote_round IN ('committee', 'incubator')),
    vote_started_at   INTEGER,
    vote_ends_at      INTEGER,
    vote_resolved_at  INTEGER,
    podling_thread_id TEXT,
    PRIMARY KEY (project_key, version_key)
) STRICT;

-- One row per revision directory `unfinished/<project>/<version>/<number>/`.
-- Invariant kept by atr-storage: a row exists if and only if its directory exists.
CREATE TABLE revisions (
    project_key     TEXT NOT NULL,
    version_key     TEXT NOT NULL,
    number          INTEGER NOT NULL CHECK (number BETWEEN 1 AND 99999),
    parent_number   INTEGER CHECK (parent_number IS NULL OR parent_number < number),
    created_at      INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    -- Phase of the release when the revision was made.
    phase           TEXT NOT NULL
                        CHECK (phase IN ('release_candidate_draft', 'release_candidate', 'release_preview', 'release')),
    description     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (project_key, version_key, number),
    FOREIGN KEY (project_key, version_key) REFERENCES releases (project_key, version_key) ON DELETE CASCADE
) STRICT;

CREATE TABLE check_results (
    id              INTEGER PRIMARY KEY,
    project_key     TEXT NOT NULL,
    version_key     TEXT NOT NULL,
    revision_number INTEGER NOT NULL,
    checker         TEXT NOT NULL,
    checker_version TEXT NOT NULL,
    -- '' would be ambiguous with a real path, so "no path" is NULL.
    primary_rel_path TEXT,
    member_rel_path  TEXT,
    status          TEXT NOT NULL CHECK (status IN ('blocker', 'concern', 'exception', 'note', 'suggestion')),
    message         TEXT NOT NULL,
    data            TEXT NOT NULL DEFAULT 'null' CHECK (json_valid(data)),
    inputs_hash     TEXT,
    cached          INTEGER NOT NULL DEFAULT 0 CHECK (cached IN (0, 1)),
    created_at      INTEGER NOT NULL,
    FOREIGN KEY (project_key, version_key, revision_number)
        REFERENCES revisions (project_key, version_key, number) ON DELETE CASCADE
) STRICT;
-- Results are looked up by (release, revision, checker, primary path, member path).
CREATE INDEX check_results_by_key
    ON check_results (project_key, version_key, revision_number, checker, primary_rel_path, member_rel_path);
CREATE INDEX check_results_by_inputs ON check_results (checker, checker_version, inputs_hash);

CREATE TABLE check_ignores (
    id                    INTEGER PRIMARY KEY,
    project_key           TEXT NOT NULL REFERENCES projects (key) ON DELETE CASCADE,
    created_at            INTEGER NOT NULL,
    created_by            TEXT NOT NULL,
    release_glob          TEXT,
    revision_number       INTEGER CHECK (revision_number IS NULL OR revision_number BETWEEN 1 AND 99999),
    checker_glob          TEXT,
    primary_rel_path_glob TEXT,
    member_rel_path_glob  TEXT,
    status                TEXT CHECK (status IS NULL OR status IN ('blocker', 'concern', 'exception', 'note', 'suggestion')),
    message_glob          TEXT,
    reason                TEXT NOT NULL,
    expires_at            INTEGER
) STRICT;
CREATE INDEX check_ignores_by_project ON check_ignores (project_key);

CREATE TABLE distributions (
    project_key     TEXT NOT NULL,
    version_key     TEXT NOT NULL,
    platform        TEXT NOT NULL
                        CHECK (platform IN ('ARTIFACT_HUB', 'DOCKER_HUB', 'MAVEN', 'NPM', 'NPM_SCOPED', 'PYPI')),
    owner_namespace TEXT NOT NULL DEFAULT '',
    package         TEXT NOT NULL,
    version         TEXT NOT NULL,
    staging         INTEGER NOT NULL DEFAULT 0 CHECK (staging IN (0, 1)),
    pending         INTEGER NOT NULL DEFAULT 0 CHECK (pending IN (0, 1)),
    upload_date     INTEGER,
    api_url         TEXT NOT NULL,
    web_url         TEXT,
    created_by      TEXT NOT NULL,
    PRIMARY KEY (project_key, version_key, platform, owner_namespace, package, version),
    FOREIGN KEY (project_key, version_key) REFERENCES releases (project_key, version_key) ON DELETE CASCADE
) STRICT;

CREATE TABLE public_signing_keys (
    fingerprint             TEXT PRIMARY KEY NOT NULL CHECK (fingerprint = lower(fingerprint)),
    algorithm               INTEGER NOT NULL,
    length                  INTEGER NOT NULL,
    created_at              INTEGER NOT NULL,
    latest_self_signature_at INTEGER,
    expires_at              INTEGER,
    primary_declared_uid    TEXT,
    secondary_declared_uids TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(secondary_declared_uids)),
    apache_uid              TEXT,
    ascii_armored_key       TEXT NOT NULL
) STRICT;
CREATE INDEX public_signing_keys_by_apache_uid ON public_signing_keys (apache_uid);

CREATE TABLE key_links (
    committee_key   TEXT NOT NULL REFERENCES committees (key) ON DELETE CASCADE,
    key_fingerprint TEXT NOT NULL REFERENCES public_signing_keys (fingerprint) ON DELETE CASCADE,
    PRIMARY KEY (committee_key, key_fingerprint)
) STRICT;
CREATE INDEX key_links_by_key ON key_links (key_fingerprint);

CREATE TABLE ssh_keys (
    fingerprint TEXT PRIMARY KEY NOT NULL,
    key         TEXT NOT NULL,
    uid         TEXT NOT NULL
) STRICT;
CREATE INDEX ssh_keys_by_uid ON ssh_keys (uid);

CREATE TABLE personal_access_tokens (
    id           INTEGER PRIMARY KEY,
    uid          TEXT NOT NULL,
    -- Hex digest of the token; the plaintext is never stored.
    token_hash   TEXT NOT NULL UNIQUE,
    label        TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_used_at INTEGER
) STRICT;
CREATE INDEX personal_access_tokens_by_uid ON personal_access_tokens (uid);

-- Background work. Claiming (BEGIN IMMEDIATE + UPDATE … RETURNING) and leases are used by atr-worker.
CREATE TABLE tasks (
    id               INTEGER PRIMARY KEY,
    task_type        TEXT NOT NULL,
    args             TEXT NOT NULL DEFAULT 'null' CHECK (json_valid(args)),
    status           TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'active', 'completed', 'failed')),
    priority         INTEGER NOT NULL DEFAULT 0,
    requested_by     TEXT,
    project_key      TEXT REFERENCES projects (key) ON DELETE CASCADE,
    version_key      TEXT,
    revision_number  INTEGER,
    primary_rel_path TEXT,
    -- Identity of the work for deduplication and result caching (hash of checker, version, inputs, policy).
    dedup_key        TEXT,
    added_at         INTEGER NOT NULL,
    not_before       INTEGER,
    started_at       INTEGER,
    completed_at     INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    lease_expires_at INTEGER,
    worker           TEXT,
    result           TEXT CHECK (result IS NULL OR json_valid(result)),
    error            TEXT,
    CHECK (version_key IS NULL OR project_key IS NOT NULL),
    CHECK (revision_number IS NULL OR version_key IS NOT NULL),
    CHECK (status <> 'active' OR (started_at IS NOT NULL AND lease_expires_at IS NOT NULL)),
    CHECK (status <> 'completed' OR completed_at IS NOT NULL),
    CHECK (status <> 'failed' OR (completed_at IS NOT NULL AND error IS NOT NULL)),
    FOREIGN KEY (project_key, version_key) REFERENCES releases (project_key, version_key) ON DELETE CASCADE
) STRICT;
CREATE INDEX tasks_by_status ON tasks (status, priority DESC, id);
CREATE INDEX tasks_by_revision ON tasks (project_key, version_key, revision_number);
CREATE INDEX tasks_by_dedup ON tasks (dedup_key);
CREATE INDEX tasks_by_lease ON tasks (status, lease_expires_at);

-- Ballots cast on the platform (trusted votes) or tallied from the mail thread. Every ballot is kept;
-- only a voter's latest ballot of a vote counts (atr_core::model::Tally).
CREATE TABLE ballots (
    id              INTEGER PRIMARY KEY,
    project_key     TEXT NOT NULL,
    version_key     TEXT NOT NULL,
    vote_seq        INTEGER NOT NULL CHECK (vote_seq >= 1),
    vote_round      TEXT NOT NULL CHECK (vote_round IN ('committee', 'incubator')),
    revision_number INTEGER NOT NULL CHECK (revision_number BETWEEN 1 AND 99999),
    voter           TEXT,
    voter_name      TEXT NOT NULL,
    choice          TEXT NOT NULL CHECK (choice IN ('+1', '0', '-1')),
    binding         INTEGER NOT NULL CHECK (binding IN (0, 1)),
    comment         TEXT NOT NULL DEFAULT '',
    cast_at         INTEGER NOT NULL,
    FOREIGN KEY (project_key, version_key) REFERENCES releases (project_key, version_key) ON DELETE CASCADE
) STRICT;
CREATE INDEX ballots_by_vote ON ballots (project_key, version_key, vote_seq, vote_round);

-- Append-only: the triggers below refuse UPDATE and DELETE.
CREATE TABLE audit_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    -- NULL when the platform itself acted (a worker, a scheduled job).
    actor    TEXT,
    as_admin INTEGER NOT NULL DEFAULT 0 CHECK (as_admin IN (0, 1)),
    action   TEXT NOT NULL,
    target   TEXT NOT NULL,
    details  TEXT NOT NULL DEFAULT 'null' CHECK (json_valid(details))
) STRICT;
CREATE INDEX audit_events_by_target ON audit_events (target);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE is not allowed');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: DELETE is not allowed');
END;

-- Small key-value cache (for example mail Message-ID → archive thread URL).
CREATE TABLE text_values (
    ns    TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (ns, key)
) STRICT;
