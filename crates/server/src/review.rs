//! Reviews (复核), appeals (申诉), the review queue, calibration, the rules
//! page and the digest page: their JSON API and their pages
//! (docs/design/web.md, "Reviews, appeals and rules").
//!
//! Who may do what: reviews, the queue, the rules and calibration are for
//! analysts, leads and admins; appeals are made by agents on their own calls
//! (another agent's call is 404, like an unknown one) and decided by leads
//! and admins; the digest is for everyone but agents; a viewer gets 403
//! everywhere else. Every review, appeal and decision is written to the
//! audit log. Comments and reasons are masked before they are stored.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use minijinja::context;
use serde::{Deserialize, Serialize};

use callscope_core::config::ReviewSection;
use callscope_core::error::{Error, Result};
use callscope_core::model::Call;
use callscope_store::reviews::{
    Appeal, AppealFilter, AppealStatus, Assignment, Decision, NewAppeal, NewReview, ResultVersion,
    ReviewedScore,
};
use callscope_store::users::UserRole;
use callscope_store::{CallFilter, Store};

use crate::auth::{self, CurrentUser};
use crate::pages::{self, percent_encode};
use crate::reviewed::{self, FigureKind, ReviewedResult};
use crate::sampling;
use crate::state::AppState;

/// The longest comment or reason kept (characters); longer ones are cut.
pub const MAX_COMMENT_CHARS: usize = 2000;

/// Roles that review: analysts, leads and admins.
const REVIEWERS: &[UserRole] = &[UserRole::Admin, UserRole::Lead, UserRole::Analyst];
/// Roles that decide appeals and run the sampling plan.
const LEADS: &[UserRole] = &[UserRole::Admin, UserRole::Lead];
/// Roles that read the digest.
const READERS: &[UserRole] = &[
    UserRole::Admin,
    UserRole::Lead,
    UserRole::Analyst,
    UserRole::Viewer,
];

/// The routes of reviewing and appealing.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/calls/{id}/reviews",
            get(api_call_reviews).post(api_add_review),
        )
        .route("/api/calls/{id}/appeals", post(api_add_appeal))
        .route("/api/appeals", get(api_appeals))
        .route("/api/appeals/{id}/decision", post(api_decide))
        .route("/api/reviews/queue", get(api_queue))
        .route("/api/reviews/assign", post(api_assign))
        .route("/api/rules", get(api_rules))
        .route("/api/rules/calls", get(api_rule_calls))
        .route("/api/calibration", get(api_calibration))
        .route("/api/digest", get(api_digest))
        .route("/reviews", get(page_queue))
        .route("/appeals", get(page_appeals))
        .route("/rules", get(page_rules))
        .route("/rules/calls", get(page_rule_calls))
        .route("/calibration", get(page_calibration))
        .route("/digest", get(page_digest))
        .route("/assets/digest.css", get(digest_style))
}

// ---------------------------------------------------------------------------
// Failures.

/// Why a request is refused: a status with a message, or a library error.
#[derive(Debug)]
pub(crate) enum Failure {
    Status(StatusCode, String),
    Library(Error),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::Library(error)
    }
}

impl Failure {
    fn forbidden(message: impl Into<String>) -> Failure {
        Failure::Status(StatusCode::FORBIDDEN, message.into())
    }

    fn status_and_message(&self) -> (StatusCode, String) {
        match self {
            Failure::Status(status, message) => (*status, message.clone()),
            Failure::Library(error) => (crate::http::status_of(error), error.to_string()),
        }
    }

    /// As JSON (`{"error": ...}`), the message masked.
    fn json(&self, state: &AppState) -> Response {
        let (status, message) = self.status_and_message();
        let body = serde_json::json!({ "error": state.redactor.mask_text(&message) });
        (status, Json(body)).into_response()
    }

    /// As a page, the message masked.
    fn page(&self, state: &AppState, user: &CurrentUser) -> Response {
        let (status, message) = self.status_and_message();
        let mut response = pages::render(
            "notice.html",
            user,
            context! { message => state.redactor.mask_text(&message) },
        );
        *response.status_mut() = status;
        response
    }
}

type Outcome<T> = std::result::Result<T, Failure>;

fn allow(user: &CurrentUser, roles: &[UserRole], what: &str) -> Outcome<()> {
    if roles.contains(&user.role) {
        return Ok(());
    }
    let names: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
    Err(Failure::forbidden(format!(
        "your role ({}) may not {what}: it is for {}; ask an admin",
        user.role.as_str(),
        names.join(", ")
    )))
}

async fn run_blocking<T, F>(work: F) -> Outcome<T>
where
    F: FnOnce() -> Outcome<T> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(outcome) => outcome,
        Err(error) => Err(Failure::Library(Error::Usage(format!(
            "the request failed: {error}"
        )))),
    }
}

fn json_or<T: Serialize>(state: &AppState, status: StatusCode, outcome: Outcome<T>) -> Response {
    match outcome {
        Ok(value) => (status, Json(value)).into_response(),
        Err(failure) => failure.json(state),
    }
}

/// Masks and trims a comment or reason, cut to [`MAX_COMMENT_CHARS`].
fn clean_text(state: &AppState, text: &str) -> String {
    let text: String = text.trim().chars().take(MAX_COMMENT_CHARS).collect();
    state.redactor.mask_text(&text)
}

fn now_epoch() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The `[review]` section of the workspace config.
pub fn review_section(state: &AppState) -> Result<ReviewSection> {
    state.workspace.config()?.section("review")
}

// ---------------------------------------------------------------------------
// A call's reviews.

/// A call's results with their reviews and appeals (`GET
/// /api/calls/{id}/reviews`).
#[derive(Debug, Clone, Serialize)]
pub struct CallReviews {
    /// The call.
    pub call_id: String,
    /// The call's agent.
    pub agent_id: Option<String>,
    /// Each QA result: machine and reviewed verdicts, score, reviews and
    /// appeals per rule.
    pub results: Vec<ReviewedResult>,
    /// Days after scoring during which the agent may appeal.
    pub appeal_days: u32,
    /// Per scorecard: until when (epoch seconds) the result may be appealed.
    pub appeal_until: BTreeMap<String, i64>,
}

