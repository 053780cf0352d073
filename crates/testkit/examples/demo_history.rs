//! Writes the demo workspace's synthetic history (six weeks of labelled,
//! generated transcripts: `callscope_testkit::demo_history`) as transcript
//! JSON Lines, for `callscope import`; scripts/setup.sh runs it.
//!
//! ```sh
//! cargo run --release -p callscope-testkit --example demo_history > history.jsonl
//! ```

use std::io::Write;

use callscope_testkit::demo_history::DemoHistory;

fn main() -> std::io::Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    DemoHistory::new().write_jsonl(&mut out)?;
    out.flush()
}
