-- The compose page counts a revision's results by file and status on every request. This index
-- covers that query (GROUP BY primary_rel_path, status within one revision): SQLite reads it in
-- order, without a sort and without visiting the table rows.
CREATE INDEX check_results_by_file_status
    ON check_results (project_key, version_key, revision_number, primary_rel_path, status);
