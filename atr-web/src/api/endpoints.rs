//! The one list of API endpoints: method, paths, authentication, success status, request and
//! response types. The router and the OpenAPI description are both built from it.

use salvo::prelude::*;
use serde_json::Value;

use super::schema::Schema;
use super::{auth, keys, releases, vote};

/// One endpoint.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoint {
    /// `GET` or `POST`.
    pub(crate) method: &'static str,
    /// Its paths (the route syntax; several when a trailing argument is optional).
    pub(crate) paths: &'static [&'static str],
    /// Whether it needs `Authorization: Bearer <jwt>`.
    pub(crate) auth: bool,
    /// The status of success.
    pub(crate) status: u16,
    /// What it does.
    pub(crate) summary: &'static str,
    /// The request body's schema (POST).
    pub(crate) request: Option<fn() -> Value>,
    /// The response body's schema (`None`: raw bytes).
    pub(crate) response: Option<fn() -> Value>,
    /// Other success responses: status and schema (the quarantined upload's 202).
    pub(crate) also: Option<(u16, fn() -> Value)>,
    /// Adds the handler to a router.
    pub(crate) route: fn(Router) -> Router,
}

macro_rules! ep {
    (GET $paths:expr, $auth:expr, $summary:literal, $res:ty, $h:path) => {
        Endpoint {
            method: "GET",
            paths: $paths,
            auth: $auth,
            status: 200,
            summary: $summary,
            request: None,
            response: Some(<$res as Schema>::schema),
            also: None,
            route: |r| r.get($h),
        }
    };
    (POST $path:literal, $status:literal, $summary:literal, $req:ty => $res:ty, $h:path) => {
        Endpoint {
            method: "POST",
            paths: &[$path],
            auth: true,
            status: $status,
            summary: $summary,
            request: Some(<$req as Schema>::schema),
            response: Some(<$res as Schema>::schema),
            also: None,
            route: |r| r.post($h),
        }
    };
}

