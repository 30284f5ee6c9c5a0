//! OpenPGP keys, SSH keys and signature provenance through the API.

use atr_core::ids::{CommitteeKey, Uid};
use atr_core::model::Fingerprint;

use super::schema::{True, wire};
use super::{ApiError, BODY_LIMIT, Reply, actor, app, body, field, models, param, run};
use crate::ops;

wire! {
    /// Response of `/committee/keys` and `/keys/user`.
    KeysResponse { endpoint: String, keys: Vec<models::PublicSigningKey> }
}

wire! {
    /// Request of `/key/add`: one ASCII-armored key, linked to each committee named.
    KeyAddRequest { asfuid: String, key: String, committees: Vec<String> }
}

wire! {
    /// Response of `/key/add`: the fingerprint in uppercase.
    KeyAddResponse { endpoint: String, fingerprint: String, warnings: Vec<String> }
}

wire! {
    /// Request of `/key/delete` and `/ssh-key/delete`.
    FingerprintRequest { fingerprint: String }
}

wire! {
    /// Response of `/key/delete`.
    KeyDeleteResponse { endpoint: String, success: True, warnings: Vec<String> }
}

wire! {
    /// Response of `/key/get`.
    KeyGetResponse { endpoint: String, key: models::PublicSigningKey }
}

wire! {
    /// Request of `/keys/upload`: a KEYS file for a committee.
    KeysUploadRequest { filetext: String, committee: String }
}

wire! {
    /// One entry of `/keys/upload`'s results: `status` is `success` (with `key`) or `error`
    /// (with `error` and `error_type`; `key` is null).
    KeysUploadResult {
        status: String,
        key: Option<models::PublicSigningKey>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error_type: Option<String>,
    }
}

wire! {
    /// Response of `/keys/upload`.
    KeysUploadResponse {
        endpoint: String,
        results: Vec<KeysUploadResult>,
        success_count: u64,
        error_count: u64,
        submitted_committee: String,
        warnings: Vec<String>,
    }
}

wire! {
    /// Request of `/ssh-key/add`: one OpenSSH public key line.
    SshKeyAddRequest { text: String }
}

wire! {
    /// Response of `/ssh-key/add`: `SHA256:<base64 without padding>`.
    SshKeyAddResponse { endpoint: String, fingerprint: String }
}

wire! {
    /// Response of `/ssh-key/delete`.
    SshKeyDeleteResponse { endpoint: String, success: True }
}

wire! {
    /// Response of `/ssh-keys/list`.
    SshKeysListResponse { endpoint: String, data: Vec<models::SshKey>, count: u64 }
}

wire! {
    /// Request of `/signature/provenance`.
    ProvenanceRequest {
        signature_file_name: String,
        signature_asc_text: String,
        signature_sha3_256: String,
        project_key: Option<String>,
        version_key: Option<String>,
    }
}

wire! {
    /// A committee whose release contains the signature.
    CommitteeRef { committee: String }
}

wire! {
    /// Response of `/signature/provenance`.
    ProvenanceResponse {
        endpoint: String,
        fingerprint: String,
        key_asc_text: String,
        committees_with_artifact: Vec<CommitteeRef>,
    }
}

endpoint! {
    /// The keys in a committee's KEYS.
    committee_keys(req, depot) {
        let c: CommitteeKey = param(req, "committee")?;
        let app = app(depot);
        let keys = run(&app, move |s| {
            s.read(|tx| {
                tx.committee(&c)?.ok_or_else(|| ApiError::not_found(format!("There is no committee `{c}`.")))?;
                Ok(tx.signing_keys_of_committee(&c)?)
            })
        })
        .await?;
        Reply::ok(&KeysResponse { endpoint: "/committee/keys".to_owned(), keys: keys.iter().map(models::PublicSigningKey::of).collect() })
    }
}

endpoint! {
    /// The keys bound to a user id.
    keys_user(req, depot) {
        let uid: Uid = param(req, "uid")?;
        let app = app(depot);
        let keys = run(&app, move |s| Ok(s.read(|tx| tx.signing_keys_of_uid(&uid))?)).await?;
        Reply::ok(&KeysResponse { endpoint: "/keys/user".to_owned(), keys: keys.iter().map(models::PublicSigningKey::of).collect() })
    }
}

endpoint! {
    /// One key by fingerprint (any case).
    key_get(req, depot) {
        let fp: Fingerprint = param(req, "fingerprint")?;
        let app = app(depot);
        let key = run(&app, move |s| {
            s.read(|tx| tx.signing_key(&fp))?
                .ok_or_else(|| ApiError::not_found(format!("There is no key {}.", fp.to_uppercase())))
        })
        .await?;
        Reply::ok(&KeyGetResponse { endpoint: "/key/get".to_owned(), key: models::PublicSigningKey::of(&key) })
    }
}

