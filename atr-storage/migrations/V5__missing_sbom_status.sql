-- The release policy's missing-SBOM severity, `missing_sbom_status` (atr_core::model::MissingSbom):
-- the status of the result when a source archive has no `<archive>.cdx.json` beside it.
-- Policies saved before the setting existed get the default, `concern` (issue 9), and from now
-- on a stored policy must say `suggestion`, `concern` or `blocker` (the JSON column cannot carry
-- a CHECK constraint of its own after the fact, so triggers refuse anything else).
UPDATE projects
SET release_policy = json_set(release_policy, '$.missing_sbom_status', 'concern')
WHERE json_type(release_policy, '$.missing_sbom_status') IS NULL;

CREATE TRIGGER projects_missing_sbom_status_insert
BEFORE INSERT ON projects
WHEN coalesce(json_extract(NEW.release_policy, '$.missing_sbom_status'), '')
     NOT IN ('suggestion', 'concern', 'blocker')
BEGIN
    SELECT RAISE(ABORT, 'release_policy.missing_sbom_status must be suggestion, concern or blocker');
END;

CREATE TRIGGER projects_missing_sbom_status_update
BEFORE UPDATE OF release_policy ON projects
WHEN coalesce(json_extract(NEW.release_policy, '$.missing_sbom_status'), '')
     NOT IN ('suggestion', 'concern', 'blocker')
BEGIN
    SELECT RAISE(ABORT, 'release_policy.missing_sbom_status must be suggestion, concern or blocker');
END;
