//! Distribution records: where a release was also published (package registries).

use serde::{Deserialize, Serialize};

use crate::ids::{ProjectKey, Uid, VersionKey};
use crate::model::ReleasePhase;
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

    fn templates(self) -> (&'static str, Option<&'static str>) {
        match self {
            DistributionPlatform::ArtifactHub => (
                "https://artifacthub.io/api/v1/packages/helm/{owner_namespace}/{package}/{version}",
                Some(
                    "https://staging.artifacthub.io/api/v1/packages/helm/{owner_namespace}/{package}/{version}",
                ),
            ),
            DistributionPlatform::DockerHub => (
                "https://hub.docker.com/v2/namespaces/{owner_namespace}/repositories/{package}/tags/{version}",
                None,
            ),
            DistributionPlatform::Maven => (
                "https://search.maven.org/solrsearch/select?q=g:{owner_namespace}+AND+a:{package}+AND+v:{version}&core=gav&rows=20&wt=json",
                None,
            ),
            DistributionPlatform::Npm => ("https://registry.npmjs.org/{package}", None),
            DistributionPlatform::NpmScoped => {
                ("https://registry.npmjs.org/@{owner_namespace}/{package}", None)
            }
            DistributionPlatform::Pypi => (
                "https://pypi.org/pypi/{package}/{version}/json",
                Some("https://test.pypi.org/pypi/{package}/{version}/json"),
            ),
        }
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

    /// The registry API URL to look the package up at.
    pub fn api_url(
        self,
        owner: Option<&str>,
        package: &str,
        version: &str,
        staging: bool,
    ) -> Result<String, DistributionError> {
        let (prod, stage) = self.templates();
        let template =
            if staging { stage.ok_or(DistributionError::NoStaging(self.display_name()))? } else { prod };
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
        by: Uid,
    ) -> Result<Distribution, DistributionError> {
        let staging_phase = matches!(phase, ReleasePhase::Draft | ReleasePhase::Candidate);
        if input.staging && !staging_phase {
            let (kind, allowed) = ("Staging", "being composed or voted on");
            return Err(DistributionError::WrongPhase { kind, allowed, phase: phase.label() });
        }
        let owner = input.owner_namespace.as_deref().map(str::trim).filter(|o| !o.is_empty());
        let (package, version) = (input.package.trim(), input.version.trim());
        let api_url = input.platform.api_url(owner, package, version, input.staging)?;
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
        })
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
        assert_eq!(
            Pypi.api_url(None, "apache-foo", "1.0", false).unwrap(),
            "https://pypi.org/pypi/apache-foo/1.0/json"
        );
        assert_eq!(
            Pypi.api_url(None, "apache-foo", "1.0", true).unwrap(),
            "https://test.pypi.org/pypi/apache-foo/1.0/json"
        );
        assert_eq!(
            DockerHub.api_url(None, "foo", "1.0", false).unwrap(),
            "https://hub.docker.com/v2/namespaces/library/repositories/foo/tags/1.0"
        );
        assert_eq!(
            Maven.api_url(None, "foo", "1.0", false),
            Err(DistributionError::OwnerRequired("Maven Central"))
        );
        assert!(
            Npm.api_url(None, "foo", "1.0", true)
                .unwrap_err()
                .to_string()
                .contains("only for Artifact Hub and PyPI")
        );
        assert!(matches!(Npm.api_url(None, "../x", "1.0", false), Err(DistributionError::BadPart(_))));
        assert_eq!(
            NpmScoped.api_url(Some("apache"), "foo", "1.0", false).unwrap(),
            "https://registry.npmjs.org/@apache/foo"
        );
    }
}
