//! Who is asking, and what they may do: users and their passwords (argon2),
//! sessions (a cookie holding a random token, stored hashed), the CSRF check
//! of every state-changing request, the login rate limit, the `--token`
//! bearer for scripts, and the audit log (docs/design/web.md, "Users,
//! sessions and the audit log").
//!
//! Every request but the sign-in routes and the assets goes through
//! [`guard`] (a layer in `http::router`): it finds the user (session
//! cookie, `Authorization: Bearer`, or the local admin of a workspace
//! without users on loopback), refuses the request when there is none (401
//! for `/api/`, a redirect to `/login` for pages), checks the CSRF token of
//! every method other than GET and HEAD, and puts the [`CurrentUser`] in
//! the request for handlers to take as an extractor.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use minijinja::{context, Environment};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use callscope_core::error::{Error, Result};
use callscope_store::users::{AuditEntry, User, UserRole};
use callscope_store::workspace::Workspace;

use crate::http::{blocking, MAX_BODY_BYTES};
use crate::state::AppState;

/// The session cookie (HttpOnly, SameSite=Strict, Path=/): a random
/// 32-byte token, hex; the store keeps only its SHA-256.
pub const SESSION_COOKIE: &str = "callscope_session";
/// The local admin's CSRF cookie (readable by scripts; the same token as
/// the pages' `<meta name="csrf-token">`).
pub const CSRF_COOKIE: &str = "callscope_csrf";
/// The header a state-changing request carries its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field a state-changing form carries its CSRF token in.
pub const CSRF_FIELD: &str = "csrf";
/// A session ends after this long unused (12 hours).
pub const SESSION_IDLE_SECONDS: i64 = 12 * 3600;
/// A session ends this long after signing in, used or not (7 days).
pub const SESSION_MAX_SECONDS: i64 = 7 * 24 * 3600;
/// Failed sign-ins allowed per user name and per client address within
/// [`FAILURE_WINDOW`]; the next attempt is answered 429.
pub const MAX_FAILURES: usize = 5;
/// How long a failed sign-in counts against the limit (15 minutes).
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// The shortest `--token` accepted.
pub const MIN_TOKEN_CHARS: usize = 16;
/// The shortest password a user may choose (`/password`).
pub const MIN_PASSWORD_CHARS: usize = 10;

/// The user behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    /// The user's name (`callscope user add NAME`).
    pub name: String,
    /// What they may do.
    pub role: UserRole,
    /// For an agent, the agent id whose calls are theirs.
    pub agent_id: Option<String>,
    /// The token every state-changing request must carry (header
    /// `X-CSRF-Token` or form field `csrf`); pages put it in
    /// `<meta name="csrf-token">` and in forms.
    pub csrf_token: String,
    /// An opaque id of this sign-in (not the session token), for records
    /// kept once per session (audio played).
    pub session: String,
}

impl CurrentUser {
    /// The one local admin of a workspace without users, on loopback.
    pub fn local_admin() -> CurrentUser {
        CurrentUser {
            name: "local".to_string(),
            role: UserRole::Admin,
            agent_id: None,
            csrf_token: String::new(),
            session: "local".to_string(),
        }
    }

    /// For an agent, the only `agent_id` whose calls they may see (their
    /// own); `None` for every other role (they see every call).
    pub fn agent_scope(&self) -> Option<&str> {
        (self.role == UserRole::Agent)
            .then(|| self.agent_id.as_deref().unwrap_or(self.name.as_str()))
    }

    /// Whether this user may see a call of `agent_id` (an agent only their
    /// own; asking for another's call answers 404 like an unknown call).
    pub fn sees_call(&self, agent_id: Option<&str>) -> bool {
        match self.agent_scope() {
            Some(own) => agent_id == Some(own),
            None => true,
        }
    }

    /// Whether this user may play recordings (everyone but a viewer).
    pub fn may_play_audio(&self) -> bool {
        self.role != UserRole::Viewer
    }

    fn of_user(user: &User, csrf_token: String, session: String) -> CurrentUser {
        CurrentUser {
            name: user.name.clone(),
            role: user.role,
            agent_id: user.agent_id.clone(),
            csrf_token,
            session,
        }
    }