/// Reads a call's results with their reviews for `user` (another agent's
/// call is unknown). Comments and evidence are masked as stored.
pub fn call_reviews(state: &AppState, user: &CurrentUser, call_id: &str) -> Result<CallReviews> {
    let store = state.workspace.open_existing_store()?;
    let call = store
        .get_call(call_id)?
        .filter(|call| user.sees_call(call.agent_id.as_deref()))
        .ok_or_else(|| Error::UnknownCall(call_id.to_string()))?;
    call_reviews_of(state, &store, &call)
}

/// [`call_reviews`] of a call already read (and allowed).
pub(crate) fn call_reviews_of(state: &AppState, store: &Store, call: &Call) -> Result<CallReviews> {
    let call_id = call.call_id.as_str();
    let results: Vec<_> = store
        .qa_results_of(call_id)?
        .iter()
        .map(|result| state.redactor.mask_qa_result(result))
        .collect();
    let mut versions: HashMap<String, ResultVersion> = HashMap::new();
    for result in &results {
        if let Some(version) = store.qa_result_version(call_id, &result.scorecard)? {
            versions.insert(result.scorecard.clone(), version);
        }
    }
    let reviews = store.reviews_of(call_id)?;
    let mut appeals = store.appeals(&AppealFilter {
        call_id: Some(call_id.to_string()),
        ..AppealFilter::default()
    })?;
    appeals.reverse();
    let scorecards = reviewed::scorecards(&state.workspace)?;
    let section = review_section(state)?;
    let appeal_until = versions
        .iter()
        .map(|(scorecard, version)| {
            (
                scorecard.clone(),
                version.scored_at + i64::from(section.appeal_days) * 86_400,
            )
        })
        .collect();
    Ok(CallReviews {
        call_id: call_id.to_string(),
        agent_id: call.agent_id.clone(),
        results: reviewed::reviewed_results(&results, &scorecards, &reviews, &appeals, &versions),
        appeal_days: section.appeal_days,
        appeal_until,
    })
}

/// Stores the reviewed scores of a call's results beside the machine's.
fn store_reviewed_scores(store: &mut Store, reviews: &CallReviews) -> Result<()> {
    for result in &reviews.results {
        let reviewed = match (
            result.reviewed_score,
            result.reviewed_passed,
            result.reviewed_fatal,
        ) {
            (Some(score), Some(passed), Some(fatal)) => Some(ReviewedScore {
                score,
                passed,
                fatal,
            }),
            _ => None,
        };
        store.put_reviewed_score(&reviews.call_id, &result.scorecard, reviewed)?;
    }
    Ok(())
}

async fn api_call_reviews(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Path(call_id): Path<String>,
) -> Response {
    if let Err(failure) = allow(
        &user,
        &[
            UserRole::Admin,
            UserRole::Lead,
            UserRole::Analyst,
            UserRole::Agent,
        ],
        "see reviews",
    ) {
        return failure.json(&state);
    }
    let shared = Arc::clone(&state);
    let outcome = run_blocking(move || Ok(call_reviews(&shared, &user, &call_id)?)).await;
    json_or(&state, StatusCode::OK, outcome)
}

/// `POST /api/calls/{id}/reviews`: one rule's verdict confirmed or
/// overturned.
#[derive(Debug, Clone, Deserialize)]
pub struct ReviewRequest {
    /// The scorecard of the result.
    pub scorecard: String,
    /// The rule judged.
    pub rule_id: String,
    /// `confirm` or `overturn`.
    pub decision: String,
    /// Why (optional).
    #[serde(default)]
    pub comment: String,
}

async fn api_add_review(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Path(call_id): Path<String>,
    Json(request): Json<ReviewRequest>,
) -> Response {
    if let Err(failure) = allow(&user, REVIEWERS, "review calls") {
        return failure.json(&state);
    }
    let shared = Arc::clone(&state);
    let outcome = run_blocking(move || add_review(&shared, &user, &call_id, &request)).await;
    json_or(&state, StatusCode::CREATED, outcome)
}

fn add_review(
    state: &AppState,
    user: &CurrentUser,
    call_id: &str,
    request: &ReviewRequest,
) -> Outcome<CallReviews> {
    let decision = Decision::parse(request.decision.trim())?;
    let mut store = state.workspace.open_existing_store()?;
    let call = store
        .get_call(call_id)?
        .filter(|call| user.sees_call(call.agent_id.as_deref()))
        .ok_or_else(|| Error::UnknownCall(call_id.to_string()))?;
    let before = call_reviews_of(state, &store, &call)?;
    let (result, rule) = find_rule(&before, &request.scorecard, &request.rule_id)?;
    let version = result.version.ok_or_else(|| {
        Error::UnknownCall(format!("{call_id} (no result of {})", request.scorecard))
    })?;
    let comment = clean_text(state, &request.comment);
    store.add_review(&NewReview {
        call_id: call_id.to_string(),
        scorecard: result.scorecard.clone(),
        rule_id: rule.rule_id.clone(),
        reviewer: user.name.clone(),
        decision,
        machine_violated: rule.machine_violated,
        evidence: rule.evidence.clone(),
        comment,
        call_change: version.call_change,
        scored_at: version.scored_at,
    })?;
    auth::audit_detail(
        state,
        user,
        "review.add",
        call_id,
        Some(&format!(
            "{} {} {}",
            result.scorecard,
            rule.rule_id,
            decision.as_str()
        )),
    )?;
    let after = call_reviews_of(state, &store, &call)?;
    store_reviewed_scores(&mut store, &after)?;
    Ok(after)
}

