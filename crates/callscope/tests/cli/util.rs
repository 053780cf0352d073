//! A small harness that runs the real `callscope` binary in a temp dir.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A temporary workspace and the binary to run in it.
pub struct TestCommand {
    directory: tempfile::TempDir,
}

/// What a run printed and returned.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub(crate) fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Each stdout line parsed as JSON.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}"))
            })
            .collect()
    }
}

impl TestCommand {
    pub fn new() -> TestCommand {
        TestCommand {
            directory: tempfile::tempdir().unwrap(),
        }
    }

    /// The temp dir.
    pub fn dir(&self) -> &Path {
        self.directory.path()
    }

    /// The workspace folder tests use.
    pub fn data(&self) -> PathBuf {
        self.dir().join("data")
    }

    /// Writes a file into the temp dir and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// A `callscope` command with `--data` set, not yet run.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_at(&self.data(), args)
    }

    /// A `callscope` command on the workspace at `data`, not yet run.
    pub fn command_at(&self, data: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(binary());
        command
            .arg("--data")
            .arg(data)
            .args(args)
            .current_dir(self.dir())
            .env_remove("CALLSCOPE_DATA")
            .stdin(Stdio::null());
        command
    }

    /// Runs `callscope` with these arguments.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().unwrap())
    }

    /// Runs `callscope` with the seal key `key` (or explicitly none).
    pub fn run_with_key(&self, args: &[&str], key: Option<&Path>) -> Run {
        let mut command = self.command(args);
        command.env_remove(callscope_redact::SEAL_KEY_ENV);
        if let Some(key) = key {
            command.env(callscope_redact::SEAL_KEY_ENV, key);
        }
        Run::from(command.output().unwrap())
    }

    /// Runs `callscope` on the workspace at `data`.
    pub fn run_at(&self, data: &Path, args: &[&str]) -> Run {
        Run::from(self.command_at(data, args).output().unwrap())
    }

    /// Runs and insists on exit code `code`.
    pub fn expect(&self, args: &[&str], code: i32) -> Run {
        let run = self.run(args);
        assert_eq!(
            run.code, code,
            "callscope {args:?}\nstdout:\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        );
        run
    }
}

/// The binary under test.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_callscope"))
}

/// The repository root (for corpora/).
pub fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// A one-rule scorecard named 推送的质检标准 (the agent says 您好), for the
/// tests of scorecards kept in the store.
pub const PUSHED_SCORECARD: &str = "[scorecard]\nname = \"推送的质检标准\"\nbase_score = 100\n\
    pass_score = 80\n\n[[rule]]\nid = \"greeting\"\nexpect = \"present\"\npoints = 10\n\
    [rule.when]\nop = \"keyword\"\nrole = \"agent\"\nwords = [\"您好\"]\n";