    fn bearer() -> CurrentUser {
        CurrentUser {
            name: "token".to_string(),
            role: UserRole::Admin,
            agent_id: None,
            csrf_token: String::new(),
            session: "token".to_string(),
        }
    }
}

/// A handler's user: the one [`guard`] found. A route outside the guard
/// (none today) gets 401.
impl FromRequestParts<Arc<AppState>> for CurrentUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &Arc<AppState>,
    ) -> std::result::Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or_else(|| unauthorized("sign in first: POST /api/login"))
    }
}

/// What the pages show of the user (base.html's `current_user`).
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    /// The user's name.
    pub name: String,
    /// The role's name.
    pub role: &'static str,
    /// Whether this is the local admin of a workspace without users (no
    /// sign-out).
    pub local: bool,
    /// The CSRF token for forms and scripts.
    pub csrf_token: String,
}

impl UserView {
    /// The view of `user`.
    pub fn of(user: &CurrentUser) -> UserView {
        UserView {
            name: user.name.clone(),
            role: user.role.as_str(),
            local: user.session == "local",
            csrf_token: user.csrf_token.clone(),
        }
    }
}

/// Appends a record to the audit log: `user` did `action` (`search`,
/// `call.open`, `audio.play`, `review.add`, ...) to `target` (a call id, a
/// query). The target is masked with the workspace's policy before it is
/// stored, so the log never holds personal data in clear. Blocking (it
/// writes the store): call it from a blocking task.
pub fn audit(state: &AppState, user: &CurrentUser, action: &str, target: &str) -> Result<()> {
    audit_detail(state, user, action, target, None)
}

/// [`audit`] with a detail (a verdict, a reason), masked like the target.
pub fn audit_detail(
    state: &AppState,
    user: &CurrentUser,
    action: &str,
    target: &str,
    detail: Option<&str>,
) -> Result<()> {
    let store = state.workspace.open_existing_store()?;
    append_masked(&store, &state.redactor, &user.name, action, target, detail)
}

/// Writes one audit record with `user`, `target` and `detail` masked (and
/// cut to 200 characters).
fn append_masked(
    store: &callscope_store::Store,
    redactor: &callscope_redact::Redactor,
    user: &str,
    action: &str,
    target: &str,
    detail: Option<&str>,
) -> Result<()> {
    let mask = |text: &str| -> String {
        let text: String = text.chars().take(200).collect();
        redactor.mask_text(&text)
    };
    let user = mask(user);
    let target = mask(target);
    let detail = detail.map(mask);
    store.append_audit(&AuditEntry {
        user: &user,
        action,
        target: Some(&target),
        detail: detail.as_deref(),
    })
}

// ---------------------------------------------------------------------------
// Passwords, tokens and users (also used by `callscope user`).

/// `count` random bytes from the operating system, as lowercase hex.
pub fn random_hex(count: usize) -> Result<String> {
    let mut bytes = vec![0u8; count];
    getrandom::fill(&mut bytes).map_err(|error| {
        Error::Usage(format!(
            "the system's random number generator failed ({error}): try again"
        ))
    })?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// SHA-256 of `text`, hex (how session tokens and `--token` are compared).
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A new random password: 16 characters from letters and digits that are
/// hard to mix up (about 92 bits).
pub fn new_password() -> Result<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let limit = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
    let mut password = String::new();
    while password.len() < 16 {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|error| {
            Error::Usage(format!(
                "the system's random number generator failed ({error}): try again"
            ))
        })?;
        for byte in bytes {
            if byte < limit && password.len() < 16 {
                password.push(char::from(ALPHABET[usize::from(byte) % ALPHABET.len()]));
            }
        }
    }
    Ok(password)
}

/// The argon2id hash of `password` (default parameters, random salt) as a
/// PHC string.
pub fn hash_password(password: &str) -> Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|error| {
        Error::Usage(format!(
            "the system's random number generator failed ({error}): try again"
        ))
    })?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|error| Error::Usage(format!("cannot hash the password: {error}")))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| Error::Usage(format!("cannot hash the password: {error}")))
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(hash: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|parsed| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash no password is checked against successfully, so that a sign-in
/// with an unknown name takes as long as one with a wrong password.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        new_password()
            .and_then(|password| hash_password(&password))
            .unwrap_or_default()
    })
}