fn find_rule<'a>(
    reviews: &'a CallReviews,
    scorecard: &str,
    rule_id: &str,
) -> Outcome<(&'a ReviewedResult, &'a reviewed::RuleVerdict)> {
    let result = reviews
        .results
        .iter()
        .find(|result| result.scorecard == scorecard.trim())
        .ok_or_else(|| {
            Failure::Status(
                StatusCode::NOT_FOUND,
                format!(
                    "call {} has no result of scorecard '{}': score it first (callscope qa)",
                    reviews.call_id,
                    scorecard.trim()
                ),
            )
        })?;
    let rule = result
        .rules
        .iter()
        .find(|rule| rule.rule_id == rule_id.trim())
        .ok_or_else(|| {
            Failure::Status(
                StatusCode::BAD_REQUEST,
                format!(
                    "scorecard '{}' has no rule '{}': pick one of {}",
                    result.scorecard,
                    rule_id.trim(),
                    result
                        .rules
                        .iter()
                        .map(|rule| rule.rule_id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
    Ok((result, rule))
}

// ---------------------------------------------------------------------------
// Appeals.

/// `POST /api/calls/{id}/appeals`: an agent disputes a rule's verdict.
#[derive(Debug, Clone, Deserialize)]
pub struct AppealRequest {
    /// The scorecard of the result.
    pub scorecard: String,
    /// The rule whose verdict is disputed.
    pub rule_id: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
}

async fn api_add_appeal(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Path(call_id): Path<String>,
    Json(request): Json<AppealRequest>,
) -> Response {
    if let Err(failure) = allow(
        &user,
        &[UserRole::Agent],
        "appeal verdicts (agents appeal their own calls; reviewers review them instead)",
    ) {
        return failure.json(&state);
    }
    let shared = Arc::clone(&state);
    let outcome = run_blocking(move || add_appeal(&shared, &user, &call_id, &request)).await;
    json_or(&state, StatusCode::CREATED, outcome)
}

fn add_appeal(
    state: &AppState,
    user: &CurrentUser,
    call_id: &str,
    request: &AppealRequest,
) -> Outcome<Appeal> {
    let mut store = state.workspace.open_existing_store()?;
    let call = store
        .get_call(call_id)?
        .filter(|call| user.sees_call(call.agent_id.as_deref()))
        .ok_or_else(|| Error::UnknownCall(call_id.to_string()))?;
    let reviews = call_reviews_of(state, &store, &call)?;
    let (result, rule) = find_rule(&reviews, &request.scorecard, &request.rule_id)?;
    let until = reviews
        .appeal_until
        .get(&result.scorecard)
        .copied()
        .unwrap_or(0);
    if now_epoch() >= until {
        let closed = chrono::DateTime::from_timestamp(until, 0)
            .map(|time| time.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        return Err(Failure::forbidden(format!(
            "the appeal window of this result closed at {closed} ({} days after scoring, \
             [review] appeal_days in callscope.toml): ask your team lead",
            reviews.appeal_days
        )));
    }
    if rule
        .appeals
        .iter()
        .any(|view| view.appeal.status == AppealStatus::Open && !view.outdated)
    {
        return Err(Failure::Status(
            StatusCode::CONFLICT,
            format!(
                "rule {} of this call already has an open appeal: wait for its decision",
                rule.rule_id
            ),
        ));
    }
    let reason = clean_text(state, &request.reason);
    if reason.is_empty() {
        return Err(Failure::Status(
            StatusCode::BAD_REQUEST,
            "the reason is empty: say why the verdict is wrong".to_string(),
        ));
    }
    let id = store.add_appeal(&NewAppeal {
        call_id: call_id.to_string(),
        scorecard: result.scorecard.clone(),
        rule_id: rule.rule_id.clone(),
        appellant: user.name.clone(),
        agent_id: call.agent_id.clone(),
        machine_violated: rule.machine_violated,
        appealed_violated: rule.effective_violated(),
        reason,
    })?;
    auth::audit_detail(
        state,
        user,
        "appeal.add",
        call_id,
        Some(&format!(
            "{} {} appeal {id}",
            result.scorecard, rule.rule_id
        )),
    )?;
    Ok(store
        .appeal(id)?
        .ok_or_else(|| Error::Store(format!("appeal {id} was not stored")))?)
}

/// `POST /api/appeals/{id}/decision`: a lead accepts or rejects an appeal.
#[derive(Debug, Clone, Deserialize)]
pub struct DecisionRequest {
    /// `accept` or `reject`.
    pub decision: String,
    /// Why (optional).
    #[serde(default)]
    pub comment: String,
}

async fn api_decide(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Path(id): Path<String>,
    Json(request): Json<DecisionRequest>,
) -> Response {
    if let Err(failure) = allow(&user, LEADS, "decide appeals") {
        return failure.json(&state);
    }
    let shared = Arc::clone(&state);
    let outcome = run_blocking(move || decide(&shared, &user, &id, &request)).await;
    json_or(&state, StatusCode::OK, outcome)
}

fn decide(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    request: &DecisionRequest,
) -> Outcome<Appeal> {
    let id: i64 = id.trim().parse().map_err(|_| {
        Failure::Status(
            StatusCode::NOT_FOUND,
            format!("there is no appeal '{id}': appeal ids are numbers"),
        )
    })?;
    let accepted = match request.decision.trim() {
        "accept" | "accepted" => true,
        "reject" | "rejected" => false,
        other => {
            return Err(Failure::Status(
                StatusCode::BAD_REQUEST,
                format!("decision '{other}': write accept or reject"),
            ))
        }
    };
    let mut store = state.workspace.open_existing_store()?;
    let Some(appeal) = store.appeal(id)? else {
        return Err(Failure::Status(
            StatusCode::NOT_FOUND,
            format!("there is no appeal {id}: check the id on /appeals"),
        ));
    };
    if appeal.status != AppealStatus::Open {
        return Err(Failure::Status(
            StatusCode::CONFLICT,
            format!(
                "appeal {id} was already {} by {}: an appeal is decided once",
                appeal.status.as_str(),
                appeal.decided_by.as_deref().unwrap_or("someone")
            ),
        ));
    }
    let comment = clean_text(state, &request.comment);
    let decided = store.decide_appeal(id, &user.name, accepted, &comment)?;
    auth::audit_detail(
        state,
        user,
        "appeal.decide",
        &decided.call_id,
        Some(&format!("appeal {id} {}", decided.status.as_str())),
    )?;
    if let Some(call) = store.get_call(&decided.call_id)? {
        let after = call_reviews_of(state, &store, &call)?;
        store_reviewed_scores(&mut store, &after)?;
    }
    Ok(decided)
}

/// What `GET /api/appeals` and `/appeals` take.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AppealParams {
    /// `open`, `accepted`, `rejected`, or empty for all.
    pub status: String,
}

fn list_appeals(
    state: &AppState,
    user: &CurrentUser,
    params: &AppealParams,
) -> Outcome<Vec<Appeal>> {
    allow(
        user,
        &[
            UserRole::Admin,
            UserRole::Lead,
            UserRole::Analyst,
            UserRole::Agent,
        ],
        "see appeals",
    )?;
    let status = match params.status.trim() {
        "" | "all" => None,
        "open" => Some(AppealStatus::Open),
        "accepted" => Some(AppealStatus::Accepted),
        "rejected" => Some(AppealStatus::Rejected),
        other => {
            return Err(Failure::Status(
                StatusCode::BAD_REQUEST,
                format!("status={other}: write open, accepted, rejected or all"),
            ))
        }
    };
    let store = state.workspace.open_existing_store()?;
    Ok(store.appeals(&AppealFilter {
        status,
        agent_id: user.agent_scope().map(str::to_string),
        call_id: None,
    })?)
}

async fn api_appeals(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Query(params): Query<AppealParams>,
) -> Response {
    let shared = Arc::clone(&state);
    let outcome = run_blocking(move || list_appeals(&shared, &user, &params)).await;
    json_or(&state, StatusCode::OK, outcome)
}

#[derive(Serialize)]
struct AppealRow {
    id: i64,
    call_id: String,
    url: String,
    scorecard: String,
    rule_id: String,
    appellant: String,
    agent_id: String,
    appealed: &'static str,
    reason: String,
    status: &'static str,
    created: String,
    decided_by: String,
    decided: String,
    decision_comment: String,
}

fn verdict_label(violated: bool) -> &'static str {
    if violated {
        "违规 violated"
    } else {
        "通过 passed"
    }
}

/// Epoch seconds as `YYYY-MM-DD HH:MM` (UTC).
pub fn when(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|time| time.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "-".to_string())
}

fn appeal_row(appeal: &Appeal) -> AppealRow {
    AppealRow {
        id: appeal.id,
        url: format!(
            "/calls/{}#appeal-{}",
            percent_encode(&appeal.call_id),
            appeal.id
        ),
        call_id: appeal.call_id.clone(),
        scorecard: appeal.scorecard.clone(),
        rule_id: appeal.rule_id.clone(),
        appellant: appeal.appellant.clone(),
        agent_id: appeal.agent_id.clone().unwrap_or_else(|| "-".to_string()),
        appealed: verdict_label(appeal.appealed_violated),
        reason: appeal.reason.clone(),
        status: appeal.status.as_str(),
        created: when(appeal.created_at),
        decided_by: appeal.decided_by.clone().unwrap_or_default(),
        decided: appeal.decided_at.map(when).unwrap_or_default(),
        decision_comment: appeal.decision_comment.clone().unwrap_or_default(),
    }
}

async fn page_appeals(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Query(mut params): Query<AppealParams>,
) -> Response {
    if params.status.is_empty() && LEADS.contains(&user.role) {
        params.status = "open".to_string();
    }
    let shared = Arc::clone(&state);
    let who = user.clone();
    let asked = params.clone();
    match run_blocking(move || list_appeals(&shared, &who, &asked)).await {
        Ok(appeals) => {
            let rows: Vec<AppealRow> = appeals.iter().map(appeal_row).collect();
            pages::render(
                "appeals.html",
                &user,
                context! {
                    appeals => rows,
                    status => params.status,
                    can_decide => LEADS.contains(&user.role),
                },
            )
        }
        Err(failure) => failure.page(&state, &user),
    }
}

// ---------------------------------------------------------------------------
// The review queue.

/// A reviewer's queue (`GET /api/reviews/queue`).
#[derive(Debug, Clone, Serialize)]
pub struct Queue {
    /// Whose queue.
    pub reviewer: String,
    /// Calls reviewed.
    pub done: usize,
    /// Calls assigned.
    pub total: usize,
    /// The assignments, newest week first.
    pub assignments: Vec<Assignment>,
}

fn queue(state: &AppState, user: &CurrentUser) -> Outcome<Queue> {
    allow(user, REVIEWERS, "have a review queue")?;
    let store = state.workspace.open_existing_store()?;
    let assignments = store.assignments(Some(&user.name))?;
    Ok(Queue {
        reviewer: user.name.clone(),
        done: assignments.iter().filter(|item| item.done).count(),
        total: assignments.len(),
        assignments,
    })
}

async fn api_queue(State(state): State<Arc<AppState>>, user: CurrentUser) -> Response {
    let shared = Arc::clone(&state);
    let outcome = run_blocking(move || queue(&shared, &user)).await;
    json_or(&state, StatusCode::OK, outcome)
}

/// A window of calls by date (`from`, `to`: `YYYY-MM-DD`, inclusive; empty
/// means open).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Window {
    /// First date.
    pub from: String,
    /// Last date.
    pub to: String,
}

impl Window {
    fn filter(&self) -> Result<CallFilter> {
        let from = crate::query::date("from", &self.from)?;
        let to = crate::query::date("to", &self.to)?;
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                return Err(Error::Usage(format!(
                    "from={from} is after to={to}: swap them"
                )));
            }
        }
        Ok(CallFilter {
            from,
            to,
            ..CallFilter::default()
        })
    }
}

