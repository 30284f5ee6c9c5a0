//! Distribution records: where a release was also published (package registries).

use serde::{Deserialize, Serialize};

use crate::ids::{ProjectKey, Uid, VersionKey};
use crate::model::ReleasePhase;
use crate::model::task::{TaskSpec, TaskType};
use crate::time::Timestamp;

wire_enum! {
    /// A package registry. The text form is ATR's enum name, as the API sends it.
    pub enum DistributionPlatform, what = "distribution platform" {
        /// Artifact Hub (Helm charts).
        ArtifactHub = "ARTIFACT_HUB",
        /// Docker Hub.
        DockerHub = "DOCKER_HUB",
        /// Maven Central.
        Maven = "MAVEN",
        /// npm, unscoped.
        Npm = "NPM",
        /// npm, scoped (`@owner/package`).
        NpmScoped = "NPM_SCOPED",
        /// PyPI.
        Pypi = "PYPI",
    }
}

/// Why a distribution URL cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DistributionError {
    /// The platform needs an owner namespace.
    #[error("{0} needs an owner namespace (organisation, group id or scope); give it")]
    OwnerRequired(&'static str),
    /// The platform has no staging registry.
    #[error("{0} has no staging registry; staging is supported only for Artifact Hub and PyPI")]
    NoStaging(&'static str),
    /// A part contains characters that would change the URL.
    #[error("`{0}` contains characters not allowed in a package name, namespace or version")]
    BadPart(String),
    /// The release is in a phase where this kind of record is not taken.
    #[error(
        "{kind} distributions are recorded while the release is {allowed}; this release is in the {phase} phase"
    )]
    WrongPhase {
        /// `Staging` or `Published`.
        kind: &'static str,
        /// The phases that allow it.
        allowed: &'static str,
        /// The release's phase.
        phase: &'static str,
    },
}

impl DistributionPlatform {
    /// The name shown to people.
    pub fn display_name(self) -> &'static str {
        match self {
            DistributionPlatform::ArtifactHub => "Artifact Hub",
            DistributionPlatform::DockerHub => "Docker Hub",
            DistributionPlatform::Maven => "Maven Central",
            DistributionPlatform::Npm => "npm",
            DistributionPlatform::NpmScoped => "npm (scoped)",
            DistributionPlatform::Pypi => "PyPI",
        }
    }

    /// The path (and query) of the package version under the registry's base URL.
    fn path_template(self) -> &'static str {
        match self {
            DistributionPlatform::ArtifactHub => {
                "/api/v1/packages/helm/{owner_namespace}/{package}/{version}"
            }
            DistributionPlatform::DockerHub => {
                "/v2/namespaces/{owner_namespace}/repositories/{package}/tags/{version}"
            }
            DistributionPlatform::Maven => {
                "/solrsearch/select?q=g:{owner_namespace}+AND+a:{package}+AND+v:{version}&core=gav&rows=20&wt=json"
            }
            // The package document: the version document (`/{package}/{version}`) has no publish
            // time; the package's `time` map has one per version.
            DistributionPlatform::Npm => "/{package}",
            DistributionPlatform::NpmScoped => "/@{owner_namespace}/{package}",
            DistributionPlatform::Pypi => "/pypi/{package}/{version}/json",
        }
    }

    /// Whether the platform has a staging registry (ATR: Artifact Hub and PyPI only).
    pub fn has_staging(self) -> bool {
        matches!(self, DistributionPlatform::ArtifactHub | DistributionPlatform::Pypi)
    }

    /// Whether an owner namespace must be given.
    pub fn requires_owner_namespace(self) -> bool {
        matches!(
            self,
            DistributionPlatform::ArtifactHub | DistributionPlatform::Maven | DistributionPlatform::NpmScoped
        )
    }

    /// The namespace used when none is given.
    pub fn default_owner_namespace(self) -> Option<&'static str> {
        (self == DistributionPlatform::DockerHub).then_some("library")
    }

    /// The registry API URL to look the package up at, under the base URLs of `registries`.
    pub fn api_url(
        self,
        registries: &Registries,
        owner: Option<&str>,
        package: &str,
        version: &str,
        staging: bool,
    ) -> Result<String, DistributionError> {
        let base = registries.base(self, staging).ok_or(DistributionError::NoStaging(self.display_name()))?;
        let template = format!("{}{}", base.trim_end_matches('/'), self.path_template());
        let owner = owner.filter(|o| !o.is_empty()).or(self.default_owner_namespace());
        if self.requires_owner_namespace() && owner.is_none() {
            return Err(DistributionError::OwnerRequired(self.display_name()));
        }
        for part in [owner.unwrap_or(""), package, version] {
            if !part.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+')) {
                return Err(DistributionError::BadPart(part.escape_debug().to_string()));
            }
        }
        if package.is_empty() || version.is_empty() {
            return Err(DistributionError::BadPart(String::new()));
        }
        Ok(template
            .replace("{owner_namespace}", owner.unwrap_or(""))
            .replace("{package}", package)
            .replace("{version}", version))
    }
}

