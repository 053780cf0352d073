//! callscope's web workspace: a JSON API and server-rendered pages over a
//! workspace's store and search index, in one binary with every asset
//! embedded (docs/design/web.md).
//!
//! The pages and the API are produced by the same query functions
//! ([`query`]), which call the same library functions as the command line
//! (`callscope search`, `show`, `export-audio --silence-pii`) and mask
//! personal data the same way.
//!
//! Who may connect: on loopback a workspace without users is one local
//! admin; once users exist everyone signs in; another address than
//! loopback needs an admin user or a `--token` ([`check_access`], [`auth`]).
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
mod reviewed;
mod sampling;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;

use callscope_core::error::{Error, Result};
use callscope_store::workspace::Workspace;

pub use review::{assign_plan, AssignReport, Window as ReviewWindow};
pub use state::AppState;

/// Worker threads of the server's runtime: requests are short, and the
/// heavy work (search, decoding audio) runs on blocking threads.
const WORKER_THREADS: usize = 2;

/// Refuses an address other than loopback; [`Server::bind_with`] lets one
/// through when the workspace has an admin user or a `--token` is given.
pub fn check_listen(listen: SocketAddr) -> Result<()> {
    if listen.ip().is_loopback() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "refusing to listen on {listen}: other machines could reach it, and this workspace \
         has no admin user to sign in as; add one first (`callscope user add NAME --role \
         admin`, then everyone signs in), or give --token TOKEN (or CALLSCOPE_API_TOKEN) for \
         API-only use, or listen on loopback (e.g. --listen 127.0.0.1:8080)"
    )))
}

/// [`check_listen`], then, for another address than loopback: a `--token`
/// or an admin user in the workspace lets it through.
pub fn check_access(listen: SocketAddr, workspace: &Workspace, token: bool) -> Result<()> {
    let refused = match check_listen(listen) {
        Ok(()) => return Ok(()),
        Err(error) => error,
    };
    if token {
        return Ok(());
    }
    let has_admin = workspace
        .open_existing_store()
        .and_then(|store| store.user_counts())
        .is_ok_and(|(_, admin)| admin);
    if has_admin {
        Ok(())
    } else {
        Err(refused)
    }
}

/// How to start a server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// A bearer token for scripts (`--token`): requests to `/api/` with
    /// `Authorization: Bearer TOKEN` act as an admin; pages still need a
    /// sign-in.
    pub token: Option<String>,
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
    /// [`Server::bind_with`] without a `--token`.
    pub fn bind(workspace: Workspace, listen: SocketAddr) -> Result<Server> {
        Server::bind_with(
            workspace,
            &ServeOptions {
                listen,
                token: None,
            },
        )
    }

    /// Checks who may connect ([`check_access`]), opens the workspace
    /// (store, search index, redaction policy) and binds the socket; port 0
    /// picks a free port ([`Server::local_addr`] says which).
    pub fn bind_with(workspace: Workspace, options: &ServeOptions) -> Result<Server> {
        let listen = options.listen;
        let token = options
            .token
            .as_deref()
            .map(str::trim)
            .filter(|token| !token.is_empty());
        if let Some(token) = token {
            if token.chars().count() < auth::MIN_TOKEN_CHARS {
                return Err(Error::Usage(format!(
                    "--token is too short: use at least {} random characters (e.g. `openssl \
                     rand -hex 32`)",
                    auth::MIN_TOKEN_CHARS
                )));
            }
        }
        check_access(listen, &workspace, token.is_some())?;
        let access = auth::Access {
            loopback: listen.ip().is_loopback(),
            token_hash: token.map(auth::sha256_hex),
            local_csrf: auth::random_hex(32)?,
        };
        let state = Arc::new(AppState::open_with(workspace, access)?);
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
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .map_err(|error| Error::Usage(format!("the server stopped: {error}")))
        })
    }
}