fn check_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|character| character.is_alphanumeric() || "._-@".contains(character));
    if valid {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "user name '{name}' is not usable: write 1 to 64 letters, digits, '.', '_', '-' or '@'"
        )))
    }
}

/// Who `callscope user` commands are recorded as in the audit log.
pub const CLI_USER: &str = "cli";

/// Adds a user with a new random password (`callscope user add`); returns
/// the user and the password, which is shown once and stored only hashed.
/// An agent's agent id defaults to the name; other roles have none.
pub fn add_user(
    workspace: &Workspace,
    name: &str,
    role: UserRole,
    agent_id: Option<&str>,
) -> Result<(User, String)> {
    check_name(name)?;
    let agent_id = match (role, agent_id) {
        (UserRole::Agent, Some(agent_id)) if !agent_id.trim().is_empty() => {
            Some(agent_id.trim().to_string())
        }
        (UserRole::Agent, _) => Some(name.to_string()),
        (_, Some(_)) => {
            return Err(Error::Usage(
                "--agent-id is for agents only: leave it out or use --role agent".to_string(),
            ))
        }
        (_, None) => None,
    };
    let password = new_password()?;
    let hash = hash_password(&password)?;
    let store = workspace.open_existing_store()?;
    let user = store.add_user(name, role, agent_id.as_deref(), &hash)?;
    let redactor = callscope_redact::Redactor::for_display(workspace)?;
    append_masked(
        &store,
        &redactor,
        CLI_USER,
        "user.add",
        name,
        Some(role.as_str()),
    )?;
    Ok((user, password))
}

/// Gives a user a new random password and ends their sessions (`callscope
/// user passwd`); returns the password.
pub fn reset_password(workspace: &Workspace, name: &str) -> Result<String> {
    let mut store = workspace.open_existing_store()?;
    if store.user(name)?.is_none() {
        return Err(no_such_user(name));
    }
    let password = new_password()?;
    store.set_password_hash(name, &hash_password(&password)?)?;
    let redactor = callscope_redact::Redactor::for_display(workspace)?;
    append_masked(&store, &redactor, CLI_USER, "user.passwd", name, None)?;
    Ok(password)
}

/// Removes a user and ends their sessions (`callscope user remove`); their
/// audit records stay.
pub fn remove_user(workspace: &Workspace, name: &str) -> Result<()> {
    let mut store = workspace.open_existing_store()?;
    if !store.remove_user(name)? {
        return Err(no_such_user(name));
    }
    let redactor = callscope_redact::Redactor::for_display(workspace)?;
    append_masked(&store, &redactor, CLI_USER, "user.remove", name, None)
}

fn no_such_user(name: &str) -> Error {
    Error::Usage(format!(
        "no user '{name}': `callscope user list` shows the users"
    ))
}

// ---------------------------------------------------------------------------
// Who may connect.

/// How the server was started: what decides who may connect.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// The server listens on a loopback address: a workspace without users
    /// is then one local admin for requests from this machine.
    pub loopback: bool,
    /// SHA-256 (hex) of the `--token` of API-only scripts, if one was given.
    pub token_hash: Option<String>,
    /// The local admin's CSRF token, new at every start.
    pub local_csrf: String,
}

/// Failed sign-ins, by user name and by client address, kept in memory.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginLimiter {
    /// Seconds until `keys` may try again, if any of them has used up its
    /// failures.
    fn retry_after(&self, keys: &[String], now: Instant) -> Option<u64> {
        let failures = self.failures.lock().ok()?;
        keys.iter()
            .filter_map(|key| failures.get(key))
            .filter_map(|times| {
                let recent: Vec<&Instant> = times
                    .iter()
                    .filter(|time| now.duration_since(**time) < FAILURE_WINDOW)
                    .collect();
                (recent.len() >= MAX_FAILURES).then(|| {
                    let oldest = recent[recent.len() - MAX_FAILURES];
                    FAILURE_WINDOW
                        .saturating_sub(now.duration_since(*oldest))
                        .as_secs()
                        .max(1)
                })
            })
            .max()
    }

    fn fail(&self, keys: &[String], now: Instant) {
        if let Ok(mut failures) = self.failures.lock() {
            if failures.len() > 10_000 {
                failures.retain(|_, times| {
                    times
                        .iter()
                        .any(|time| now.duration_since(*time) < FAILURE_WINDOW)
                });
            }
            for key in keys {
                let times = failures.entry(key.clone()).or_default();
                times.retain(|time| now.duration_since(*time) < FAILURE_WINDOW);
                times.push(now);
            }
        }
    }

    fn clear(&self, key: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(key);
        }
    }
}

