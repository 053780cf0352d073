//! The server-rendered pages: `/` (search) and `/calls/{id}` (a call).
//! Templates are embedded and rendered with HTML auto-escaping; the only
//! markup that does not come from a template is a search highlight's
//! `<b>` marks, passed through [`query::safe_highlight`].

use std::sync::{Arc, OnceLock};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::{context, Environment};
use serde::Serialize;

use callscope_core::error::Error;
use callscope_core::model::Role;
use callscope_store::reviews::{AppealStatus, Decision};
use callscope_store::users::UserRole;

use crate::auth::CurrentUser;
use crate::http::{blocking, status_of};
use crate::query::{self, SearchParams};
use crate::state::AppState;

/// ASR confidence under which a sentence is marked as doubtful.
pub const LOW_CONFIDENCE: f64 = 0.6;
/// Role confidence (who said it, from the voices) under which a sentence's
/// speaker is marked as doubtful.
pub const LOW_ROLE_CONFIDENCE: f64 = 0.6;

fn templates() -> &'static Result<Environment<'static>, minijinja::Error> {
    static TEMPLATES: OnceLock<Result<Environment<'static>, minijinja::Error>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let mut environment = Environment::new();
        environment.add_template("base.html", include_str!("../templates/base.html"))?;
        environment.add_template("search.html", include_str!("../templates/search.html"))?;
        environment.add_template("call.html", include_str!("../templates/call.html"))?;
        for (name, source) in [
            ("nav.html", include_str!("../templates/nav.html")),
            ("notice.html", include_str!("../templates/notice.html")),
            ("reviews.html", include_str!("../templates/reviews.html")),
            ("appeals.html", include_str!("../templates/appeals.html")),
            ("rules.html", include_str!("../templates/rules.html")),
            (
                "rule_calls.html",
                include_str!("../templates/rule_calls.html"),
            ),
            (
                "calibration.html",
                include_str!("../templates/calibration.html"),
            ),
            ("digest.html", include_str!("../templates/digest.html")),
        ] {
            environment.add_template(name, source)?;
        }
        Ok(environment)
    })
}

/// Renders a page for `user`: base.html shows who is signed in and carries
/// the CSRF token (`current_user.csrf_token`) for scripts and forms.
pub(crate) fn render(name: &str, user: &CurrentUser, context: minijinja::Value) -> Response {
    let context = context! { current_user => crate::auth::UserView::of(user), ..context };
    let rendered = match templates() {
        Ok(environment) => environment
            .get_template(name)
            .and_then(|template| template.render(context))
            .map_err(|error| error.to_string()),
        Err(error) => Err(error.to_string()),
    };
    match rendered {
        Ok(page) => Html(page).into_response(),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the page could not be rendered: {error}"),
        )
            .into_response(),
    }
}

fn error_page(state: &AppState, user: &CurrentUser, error: &Error) -> Response {
    let message = state.redactor.mask_text(&error.to_string());
    let mut response = render(
        "search.html",
        user,
        context! { params => SearchParams::default(), error => message, searched => false },
    );
    *response.status_mut() = status_of(error);
    response
}

/// Minutes and seconds (`mm:ss`, `h:mm:ss` past an hour).
pub fn clock(seconds: f64) -> String {
    let total = if seconds.is_finite() && seconds > 0.0 {
        seconds.floor() as u64
    } else {
        0
    };
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{minutes:02}:{seconds:02}")
    }
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Agent => "坐席",
        Role::Customer => "客户",
        Role::Unknown => "未知",
    }
}

fn field(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "-".to_string())
}

fn started(value: &Option<String>) -> String {
    value
        .as_deref()
        .map(|text| match callscope_store::parse_timestamp(text) {
            Some(time) => time.format("%Y-%m-%d %H:%M").to_string(),
            None => text.to_string(),
        })
        .unwrap_or_else(|| "-".to_string())
}