endpoint! {
    /// Adds one key for the caller and links it to the committees named (committer status needed).
    key_add(req, depot) {
        super::limits::throttle(req, depot, super::limits::Expensive::KeyUpload)?;
        let f: KeyAddRequest = body(req, BODY_LIMIT).await?;
        let (app, actor, now) = (app(depot), actor(depot), crate::handlers::now());
        if actor.uid.as_ref().map(|u| u.as_str()) != Some(f.asfuid.as_str()) && !actor.admin {
            return Err(ApiError::new(
                salvo::http::StatusCode::FORBIDDEN,
                format!("You are {}; you cannot add a key for `{}`.", actor.uid.as_ref().map_or("nobody", |u| u.as_str()), f.asfuid.escape_debug()),
            ));
        }
        let committees = f.committees.iter().map(|c| field::<CommitteeKey>("committees", c)).collect::<Result<Vec<_>, _>>()?;
        let (fingerprint, warnings) = run(&app, move |s| {
            let mut fingerprint = None;
            let mut warnings = Vec::new();
            let targets: Vec<Option<&CommitteeKey>> =
                if committees.is_empty() { vec![None] } else { committees.iter().map(Some).collect() };
            for c in targets {
                let (fps, errors) = ops::add_signing_keys(s, &actor, f.key.as_bytes(), c, true, now)?;
                fingerprint = fps.into_iter().next();
                for e in errors {
                    if !warnings.contains(&e) {
                        warnings.push(e);
                    }
                }
            }
            let fingerprint = fingerprint.ok_or_else(|| ApiError::bad_request("No key was stored."))?;
            Ok((fingerprint, warnings))
        })
        .await?;
        Reply::ok(&KeyAddResponse { endpoint: "/key/add".to_owned(), fingerprint: fingerprint.to_uppercase(), warnings })
    }
}

endpoint! {
    /// Deletes one of the caller's keys.
    key_delete(req, depot) {
        let f: FingerprintRequest = body(req, BODY_LIMIT).await?;
        let fp: Fingerprint = field("fingerprint", &f.fingerprint)?;
        let (app, actor, now) = (app(depot), actor(depot), crate::handlers::now());
        run(&app, move |s| Ok(ops::delete_signing_key(s, &actor, &fp, now)?)).await?;
        Reply::ok(&KeyDeleteResponse { endpoint: "/key/delete".to_owned(), success: True, warnings: Vec::new() })
    }
}

endpoint! {
    /// Stores every key of a KEYS file and links them to the committee; reports each key.
    keys_upload(req, depot) {
        super::limits::throttle(req, depot, super::limits::Expensive::KeyUpload)?;
        let f: KeysUploadRequest = body(req, BODY_LIMIT).await?;
        let committee: CommitteeKey = field("committee", &f.committee)?;
        let (app, actor, now) = (app(depot), actor(depot), crate::handlers::now());
        let c = committee.clone();
        let (keys, errors) = run(&app, move |s| {
            let (fps, errors) = ops::add_signing_keys(s, &actor, f.filetext.as_bytes(), Some(&c), false, now)?;
            let keys = s.read(|tx| {
                let mut out = Vec::new();
                for fp in &fps {
                    if let Some(k) = tx.signing_key(fp)? {
                        out.push(k);
                    }
                }
                Ok::<_, ApiError>(out)
            })?;
            Ok((keys, errors))
        })
        .await?;
        let mut results: Vec<KeysUploadResult> = keys
            .iter()
            .map(|k| KeysUploadResult { status: "success".to_owned(), key: Some(models::PublicSigningKey::of(k)), error: None, error_type: None })
            .collect();
        results.extend(errors.iter().map(|e| KeysUploadResult {
            status: "error".to_owned(),
            key: None,
            error: Some(e.clone()),
            error_type: Some("KeyParseError".to_owned()),
        }));
        Reply::ok(&KeysUploadResponse {
            endpoint: "/keys/upload".to_owned(),
            success_count: keys.len() as u64,
            error_count: errors.len() as u64,
            results,
            submitted_committee: committee.to_string(),
            warnings: Vec::new(),
        })
    }
}

endpoint! {
    /// Adds an SSH key for rsync uploads. A line that is not an OpenSSH public key answers as
    /// ATR's server does (500, `SshFingerprintError`), which the client's tests expect.
    ssh_key_add(req, depot) {
        let f: SshKeyAddRequest = body(req, BODY_LIMIT).await?;
        if let Err(e) = ops::ssh_fingerprint(f.text.trim()) {
            return Err(ApiError::exception("Invalid SSH key format", "SshFingerprintError", &e.message));
        }
        let (app, actor, now) = (app(depot), actor(depot), crate::handlers::now());
        let fingerprint = run(&app, move |s| Ok(ops::change_ssh_key(s, &actor, Some(f.text.trim()), None, now)?)).await?;
        Reply::created(&SshKeyAddResponse { endpoint: "/ssh-key/add".to_owned(), fingerprint })
    }
}

endpoint! {
    /// Deletes one of the caller's SSH keys.
    ssh_key_delete(req, depot) {
        let f: FingerprintRequest = body(req, BODY_LIMIT).await?;
        let (app, actor, now) = (app(depot), actor(depot), crate::handlers::now());
        run(&app, move |s| Ok(ops::change_ssh_key(s, &actor, None, Some(f.fingerprint.trim()), now)?)).await?;
        Reply::created(&SshKeyDeleteResponse { endpoint: "/ssh-key/delete".to_owned(), success: True })
    }
}