fn now_epoch() -> i64 {
    chrono::Utc::now().timestamp()
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
}

/// Whether the `Host` header names this machine (a page served to the local
/// admin must not be readable by a foreign site through DNS rebinding).
fn host_is_loopback(headers: &HeaderMap) -> bool {
    let Some(host) = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
    else {
        return true;
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// Paths anyone may ask for: signing in and the assets.
fn is_public(path: &str) -> bool {
    matches!(path, "/login" | "/api/login") || path.starts_with("/assets/")
}

fn unauthorized(message: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        Json(serde_json::json!({ "error": message })),
    )
        .into_response()
}

fn forbidden(path: &str, message: &str) -> Response {
    if path.starts_with("/api/") {
        (
            StatusCode::FORBIDDEN,
            Json(serde_json::json!({ "error": message })),
        )
            .into_response()
    } else {
        (StatusCode::FORBIDDEN, message.to_string()).into_response()
    }
}

/// How a request was authenticated.
enum Found {
    User(CurrentUser),
    Local(CurrentUser),
    Bearer(CurrentUser),
    Nobody,
    BadToken,
    RebindingHost,
}

/// Finds the user of a request (blocking: reads the store).
fn find_user(state: &AppState, headers: &HeaderMap, peer: SocketAddr, api: bool) -> Result<Found> {
    if let Some(authorization) = headers.get(header::AUTHORIZATION) {
        let token = authorization
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim);
        return Ok(match (token, &state.access.token_hash) {
            (Some(token), Some(expected)) if api && sha256_hex(token) == *expected => {
                Found::Bearer(CurrentUser::bearer())
            }
            _ => Found::BadToken,
        });
    }
    let store = state.workspace.open_existing_store()?;
    if let Some(token) = cookie(headers, SESSION_COOKIE) {
        let hash = sha256_hex(token);
        let now = now_epoch();
        if let Some(session) = store.session(&hash, now, now - SESSION_MAX_SECONDS)? {
            if session.expires_at - now < SESSION_IDLE_SECONDS - 60 {
                store.touch_session(&hash, now + SESSION_IDLE_SECONDS)?;
            }
            let id = hash[..16].to_string();
            return Ok(Found::User(CurrentUser::of_user(
                &session.user,
                session.csrf_token,
                id,
            )));
        }
    }
    let (users, _) = store.user_counts()?;
    if users == 0 && state.access.loopback && peer.ip().is_loopback() {
        if !host_is_loopback(headers) {
            return Ok(Found::RebindingHost);
        }
        let mut local = CurrentUser::local_admin();
        local.csrf_token = state.access.local_csrf.clone();
        return Ok(Found::Local(local));
    }
    Ok(Found::Nobody)
}

/// The CSRF token a state-changing request carries: the `X-CSRF-Token`
/// header, else the `csrf` field of a form body (the body is read and put
/// back for the handler).
async fn carried_csrf(request: Request) -> (Option<String>, Request) {
    if let Some(token) = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|value| value.to_str().ok())
    {
        return (Some(token.to_string()), request);
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return (None, request);
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .unwrap_or_default();
    let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|pairs| {
            pairs
                .into_iter()
                .find(|(name, _)| name == CSRF_FIELD)
                .map(|(_, value)| value)
        });
    (token, Request::from_parts(parts, Body::from(bytes)))
}

