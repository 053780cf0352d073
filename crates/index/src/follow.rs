//! The follower's lease: `index/follow.json`, written by `callscope index
//! --follow` at every round and removed when it stops. While it is live,
//! the follower is the index's only writer: searches read the partitions
//! and leave the store's "indexed" marks to it.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use callscope_core::error::{Error, Result};

/// The lease file in the index folder.
pub const LEASE_FILE: &str = "follow.json";
/// A lease is live while its heartbeat is younger than this many intervals.
const LIVE_INTERVALS: f64 = 3.0;
/// ... and at least this many seconds.
const LIVE_MIN_SECONDS: f64 = 15.0;

/// Who keeps the index in step with the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowLease {
    /// The follower's process id.
    pub pid: u32,
    /// The machine it runs on.
    pub host: String,
    /// Seconds between its rounds.
    pub interval_seconds: f64,
    /// When it last wrote the lease (RFC 3339, UTC).
    pub heartbeat: String,
    /// Rounds (syncs) finished so far.
    #[serde(default)]
    pub rounds: u64,
}

impl FollowLease {
    /// The lease of this process, beating now, after `rounds` rounds.
    pub fn now(interval: Duration, rounds: u64) -> FollowLease {
        FollowLease {
            pid: std::process::id(),
            host: host_name(),
            interval_seconds: interval.as_secs_f64(),
            heartbeat: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            rounds,
        }
    }

    /// Whether this process holds the lease.
    pub fn is_mine(&self) -> bool {
        self.pid == std::process::id() && self.host == host_name()
    }

    /// Whether the follower still beats: its heartbeat is younger than 3
    /// intervals (15 s at least), and, on this machine, its process lives.
    pub fn is_live(&self) -> bool {
        let Some(heartbeat) = callscope_store::parse_timestamp(&self.heartbeat) else {
            return false;
        };
        let age = (chrono::Utc::now() - heartbeat.with_timezone(&chrono::Utc)).num_milliseconds()
            as f64
            / 1000.0;
        let limit = (self.interval_seconds * LIVE_INTERVALS).max(LIVE_MIN_SECONDS);
        if age > limit {
            return false;
        }
        // A follower killed on this machine: its process is gone.
        let proc = Path::new("/proc");
        if self.host == host_name() && proc.join("self").exists() {
            return proc.join(self.pid.to_string()).exists();
        }
        true
    }

    /// Reads the lease in `directory`, live or not; `None` when there is
    /// none (or it cannot be read).
    pub fn read(directory: &Path) -> Option<FollowLease> {
        let text = std::fs::read_to_string(directory.join(LEASE_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Writes the lease into `directory` (whole: written aside, renamed).
    pub fn write(&self, directory: &Path) -> Result<()> {
        let path = directory.join(LEASE_FILE);
        let aside = directory.join(format!(".{LEASE_FILE}.{}", self.pid));
        let text = serde_json::to_string_pretty(self)
            .map_err(|error| Error::Index(format!("writing the follow lease: {error}")))?;
        std::fs::write(&aside, text).map_err(|error| Error::io(&aside, error))?;
        std::fs::rename(&aside, &path).map_err(|error| Error::io(&path, error))
    }
}

/// This machine's name (`/proc/sys/kernel/hostname`, else `$HOSTNAME`).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|host| host.trim().to_string())
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_lives_while_it_beats_and_its_process_lives() {
        let mine = FollowLease::now(Duration::from_secs(5), 0);
        assert!(mine.is_mine() && mine.is_live());
        let old = FollowLease {
            heartbeat: "2020-01-01T00:00:00Z".to_string(),
            ..mine.clone()
        };
        assert!(!old.is_live());
        // A slow follower's lease lives for 3 of its intervals.
        let slow = FollowLease {
            interval_seconds: 600.0,
            heartbeat: (chrono::Utc::now() - chrono::Duration::seconds(900)).to_rfc3339(),
            ..mine.clone()
        };
        assert!(slow.is_live());
        // Another machine's follower: its heartbeat is all there is.
        let remote = FollowLease {
            pid: u32::MAX,
            host: "elsewhere".to_string(),
            ..mine.clone()
        };
        assert!(remote.is_live() && !remote.is_mine());
        let dead = FollowLease {
            pid: u32::MAX,
            ..mine
        };
        assert!(!dead.is_live() || !Path::new("/proc/self").exists());

        let directory = tempfile::tempdir().unwrap();
        assert_eq!(FollowLease::read(directory.path()), None);
        remote.write(directory.path()).unwrap();
        assert_eq!(FollowLease::read(directory.path()), Some(remote));
    }
}