endpoint! {
    /// The SSH keys of a user.
    ssh_keys_list(req, depot) {
        let uid: Uid = param(req, "uid")?;
        let app = app(depot);
        let keys = run(&app, move |s| Ok(s.read(|tx| tx.ssh_keys_of(&uid))?)).await?;
        Reply::ok(&SshKeysListResponse {
            endpoint: "/ssh-keys/list".to_owned(),
            count: keys.len() as u64,
            data: keys.iter().map(models::SshKey::of).collect(),
        })
    }
}

/// The issuer key handles of every signature in an armored detached signature.
fn issuers(asc: &str) -> Result<Vec<sequoia_openpgp::KeyHandle>, ApiError> {
    use sequoia_openpgp::parse::Parse as _;
    let pile = sequoia_openpgp::PacketPile::from_bytes(asc.as_bytes()).map_err(|e| {
        ApiError::bad_request(format!("`signature_asc_text` is not an OpenPGP signature: {e}."))
    })?;
    let mut out = Vec::new();
    for packet in pile.descendants() {
        if let sequoia_openpgp::Packet::Signature(sig) = packet {
            out.extend(sig.get_issuers());
        }
    }
    if out.is_empty() {
        return Err(ApiError::bad_request(
            "The signature names no issuer key; sign with a current OpenPGP tool.",
        ));
    }
    Ok(out)
}

fn sha3_hex(bytes: &[u8]) -> String {
    use sha3::Digest as _;
    sha3::Sha3_256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether some release of `committee` holds a file named `name` whose SHA3-256 is `digest`.
fn committee_has_file(
    s: &atr_storage::Storage,
    committee: &CommitteeKey,
    name: &str,
    digest: &str,
) -> Result<bool, ApiError> {
    let releases = s.read(|tx| {
        let mut out = Vec::new();
        for p in tx.projects_of_committee(committee)? {
            for r in tx.releases_of_project(&p.key)? {
                let latest = tx.latest_revision(&r.project_key, &r.version_key)?;
                out.push((r, latest));
            }
        }
        Ok::<_, ApiError>(out)
    })?;
    for (r, latest) in releases {
        let dir = match (r.phase, latest) {
            (atr_core::model::ReleasePhase::Release, _) => {
                s.layout().finished_release(&r.project_key, &r.version_key)
            }
            (_, Some(n)) => s.layout().revision(&r.project_key, &r.version_key, n),
            (_, None) => continue,
        };
        let mut files = Vec::new();
        if dir.is_dir() {
            super::releases::walk(&dir, &dir, &mut files)?;
        }
        for f in files.iter().filter(|f| f.rsplit('/').next() == Some(name)) {
            if std::fs::read(dir.join(f)).is_ok_and(|bytes| sha3_hex(&bytes) == digest) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

endpoint! {
    /// Which stored key made a signature, and which committees' releases contain that signature file.
    signature_provenance(req, depot) {
        let f: ProvenanceRequest = body(req, BODY_LIMIT).await?;
        let digest = f.signature_sha3_256.to_ascii_lowercase();
        if sha3_hex(f.signature_asc_text.as_bytes()) != digest {
            return Err(ApiError::bad_request("`signature_sha3_256` is not the SHA3-256 of `signature_asc_text`; send the hash of the signature file as given."));
        }
        let handles = issuers(&f.signature_asc_text)?;
        let app = app(depot);
        let (key, committees) = run(&app, move |s| {
            use sequoia_openpgp::parse::Parse as _;
            let all = s.read(|tx| {
                let mut keys = Vec::new();
                for c in tx.all_committee_keys()? {
                    for k in tx.signing_keys_of_committee(&c)? {
                        if !keys.iter().any(|x: &atr_core::model::PublicSigningKey| x.fingerprint == k.fingerprint) {
                            keys.push(k);
                        }
                    }
                }
                Ok::<_, ApiError>(keys)
            })?;
            let key = all
                .into_iter()
                .find(|k| {
                    sequoia_openpgp::Cert::from_bytes(k.ascii_armored_key.as_bytes()).is_ok_and(|cert| {
                        cert.keys().any(|ka| handles.iter().any(|h| h.aliases(ka.key().key_handle())))
                    })
                })
                .ok_or_else(|| ApiError::not_found("No key in any committee's KEYS made this signature."))?;
            let linked = s.read(|tx| tx.key_committees(&key.fingerprint))?;
            let mut committees = Vec::new();
            for c in linked {
                if committee_has_file(s, &c, &f.signature_file_name, &digest)? {
                    committees.push(CommitteeRef { committee: c.to_string() });
                }
            }
            Ok((key, committees))
        })
        .await?;
        Reply::ok(&ProvenanceResponse {
            endpoint: "/signature/provenance".to_owned(),
            fingerprint: key.fingerprint.to_uppercase(),
            key_asc_text: key.ascii_armored_key.clone(),
            committees_with_artifact: committees,
        })
    }
}