fn constant_time_eq(left: &str, right: &str) -> bool {
    left.len() == right.len()
        && left
            .bytes()
            .zip(right.bytes())
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

/// The layer in front of every route (`http::router`): finds the
/// [`CurrentUser`], refuses a request without one (401 JSON for `/api/`, a
/// redirect to `/login?next=...` for pages), and refuses with 403 a POST,
/// PUT, PATCH or DELETE whose CSRF token (header `X-CSRF-Token` or form
/// field `csrf`) is not the user's. Requests with `Authorization: Bearer`
/// (`--token`, API only) need no CSRF token: a browser never sends that
/// header on its own. `/login`, `/api/login` and `/assets/` pass as they are.
pub async fn guard(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    if is_public(&path) {
        return next.run(request).await;
    }
    let api = path.starts_with("/api/");
    let headers = request.headers().clone();
    let shared = Arc::clone(&state);
    let found = match blocking(move || find_user(&shared, &headers, peer, api)).await {
        Ok(found) => found,
        Err(error) => {
            let message = state.redactor.mask_text(&error.to_string());
            return (StatusCode::INTERNAL_SERVER_ERROR, message).into_response();
        }
    };
    let (user, needs_csrf, local) = match found {
        Found::User(user) => (user, true, false),
        Found::Local(user) => (user, true, true),
        Found::Bearer(user) => (user, false, false),
        Found::BadToken => {
            return if api {
                unauthorized("the bearer token is not this server's --token")
            } else {
                Redirect::to("/login").into_response()
            }
        }
        Found::RebindingHost => {
            return forbidden(
                &path,
                "open the workspace as http://127.0.0.1:PORT or http://localhost:PORT",
            )
        }
        Found::Nobody => {
            return if api {
                unauthorized("sign in first: POST /api/login with {\"name\", \"password\"}")
            } else {
                let wanted = request
                    .uri()
                    .path_and_query()
                    .map_or("/", |path| path.as_str());
                Redirect::to(&format!(
                    "/login?next={}",
                    crate::pages::percent_encode(wanted)
                ))
                .into_response()
            };
        }
    };
    let mut request = request;
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if changes_state && needs_csrf {
        let (token, back) = carried_csrf(request).await;
        request = back;
        let valid = token.is_some_and(|token| {
            !user.csrf_token.is_empty() && constant_time_eq(&token, &user.csrf_token)
        });
        if !valid {
            return forbidden(
                &path,
                "this request has no valid CSRF token: send the page's csrf-token as the \
                 X-CSRF-Token header or the csrf form field (reload the page if it is old)",
            );
        }
    }
    let has_csrf_cookie = cookie(request.headers(), CSRF_COOKIE).is_some();
    let csrf = user.csrf_token.clone();
    request.extensions_mut().insert(user);
    let mut response = next.run(request).await;
    if local && !has_csrf_cookie {
        if let Ok(value) =
            HeaderValue::from_str(&format!("{CSRF_COOKIE}={csrf}; SameSite=Strict; Path=/"))
        {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

// ---------------------------------------------------------------------------
// Signing in and out.

/// The routes of signing in and out: `GET /login` (the page), `POST
/// /login` (its form), `POST /api/login` (JSON), `POST /logout` and `POST
/// /api/logout`; a user's own password: `GET /password` (the page), `POST
/// /password` (its form), `POST /api/password` (JSON).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/login", get(login_page).post(login_form))
        .route("/api/login", post(login_json))
        .route("/logout", post(logout))
        .route("/api/logout", post(logout_json))
        .route("/password", get(password_page).post(password_form))
        .route("/api/password", post(password_json))
}

fn templates() -> &'static std::result::Result<Environment<'static>, minijinja::Error> {
    static TEMPLATES: OnceLock<std::result::Result<Environment<'static>, minijinja::Error>> =
        OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let mut environment = Environment::new();
        environment.add_template("base.html", include_str!("../templates/base.html"))?;
        environment.add_template("login.html", include_str!("../templates/login.html"))?;
        environment.add_template("password.html", include_str!("../templates/password.html"))?;
        Ok(environment)
    })
}

fn login_html(status: StatusCode, next: &str, name: &str, error: Option<&str>) -> Response {
    let rendered = match templates() {
        Ok(environment) => environment
            .get_template("login.html")
            .and_then(|template| template.render(context! { next, name, error }))
            .map_err(|error| error.to_string()),
        Err(error) => Err(error.to_string()),
    };
    match rendered {
        Ok(page) => (status, Html(page)).into_response(),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the page could not be rendered: {error}"),
        )
            .into_response(),
    }
}