/// What `POST /api/reviews/assign` did.
#[derive(Debug, Clone, Serialize)]
pub struct AssignReport {
    /// Scored calls in the window.
    pub candidates: usize,
    /// Calls the plan picked.
    pub picked: usize,
    /// New assignments (0 when the plan ran before on the same window).
    pub added: usize,
    /// The reviewers, in turn order.
    pub reviewers: Vec<String>,
}

fn assign(state: &AppState, user: &CurrentUser, window: &Window) -> Outcome<AssignReport> {
    allow(user, LEADS, "run the sampling plan")?;
    let filter = window.filter()?;
    let plan = review_section(state)?;
    let mut store = state.workspace.open_existing_store()?;
    let mut fatal: HashMap<String, bool> = HashMap::new();
    store.for_each_qa_figures(&filter, false, |figures| {
        *fatal.entry(figures.call_id).or_default() |= figures.fatal;
        Ok(())
    })?;
    let mut candidates = Vec::new();
    let mut dates: HashMap<String, Option<String>> = HashMap::new();
    store.for_each_qa_result(&filter, |stored| {
        dates.insert(stored.result.call_id.clone(), stored.local_date);
        Ok(())
    })?;
    store.for_each_call(&filter, |call| {
        if let Some(is_fatal) = fatal.get(&call.call_id) {
            let date = dates.get(&call.call_id).cloned().flatten();
            candidates.push(sampling::Candidate::of(&call, date.as_deref(), *is_fatal));
        }
        Ok(())
    })?;
    let mut reviewers = store.reviewers()?;
    if reviewers.is_empty() {
        reviewers.push(user.name.clone());
    }
    let picked = sampling::pick(&candidates, &plan);
    let existing = store.assignments(None)?;
    let assignments = sampling::assign(&picked, &reviewers, &existing, &plan);
    let added = store.add_assignments(&assignments)?;
    auth::audit_detail(
        state,
        user,
        "review.assign",
        &format!("{}..{}", window.from, window.to),
        Some(&format!("{added} assigned")),
    )?;
    Ok(AssignReport {
        candidates: candidates.len(),
        picked: picked.len(),
        added,
        reviewers,
    })
}