/// Where each registry's public JSON API is: scheme, host and optional path prefix (no trailing
/// slash needed). The defaults are the public registries; a server may point them elsewhere (a
/// mirror, or a registry a test runs on loopback).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Registries {
    /// npm (`/{package}`, `/@{scope}/{package}`).
    pub npm: String,
    /// PyPI (`/pypi/{package}/{version}/json`).
    pub pypi: String,
    /// PyPI's staging registry, TestPyPI.
    pub pypi_staging: String,
    /// Maven Central's search API (`/solrsearch/select`).
    pub maven: String,
    /// Docker Hub (`/v2/namespaces/{namespace}/repositories/{repository}/tags/{tag}`).
    pub docker_hub: String,
    /// Artifact Hub (`/api/v1/packages/helm/{repository}/{package}/{version}`).
    pub artifact_hub: String,
    /// Artifact Hub's staging instance.
    pub artifact_hub_staging: String,
}

impl Default for Registries {
    fn default() -> Registries {
        Registries {
            npm: "https://registry.npmjs.org".to_owned(),
            pypi: "https://pypi.org".to_owned(),
            pypi_staging: "https://test.pypi.org".to_owned(),
            maven: "https://search.maven.org".to_owned(),
            docker_hub: "https://hub.docker.com".to_owned(),
            artifact_hub: "https://artifacthub.io".to_owned(),
            artifact_hub_staging: "https://staging.artifacthub.io".to_owned(),
        }
    }
}

impl Registries {
    /// The base URL of `platform` (its staging registry when `staging`; `None` when it has none).
    pub fn base(&self, platform: DistributionPlatform, staging: bool) -> Option<&str> {
        use DistributionPlatform::*;
        Some(match (platform, staging) {
            (Npm | NpmScoped, false) => &self.npm,
            (Pypi, false) => &self.pypi,
            (Pypi, true) => &self.pypi_staging,
            (Maven, false) => &self.maven,
            (DockerHub, false) => &self.docker_hub,
            (ArtifactHub, false) => &self.artifact_hub,
            (ArtifactHub, true) => &self.artifact_hub_staging,
            (Npm | NpmScoped | Maven | DockerHub, true) => return None,
        })
    }

    /// Every base URL with its configuration key, for validation at start.
    pub fn all(&self) -> [(&'static str, &str); 7] {
        [
            ("npm", &self.npm),
            ("pypi", &self.pypi),
            ("pypi_staging", &self.pypi_staging),
            ("maven", &self.maven),
            ("docker_hub", &self.docker_hub),
            ("artifact_hub", &self.artifact_hub),
            ("artifact_hub_staging", &self.artifact_hub_staging),
        ]
    }
}

/// What a registry says about a package version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryMetadata {
    /// When the version was uploaded.
    pub upload_date: Timestamp,
    /// The registry's own web page of the version, when its answer names one.
    pub web_url: Option<String>,
}