/// Where to go after signing in: a path on this server only.
fn safe_next(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next.to_string()
    } else {
        "/".to_string()
    }
}

/// `GET /login`'s query.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LoginQuery {
    next: String,
}

async fn login_page(Query(query): Query<LoginQuery>) -> Response {
    login_html(StatusCode::OK, &safe_next(&query.next), "", None)
}

/// A sign-in as the form or the JSON body carries it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Credentials {
    name: String,
    password: String,
    next: String,
}

/// What a sign-in came to.
enum Outcome {
    /// Signed in: the session token and the user.
    Ok { token: String, user: CurrentUser },
    /// Wrong name or password.
    Refused,
    /// Too many failures: try again after this many seconds.
    Limited(u64),
}

async fn sign_in(
    state: &Arc<AppState>,
    peer: SocketAddr,
    credentials: Credentials,
) -> Result<Outcome> {
    let name = credentials.name.trim().to_string();
    let keys = [format!("user:{name}"), format!("ip:{}", peer.ip())];
    if let Some(seconds) = state.limiter.retry_after(&keys, Instant::now()) {
        return Ok(Outcome::Limited(seconds));
    }
    let shared = Arc::clone(state);
    let password = credentials.password;
    let checked = blocking(move || -> Result<Option<(String, CurrentUser)>> {
        let store = shared.workspace.open_existing_store()?;
        let user = store.user(&name)?;
        let hash = store.password_hash(&name)?;
        let matches = verify_password(hash.as_deref().unwrap_or(dummy_hash()), &password);
        let Some(user) = user.filter(|_| matches && hash.is_some()) else {
            append_masked(&store, &shared.redactor, "-", "login.failed", &name, None)?;
            return Ok(None);
        };
        let now = now_epoch();
        store.delete_expired_sessions(now, now - SESSION_MAX_SECONDS)?;
        let token = random_hex(32)?;
        let csrf = random_hex(32)?;
        let hash = sha256_hex(&token);
        store.create_session(&hash, &user.name, &csrf, now + SESSION_IDLE_SECONDS)?;
        append_masked(
            &store,
            &shared.redactor,
            &user.name,
            "login",
            &user.name,
            None,
        )?;
        Ok(Some((
            token,
            CurrentUser::of_user(&user, csrf, hash[..16].to_string()),
        )))
    })
    .await?;
    Ok(match checked {
        Some((token, user)) => {
            state.limiter.clear(&keys[0]);
            Outcome::Ok { token, user }
        }
        None => {
            state.limiter.fail(&keys, Instant::now());
            Outcome::Refused
        }
    })
}