/// Runs the review queue's sampling plan for a window as `user` (`callscope
/// review assign` runs it as the local admin): the picked calls go to the
/// analysts and leads in turn, or to `user` when the workspace has none.
/// Running it again on the same window adds nothing.
pub fn assign_plan(state: &AppState, user: &CurrentUser, window: &Window) -> Result<AssignReport> {
    assign(state, user, window).map_err(|failure| match failure {
        Failure::Library(error) => error,
        Failure::Status(_, message) => Error::Usage(message),
    })
}

async fn api_assign(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    body: Option<Json<Window>>,
) -> Response {
    let window = body.map(|Json(window)| window).unwrap_or_default();
    let shared = Arc::clone(&state);
    let outcome = run_blocking(move || assign(&shared, &user, &window)).await;
    json_or(&state, StatusCode::OK, outcome)
}

#[derive(Serialize)]
struct QueueRow {
    call_id: String,
    url: String,
    reason: String,
    week: String,
    done: bool,
}

async fn page_queue(State(state): State<Arc<AppState>>, user: CurrentUser) -> Response {
    let shared = Arc::clone(&state);
    let who = user.clone();
    match run_blocking(move || queue(&shared, &who)).await {
        Ok(queue) => {
            let rows: Vec<QueueRow> = queue
                .assignments
                .iter()
                .map(|item| QueueRow {
                    url: format!("/calls/{}", percent_encode(&item.call_id)),
                    call_id: item.call_id.clone(),
                    reason: item.reason.clone(),
                    week: item.week.clone(),
                    done: item.done,
                })
                .collect();
            let percent = (queue.done * 100).checked_div(queue.total).unwrap_or(0);
            pages::render(
                "reviews.html",
                &user,
                context! {
                    queue => rows,
                    done => queue.done,
                    total => queue.total,
                    percent,
                    can_assign => LEADS.contains(&user.role),
                },
            )
        }
        Err(failure) => failure.page(&state, &user),
    }
}

// ---------------------------------------------------------------------------
// Rules.

/// The stored results and current reviews of a window, counted per rule.
struct RuleData {
    counted: Vec<reviewed::Counted>,
    names: HashMap<(String, String), String>,
}

fn rule_data(state: &AppState, filter: &CallFilter) -> Result<RuleData> {
    let store = state.workspace.open_existing_store()?;
    let mut counted = Vec::new();
    let mut names: HashMap<(String, String), String> = HashMap::new();
    for scorecard in reviewed::scorecards(&state.workspace)?.iter() {
        for rule in &scorecard.rules {
            names.insert((scorecard.name.clone(), rule.id.clone()), rule.name.clone());
        }
    }
    let mut violated: HashMap<(String, String), BTreeSet<String>> = HashMap::new();
    let mut weeks: HashMap<String, String> = HashMap::new();
    store.for_each_qa_result(filter, |stored| {
        let week = reviewed::iso_week(stored.local_date.as_deref());
        let result = stored.result;
        let mut rules = BTreeSet::new();
        for violation in &result.violations {
            names
                .entry((result.scorecard.clone(), violation.rule_id.clone()))
                .or_insert_with(|| violation.name.clone());
            rules.insert(violation.rule_id.clone());
            counted.push(reviewed::Counted {
                call_id: result.call_id.clone(),
                week: week.clone(),
                rule: (result.scorecard.clone(), violation.rule_id.clone()),
                kinds: vec![FigureKind::Hits],
            });
        }
        weeks.insert(result.call_id.clone(), week);
        violated.insert((result.call_id.clone(), result.scorecard.clone()), rules);
        Ok(())
    })?;
    let mut reviews = Vec::new();
    store.for_each_review(filter, |row| {
        reviews.push(row.review);
        Ok(())
    })?;
    for ((call_id, scorecard, rule_id), by_reviewer) in
        reviewed::current_reviews(reviews, &violated)
    {
        if let Some(review) = reviewed::latest_of(&by_reviewer) {
            counted.push(reviewed::Counted {
                week: weeks.get(&call_id).cloned().unwrap_or_default(),
                call_id,
                rule: (scorecard, rule_id),
                kinds: reviewed::review_kinds(review),
            });
        }
    }
    Ok(RuleData { counted, names })
}

fn rules(
    state: &AppState,
    user: &CurrentUser,
    window: &Window,
) -> Outcome<Vec<reviewed::RuleFigures>> {
    allow(user, REVIEWERS, "see the rules' figures")?;
    let data = rule_data(state, &window.filter()?)?;
    Ok(reviewed::rule_figures(&data.counted, &data.names))
}

async fn api_rules(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Query(window): Query<Window>,
) -> Response {
    let shared = Arc::clone(&state);
    let outcome = run_blocking(move || rules(&shared, &user, &window)).await;
    json_or(&state, StatusCode::OK, outcome)
}

/// What `/rules/calls` and `GET /api/rules/calls` take: which figure of
/// which rule, in which window (and week).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RuleCallsParams {
    /// The scorecard.
    #[serde(default)]
    pub scorecard: String,
    /// The rule.
    #[serde(default)]
    pub rule: String,
    /// `hits`, `reviewed`, `confirmed`, `overturned` or `misses`.
    pub kind: FigureKind,
    /// Only this ISO week (`2026-W36`).
    #[serde(default)]
    pub week: String,
    /// First date.
    #[serde(default)]
    pub from: String,
    /// Last date.
    #[serde(default)]
    pub to: String,
}