/// Every endpoint, in the order of the table in docs/API.md.
pub(crate) fn all() -> Vec<Endpoint> {
    use releases::*;
    vec![
        Endpoint {
            auth: false,
            ..ep!(POST "api/jwt/create", 200, "Exchange a uid and personal access token for a JWT (90 minutes; 10 per hour per uid and per address).", auth::JwtCreateRequest => auth::JwtCreateResponse, auth::jwt_create)
        },
        ep!(
            GET & ["api/checks/list/{project}/{version}", "api/checks/list/{project}/{version}/{revision}"],
            false,
            "The check results of a revision (the latest unless given).",
            ChecksListResponse,
            checks_list
        ),
        ep!(
            GET & [
                "api/checks/ongoing/{project}/{version}",
                "api/checks/ongoing/{project}/{version}/{revision}"
            ],
            false,
            "How many checks of a revision are still queued or running.",
            ChecksOngoingResponse,
            checks_ongoing
        ),
        ep!(
            GET & ["api/committee/keys/{committee}"],
            false,
            "The OpenPGP keys of a committee's KEYS.",
            keys::KeysResponse,
            keys::committee_keys
        ),
        ep!(
            GET & ["api/distribution/list/{project}/{version}"],
            false,
            "The distribution records of a release.",
            vote::DistributionListResponse,
            vote::distribution_list
        ),
        ep!(POST "api/distribution/record", 201, "Record that a release is published in a package registry.", vote::DistributionRecordRequest => SuccessResponse, vote::distribution_record),
        ep!(POST "api/ignore/add", 200, "Add a rule hiding matching check results of a project.", vote::IgnoreAddRequest => SuccessResponse, vote::ignore_add),
        ep!(POST "api/ignore/delete", 200, "Delete an ignore rule.", vote::IgnoreDeleteRequest => SuccessResponse, vote::ignore_delete),
        ep!(
            GET & ["api/ignore/list/{key}"],
            false,
            "The ignore rules of a project.",
            vote::IgnoreListResponse,
            vote::ignore_list
        ),
        ep!(POST "api/key/add", 200, "Add your OpenPGP key and link it to committees.", keys::KeyAddRequest => keys::KeyAddResponse, keys::key_add),
        ep!(POST "api/key/delete", 200, "Delete one of your OpenPGP keys.", keys::FingerprintRequest => keys::KeyDeleteResponse, keys::key_delete),
        ep!(
            GET & ["api/key/get/{fingerprint}"],
            false,
            "One OpenPGP key by fingerprint.",
            keys::KeyGetResponse,
            keys::key_get
        ),
        ep!(POST "api/keys/upload", 200, "Add every key of a KEYS file to a committee.", keys::KeysUploadRequest => keys::KeysUploadResponse, keys::keys_upload),
        ep!(
            GET & ["api/keys/user/{uid}"],
            false,
            "The OpenPGP keys of a user.",
            keys::KeysResponse,
            keys::keys_user
        ),
        ep!(GET & ["api/project/get/{project}"], false, "A project.", ProjectResponse, project_get),
        ep!(
            GET & ["api/project/releases/{project}"],
            false,
            "The releases of a project.",
            ReleasesResponse,
            project_releases
        ),
        ep!(POST "api/release/announce", 201, "Announce a preview: publish its files and send the announcement.", vote::AnnounceRequest => SuccessResponse, vote::release_announce),
        ep!(POST "api/release/create", 201, "Start a draft release.", ReleaseRequest => ReleaseResponse, release_create),
        ep!(POST "api/release/delete", 200, "Delete a release (as far as your role allows).", ReleaseRequest => DeletedResponse, release_delete),
        ep!(POST "api/release/draft/delete", 200, "Delete a draft release.", ReleaseRequest => SuccessResponse, release_draft_delete),
        ep!(
            GET & [
                "api/release/paths/{project}/{version}",
                "api/release/paths/{project}/{version}/{revision}"
            ],
            false,
            "The file paths of a revision (the latest unless given).",
            PathsResponse,
            release_paths
        ),
        ep!(
            GET & ["api/release/get/{project}/{version}"],
            false,
            "A release with its latest revision number.",
            ReleaseResponse,
            release_get
        ),
        ep!(
            GET & ["api/release/revisions/{project}/{version}"],
            false,
            "The revisions of a release.",
            RevisionsResponse,
            release_revisions
        ),
        Endpoint {
            also: Some((202, <QuarantinedResponse as Schema>::schema)),
            ..ep!(POST "api/release/upload", 201, "Upload one file (base64): 201 with the new revision, or 202 for an archive held in quarantine until validated.", UploadRequest => UploadResponse, release_upload)
        },
        ep!(POST "api/sbom/generate", 201, "Queue a CycloneDX SBOM generation for an archive.", vote::SbomGenerateRequest => vote::TaskResponse, vote::sbom_generate),
        ep!(POST "api/signature/provenance", 200, "Which stored key made a signature, and which committees' releases hold it.", keys::ProvenanceRequest => keys::ProvenanceResponse, keys::signature_provenance),
        ep!(POST "api/ssh-key/add", 201, "Add an SSH key for rsync uploads.", keys::SshKeyAddRequest => keys::SshKeyAddResponse, keys::ssh_key_add),
        ep!(POST "api/ssh-key/delete", 201, "Delete one of your SSH keys.", keys::FingerprintRequest => keys::SshKeyDeleteResponse, keys::ssh_key_delete),
        ep!(
            GET & ["api/ssh-keys/list/{uid}"],
            false,
            "The SSH keys of a user.",
            keys::SshKeysListResponse,
            keys::ssh_keys_list
        ),
        ep!(GET & ["api/task/get/{id}"], true, "A background task.", auth::TaskGetResponse, auth::task_get),
        ep!(POST "api/vote/cast", 200, "Cast your ballot in a vote held on the platform (trusted mode); a receipt is mailed to you.", vote::VoteCastRequest => vote::VoteCastResponse, vote::vote_cast),
        ep!(POST "api/vote/resolve", 200, "Resolve the running vote: passed, failed or cancelled.", vote::VoteResolveRequest => SuccessResponse, vote::vote_resolve),
        ep!(POST "api/vote/start", 201, "Start the vote on the latest draft revision (409 while checks run).", vote::VoteStartRequest => vote::TaskResponse, vote::vote_start),
        ep!(POST "api/vote/tabulate", 200, "Where the running vote stands.", ReleaseRequest => vote::VoteTabulateResponse, vote::vote_tabulate),
        Endpoint {
            method: "GET",
            paths: &["download/path/{project}/{version}/{**path}"],
            auth: false,
            status: 200,
            summary: "The raw bytes of a file of the latest revision (application/octet-stream; no redirect).",
            request: None,
            response: None,
            also: None,
            route: |r| r.get(download),
        },
    ]
}

/// The routes of every endpoint, the OpenAPI description and docs page, and a JSON 404 for
/// any other path under `/api`.
pub(crate) fn router() -> Router {
    let mut router = Router::new();
    for e in all() {
        for path in e.paths {
            let mut r = Router::with_path(*path);
            if e.auth {
                r = r.hoop(super::require_jwt);
            }
            router = router.push((e.route)(r));
        }
    }
    router
        .push(Router::with_path("api/openapi.json").get(super::docs::openapi_json))
        .push(Router::with_path("api/docs").get(super::docs::page))
        .push(Router::with_path("api/{**rest}").goal(super::no_such_endpoint))
}