fn session_cookie(token: &str, headers: &HeaderMap) -> HeaderValue {
    let secure = headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("https"));
    let value = format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn cleared_cookie() -> HeaderValue {
    HeaderValue::from_static("callscope_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}

fn too_many(seconds: u64, body: Response) -> Response {
    let mut response = body;
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

const REFUSED: &str = "wrong user name or password";

async fn login_form(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let credentials: Credentials = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let next = safe_next(&credentials.next);
    let name = credentials.name.clone();
    match sign_in(&state, peer, credentials).await {
        Ok(Outcome::Ok { token, .. }) => {
            let mut response = Redirect::to(&next).into_response();
            response
                .headers_mut()
                .append(header::SET_COOKIE, session_cookie(&token, &headers));
            response
        }
        Ok(Outcome::Refused) => login_html(StatusCode::UNAUTHORIZED, &next, &name, Some(REFUSED)),
        Ok(Outcome::Limited(seconds)) => too_many(
            seconds,
            login_html(
                StatusCode::TOO_MANY_REQUESTS,
                &next,
                &name,
                Some(&format!(
                    "too many failed sign-ins: try again in {} minutes",
                    seconds.div_ceil(60)
                )),
            ),
        ),
        Err(error) => {
            let message = state.redactor.mask_text(&error.to_string());
            login_html(
                StatusCode::INTERNAL_SERVER_ERROR,
                &next,
                &name,
                Some(&message),
            )
        }
    }
}

async fn login_json(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(credentials) = serde_json::from_slice::<Credentials>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({
                "error": "send JSON: {\"name\": \"...\", \"password\": \"...\"}"
            })),
        )
            .into_response();
    };
    match sign_in(&state, peer, credentials).await {
        Ok(Outcome::Ok { token, user }) => {
            let body = serde_json::json!({
                "name": user.name,
                "role": user.role,
                "agent_id": user.agent_id,
                "csrf_token": user.csrf_token,
            });
            let mut response = Json(body).into_response();
            response
                .headers_mut()
                .append(header::SET_COOKIE, session_cookie(&token, &headers));
            response
        }
        Ok(Outcome::Refused) => unauthorized(REFUSED),
        Ok(Outcome::Limited(seconds)) => too_many(
            seconds,
            Json(serde_json::json!({
                "error": format!("too many failed sign-ins: try again in {seconds} seconds")
            }))
            .into_response(),
        ),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(serde_json::json!({ "error": state.redactor.mask_text(&error.to_string()) })),
        )
            .into_response(),
    }
}

/// Ends the request's session (if it has one) and records it.
async fn end_session(state: &Arc<AppState>, user: CurrentUser, headers: &HeaderMap) -> Result<()> {
    let Some(hash) = cookie(headers, SESSION_COOKIE).map(sha256_hex) else {
        return Ok(());
    };
    let shared = Arc::clone(state);
    blocking(move || {
        let store = shared.workspace.open_existing_store()?;
        store.delete_session(&hash)?;
        append_masked(
            &store,
            &shared.redactor,
            &user.name,
            "logout",
            &user.name,
            None,
        )
    })
    .await
}

async fn logout(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    headers: HeaderMap,
) -> Response {
    if let Err(error) = end_session(&state, user, &headers).await {
        let message = state.redactor.mask_text(&error.to_string());
        return (StatusCode::INTERNAL_SERVER_ERROR, message).into_response();
    }
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, cleared_cookie());
    response
}

async fn logout_json(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    headers: HeaderMap,
) -> Response {
    if let Err(error) = end_session(&state, user, &headers).await {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(serde_json::json!({ "error": state.redactor.mask_text(&error.to_string()) })),
        )
            .into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, cleared_cookie());
    response
}

// ---------------------------------------------------------------------------
// A user's own password.

/// A password change as the form or the JSON body carries it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// What a password change came to.
enum Changed {
    /// Changed; every session of the user ended.
    Done,
    /// The current password was wrong.
    Refused,
    /// Too many wrong current passwords: wait this many seconds.
    Limited(u64),
}