fn rule_calls(
    state: &AppState,
    user: &CurrentUser,
    params: &RuleCallsParams,
) -> Outcome<Vec<String>> {
    allow(user, REVIEWERS, "see the rules' figures")?;
    let window = Window {
        from: params.from.clone(),
        to: params.to.clone(),
    };
    let data = rule_data(state, &window.filter()?)?;
    let mut calls: Vec<String> = data
        .counted
        .into_iter()
        .filter(|item| item.rule.0 == params.scorecard && item.rule.1 == params.rule)
        .filter(|item| params.week.is_empty() || item.week == params.week)
        .filter(|item| item.kinds.contains(&params.kind))
        .map(|item| item.call_id)
        .collect();
    calls.sort();
    calls.dedup();
    Ok(calls)
}

async fn api_rule_calls(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Query(params): Query<RuleCallsParams>,
) -> Response {
    let shared = Arc::clone(&state);
    let outcome = run_blocking(move || rule_calls(&shared, &user, &params)).await;
    json_or(&state, StatusCode::OK, outcome)
}

/// A link to the calls behind one figure.
fn figure_url(
    window: &Window,
    scorecard: &str,
    rule: &str,
    kind: FigureKind,
    week: &str,
) -> String {
    let mut url = format!(
        "/rules/calls?scorecard={}&rule={}&kind={}",
        percent_encode(scorecard),
        percent_encode(rule),
        kind.as_str()
    );
    for (name, value) in [("week", week), ("from", &window.from), ("to", &window.to)] {
        if !value.is_empty() {
            url.push_str(&format!("&{name}={}", percent_encode(value)));
        }
    }
    url
}

#[derive(Serialize)]
struct RuleRow {
    scorecard: String,
    rule_id: String,
    name: String,
    machine_hits: u64,
    hits_url: String,
    reviewed: u64,
    reviewed_url: String,
    confirmed: u64,
    confirmed_url: String,
    overturned: u64,
    overturned_url: String,
    precision: String,
    misses: u64,
    misses_url: String,
    weeks: Vec<WeekRow>,
}

#[derive(Serialize)]
struct WeekRow {
    week: String,
    machine_hits: u64,
    hits_url: String,
    reviewed_hits: u64,
    confirmed: u64,
    confirmed_url: String,
    misses: u64,
    misses_url: String,
}

async fn page_rules(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Query(window): Query<Window>,
) -> Response {
    let shared = Arc::clone(&state);
    let who = user.clone();
    let asked = window.clone();
    let figures = match run_blocking(move || rules(&shared, &who, &asked)).await {
        Ok(figures) => figures,
        Err(failure) => return failure.page(&state, &user),
    };
    let rows: Vec<RuleRow> = figures
        .iter()
        .map(|figure| {
            let url = |kind, week: &str| {
                figure_url(&window, &figure.scorecard, &figure.rule_id, kind, week)
            };
            RuleRow {
                scorecard: figure.scorecard.clone(),
                rule_id: figure.rule_id.clone(),
                name: figure.name.clone(),
                machine_hits: figure.machine_hits,
                hits_url: url(FigureKind::Hits, ""),
                reviewed: figure.reviewed,
                reviewed_url: url(FigureKind::Reviewed, ""),
                confirmed: figure.confirmed,
                confirmed_url: url(FigureKind::Confirmed, ""),
                overturned: figure.overturned,
                overturned_url: url(FigureKind::Overturned, ""),
                precision: figure.precision.map_or_else(
                    || "-".to_string(),
                    |precision| format!("{:.0}%", precision * 100.0),
                ),
                misses: figure.misses,
                misses_url: url(FigureKind::Misses, ""),
                weeks: figure
                    .weeks
                    .iter()
                    .map(|week| WeekRow {
                        week: week.week.clone(),
                        machine_hits: week.machine_hits,
                        hits_url: url(FigureKind::Hits, &week.week),
                        reviewed_hits: week.reviewed_hits,
                        confirmed: week.confirmed,
                        confirmed_url: url(FigureKind::Confirmed, &week.week),
                        misses: week.misses,
                        misses_url: url(FigureKind::Misses, &week.week),
                    })
                    .collect(),
            }
        })
        .collect();
    pages::render("rules.html", &user, context! { rules => rows, window })
}

async fn page_rule_calls(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Query(params): Query<RuleCallsParams>,
) -> Response {
    let shared = Arc::clone(&state);
    let who = user.clone();
    let asked = params.clone();
    match run_blocking(move || rule_calls(&shared, &who, &asked)).await {
        Ok(calls) => {
            let calls: Vec<(String, String)> = calls
                .into_iter()
                .map(|call_id| (format!("/calls/{}", percent_encode(&call_id)), call_id))
                .collect();
            pages::render(
                "rule_calls.html",
                &user,
                context! { params, kind => params.kind.as_str(), calls },
            )
        }
        Err(failure) => failure.page(&state, &user),
    }
}

// ---------------------------------------------------------------------------
// Calibration.

/// The calibration figures (`GET /api/calibration`).
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    /// Agreement per rule.
    pub rules: Vec<reviewed::Agreement>,
    /// Calls and rules where reviewers disagree.
    pub disagreements: Vec<reviewed::Disagreement>,
}

fn calibration(state: &AppState, user: &CurrentUser, window: &Window) -> Outcome<Calibration> {
    allow(user, REVIEWERS, "see calibration")?;
    let filter = window.filter()?;
    let store = state.workspace.open_existing_store()?;
    let mut violated: HashMap<(String, String), BTreeSet<String>> = HashMap::new();
    store.for_each_qa_result(&filter, |stored| {
        violated.insert(
            (
                stored.result.call_id.clone(),
                stored.result.scorecard.clone(),
            ),
            stored
                .result
                .violations
                .iter()
                .map(|violation| violation.rule_id.clone())
                .collect(),
        );
        Ok(())
    })?;
    let mut reviews = Vec::new();
    store.for_each_review(&filter, |row| {
        reviews.push(row.review);
        Ok(())
    })?;
    let current = reviewed::current_reviews(reviews, &violated);
    let (rules, disagreements) = reviewed::calibration(&current);
    Ok(Calibration {
        rules,
        disagreements,
    })
}

