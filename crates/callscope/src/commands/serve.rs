//! `callscope serve`: the web workspace (crates/server) on one address.

use crate::cli::ServeArgs;
use crate::output::{Outcome, Output};
use callscope_core::error::Result;
use callscope_store::workspace::Workspace;

pub(super) fn run(workspace: &Workspace, args: &ServeArgs, output: Output) -> Result<Outcome> {
    let options = callscope_server::ServeOptions {
        listen: args.listen,
        token: args.token.clone(),
    };
    let server = callscope_server::Server::bind_with(workspace.clone(), &options)?;
    let address = server.local_addr();
    let users = workspace.open_existing_store()?.user_counts()?.0;
    if output.json {
        output.json_line(&serde_json::json!({ "listening": format!("http://{address}") }));
    } else if users == 0 && address.ip().is_loopback() {
        crate::outln!("listening on http://{address} (one local admin; Ctrl-C stops)");
    } else {
        crate::outln!("listening on http://{address} (sign in with a user; Ctrl-C stops)");
    }
    server.run()?;
    Ok(Outcome::ok())
}
