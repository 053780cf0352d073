//! `callscope serve`: the web workspace (crates/server) on one address.

use crate::cli::ServeArgs;
use crate::output::{Outcome, Output};
use callscope_core::error::Result;
use callscope_store::workspace::Workspace;

pub(super) fn run(workspace: &Workspace, args: &ServeArgs, output: Output) -> Result<Outcome> {
    let server = callscope_server::Server::bind(workspace.clone(), args.listen)?;
    let address = server.local_addr();
    if output.json {
        output.json_line(&serde_json::json!({ "listening": format!("http://{address}") }));
    } else {
        crate::outln!("listening on http://{address} (one local admin; Ctrl-C stops)");
    }
    server.run()?;
    Ok(Outcome::ok())
}