async fn api_calibration(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Query(window): Query<Window>,
) -> Response {
    let shared = Arc::clone(&state);
    let outcome = run_blocking(move || calibration(&shared, &user, &window)).await;
    json_or(&state, StatusCode::OK, outcome)
}

#[derive(Serialize)]
struct AgreementRow {
    scorecard: String,
    rule_id: String,
    calls: u64,
    pairs: u64,
    agreeing: u64,
    percent: String,
    kappa: String,
}

#[derive(Serialize)]
struct DisagreementRow {
    call_id: String,
    url: String,
    scorecard: String,
    rule_id: String,
    machine: &'static str,
    verdicts: Vec<(String, &'static str, String)>,
}

async fn page_calibration(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Query(window): Query<Window>,
) -> Response {
    let shared = Arc::clone(&state);
    let who = user.clone();
    let asked = window.clone();
    let figures = match run_blocking(move || calibration(&shared, &who, &asked)).await {
        Ok(figures) => figures,
        Err(failure) => return failure.page(&state, &user),
    };
    let rules: Vec<AgreementRow> = figures
        .rules
        .iter()
        .map(|rule| AgreementRow {
            scorecard: rule.scorecard.clone(),
            rule_id: rule.rule_id.clone(),
            calls: rule.calls,
            pairs: rule.pairs,
            agreeing: rule.agreeing,
            percent: rule
                .percent
                .map_or_else(|| "-".to_string(), |percent| format!("{percent:.0}%")),
            kappa: rule
                .kappa
                .map_or_else(|| "-".to_string(), |kappa| format!("{kappa:.2}")),
        })
        .collect();
    let disagreements: Vec<DisagreementRow> = figures
        .disagreements
        .iter()
        .map(|item| DisagreementRow {
            url: format!("/calls/{}", percent_encode(&item.call_id)),
            call_id: item.call_id.clone(),
            scorecard: item.scorecard.clone(),
            rule_id: item.rule_id.clone(),
            machine: verdict_label(item.machine_violated),
            verdicts: item
                .verdicts
                .iter()
                .map(|verdict| {
                    (
                        verdict.reviewer.clone(),
                        verdict_label(verdict.violated),
                        verdict.comment.clone(),
                    )
                })
                .collect(),
        })
        .collect();
    pages::render(
        "calibration.html",
        &user,
        context! { rules, disagreements, window },
    )
}

// ---------------------------------------------------------------------------
// The digest and QA trends.

/// QA trends: the average machine (and reviewed) score per ISO week, per
/// team and per agent.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Trends {
    /// The weeks, oldest first.
    pub weeks: Vec<String>,
    /// Per team.
    pub teams: Vec<TrendRow>,
    /// Per agent.
    pub agents: Vec<TrendRow>,
}

/// One team's or agent's weekly scores.
#[derive(Debug, Clone, Serialize)]
pub struct TrendRow {
    /// The team or agent.
    pub name: String,
    /// The average machine score per week (in `Trends::weeks` order); `None`
    /// for a week without scored calls.
    pub scores: Vec<Option<f64>>,
    /// Scored results per week.
    pub results: Vec<u64>,
}

fn trends(store: &Store, filter: &CallFilter) -> Result<Trends> {
    type Sums = BTreeMap<String, BTreeMap<String, (f64, u64)>>;
    let mut teams: Sums = BTreeMap::new();
    let mut agents: Sums = BTreeMap::new();
    let mut weeks: BTreeSet<String> = BTreeSet::new();
    store.for_each_qa_figures(filter, false, |figures| {
        let week = reviewed::iso_week(figures.local_date.as_deref());
        weeks.insert(week.clone());
        for (sums, name) in [
            (&mut teams, &figures.team),
            (&mut agents, &figures.agent_id),
        ] {
            let name = name.clone().unwrap_or_else(|| "-".to_string());
            let cell = sums
                .entry(name)
                .or_default()
                .entry(week.clone())
                .or_default();
            cell.0 += figures.score;
            cell.1 += 1;
        }
        Ok(())
    })?;
    let weeks: Vec<String> = weeks.into_iter().collect();
    let rows = |sums: Sums| -> Vec<TrendRow> {
        sums.into_iter()
            .map(|(name, by_week)| TrendRow {
                name,
                scores: weeks
                    .iter()
                    .map(|week| {
                        by_week
                            .get(week)
                            .map(|(sum, count)| (sum / *count as f64 * 10.0).round() / 10.0)
                    })
                    .collect(),
                results: weeks
                    .iter()
                    .map(|week| by_week.get(week).map_or(0, |(_, count)| *count))
                    .collect(),
            })
            .collect()
    };
    Ok(Trends {
        teams: rows(teams),
        agents: rows(agents),
        weeks,
    })
}

/// The digest of a window and the QA trends (`GET /api/digest`).
#[derive(Debug, Clone, Serialize)]
pub struct DigestPage {
    /// The digest, as `callscope digest --json` prints it.
    pub digest: callscope_digest::report::Digest,
    /// QA trends per team and agent in the digest's window.
    pub trends: Trends,
}

fn dictionary() -> Result<callscope_core::dictionary::Dictionary> {
    static DICTIONARY: OnceLock<callscope_core::dictionary::Dictionary> = OnceLock::new();
    if let Some(dictionary) = DICTIONARY.get() {
        return Ok(dictionary.clone());
    }
    let dictionary = callscope_core::dictionary::Dictionary::load(None)?;
    Ok(DICTIONARY.get_or_init(|| dictionary).clone())
}

fn digest(state: &AppState, user: &CurrentUser, window: &Window) -> Outcome<DigestPage> {
    allow(user, READERS, "read the digest")?;
    let filter = window.filter()?;
    let options = callscope_digest::DigestOptions {
        from: filter.from,
        to: filter.to,
        ..callscope_digest::DigestOptions::default()
    };
    let digester = callscope_digest::Digester::new(options, dictionary()?)?;
    let mut store = state.workspace.open_existing_store()?;
    let (_, run) = digester.run(&mut store, |_, _| {})?;
    let digest = run.digest;
    let window_filter = CallFilter {
        from: chrono::NaiveDate::parse_from_str(&digest.window.from, "%Y-%m-%d")
            .ok()
            .or(filter.from),
        to: chrono::NaiveDate::parse_from_str(&digest.window.to, "%Y-%m-%d")
            .ok()
            .or(filter.to),
        ..CallFilter::default()
    };
    let trends = trends(&store, &window_filter)?;
    auth::audit(
        state,
        user,
        "digest.open",
        &format!("{}..{}", digest.window.from, digest.window.to),
    )?;
    Ok(DigestPage { digest, trends })
}

