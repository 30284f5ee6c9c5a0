//! The nested objects of API responses (`Release`, `Revision`, `Task`, `CheckResult`, …) with the
//! keys the `atr` client requires, built from the core's and storage's types.

use atr_core::ids::RevisionNumber;
use serde_json::Value;

use super::schema::wire;

fn ts(t: atr_core::time::Timestamp) -> String {
    t.to_string()
}

wire! {
    /// A release (ATR's `Release`).
    Release {
        key: String,
        project_key: String,
        version: String,
        phase: atr_core::model::ReleasePhase,
        created: String,
        released: Option<String>,
        vote_started: Option<String>,
        vote_resolved: Option<String>,
        latest_revision_number: Option<String>,
    }
}

impl Release {
    /// The wire form of `r`, whose latest revision is `latest`.
    pub(crate) fn of(r: &atr_core::model::Release, latest: Option<RevisionNumber>) -> Release {
        Release {
            key: r.key().to_string(),
            project_key: r.project_key.to_string(),
            version: r.version_key.to_string(),
            phase: r.phase,
            created: ts(r.created),
            released: r.released.map(ts),
            vote_started: r.vote_started.map(ts),
            vote_resolved: r.vote_resolved.map(ts),
            latest_revision_number: latest.map(|n| n.to_string()),
        }
    }
}

wire! {
    /// A revision (ATR's `Revision`).
    Revision {
        key: String,
        release_key: String,
        number: String,
        seq: u32,
        asfuid: String,
        phase: atr_core::model::ReleasePhase,
        created: String,
        parent_key: Option<String>,
        description: String,
        tag: Option<String>,
        was_quarantined: bool,
    }
}

impl Revision {
    /// The wire form of `r`; `was_quarantined` when it was made from a validated upload.
    pub(crate) fn of(r: &atr_core::model::Revision, was_quarantined: bool) -> Revision {
        let release_key = format!("{}-{}", r.project_key, r.version_key);
        Revision {
            key: r.key(),
            number: r.number.to_string(),
            seq: r.number.get(),
            asfuid: r.asfuid.to_string(),
            phase: r.phase,
            created: ts(r.created),
            parent_key: r.parent.map(|p| format!("{release_key} {p}")),
            description: r.description.clone(),
            tag: None,
            was_quarantined,
            release_key,
        }
    }
}

wire! {
    /// A background task (ATR's `Task`).
    Task {
        id: i64,
        status: atr_core::model::TaskStatus,
        task_type: atr_core::model::TaskType,
        task_args: Value,
        asf_uid: String,
        added: String,
        started: Option<String>,
        completed: Option<String>,
        result: Option<Value>,
        error: Option<String>,
        project_key: Option<String>,
        version_key: Option<String>,
        revision_number: Option<String>,
        primary_rel_path: Option<String>,
    }
}

impl Task {
    /// The wire form of `t` (a task of the system has the uid `""`).
    pub(crate) fn of(t: &atr_core::model::Task) -> Task {
        Task {
            id: t.id.0,
            status: t.status,
            task_type: t.spec.task_type,
            task_args: t.spec.task_args.clone(),
            asf_uid: t.spec.asf_uid.as_ref().map(|u| u.to_string()).unwrap_or_default(),
            added: ts(t.added),
            started: t.started.map(ts),
            completed: t.completed.map(ts),
            result: t.result.clone(),
            error: t.error.clone(),
            project_key: t.spec.project_key.as_ref().map(|k| k.to_string()),
            version_key: t.spec.version_key.as_ref().map(|k| k.to_string()),
            revision_number: t.spec.revision_number.map(|n| n.to_string()),
            primary_rel_path: t.spec.primary_rel_path.as_ref().map(|p| p.to_string()),
        }
    }
}

wire! {
    /// The result of a `vote_initiate` task (the client's `VoteInitiate`, discriminated by `kind`).
    VoteInitiate {
        kind: String,
        message: String,
        email_to: String,
        /// The end of the vote period, as ATR writes it: `YYYY-MM-DD HH:MM:SS UTC`.
        vote_end: String,
        subject: String,
        mid: Option<String>,
        mail_send_warnings: Vec<String>,
    }
}

impl VoteInitiate {
    /// The result of a vote started at once, its mail `started`.
    pub(crate) fn of(started: &crate::ops::VoteStarted) -> VoteInitiate {
        let end = started.vote_end.to_string();
        VoteInitiate {
            kind: "vote_initiate".to_owned(),
            message: "Vote announcement email sent successfully".to_owned(),
            email_to: started.email_to.clone(),
            vote_end: format!("{} UTC", end.replace('T', " ").trim_end_matches('Z')),
            subject: started.subject.clone(),
            mid: started.message_id.clone(),
            mail_send_warnings: Vec::new(),
        }
    }
}

wire! {
    /// One check result (ATR's `CheckResult`).
    CheckResult {
        id: i64,
        release_key: String,
        revision_number: String,
        checker: String,
        checker_version: String,
        primary_rel_path: Option<String>,
        member_rel_path: Option<String>,
        status: atr_core::check::CheckStatus,
        message: String,
        data: Value,
        created: String,
        inputs_hash: Option<String>,
        cached: bool,
    }
}

