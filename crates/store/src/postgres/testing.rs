//! A throwaway schema in the test database, for this crate's conformance
//! suite and the scale-out tests of other crates.
//!
//! The database is `CALLSCOPE_TEST_PG_URL` (`scripts/services.sh` starts
//! one on loopback and prints it). Without it the tests that need it are
//! skipped with a message, except under CI (`CI` set), where a missing or
//! unreachable database fails them: CI must not pass by skipping.

use callscope_core::error::{Error, Result};
use postgres::{Client, NoTls};

/// The variable naming the test database.
pub const TEST_URL_ENV: &str = "CALLSCOPE_TEST_PG_URL";

/// A schema of its own in the test database, dropped with everything in
/// it when this value is.
pub struct TestSchema {
    base_url: String,
    name: String,
}

impl TestSchema {
    /// A fresh schema, or `None` (with a message) when no test database is
    /// configured outside CI. Panics under CI when the database is missing
    /// or unreachable.
    pub fn create(label: &str) -> Option<TestSchema> {
        let ci = std::env::var_os("CI").is_some_and(|value| !value.is_empty());
        let base_url = match std::env::var(TEST_URL_ENV) {
            Ok(url) if !url.is_empty() => url,
            _ if ci => panic!(
                "{TEST_URL_ENV} is not set under CI: scripts/test.sh starts PostgreSQL with \
                 scripts/services.sh"
            ),
            _ => {
                eprintln!(
                    "skipped: set {TEST_URL_ENV} (eval \"$(scripts/services.sh)\") to run the \
                     PostgreSQL tests"
                );
                return None;
            }
        };
        Some(TestSchema::create_at(&base_url, label).unwrap_or_else(|error| panic!("{error}")))
    }

    /// A fresh schema named after `label` in the database at `base_url`
    /// (tests and benchmarks), dropped with this value.
    pub fn create_at(base_url: &str, label: &str) -> Result<TestSchema> {
        let unique = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or(0);
        let label: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(30)
            .collect();
        let name = format!("t_{label}_{}_{unique}", std::process::id());
        let place = super::describe_url(base_url);
        let mut client = Client::connect(base_url, NoTls).map_err(|error| {
            Error::Store(format!("cannot reach {place}: {}", super::explain(&error)))
        })?;
        client
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .map_err(|error| {
                Error::Store(format!(
                    "cannot create schema {name} in {place}: {}",
                    super::explain(&error)
                ))
            })?;
        Ok(TestSchema {
            base_url: base_url.to_string(),
            name,
        })
    }

    /// The URL of the test database with this schema as the search path.
    pub fn url(&self) -> String {
        let joiner = if self.base_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{joiner}options=-csearch_path%3D{}",
            self.base_url, self.name
        )
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        if let Ok(mut client) = Client::connect(&self.base_url, NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}