/// A small inline SVG line of weekly scores (0 to 100; weeks without scores
/// left out): numbers and fixed attributes only, no style attribute.
pub fn sparkline(scores: &[Option<f64>]) -> String {
    const WIDTH: f64 = 120.0;
    const HEIGHT: f64 = 28.0;
    let step = if scores.len() > 1 {
        WIDTH / (scores.len() - 1) as f64
    } else {
        0.0
    };
    let points: Vec<String> = scores
        .iter()
        .enumerate()
        .filter_map(|(index, score)| {
            score.map(|score| {
                let y = HEIGHT - 2.0 - score.clamp(0.0, 100.0) / 100.0 * (HEIGHT - 4.0);
                format!("{:.1},{y:.1}", index as f64 * step + 2.0)
            })
        })
        .collect();
    let dots: String = points
        .iter()
        .map(|point| {
            let (x, y) = point.split_once(',').unwrap_or(("0", "0"));
            format!("<circle cx=\"{x}\" cy=\"{y}\" r=\"1.8\" fill=\"#2c5d99\"/>")
        })
        .collect();
    format!(
        "<svg class=\"sparkline\" width=\"{w}\" height=\"{HEIGHT}\" viewBox=\"0 0 {w} {HEIGHT}\" \
         role=\"img\" aria-label=\"weekly score\"><line x1=\"0\" y1=\"{base}\" x2=\"{w}\" \
         y2=\"{base}\" stroke=\"#ddd\"/><polyline fill=\"none\" stroke=\"#2c5d99\" \
         stroke-width=\"1.5\" points=\"{}\"/>{dots}</svg>",
        points.join(" "),
        w = WIDTH + 4.0,
        base = HEIGHT - 2.0,
    )
}

async fn api_digest(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Query(window): Query<Window>,
) -> Response {
    let shared = Arc::clone(&state);
    let outcome = run_blocking(move || digest(&shared, &user, &window)).await;
    json_or(&state, StatusCode::OK, outcome)
}

/// The digest's HTML report without its page head: what lies inside its
/// `<main>`, to be placed in the workspace's own page (its CSS is served
/// as `/assets/digest.css`; the report holds no script).
pub fn digest_body(html: &str) -> String {
    let start = html
        .find("<main>")
        .map_or(0, |index| index + "<main>".len());
    let end = html.rfind("</main>").unwrap_or(html.len());
    html.get(start..end.max(start))
        .unwrap_or_default()
        .to_string()
}

static DIGEST_CSS: OnceLock<String> = OnceLock::new();

/// The digest report's own CSS (the `<style>` of `digest --html`), scoped
/// under `.digest` so it styles only the report inside a page; taken from
/// the first report rendered (empty before).
pub fn digest_css() -> &'static str {
    DIGEST_CSS.get().map_or("", String::as_str)
}

/// Keeps the CSS of a rendered report for [`digest_css`].
fn remember_digest_css(html: &str) {
    if DIGEST_CSS.get().is_some() {
        return;
    }
    if let Some((css, _)) = html
        .split_once("<style>")
        .and_then(|(_, rest)| rest.split_once("</style>"))
    {
        let _ = DIGEST_CSS.set(scope_css(css, ".digest"));
    }
}

/// Prefixes every selector of `css` (flat rules only) with `scope`;
/// `body`, `main` and `:root` become the scope itself.
fn scope_css(css: &str, scope: &str) -> String {
    let mut out = String::new();
    for rule in css.split('}') {
        let Some((selectors, body)) = rule.split_once('{') else {
            continue;
        };
        let selectors: Vec<String> = selectors
            .split(',')
            .map(str::trim)
            .filter(|selector| !selector.is_empty())
            .map(|selector| match selector {
                "body" | "main" | ":root" => scope.to_string(),
                other => format!("{scope} {other}"),
            })
            .collect();
        if selectors.is_empty() {
            continue;
        }
        out.push_str(&selectors.join(", "));
        out.push_str(" {");
        out.push_str(body);
        out.push_str("}\n");
    }
    out
}

async fn digest_style() -> Response {
    let cache = if digest_css().is_empty() {
        "no-store"
    } else {
        "max-age=3600"
    };
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, cache),
        ],
        digest_css(),
    )
        .into_response()
}

async fn page_digest(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Query(window): Query<Window>,
) -> Response {
    let shared = Arc::clone(&state);
    let who = user.clone();
    let asked = window.clone();
    let page = match run_blocking(move || digest(&shared, &who, &asked)).await {
        Ok(page) => page,
        Err(failure) => return failure.page(&state, &user),
    };
    let report = callscope_digest::html::render(&page.digest);
    remember_digest_css(&report);
    let report_html = digest_body(&report);
    let format_row = |row: &TrendRow| {
        let cells: Vec<String> = row
            .scores
            .iter()
            .map(|score| score.map_or_else(|| "-".to_string(), |score| format!("{score:.1}")))
            .collect();
        (row.name.clone(), cells, sparkline(&row.scores))
    };
    let teams: Vec<(String, Vec<String>, String)> =
        page.trends.teams.iter().map(format_row).collect();
    let agents: Vec<(String, Vec<String>, String)> =
        page.trends.agents.iter().map(format_row).collect();
    pages::render(
        "digest.html",
        &user,
        context! {
            window => Window { from: page.digest.window.from.clone(), to: page.digest.window.to.clone() },
            report_html,
            weeks => page.trends.weeks,
            teams,
            agents,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_css_is_scoped_and_its_body_cut_out() {
        let css = scope_css(
            "body { margin: 0; }\nh2, .card .value { color: red; }",
            ".digest",
        );
        assert_eq!(
            css,
            ".digest { margin: 0; }\n.digest h2, .digest .card .value { color: red; }\n"
        );
        assert_eq!(
            digest_body("<html><main><p>x</p></main></html>"),
            "<p>x</p>"
        );
    }
}
