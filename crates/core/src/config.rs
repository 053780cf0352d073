//! The workspace config file (`DATA/callscope.toml`).
//!
//! Each stage reads its own section (`[asr]`, `[qa]`, `[dictionary]`,
//! `[redaction]`, ...) through [`WorkspaceConfig::section`], so stages own
//! their settings and the file stays one place for users. A missing file
//! means all defaults; an unknown key in a section is an error naming the
//! file.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// The parsed config file.
#[derive(Debug, Clone, Default)]
pub struct WorkspaceConfig {
    path: Option<PathBuf>,
    table: toml::Table,
}

impl WorkspaceConfig {
    /// Reads `path`; a missing file gives the defaults.
    pub fn load(path: &Path) -> Result<WorkspaceConfig> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(WorkspaceConfig::default())
            }
            Err(error) => return Err(Error::io(path, error)),
        };
        let table = text.parse::<toml::Table>().map_err(|error| Error::Config {
            file: path.display().to_string(),
            reason: error.to_string(),
        })?;
        Ok(WorkspaceConfig {
            path: Some(path.to_path_buf()),
            table,
        })
    }

    /// Parses the config from text (tests, embedded defaults).
    pub fn parse(text: &str) -> Result<WorkspaceConfig> {
        let table = text.parse::<toml::Table>().map_err(|error| Error::Config {
            file: "config".to_string(),
            reason: error.to_string(),
        })?;
        Ok(WorkspaceConfig { path: None, table })
    }

    /// The config file's folder, against which relative paths in it resolve.
    pub fn base_dir(&self) -> Option<&Path> {
        self.path.as_deref().and_then(Path::parent)
    }

    /// Deserializes section `name`; a missing section gives `T::default()`.
    pub fn section<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T> {
        let Some(value) = self.table.get(name) else {
            return Ok(T::default());
        };
        value
            .clone()
            .try_into()
            .map_err(|error: toml::de::Error| Error::Config {
                file: self
                    .path
                    .as_ref()
                    .map(|path| path.display().to_string())
                    .unwrap_or_else(|| "config".to_string()),
                reason: format!("[{name}]: {error}"),
            })
    }
}

/// The `[review]` section: reviews (复核), the review queue's sampling plan
/// and appeals (申诉) in the web workspace (docs/design/web.md).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewSection {
    /// Days after a call's QA result during which its agent may appeal it
    /// (0 closes appeals).
    pub appeal_days: u32,
    /// Random calls per agent and ISO week the sampling plan assigns.
    pub sample_per_agent: usize,
    /// Average sentence confidence (ASR) under which a call is assigned.
    pub low_confidence: f64,
    /// Average role confidence under which a call is assigned.
    pub low_role_confidence: f64,
    /// Sampled calls per ISO week also given to a second reviewer
    /// (calibration).
    pub calibration_per_week: usize,
    /// Seed of the sampling: the same seed and calls give the same sample.
    pub seed: u64,
}

impl Default for ReviewSection {
    fn default() -> ReviewSection {
        ReviewSection {
            appeal_days: 7,
            sample_per_agent: 2,
            low_confidence: 0.6,
            low_role_confidence: 0.6,
            calibration_per_week: 2,
            seed: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Example {
        threads: Option<usize>,
    }

    #[test]
    fn sections_default_and_refuse_unknown_keys() {
        let config = WorkspaceConfig::parse("[asr]\nthreads = 2\n[qa]\nbogus = 1\n").unwrap();
        assert_eq!(
            config.section::<Example>("asr").unwrap(),
            Example { threads: Some(2) }
        );
        assert_eq!(
            config.section::<Example>("none").unwrap(),
            Example::default()
        );
        let error = config.section::<Example>("qa").unwrap_err().to_string();
        assert!(error.contains("[qa]") && error.contains("bogus"), "{error}");
    }
}
