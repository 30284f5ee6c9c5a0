//! Distribution records: where a release was also published (package registries).

use serde::{Deserialize, Serialize};

use crate::ids::{ProjectKey, Uid, VersionKey};
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

#[cfg(test)]
mod tests {
    use super::*;

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
