//! Benchmarks behind `callscope-bench`: each measures one stage on
//! synthetic or shared data and returns rows for a printed table. They are
//! measurements, never assertions; docs/benchmarks.md lists the command
//! behind every figure, and the figures.

pub mod args;
pub mod asr;
mod asr_batch;
mod asr_roles;
pub mod audio;
pub mod digest;
pub mod import;
pub mod qa;
pub mod redact;
pub mod search;
pub mod serve;
pub mod workers;

use serde::Serialize;

/// One measured figure.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// What was measured (and with which tool).
    pub name: String,
    /// The figure.
    pub value: f64,
    /// Its unit.
    pub unit: String,
    /// Notes: sizes, settings, the alternative compared with.
    pub note: String,
}

impl Row {
    /// A row.
    pub fn new(name: impl Into<String>, value: f64, unit: &str, note: impl Into<String>) -> Row {
        Row {
            name: name.into(),
            value,
            unit: unit.to_string(),
            note: note.into(),
        }
    }
}

/// Prints rows as a Markdown table (pasted into docs/benchmarks.md as is).
pub fn print_table(title: &str, rows: &[Row]) {
    println!("### {title}\n");
    println!("| measure | value | unit | note |");
    println!("|---|---:|---|---|");
    for row in rows {
        let value = if row.value.abs() >= 100.0 {
            format!("{:.0}", row.value)
        } else if row.value.abs() >= 1.0 {
            format!("{:.2}", row.value)
        } else {
            format!("{:.4}", row.value)
        };
        println!("| {} | {value} | {} | {} |", row.name, row.unit, row.note);
    }
    println!();
}

/// Peak resident memory of this process so far, in MiB (Linux; 0 elsewhere).
pub fn peak_rss_mib() -> f64 {
    vm_hwm_mib("/proc/self/status").unwrap_or(0.0)
}

/// The peak resident memory (`VmHWM`) a `/proc/PID/status` file gives, MiB.
fn vm_hwm_mib(status_file: &str) -> Option<f64> {
    let status = std::fs::read_to_string(status_file).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map(|kib| kib / 1024.0)
}
