-- Change stamps for page caches (issue 6). A page built from a release's rows may be reused for
-- as long as the release's stamp and its project's stamp are what they were when it was built.
-- Triggers bump them in the transaction of every change a release's pages show, whoever writes
-- (web, API, workers, SSH, storage recovery), so a reader needs one primary-key lookup to know
-- whether anything changed:
--   release_stamps: the release row (phase, vote), revisions, check results, the state of its
--                   tasks (queued/active/completed/failed; not lease renewals), quarantined uploads;
--   project_stamps: the project row (name, committee, release policy) and its ignore rules.
-- A missing row reads as 0 and the first change inserts 1. Rows are never deleted: a release
-- deleted and started again keeps counting up, so a stamp never repeats for the same key.
CREATE TABLE release_stamps (
    project_key TEXT NOT NULL,
    version_key TEXT NOT NULL,
    stamp       INTEGER NOT NULL CHECK (stamp >= 1),
    PRIMARY KEY (project_key, version_key)
) STRICT, WITHOUT ROWID;

CREATE TABLE project_stamps (
    project_key TEXT PRIMARY KEY NOT NULL,
    stamp       INTEGER NOT NULL CHECK (stamp >= 1)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER release_stamps_releases_insert AFTER INSERT ON releases BEGIN
    INSERT INTO release_stamps VALUES (NEW.project_key, NEW.version_key, 1)
    ON CONFLICT DO UPDATE SET stamp = stamp + 1;
END;
CREATE TRIGGER release_stamps_releases_update AFTER UPDATE ON releases BEGIN
    INSERT INTO release_stamps VALUES (NEW.project_key, NEW.version_key, 1)
    ON CONFLICT DO UPDATE SET stamp = stamp + 1;
    INSERT INTO release_stamps VALUES (OLD.project_key, OLD.version_key, 1)
    ON CONFLICT DO UPDATE SET stamp = stamp + 1;
END;
CREATE TRIGGER release_stamps_releases_delete AFTER DELETE ON releases BEGIN
    INSERT INTO release_stamps VALUES (OLD.project_key, OLD.version_key, 1)
    ON CONFLICT DO UPDATE SET stamp = stamp + 1;
END;

CREATE TRIGGER release_stamps_revisions_insert AFTER INSERT ON revisions BEGIN
    INSERT INTO release_stamps VALUES (NEW.project_key, NEW.version_key, 1)
    ON CONFLICT DO UPDATE SET stamp = stamp + 1;
END;
CREATE TRIGGER release_stamps_revisions_update AFTER UPDATE ON revisions BEGIN
    INSERT INTO release_stamps VALUES (NEW.project_key, NEW.version_key, 1)
    ON CONFLICT DO UPDATE SET stamp = stamp + 1;
END;
CREATE TRIGGER release_stamps_revisions_delete AFTER DELETE ON revisions BEGIN
    INSERT INTO release_stamps VALUES (OLD.project_key, OLD.version_key, 1)
    ON CONFLICT DO UPDATE SET stamp = stamp + 1;
END;

CREATE TRIGGER release_stamps_check_results_insert AFTER INSERT ON check_results BEGIN
    INSERT INTO release_stamps VALUES (NEW.project_key, NEW.version_key, 1)
    ON CONFLICT DO UPDATE SET stamp = stamp + 1;
END;
CREATE TRIGGER release_stamps_check_results_update AFTER UPDATE ON check_results BEGIN
    INSERT INTO release_stamps VALUES (NEW.project_key, NEW.version_key, 1)
    ON CONFLICT DO UPDATE SET stamp = stamp + 1;
END;
CREATE TRIGGER release_stamps_check_results_delete AFTER DELETE ON check_results BEGIN
    INSERT INTO release_stamps VALUES (OLD.project_key, OLD.version_key, 1)
    ON CONFLICT DO UPDATE SET stamp = stamp + 1;
END;

CREATE TRIGGER release_stamps_tasks_insert AFTER INSERT ON tasks WHEN NEW.version_key IS NOT NULL BEGIN
    INSERT INTO release_stamps VALUES (NEW.project_key, NEW.version_key, 1)
    ON CONFLICT DO UPDATE SET stamp = stamp + 1;
END;
CREATE TRIGGER release_stamps_tasks_update AFTER UPDATE OF status, project_key, version_key, revision_number ON tasks
WHEN NEW.version_key IS NOT NULL AND (OLD.status IS NOT NEW.status OR OLD.project_key IS NOT NEW.project_key
    OR OLD.version_key IS NOT NEW.version_key OR OLD.revision_number IS NOT NEW.revision_number) BEGIN
    INSERT INTO release_stamps VALUES (NEW.project_key, NEW.version_key, 1)
    ON CONFLICT DO UPDATE SET stamp = stamp + 1;
END;
CREATE TRIGGER release_stamps_tasks_delete AFTER DELETE ON tasks WHEN OLD.version_key IS NOT NULL BEGIN
    INSERT INTO release_stamps VALUES (OLD.project_key, OLD.version_key, 1)
    ON CONFLICT DO UPDATE SET stamp = stamp + 1;
END;

CREATE TRIGGER release_stamps_quarantine_insert AFTER INSERT ON quarantine BEGIN
    INSERT INTO release_stamps VALUES (NEW.project_key, NEW.version_key, 1)
    ON CONFLICT DO UPDATE SET stamp = stamp + 1;
END;
CREATE TRIGGER release_stamps_quarantine_update AFTER UPDATE ON quarantine BEGIN
    INSERT INTO release_stamps VALUES (NEW.project_key, NEW.version_key, 1)
    ON CONFLICT DO UPDATE SET stamp = stamp + 1;
END;
CREATE TRIGGER release_stamps_quarantine_delete AFTER DELETE ON quarantine BEGIN
    INSERT INTO release_stamps VALUES (OLD.project_key, OLD.version_key, 1)
    ON CONFLICT DO UPDATE SET stamp = stamp + 1;
END;

CREATE TRIGGER project_stamps_projects_update AFTER UPDATE ON projects BEGIN
    INSERT INTO project_stamps VALUES (NEW.key, 1) ON CONFLICT DO UPDATE SET stamp = stamp + 1;
    INSERT INTO project_stamps VALUES (OLD.key, 1) ON CONFLICT DO UPDATE SET stamp = stamp + 1;
END;
CREATE TRIGGER project_stamps_projects_delete AFTER DELETE ON projects BEGIN
    INSERT INTO project_stamps VALUES (OLD.key, 1) ON CONFLICT DO UPDATE SET stamp = stamp + 1;
END;

CREATE TRIGGER project_stamps_ignores_insert AFTER INSERT ON check_ignores BEGIN
    INSERT INTO project_stamps VALUES (NEW.project_key, 1) ON CONFLICT DO UPDATE SET stamp = stamp + 1;
END;
CREATE TRIGGER project_stamps_ignores_update AFTER UPDATE ON check_ignores BEGIN
    INSERT INTO project_stamps VALUES (NEW.project_key, 1) ON CONFLICT DO UPDATE SET stamp = stamp + 1;
    INSERT INTO project_stamps VALUES (OLD.project_key, 1) ON CONFLICT DO UPDATE SET stamp = stamp + 1;
END;
CREATE TRIGGER project_stamps_ignores_delete AFTER DELETE ON check_ignores BEGIN
    INSERT INTO project_stamps VALUES (OLD.project_key, 1) ON CONFLICT DO UPDATE SET stamp = stamp + 1;
END;