/// Reads the upload date (and web page, where given) of `version` from a registry's JSON answer.
/// The error says, for a person, what the answer lacks.
pub fn read_metadata(
    platform: DistributionPlatform,
    package: &str,
    version: &str,
    answer: &serde_json::Value,
) -> Result<RegistryMetadata, String> {
    use serde_json::Value;
    let date = |v: Option<&Value>, what: &str| -> Result<Timestamp, String> {
        let text = v.and_then(Value::as_str).ok_or_else(|| format!("the answer has no {what}"))?;
        Timestamp::parse_rfc3339(text).map_err(|_| format!("the {what} {text:?} is not an RFC 3339 UTC time"))
    };
    let unix = |v: Option<&Value>, what: &str, scale: i64| -> Result<Timestamp, String> {
        v.and_then(Value::as_i64)
            .map(|n| Timestamp::from_unix(n / scale))
            .ok_or_else(|| format!("the answer has no {what}"))
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    match platform {
        DistributionPlatform::Npm | DistributionPlatform::NpmScoped => {
            let times =
                answer.get("time").and_then(Value::as_object).ok_or("the answer has no `time` map")?;
            let t = times
                .get(version)
                .or_else(|| times.get(&format!("v{version}")))
                .ok_or_else(|| format!("npm lists no version {version} of {package} (not published yet?)"))?;
            Ok(RegistryMetadata { upload_date: date(Some(t), "publish time")?, web_url: None })
        }
        DistributionPlatform::Pypi => {
            let info = answer.get("info");
            if let Some(v) = info.and_then(|i| i.get("version")).and_then(Value::as_str)
                && v != version
            {
                return Err(format!("PyPI answered about version {v}, not {version}"));
            }
            let first = answer.get("urls").and_then(Value::as_array).and_then(|u| u.first());
            let first =
                first.ok_or_else(|| format!("PyPI has release {version} of {package} but no file in it"))?;
            Ok(RegistryMetadata {
                upload_date: date(
                    first.get("upload_time_iso_8601"),
                    "`upload_time_iso_8601` of the first file",
                )?,
                web_url: text(info.and_then(|i| i.get("release_url"))),
            })
        }
        DistributionPlatform::Maven => {
            let docs = answer
                .pointer("/response/docs")
                .and_then(Value::as_array)
                .ok_or("the answer has no `response.docs`")?;
            let doc = docs.iter().find(|d| d.get("v").and_then(Value::as_str) == Some(version)).ok_or_else(
                || {
                    format!(
                        "Maven Central's search lists no version {version} of {package} (not indexed yet?)"
                    )
                },
            )?;
            Ok(RegistryMetadata {
                upload_date: unix(doc.get("timestamp"), "`timestamp`", 1000)?,
                web_url: None,
            })
        }
        DistributionPlatform::DockerHub => Ok(RegistryMetadata {
            upload_date: date(answer.get("tag_last_pushed"), "`tag_last_pushed`")?,
            web_url: None,
        }),
        DistributionPlatform::ArtifactHub => {
            // The version's own entry of `available_versions`, else the package's `ts` (the
            // answer is about the version asked for).
            let listed = answer
                .get("available_versions")
                .and_then(Value::as_array)
                .and_then(|a| a.iter().find(|e| e.get("version").and_then(Value::as_str) == Some(version)));
            let ts = listed.and_then(|e| e.get("ts")).or_else(|| answer.get("ts"));
            Ok(RegistryMetadata { upload_date: unix(ts, "`ts`", 1)?, web_url: None })
        }
    }
}

/// The arguments of a `distribution_status` task: ask the registry about one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistributionFetch {
    /// The record's platform.
    pub platform: DistributionPlatform,
    /// The record's owner namespace (`""` when none).
    pub owner_namespace: String,
    /// The record's package.
    pub package: String,
    /// The record's version.
    pub version: String,
    /// The URL to ask (the record's `api_url`: the update applies only while it is unchanged).
    pub api_url: String,
    /// How long the registry may take to answer, in milliseconds.
    pub timeout_ms: u64,
}

impl DistributionFetch {
    /// The task that asks the registry about `d`, on behalf of `by`.
    pub fn task(d: &Distribution, timeout_ms: u64, by: Option<Uid>) -> TaskSpec {
        let args = DistributionFetch {
            platform: d.platform,
            owner_namespace: d.owner_namespace.clone(),
            package: d.package.clone(),
            version: d.version.clone(),
            api_url: d.api_url.clone(),
            timeout_ms,
        };
        TaskSpec {
            task_type: TaskType::DistributionStatus,
            task_args: serde_json::to_value(&args).expect("fetch arguments serialise"),
            asf_uid: by,
            project_key: Some(d.project_key.clone()),
            version_key: Some(d.version_key.clone()),
            revision_number: None,
            primary_rel_path: None,
        }
    }
}

/// What is known about a record after asking its registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// The registry has the version: the record is no longer pending.
    Found(RegistryMetadata),
    /// The registry could not be reached or does not have it (yet): the record stays pending, with
    /// this reason for people.
    Pending(String),
}

/// What a person or the API asks to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistributionInput {
    /// The registry.
    pub platform: DistributionPlatform,
    /// Owner namespace (`None` or empty: none, or the platform's default).
    pub owner_namespace: Option<String>,
    /// Package name in the registry.
    pub package: String,
    /// Version in the registry.
    pub version: String,
    /// Whether it is in the registry's staging area.
    pub staging: bool,
}

