//! How commands talk to people: progress bars that appear only on a
//! terminal, JSON or text printing, and the counters a batch ends with.

use std::io::{IsTerminal, Write};

/// `println!` for text that may come from calls, files or users: the line
/// goes through [`callscope_core::text::printable`], so no control
/// character or bidirectional override reaches the terminal.
#[macro_export]
macro_rules! outln {
    () => {
        println!()
    };
    ($($arg:tt)*) => {
        println!("{}", callscope_core::text::printable(&format!($($arg)*)))
    };
}

/// `eprintln!` with the same escaping as [`outln!`].
#[macro_export]
macro_rules! errln {
    () => {
        eprintln!()
    };
    ($($arg:tt)*) => {
        eprintln!("{}", callscope_core::text::printable(&format!($($arg)*)))
    };
}

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// Output settings shared by all commands.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Print JSON instead of text.
    pub json: bool,
    /// Never show progress bars.
    pub quiet: bool,
}

impl Output {
    /// A progress bar over `total` units, hidden unless stderr is a terminal.
    /// `template` is an indicatif template for the message part.
    pub fn progress(&self, total: u64, unit: &str) -> ProgressBar {
        if self.quiet || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(total);
        let template = match unit {
            "bytes" => "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} \
                        ({bytes_per_sec}, eta {eta}) {msg}"
                .to_string(),
            _ => format!(
                "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit} \
                 ({{per_sec}}, eta {{eta}}) {{msg}}"
            ),
        };
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style);
        }
        bar
    }

    /// Prints one value as a JSON line on stdout.
    pub fn json_line<T: Serialize>(&self, value: &T) {
        let mut stdout = std::io::stdout().lock();
        if serde_json::to_writer(&mut stdout, value).is_ok() {
            let _ = stdout.write_all(b"\n");
        }
    }
}

/// What a command reports when it returns normally.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Inputs that failed while the rest were done.
    pub failed: usize,
}

impl Outcome {
    /// All good.
    pub fn ok() -> Outcome {
        Outcome { failed: 0 }
    }

    /// The process exit code: 0 all good, 1 some inputs failed.
    pub fn exit_code(self) -> i32 {
        if self.failed > 0 {
            1
        } else {
            0
        }
    }
}

pub use callscope_core::text::clock;
