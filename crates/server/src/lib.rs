//! callscope's web workspace: a JSON API and server-rendered pages over a
//! workspace's store and search index, in one binary with every asset
//! embedded (docs/design/web.md).
//!
//! The pages and the API are produced by the same query functions
//! ([`query`]), which call the same library functions as the command line
//! (`callscope search`, `show`, `export-audio --silence-pii`) and mask
//! personal data the same way.
//!
//! ```no_run
//! use callscope_store::workspace::Workspace;
//!
//! # fn main() -> callscope_core::error::Result<()> {
//! let listen = "127.0.0.1:8080".parse().map_err(|_| {
//!     callscope_core::error::Error::Usage("bad address".to_string())
//! })?;
//! let server = callscope_server::Server::bind(Workspace::new("data"), listen)?;
//! println!("listening on http://{}", server.local_addr());
//! server.run()
//! # }
//! ```

mod api;
pub mod audio;
pub mod auth;
mod http;
mod pages;
pub mod query;
mod review;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;

use callscope_core::error::{Error, Result};
use callscope_store::workspace::Workspace;

pub use state::AppState;

/// Worker threads of the server's runtime: requests are short, and the
/// heavy work (search, decoding audio) runs on blocking threads.
const WORKER_THREADS: usize = 2;

/// Refuses an address other than loopback: without users and logins
/// (a later slice) anyone who can reach the port would act as the admin.
pub fn check_listen(listen: SocketAddr) -> Result<()> {
    if listen.ip().is_loopback() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "refusing to listen on {listen}: without users and logins the web workspace runs as \
         one local admin, so it listens on loopback only (e.g. --listen 127.0.0.1:8080); users, \
         roles and --token for other addresses come in a later version"
    )))
}

/// A bound server: the listening socket, the workspace's index and policy
/// loaded once, and the runtime that will serve them.
pub struct Server {
    runtime: tokio::runtime::Runtime,
    listener: std::net::TcpListener,
    state: Arc<AppState>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "Server({:?})", self.listener.local_addr().ok())
    }
}

impl Server {
    /// Checks the address ([`check_listen`]), opens the workspace (store,
    /// search index, redaction policy) and binds the socket; port 0 picks a
    /// free port ([`Server::local_addr`] says which).
    pub fn bind(workspace: Workspace, listen: SocketAddr) -> Result<Server> {
        check_listen(listen)?;
        let state = Arc::new(AppState::open(workspace)?);
        let listener = std::net::TcpListener::bind(listen).map_err(|error| {
            Error::Usage(format!(
                "cannot listen on {listen} ({error}): pick another port with --listen"
            ))
        })?;
        listener
            .set_nonblocking(true)
            .map_err(|error| Error::Usage(format!("cannot listen on {listen}: {error}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKER_THREADS)
            .thread_name("callscope-serve")
            .enable_io()
            .build()
            .map_err(|error| Error::Usage(format!("cannot start the server: {error}")))?;
        Ok(Server {
            runtime,
            listener,
            state,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves requests until the process ends.
    pub fn run(self) -> Result<()> {
        let Server {
            runtime,
            listener,
            state,
        } = self;
        let router = http::router(state);
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener)
                .map_err(|error| Error::Usage(format!("cannot listen: {error}")))?;
            axum::serve(listener, router)
                .await
                .map_err(|error| Error::Usage(format!("the server stopped: {error}")))
        })
    }
}