/// The public web page of a package version, where the registry has a predictable one.
pub fn web_url(
    platform: DistributionPlatform,
    owner: &str,
    package: &str,
    version: &str,
    staging: bool,
) -> Option<String> {
    use DistributionPlatform::*;
    match (platform, staging) {
        (Npm, false) => Some(format!("https://www.npmjs.com/package/{package}/v/{version}")),
        (NpmScoped, false) => Some(format!("https://www.npmjs.com/package/@{owner}/{package}/v/{version}")),
        (Pypi, false) => Some(format!("https://pypi.org/project/{package}/{version}/")),
        (Pypi, true) => Some(format!("https://test.pypi.org/project/{package}/{version}/")),
        (ArtifactHub, false) => {
            Some(format!("https://artifacthub.io/packages/helm/{owner}/{package}/{version}"))
        }
        (Maven, false) => Some(format!("https://central.sonatype.com/artifact/{owner}/{package}/{version}")),
        (DockerHub, false) if owner == "library" => Some(format!("https://hub.docker.com/_/{package}")),
        (DockerHub, false) => Some(format!("https://hub.docker.com/r/{owner}/{package}/tags")),
        _ => None,
    }
}

/// A record that a release is also available from a package registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distribution {
    /// The project of the release.
    pub project_key: ProjectKey,
    /// The version of the release.
    pub version_key: VersionKey,
    /// The registry.
    pub platform: DistributionPlatform,
    /// Owner namespace (`""` when none).
    pub owner_namespace: String,
    /// Package name in the registry.
    pub package: String,
    /// Version in the registry.
    pub version: String,
    /// Whether this is a staging registry.
    pub staging: bool,
    /// Whether the registry has not shown the package yet (re-polled).
    pub pending: bool,
    /// When the registry says it was uploaded.
    pub upload_date: Option<Timestamp>,
    /// The registry API URL.
    pub api_url: String,
    /// A web page for people, if the registry has one.
    pub web_url: Option<String>,
    /// Who recorded it.
    pub created_by: Uid,
    /// Why the record is still pending, after the registry was asked (`None`: not asked yet, or
    /// not pending).
    pub pending_reason: Option<String>,
    /// When the registry was last asked.
    pub checked_at: Option<Timestamp>,
}

impl Distribution {
    /// A new record of `input` for release `project` `version` in `phase`, by `by`. Staging records
    /// are taken while the release is composed or voted on (a staging registry after the vote
    /// passed is a mistake); published ones in any phase, as ATR's API and its publishing
    /// workflows record them during compose as well as after the announcement. The registry's metadata (upload date) is not known
    /// yet: the record is `pending` until a fetch from the registry fills it in.
    pub fn record(
        project_key: ProjectKey,
        version_key: VersionKey,
        phase: ReleasePhase,
        input: DistributionInput,
        registries: &Registries,
        by: Uid,
    ) -> Result<Distribution, DistributionError> {
        let staging_phase = matches!(phase, ReleasePhase::Draft | ReleasePhase::Candidate);
        if input.staging && !staging_phase {
            let (kind, allowed) = ("Staging", "being composed or voted on");
            return Err(DistributionError::WrongPhase { kind, allowed, phase: phase.label() });
        }
        let owner = input.owner_namespace.as_deref().map(str::trim).filter(|o| !o.is_empty());
        let (package, version) = (input.package.trim(), input.version.trim());
        let api_url = input.platform.api_url(registries, owner, package, version, input.staging)?;
        let owner = owner.or(input.platform.default_owner_namespace()).unwrap_or("").to_owned();
        let web_url = web_url(input.platform, &owner, package, version, input.staging);
        Ok(Distribution {
            project_key,
            version_key,
            platform: input.platform,
            owner_namespace: owner,
            package: package.to_owned(),
            version: version.to_owned(),
            staging: input.staging,
            pending: true,
            upload_date: None,
            api_url,
            web_url,
            created_by: by,
            pending_reason: None,
            checked_at: None,
        })
    }

    /// Applies what the registry said, asked at `at`: found fills in the upload date (and the
    /// registry's web page, where it names one) and clears `pending`; otherwise the record stays
    /// pending with the reason.
    pub fn apply_fetch(&mut self, outcome: FetchOutcome, at: Timestamp) {
        self.checked_at = Some(at);
        match outcome {
            FetchOutcome::Found(m) => {
                self.pending = false;
                self.pending_reason = None;
                self.upload_date = Some(m.upload_date);
                if m.web_url.is_some() {
                    self.web_url = m.web_url;
                }
            }
            FetchOutcome::Pending(reason) => {
                self.pending = true;
                self.pending_reason = Some(reason);
            }
        }
    }

