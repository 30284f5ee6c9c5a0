-- /api/checks/list reads every result of a revision in listing order (checker, primary path,
-- member path, id). check_results_by_key gave that order but SQLite then looked every row up in
-- the table, one B-tree search per result. This index carries every listed column after the
-- same key, so the listing is one ordered scan of the index and never touches the table. It has
-- the key of check_results_by_key as its prefix, so it serves that index's lookups too, and the
-- old index is dropped to keep one index to maintain per insert.
CREATE INDEX check_results_listing
    ON check_results (project_key, version_key, revision_number, checker, primary_rel_path, member_rel_path,
                      id, checker_version, status, message, data, inputs_hash, cached, created_at);
DROP INDEX check_results_by_key;

-- A distribution record's registry lookup: why it is still pending after the registry was asked
-- (unreachable, timed out, not published yet), and when it was last asked.
ALTER TABLE distributions ADD COLUMN pending_reason TEXT;
ALTER TABLE distributions ADD COLUMN checked_at INTEGER;