async fn change_password(
    state: &Arc<AppState>,
    user: CurrentUser,
    change: PasswordChange,
) -> Result<Changed> {
    if matches!(user.session.as_str(), "local" | "token") {
        return Err(Error::Usage(
            "the local admin and --token have no password: add users with `callscope user add`"
                .to_string(),
        ));
    }
    if change.new_password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::Usage(format!(
            "the new password is too short: use at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    let keys = [format!("user:{}", user.name)];
    if let Some(seconds) = state.limiter.retry_after(&keys, Instant::now()) {
        return Ok(Changed::Limited(seconds));
    }
    let shared = Arc::clone(state);
    let changed = blocking(move || {
        let mut store = shared.workspace.open_existing_store()?;
        let hash = store.password_hash(&user.name)?.unwrap_or_default();
        if !verify_password(&hash, &change.current_password) {
            return Ok(false);
        }
        store.set_password_hash(&user.name, &hash_password(&change.new_password)?)?;
        append_masked(
            &store,
            &shared.redactor,
            &user.name,
            "user.passwd",
            &user.name,
            Some("own"),
        )?;
        Ok(true)
    })
    .await?;
    if changed {
        Ok(Changed::Done)
    } else {
        state.limiter.fail(&keys, Instant::now());
        Ok(Changed::Refused)
    }
}

fn password_html(status: StatusCode, user: &CurrentUser, error: Option<&str>) -> Response {
    let rendered = match templates() {
        Ok(environment) => environment
            .get_template("password.html")
            .and_then(|template| {
                template.render(context! {
                    current_user => UserView::of(user),
                    error,
                    min_chars => MIN_PASSWORD_CHARS,
                })
            })
            .map_err(|error| error.to_string()),
        Err(error) => Err(error.to_string()),
    };
    match rendered {
        Ok(page) => (status, Html(page)).into_response(),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the page could not be rendered: {error}"),
        )
            .into_response(),
    }
}

async fn password_page(user: CurrentUser) -> Response {
    password_html(StatusCode::OK, &user, None)
}

async fn password_form(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    body: Bytes,
) -> Response {
    let change: PasswordChange = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    match change_password(&state, user.clone(), change).await {
        Ok(Changed::Done) => {
            let mut response = Redirect::to("/login").into_response();
            response
                .headers_mut()
                .append(header::SET_COOKIE, cleared_cookie());
            response
        }
        Ok(Changed::Refused) => password_html(
            StatusCode::UNAUTHORIZED,
            &user,
            Some("the current password is wrong"),
        ),
        Ok(Changed::Limited(seconds)) => too_many(
            seconds,
            password_html(
                StatusCode::TOO_MANY_REQUESTS,
                &user,
                Some("too many wrong passwords: try again later"),
            ),
        ),
        Err(error) => {
            let message = state.redactor.mask_text(&error.to_string());
            password_html(StatusCode::BAD_REQUEST, &user, Some(&message))
        }
    }
}

async fn password_json(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    body: Bytes,
) -> Response {
    let Ok(change) = serde_json::from_slice::<PasswordChange>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({
                "error": "send JSON: {\"current_password\": \"...\", \"new_password\": \"...\"}"
            })),
        )
            .into_response();
    };
    match change_password(&state, user, change).await {
        Ok(Changed::Done) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            response
                .headers_mut()
                .append(header::SET_COOKIE, cleared_cookie());
            response
        }
        Ok(Changed::Refused) => unauthorized("the current password is wrong"),
        Ok(Changed::Limited(seconds)) => too_many(
            seconds,
            Json(serde_json::json!({
                "error": format!("too many wrong passwords: try again in {seconds} seconds")
            }))
            .into_response(),
        ),
        Err(error) => (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({ "error": state.redactor.mask_text(&error.to_string()) })),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let password = new_password().unwrap();
        assert_eq!(password.chars().count(), 16);
        assert_ne!(password, new_password().unwrap());
        let hash = hash_password(&password).unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password(&hash, &password));
        assert!(!verify_password(&hash, "wrong"));
        assert!(!verify_password(dummy_hash(), ""));
    }

    #[test]
    fn the_limiter_counts_failures_per_key() {
        let limiter = LoginLimiter::default();
        let start = Instant::now();
        let keys = ["user:a".to_string(), "ip:1".to_string()];
        for _ in 0..MAX_FAILURES {
            assert_eq!(limiter.retry_after(&keys, start), None);
            limiter.fail(&keys, start);
        }
        assert!(limiter.retry_after(&keys, start).unwrap() > 800);
        assert!(limiter.retry_after(&["ip:1".to_string()], start).is_some());
        assert_eq!(limiter.retry_after(&["user:b".to_string()], start), None);
        assert_eq!(
            limiter.retry_after(&keys, start + FAILURE_WINDOW + Duration::from_secs(1)),
            None
        );
    }

    #[test]
    fn hosts_and_redirects() {
        let mut headers = HeaderMap::new();
        for (host, loopback) in [
            ("127.0.0.1:8080", true),
            ("localhost:8080", true),
            ("[::1]:8080", true),
            ("evil.example:8080", false),
            ("10.0.0.1", false),
        ] {
            headers.insert(header::HOST, HeaderValue::from_static(host));
            assert_eq!(host_is_loopback(&headers), loopback, "{host}");
        }
        assert_eq!(safe_next("/calls/C1"), "/calls/C1");
        assert_eq!(safe_next("//evil.example"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
    }
}