/// `text` percent-encoded for a URL's query or path.
pub fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The page URL of a search (only the fields that are set).
fn search_url(params: &SearchParams, offset: usize, limit: usize) -> String {
    let mut pairs = vec![("q", params.q.clone())];
    for (name, value) in [
        ("agent", &params.agent),
        ("team", &params.team),
        ("queue", &params.queue),
        ("from", &params.from),
        ("to", &params.to),
        ("role", &params.role),
        ("min_score", &params.min_score),
        ("max_score", &params.max_score),
        ("result", &params.result),
        ("rule", &params.rule),
        ("sort", &params.sort),
    ] {
        if !value.trim().is_empty() {
            pairs.push((name, value.clone()));
        }
    }
    pairs.push(("limit", limit.to_string()));
    if offset > 0 {
        pairs.push(("offset", offset.to_string()));
    }
    let query = pairs
        .iter()
        .map(|(name, value)| format!("{name}={}", percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&");
    format!("/?{query}")
}

fn call_url(call_id: &str) -> String {
    format!("/calls/{}", percent_encode(call_id))
}

#[derive(Serialize)]
struct HitView {
    clock: String,
    url: String,
    role: &'static str,
    role_label: &'static str,
    highlight_html: String,
}

#[derive(Serialize)]
struct ResultView {
    call_id: String,
    url: String,
    started: String,
    agent: String,
    team: String,
    queue: String,
    qa_score: String,
    hits: Vec<HitView>,
}

/// `GET /`: the search form, and the results when the URL holds a query.
pub async fn search(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Query(params): Query<SearchParams>,
) -> Response {
    if params.q.trim().is_empty() {
        return render(
            "search.html",
            &user,
            context! { params, limit => query::DEFAULT_LIMIT, searched => false },
        );
    }
    let shared = Arc::clone(&state);
    let mut asked = params.clone();
    asked.facets = "1".to_string();
    let who = user.clone();
    let page = match blocking(move || query::search(&shared, &who, &asked)).await {
        Ok(page) => page,
        Err(error) => {
            let message = state.redactor.mask_text(&error.to_string());
            let mut response = render(
                "search.html",
                &user,
                context! { params, limit => query::DEFAULT_LIMIT, error => message, searched => false },
            );
            *response.status_mut() = status_of(&error);
            return response;
        }
    };
    let results: Vec<ResultView> = page
        .results
        .iter()
        .map(|result| {
            let url = call_url(&result.call_id);
            ResultView {
                call_id: result.call_id.clone(),
                started: started(&result.started_at),
                agent: field(&result.agent_id),
                team: field(&result.team),
                queue: field(&result.queue),
                qa_score: result
                    .qa_score
                    .map_or_else(|| "-".to_string(), |score| score.to_string()),
                hits: result
                    .hits
                    .iter()
                    .map(|hit| HitView {
                        clock: clock(hit.start),
                        url: format!("{url}#t={:.2}", hit.start),
                        role: hit.role.as_str(),
                        role_label: role_label(hit.role),
                        highlight_html: query::safe_highlight(&hit.highlight),
                    })
                    .collect(),
                url,
            }
        })
        .collect();
    let shown = results.len();
    let facets = page
        .facets
        .as_ref()
        .map(|facets| facet_views(&params, facets, page.limit))
        .unwrap_or_default();
    let next_offset = page.offset + page.limit;
    let previous_url = (page.offset > 0)
        .then(|| search_url(&params, page.offset.saturating_sub(page.limit), page.limit));
    let next_url = (page.limit > 0
        && u64::try_from(next_offset).unwrap_or(u64::MAX) < page.total
        && next_offset <= query::MAX_OFFSET)
        .then(|| search_url(&params, next_offset, page.limit));
    render(
        "search.html",
        &user,
        context! {
            params,
            limit => page.limit,
            searched => true,
            total => page.total,
            first => page.offset + 1,
            last => page.offset + shown,
            results,
            facets,
            previous_url,
            next_url,
        },
    )
}

/// Facet values shown beside the results, at most this many per facet.
const FACET_VALUES: usize = 10;

#[derive(Serialize)]
struct FacetValueView {
    value: String,
    calls: u64,
    /// The same search narrowed to this value (back to the first page).
    url: String,
    /// Whether the search is already narrowed to it.
    active: bool,
}

#[derive(Serialize)]
struct FacetView {
    name: &'static str,
    label: &'static str,
    values: Vec<FacetValueView>,
}

/// The facet counts as links that narrow the search: a click sets that
/// filter (agent, team, queue or violated rule) and keeps the rest.
fn facet_views(
    params: &SearchParams,
    facets: &callscope_core::model::SearchFacets,
    limit: usize,
) -> Vec<FacetView> {
    let kinds: [(
        &'static str,
        &'static str,
        &[callscope_core::model::FacetCount],
    ); 4] = [
        ("agent", "坐席", &facets.agent_id),
        ("team", "班组", &facets.team),
        ("queue", "队列", &facets.queue),
        ("rule", "违规规则", &facets.violated),
    ];
    kinds
        .into_iter()
        .filter(|(_, _, counts)| !counts.is_empty())
        .map(|(name, label, counts)| FacetView {
            name,
            label,
            values: counts
                .iter()
                .take(FACET_VALUES)
                .map(|count| {
                    let mut narrowed = params.clone();
                    let field = match name {
                        "agent" => &mut narrowed.agent,
                        "team" => &mut narrowed.team,
                        "queue" => &mut narrowed.queue,
                        _ => &mut narrowed.rule,
                    };
                    let active = field.trim() == count.value;
                    *field = count.value.clone();
                    FacetValueView {
                        value: count.value.clone(),
                        calls: count.calls,
                        url: search_url(&narrowed, 0, limit),
                        active,
                    }
                })
                .collect(),
        })
        .collect()
}

#[derive(Serialize)]
struct MetaItem {
    key: String,
    value: String,
}

#[derive(Serialize)]
struct CallHead {
    call_id: String,
    started: String,
    agent: String,
    team: String,
    queue: String,
    duration: String,
    meta: Vec<MetaItem>,
}

#[derive(Serialize)]
struct SegmentView {
    index: usize,
    start: f64,
    end: f64,
    clock: String,
    role: &'static str,
    role_label: &'static str,
    text: String,
    low_confidence: bool,
    confidence: String,
    low_role_confidence: bool,
    role_confidence: String,
}

#[derive(Serialize)]
struct EvidenceView {
    segment: usize,
    start: f64,
    clock: String,
    role_label: &'static str,
    text: String,
    matched: String,
}

#[derive(Serialize)]
struct ReviewItem {
    id: i64,
    reviewer: String,
    decision: &'static str,
    verdict: &'static str,
    comment: String,
    when: String,
    outdated: bool,
}

#[derive(Serialize)]
struct AppealItem {
    id: i64,
    appellant: String,
    appealed: &'static str,
    reason: String,
    status: &'static str,
    when: String,
    decided_by: String,
    decided: String,
    decision_comment: String,
    outdated: bool,
}

#[derive(Serialize)]
struct RuleView {
    name: String,
    rule_id: String,
    points: f64,
    fatal: bool,
    violated: bool,
    machine: &'static str,
    reviewed: Option<&'static str>,
    reviewed_by: String,
    changed: bool,
    evidence: Vec<EvidenceView>,
    reviews: Vec<ReviewItem>,
    appeals: Vec<AppealItem>,
    can_appeal: bool,
}

#[derive(Serialize)]
struct QaView {
    index: usize,
    scorecard: String,
    score: f64,
    passed: bool,
    fatal: bool,
    reviewed_score: Option<f64>,
    reviewed_passed: Option<bool>,
    reviewed_fatal: bool,
    known_scorecard: bool,
    appeal_until: String,
    rules: Vec<RuleView>,
}

fn verdict(violated: bool) -> &'static str {
    if violated {
        "违规"
    } else {
        "通过"
    }
}

fn rule_view(rule: &crate::reviewed::RuleVerdict, appeal_open: bool) -> RuleView {
    let open_appeal = rule
        .appeals
        .iter()
        .any(|view| view.appeal.status == AppealStatus::Open && !view.outdated);
    RuleView {
        name: rule.name.clone(),
        rule_id: rule.rule_id.clone(),
        points: rule.points,
        fatal: rule.fatal,
        violated: rule.machine_violated,
        machine: verdict(rule.machine_violated),
        reviewed: rule.reviewed_violated.map(verdict),
        reviewed_by: rule.reviewed_by.clone().unwrap_or_default(),
        changed: rule
            .reviewed_violated
            .is_some_and(|reviewed| reviewed != rule.machine_violated),
        evidence: rule
            .evidence
            .iter()
            .map(|evidence| EvidenceView {
                segment: evidence.segment,
                start: evidence.start,
                clock: clock(evidence.start),
                role_label: role_label(evidence.role),
                text: evidence.text.clone(),
                matched: evidence.matched.clone(),
            })
            .collect(),
        reviews: rule
            .reviews
            .iter()
            .map(|view| ReviewItem {
                id: view.review.id,
                reviewer: view.review.reviewer.clone(),
                decision: match view.review.decision {
                    Decision::Confirm => "确认 confirmed",
                    Decision::Overturn => "推翻 overturned",
                },
                verdict: verdict(view.review.reviewed_violated),
                comment: view.review.comment.clone(),
                when: crate::review::when(view.review.created_at),
                outdated: view.outdated,
            })
            .collect(),
        appeals: rule
            .appeals
            .iter()
            .map(|view| AppealItem {
                id: view.appeal.id,
                appellant: view.appeal.appellant.clone(),
                appealed: verdict(view.appeal.appealed_violated),
                reason: view.appeal.reason.clone(),
                status: view.appeal.status.as_str(),
                when: crate::review::when(view.appeal.created_at),
                decided_by: view.appeal.decided_by.clone().unwrap_or_default(),
                decided: view
                    .appeal
                    .decided_at
                    .map(crate::review::when)
                    .unwrap_or_default(),
                decision_comment: view.appeal.decision_comment.clone().unwrap_or_default(),
                outdated: view.outdated,
            })
            .collect(),
        can_appeal: appeal_open && !open_appeal && rule.effective_violated(),
    }
}

/// `GET /calls/{id}`: the masked call, its recording and its QA results.
pub async fn call(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Path(call_id): Path<String>,
) -> Response {
    let shared = Arc::clone(&state);
    let asked = call_id.clone();
    let who = user.clone();
    let view = match blocking(move || query::call(&shared, &who, &asked)).await {
        Ok(view) => view,
        Err(error) => return error_page(&state, &user, &error),
    };
    let call = &view.call;
    let head = CallHead {
        call_id: call.call_id.clone(),
        started: started(&call.started_at),
        agent: field(&call.agent_id),
        team: field(&call.team),
        queue: field(&call.queue),
        duration: clock(call.effective_duration()),
        meta: call
            .meta
            .iter()
            .map(|(key, value)| MetaItem {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
    };
    let segments: Vec<SegmentView> = call
        .segments
        .iter()
        .enumerate()
        .map(|(index, segment)| SegmentView {
            index,
            start: segment.start,
            end: segment.end,
            clock: clock(segment.start),
            role: segment.role.as_str(),
            role_label: role_label(segment.role),
            text: segment.text.clone(),
            low_confidence: segment
                .confidence
                .is_some_and(|confidence| confidence < LOW_CONFIDENCE),
            confidence: segment
                .confidence
                .map_or_else(String::new, |confidence| format!("{confidence:.2}")),
            low_role_confidence: segment
                .role_confidence
                .is_some_and(|confidence| confidence < LOW_ROLE_CONFIDENCE),
            role_confidence: segment
                .role_confidence
                .map_or_else(String::new, |confidence| format!("{confidence:.2}")),
        })
        .collect();
    let now = chrono::Utc::now().timestamp();
    let is_agent = user.role == UserRole::Agent;
    let may_review = matches!(
        user.role,
        UserRole::Admin | UserRole::Lead | UserRole::Analyst
    );
    let may_decide = matches!(user.role, UserRole::Admin | UserRole::Lead);
    let qa_results: Vec<QaView> = view
        .reviews
        .results
        .iter()
        .enumerate()
        .map(|(index, result)| {
            let appeal_until = view.reviews.appeal_until.get(&result.scorecard).copied();
            let appeal_open = is_agent && appeal_until.is_some_and(|until| now < until);
            QaView {
                index,
                scorecard: result.scorecard.clone(),
                score: result.machine_score,
                passed: result.machine_passed,
                fatal: result.machine_fatal,
                reviewed_score: result.reviewed_score,
                reviewed_passed: result.reviewed_passed,
                reviewed_fatal: result.reviewed_fatal.unwrap_or(false),
                known_scorecard: result.known_scorecard,
                appeal_until: appeal_until.map(crate::review::when).unwrap_or_default(),
                rules: result
                    .rules
                    .iter()
                    .map(|rule| rule_view(rule, appeal_open))
                    .collect(),
            }
        })
        .collect();
    let audio_url = (view.has_audio && user.may_play_audio()).then(|| {
        format!(
            "{}/audio",
            call_url(&call.call_id).replacen("/calls/", "/api/calls/", 1)
        )
    });
    render(
        "call.html",
        &user,
        context! {
            call => head,
            segments,
            qa_results,
            audio_url,
            may_review,
            may_decide,
            is_agent,
            appeal_days => view.reviews.appeal_days,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_and_urls() {
        assert_eq!(clock(0.4), "00:00");
        assert_eq!(clock(75.9), "01:15");
        assert_eq!(clock(3725.0), "1:02:05");
        assert_eq!(percent_encode("退款 a&b"), "%E9%80%80%E6%AC%BE%20a%26b");
        let params = SearchParams {
            q: "退款".to_string(),
            team: "T1".to_string(),
            ..SearchParams::default()
        };
        assert_eq!(
            search_url(&params, 20, 20),
            "/?q=%E9%80%80%E6%AC%BE&team=T1&limit=20&offset=20"
        );
    }
}