impl CheckResult {
    /// The wire form of a stored result (the reference `/checks/list` encoding that the
    /// endpoint's direct encoder is tested against).
    #[cfg(test)]
    pub(crate) fn of(r: &atr_storage::db::checks::StoredCheckResult) -> CheckResult {
        CheckResult {
            id: r.id,
            release_key: format!("{}-{}", r.project_key, r.version_key),
            revision_number: r.revision_number.to_string(),
            checker: r.result.checker.name.to_owned(),
            checker_version: r.checker_version.clone(),
            primary_rel_path: r.result.primary_rel_path.as_ref().map(|p| p.to_string()),
            member_rel_path: r.result.member_rel_path.clone(),
            status: r.result.status,
            message: r.result.message.clone(),
            data: r.result.data.clone(),
            created: ts(r.created),
            inputs_hash: r.inputs_hash.clone(),
            cached: r.cached,
        }
    }
}

wire! {
    /// An OpenPGP key (ATR's `PublicSigningKey`); the fingerprint in lowercase hex.
    PublicSigningKey {
        fingerprint: String,
        algorithm: u32,
        length: u32,
        created: String,
        latest_self_signature: Option<String>,
        expires: Option<String>,
        primary_declared_uid: Option<String>,
        secondary_declared_uids: Vec<String>,
        apache_uid: Option<String>,
        ascii_armored_key: String,
    }
}

impl PublicSigningKey {
    /// The wire form of `k`.
    pub(crate) fn of(k: &atr_core::model::PublicSigningKey) -> PublicSigningKey {
        PublicSigningKey {
            fingerprint: k.fingerprint.as_str().to_ascii_lowercase(),
            algorithm: k.algorithm,
            length: k.length,
            created: ts(k.created),
            latest_self_signature: k.latest_self_signature.map(ts),
            expires: k.expires.map(ts),
            primary_declared_uid: k.primary_declared_uid.clone(),
            secondary_declared_uids: k.secondary_declared_uids.clone(),
            apache_uid: k.apache_uid.as_ref().map(|u| u.to_string()),
            ascii_armored_key: k.ascii_armored_key.clone(),
        }
    }
}

wire! {
    /// An SSH key for rsync uploads (ATR's `SSHKey`).
    SshKey { fingerprint: String, key: String, asf_uid: String }
}

impl SshKey {
    /// The wire form of `k`.
    pub(crate) fn of(k: &atr_core::model::SshKey) -> SshKey {
        SshKey { fingerprint: k.fingerprint.clone(), key: k.key.clone(), asf_uid: k.asf_uid.to_string() }
    }
}

wire! {
    /// A project (ATR's `Project`).
    Project {
        key: String,
        committee_key: String,
        name: String,
        status: String,
        super_project_key: Option<String>,
        description: String,
        created: String,
        created_by: String,
    }
}

impl Project {
    /// The wire form of `p`.
    pub(crate) fn of(p: &atr_core::model::Project) -> Project {
        Project {
            key: p.key.to_string(),
            committee_key: p.committee_key.to_string(),
            name: p.name.clone(),
            status: serde_json::to_value(p.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            super_project_key: p.super_project.as_ref().map(|k| k.to_string()),
            description: p.description.clone(),
            created: ts(p.created),
            created_by: p.created_by.to_string(),
        }
    }
}

wire! {
    /// A rule hiding matching check results (ATR's `CheckResultIgnore`).
    CheckResultIgnore {
        id: Option<i64>,
        asf_uid: String,
        created: String,
        project_key: String,
        release_glob: Option<String>,
        revision_number: Option<String>,
        checker_glob: Option<String>,
        primary_rel_path_glob: Option<String>,
        member_rel_path_glob: Option<String>,
        status: Option<atr_core::check::CheckStatus>,
        message_glob: Option<String>,
    }
}

impl CheckResultIgnore {
    /// The wire form of `i`.
    pub(crate) fn of(i: &atr_core::model::CheckResultIgnore) -> CheckResultIgnore {
        CheckResultIgnore {
            id: i.id,
            asf_uid: i.asf_uid.to_string(),
            created: ts(i.created),
            project_key: i.project_key.to_string(),
            release_glob: i.release_glob.clone(),
            revision_number: i.revision_number.map(|n| n.to_string()),
            checker_glob: i.checker_glob.clone(),
            primary_rel_path_glob: i.primary_rel_path_glob.clone(),
            member_rel_path_glob: i.member_rel_path_glob.clone(),
            status: i.status,
            message_glob: i.message_glob.clone(),
        }
    }
}

wire! {
    /// A distribution record (strict in the client: exactly these keys).
    Distribution {
        platform: atr_core::model::DistributionPlatform,
        owner_namespace: String,
        package: String,
        version: String,
        staging: bool,
        pending: bool,
        upload_date: Option<String>,
        api_url: Option<String>,
        web_url: Option<String>,
    }
}

impl Distribution {
    /// The wire form of `d`.
    pub(crate) fn of(d: &atr_core::model::Distribution) -> Distribution {
        Distribution {
            platform: d.platform,
            owner_namespace: d.owner_namespace.clone(),
            package: d.package.clone(),
            version: d.version.clone(),
            staging: d.staging,
            pending: d.pending,
            upload_date: d.upload_date.map(ts),
            api_url: Some(d.api_url.clone()),
            web_url: d.web_url.clone(),
        }
    }
}