    /// Whether this record may take the place of `existing` (same platform, namespace, package
    /// and version): only a published record replaces a staging one; otherwise it already exists.
    pub fn replaces(&self, existing: &Distribution) -> bool {
        existing.staging && !self.staging
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_follow_the_phase_and_start_pending() {
        let input = |staging| DistributionInput {
            platform: DistributionPlatform::Pypi,
            owner_namespace: Some(" ".into()),
            package: "apache-foo".into(),
            version: "1.0".into(),
            staging,
        };
        let rec = |phase, staging| {
            Distribution::record(
                ProjectKey::new("foo").unwrap(),
                VersionKey::new("1.0").unwrap(),
                phase,
                input(staging),
                &Registries::default(),
                Uid::new("alice").unwrap(),
            )
        };
        let staged = rec(ReleasePhase::Draft, true).unwrap();
        assert!(staged.pending && staged.upload_date.is_none());
        assert_eq!(staged.owner_namespace, "");
        assert_eq!(staged.api_url, "https://test.pypi.org/pypi/apache-foo/1.0/json");
        let published = rec(ReleasePhase::Preview, false).unwrap();
        assert_eq!(published.web_url.as_deref(), Some("https://pypi.org/project/apache-foo/1.0/"));
        assert!(
            published.replaces(&staged) && !staged.replaces(&published) && !published.replaces(&published)
        );
        assert!(rec(ReleasePhase::Draft, false).is_ok(), "published records in any phase");
        let e = rec(ReleasePhase::Release, true).unwrap_err().to_string();
        assert!(e.contains("Staging distributions are recorded while the release is being composed"), "{e}");
        let docker = Distribution::record(
            ProjectKey::new("foo").unwrap(),
            VersionKey::new("1.0").unwrap(),
            ReleasePhase::Release,
            DistributionInput {
                platform: DistributionPlatform::DockerHub,
                owner_namespace: None,
                ..input(false)
            },
            &Registries::default(),
            Uid::new("alice").unwrap(),
        )
        .unwrap();
        assert_eq!(docker.owner_namespace, "library");
    }

    #[test]
    fn platform_table() {
        crate::model::assert_wire_table(
            DistributionPlatform::ALL,
            &["ARTIFACT_HUB", "DOCKER_HUB", "MAVEN", "NPM", "NPM_SCOPED", "PYPI"],
        );
    }

    #[test]
    fn urls() {
        use DistributionPlatform::*;
        let r = Registries::default();
        assert_eq!(
            Pypi.api_url(&r, None, "apache-foo", "1.0", false).unwrap(),
            "https://pypi.org/pypi/apache-foo/1.0/json"
        );
        assert_eq!(
            Pypi.api_url(&r, None, "apache-foo", "1.0", true).unwrap(),
            "https://test.pypi.org/pypi/apache-foo/1.0/json"
        );
        assert_eq!(
            DockerHub.api_url(&r, None, "foo", "1.0", false).unwrap(),
            "https://hub.docker.com/v2/namespaces/library/repositories/foo/tags/1.0"
        );
        assert_eq!(
            Maven.api_url(&r, None, "foo", "1.0", false),
            Err(DistributionError::OwnerRequired("Maven Central"))
        );
        assert!(
            Npm.api_url(&r, None, "foo", "1.0", true)
                .unwrap_err()
                .to_string()
                .contains("only for Artifact Hub and PyPI")
        );
        assert!(matches!(Npm.api_url(&r, None, "../x", "1.0", false), Err(DistributionError::BadPart(_))));
        assert_eq!(
            NpmScoped.api_url(&r, Some("apache"), "foo", "1.0", false).unwrap(),
            "https://registry.npmjs.org/@apache/foo"
        );
    }

    #[test]
    fn configured_bases_and_scoped_npm() {
        let r = Registries { npm: "http://127.0.0.1:9/npm/".into(), ..Registries::default() };
        assert_eq!(
            DistributionPlatform::NpmScoped.api_url(&r, Some("apache"), "foo", "1.0", false).unwrap(),
            "http://127.0.0.1:9/npm/@apache/foo"
        );
        assert_eq!(r.base(DistributionPlatform::Maven, true), None);
    }

    #[test]
    fn metadata_is_read_from_real_shaped_answers() {
        use DistributionPlatform::*;
        use serde_json::json;
        let t = |s| Timestamp::parse_rfc3339(s).unwrap();
        let npm = json!({"name": "foo", "time": {"created": "2024-01-01T00:00:00.000Z", "1.0.0": "2024-02-03T04:05:06.789Z"}});
        assert_eq!(read_metadata(Npm, "foo", "1.0.0", &npm).unwrap().upload_date, t("2024-02-03T04:05:06Z"));
        let e = read_metadata(Npm, "foo", "2.0.0", &npm).unwrap_err();
        assert!(e.contains("npm lists no version 2.0.0 of foo"), "{e}");
        let pypi = json!({"info": {"version": "1.0", "release_url": "https://pypi.org/project/apache-foo/1.0/"},
            "urls": [{"upload_time_iso_8601": "2024-05-06T07:08:09.123456Z"}]});
        let m = read_metadata(Pypi, "apache-foo", "1.0", &pypi).unwrap();
        assert_eq!(
            m,
            RegistryMetadata {
                upload_date: t("2024-05-06T07:08:09Z"),
                web_url: Some("https://pypi.org/project/apache-foo/1.0/".into())
            }
        );
        let no_files = json!({"info": {"version": "1.0"}, "urls": []});
        assert!(read_metadata(Pypi, "apache-foo", "1.0", &no_files).unwrap_err().contains("no file"));
        let maven = json!({"response": {"numFound": 1, "docs": [{"g": "org.apache.foo", "a": "foo", "v": "1.0", "timestamp": 1717171717000_i64}]}});
        assert_eq!(
            read_metadata(Maven, "foo", "1.0", &maven).unwrap().upload_date,
            Timestamp::from_unix(1717171717)
        );
        let empty = json!({"response": {"numFound": 0, "docs": []}});
        assert!(read_metadata(Maven, "foo", "1.0", &empty).unwrap_err().contains("not indexed yet"));
        let docker = json!({"name": "1.0", "tag_last_pushed": "2024-07-08T09:10:11.5Z"});
        assert_eq!(
            read_metadata(DockerHub, "foo", "1.0", &docker).unwrap().upload_date,
            t("2024-07-08T09:10:11Z")
        );
        let ah = json!({"name": "foo", "version": "1.0", "ts": 1700000000,
            "available_versions": [{"version": "2.0", "ts": 1800000000}, {"version": "1.0", "ts": 1600000000}]});
        assert_eq!(
            read_metadata(ArtifactHub, "foo", "1.0", &ah).unwrap().upload_date,
            Timestamp::from_unix(1600000000)
        );
        assert!(read_metadata(DockerHub, "foo", "1.0", &json!({})).unwrap_err().contains("tag_last_pushed"));
    }

    #[test]
    fn a_fetch_clears_pending_or_keeps_the_reason() {
        let mut d = Distribution::record(
            ProjectKey::new("foo").unwrap(),
            VersionKey::new("1.0").unwrap(),
            ReleasePhase::Draft,
            DistributionInput {
                platform: DistributionPlatform::Npm,
                owner_namespace: None,
                package: "foo".into(),
                version: "1.0".into(),
                staging: false,
            },
            &Registries::default(),
            Uid::new("alice").unwrap(),
        )
        .unwrap();
        let task = DistributionFetch::task(&d, 5000, None);
        assert_eq!(task.task_type, TaskType::DistributionStatus);
        let args: DistributionFetch = serde_json::from_value(task.task_args).unwrap();
        assert_eq!((args.api_url.as_str(), args.timeout_ms), ("https://registry.npmjs.org/foo", 5000));
        d.apply_fetch(FetchOutcome::Pending("unreachable".into()), Timestamp::from_unix(10));
        assert!(d.pending && d.pending_reason.as_deref() == Some("unreachable"));
        let found = RegistryMetadata { upload_date: Timestamp::from_unix(5), web_url: None };
        d.apply_fetch(FetchOutcome::Found(found), Timestamp::from_unix(20));
        assert!(!d.pending && d.pending_reason.is_none());
        assert_eq!(
            (d.upload_date, d.checked_at),
            (Some(Timestamp::from_unix(5)), Some(Timestamp::from_unix(20)))
        );
        assert_eq!(
            d.web_url.as_deref(),
            Some("https://www.npmjs.com/package/foo/v/1.0"),
            "kept when the registry names none"
        );
    }
}
