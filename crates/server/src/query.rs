//! The query functions behind both the JSON API and the pages: the same
//! library calls as `callscope search` and `callscope show`, with the same
//! masking.

use serde::{Deserialize, Serialize};

use callscope_core::error::{Error, Result};
use callscope_core::model::{
    Call, QaResult, Role, SearchFacets, SearchQuery, SearchResult, SearchSort,
};

use crate::auth::{self, CurrentUser};
use crate::state::AppState;

/// Results per page when the request does not say.
pub const DEFAULT_LIMIT: usize = 20;
/// The most results one request may ask for.
pub const MAX_LIMIT: usize = 200;
/// The furthest a request may page (`offset`).
pub const MAX_OFFSET: usize = 10_000;

/// A search as the URL carries it (`/api/search` and `/`): every field a
/// string, so an empty form field means "any".
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct SearchParams {
    /// The query in the command line's language.
    pub q: String,
    /// Only calls of this agent.
    pub agent: String,
    /// Only calls of this team.
    pub team: String,
    /// Only calls of this queue.
    pub queue: String,
    /// First date, `YYYY-MM-DD`, inclusive.
    pub from: String,
    /// Last date, `YYYY-MM-DD`, inclusive.
    pub to: String,
    /// `agent` or `customer`: only words said by that side.
    pub role: String,
    /// Lowest QA score, inclusive.
    pub min_score: String,
    /// Highest QA score, inclusive.
    pub max_score: String,
    /// `passed` or `failed`: only calls whose scorecards all passed, or
    /// with at least one failed.
    pub result: String,
    /// Only calls that violated this rule (its id).
    pub rule: String,
    /// `relevance` (default), `time` (newest first) or `score` (lowest
    /// first: the calls to review).
    pub sort: String,
    /// `1`: also count the matching calls per agent, team, queue and
    /// violated rule (the search page always does).
    pub facets: String,
    /// Results per page (default 20, at most 200).
    pub limit: String,
    /// Results to skip (paging).
    pub offset: String,
}

/// One page of results.
#[derive(Debug, Clone, Serialize)]
pub struct SearchPage {
    /// Matching calls in all.
    pub total: u64,
    /// Results skipped before this page.
    pub offset: usize,
    /// Results per page.
    pub limit: usize,
    /// The results, as `callscope search --json` prints them.
    pub results: Vec<SearchResult>,
    /// Matching calls per agent, team, queue and violated rule, when asked
    /// (`facets=1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facets: Option<SearchFacets>,
}

fn optional(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_string())
}

/// A `YYYY-MM-DD` field of a request; empty means none.
pub(crate) fn date(name: &str, value: &str) -> Result<Option<chrono::NaiveDate>> {
    let Some(value) = optional(value) else {
        return Ok(None);
    };
    chrono::NaiveDate::parse_from_str(&value, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| Error::Usage(format!("{name}={value} is not a date; write YYYY-MM-DD")))
}

/// A QA score field of a request; empty means none.
fn score(name: &str, value: &str) -> Result<Option<f64>> {
    let Some(value) = optional(value) else {
        return Ok(None);
    };
    match value.parse::<f64>() {
        Ok(score) if score.is_finite() => Ok(Some(score)),
        _ => Err(Error::Usage(format!(
            "{name}={value} is not a score; write a number such as 80"
        ))),
    }
}

fn number(name: &str, value: &str, default: usize, max: usize) -> Result<usize> {
    let Some(value) = optional(value) else {
        return Ok(default);
    };
    match value.parse::<usize>() {
        Ok(number) if number <= max => Ok(number),
        _ => Err(Error::Usage(format!(
            "{name}={value} must be a whole number from 0 to {max}"
        ))),
    }
}

impl SearchParams {
    /// The index's query for these parameters, and the page's offset and
    /// limit; the same fields as `callscope search` fills.
    pub fn to_query(&self) -> Result<(SearchQuery, usize, usize)> {
        let text = self.q.trim().to_string();
        if text.is_empty() {
            return Err(Error::Usage(
                "q is empty: write a query, e.g. q=退款 -到账".to_string(),
            ));
        }
        let role = match self.role.trim() {
            "" => None,
            "agent" => Some(Role::Agent),
            "customer" => Some(Role::Customer),
            other => {
                return Err(Error::Usage(format!(
                    "role={other}: write agent or customer"
                )))
            }
        };
        let from = date("from", &self.from)?;
        let to = date("to", &self.to)?;
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                return Err(Error::Usage(format!(
                    "from={from} is after to={to}: swap them"
                )));
            }
        }
        let min_score = score("min_score", &self.min_score)?;
        let max_score = score("max_score", &self.max_score)?;
        if let (Some(min), Some(max)) = (min_score, max_score) {
            if min > max {
                return Err(Error::Usage(format!(
                    "min_score={min} is above max_score={max}: swap them"
                )));
            }
        }
        let passed = match self.result.trim() {
            "" => None,
            "passed" => Some(true),
            "failed" => Some(false),
            other => {
                return Err(Error::Usage(format!(
                    "result={other}: write passed or failed"
                )))
            }
        };
        let sort = match self.sort.trim() {
            "" | "relevance" => SearchSort::Relevance,
            "time" => SearchSort::Time,
            "score" => SearchSort::Score,
            other => {
                return Err(Error::Usage(format!(
                    "sort={other}: write relevance, time or score"
                )))
            }
        };
        let facets = match self.facets.trim() {
            "" | "0" | "false" => false,
            "1" | "true" => true,
            other => return Err(Error::Usage(format!("facets={other}: write 1 or 0"))),
        };
        let limit = number("limit", &self.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
        let offset = number("offset", &self.offset, 0, MAX_OFFSET)?;
        let query = SearchQuery {
            text,
            role,
            agent_id: optional(&self.agent),
            team: optional(&self.team),
            queue: optional(&self.queue),
            from,
            to,
            min_score,
            max_score,
            violated: optional(&self.rule),
            passed,
            sort,
            facets,
            limit: offset + limit,
        };
        Ok((query, offset, limit))
    }
}

/// Runs a search for `user`: the index first follows the store (as
/// `callscope search` does; see [`crate::state::bring_up_to_date`]), then the page of results is cut out and
/// masked. An agent's search is silently limited to their own calls. The
/// search is written to the audit log (the query masked).
pub fn search(state: &AppState, user: &CurrentUser, params: &SearchParams) -> Result<SearchPage> {
    let (mut query, offset, limit) = params.to_query()?;
    if let Some(own) = user.agent_scope() {
        query.agent_id = Some(own.to_string());
    }
    auth::audit(state, user, "search", &query.text)?;
    let mut store = state.workspace.open_existing_store()?;
    let mut index = state.lock_index()?;
    crate::state::bring_up_to_date(&mut index, &mut store);
    let response = index.search(&query, &store)?;
    drop(index);
    let results = response
        .results
        .into_iter()
        .skip(offset)
        .map(|result| mask_result(state, result))
        .collect();
    Ok(SearchPage {
        total: response.total,
        offset,
        limit,
        results,
        facets: response.facets,
    })
}

/// A search result with any personal data still clear in a hit masked
/// (calls stored before the policy). A masked hit loses its match marks:
/// its highlight becomes the escaped masked text.
fn mask_result(state: &AppState, mut result: SearchResult) -> SearchResult {
    for hit in &mut result.hits {
        let masked = state.redactor.mask_text(&hit.text);
        if masked != hit.text {
            hit.highlight = escape_html(&masked);
            hit.text = masked;
        }
    }
    result
}

/// A call as the call page and `/api/calls/{id}` show it: masked, with its
/// masked QA results.
#[derive(Debug, Clone, Serialize)]
pub struct CallView {
    /// The call, masked as `callscope show --json` prints it.
    pub call: Call,
    /// Its QA results, one per scorecard, evidence masked.
    pub qa_results: Vec<QaResult>,
    /// Whether the call has a recording to play.
    pub has_audio: bool,
    /// Its results with reviews (复核) and appeals (申诉): every rule's
    /// machine and reviewed verdict, and the reviewed score beside the
    /// machine's.
    pub reviews: crate::review::CallReviews,
}

/// Reads one call and its QA results, masked, for `user`: another agent's
/// call is refused exactly as an unknown one (404). Opening it is written to
/// the audit log.
pub fn call(state: &AppState, user: &CurrentUser, call_id: &str) -> Result<CallView> {
    let store = state.workspace.open_existing_store()?;
    let call = store
        .get_call(call_id)?
        .filter(|call| user.sees_call(call.agent_id.as_deref()))
        .ok_or_else(|| Error::UnknownCall(call_id.to_string()))?;
    auth::audit(state, user, "call.open", call_id)?;
    let qa_results = store
        .qa_results_of(call_id)?
        .iter()
        .map(|result| state.redactor.mask_qa_result(result))
        .collect();
    let reviews = crate::review::call_reviews_of(state, &store, &call)?;
    Ok(CallView {
        reviews,
        has_audio: call.audio_path.is_some(),
        call: state.redactor.mask_call(&call),
        qa_results,
    })
}

/// `text` with `&`, `<`, `>`, `"` and `'` escaped for HTML.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// An index highlight made safe to put in a page: the index wraps matches
/// in `<b>…</b>` around HTML-escaped text; here the text is unescaped and
/// escaped again, so only balanced `<b>` and `</b>` survive as markup
/// whatever the input holds.
pub fn safe_highlight(highlight: &str) -> String {
    const ENTITIES: [(&str, char); 5] = [
        ("&amp;", '&'),
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&quot;", '"'),
        ("&#39;", '\''),
    ];
    let mut safe = String::with_capacity(highlight.len());
    let mut bold = false;
    let mut rest = highlight;
    while let Some(character) = rest.chars().next() {
        if let Some(tail) = rest.strip_prefix("<b>") {
            if !bold {
                safe.push_str("<b>");
                bold = true;
            }
            rest = tail;
            continue;
        }
        if let Some(tail) = rest.strip_prefix("</b>") {
            if bold {
                safe.push_str("</b>");
                bold = false;
            }
            rest = tail;
            continue;
        }
        if let Some((entity, decoded)) =
            ENTITIES.iter().find(|(entity, _)| rest.starts_with(entity))
        {
            safe.push_str(&escape_html(&decoded.to_string()));
            rest = &rest[entity.len()..];
            continue;
        }
        safe.push_str(&escape_html(&character.to_string()));
        rest = &rest[character.len_utf8()..];
    }
    if bold {
        safe.push_str("</b>");
    }
    safe
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_index_bold_marks_survive_in_a_highlight() {
        assert_eq!(
            safe_highlight("a<b>退款</b> &amp; &lt;script&gt;"),
            "a<b>退款</b> &amp; &lt;script&gt;"
        );
        assert_eq!(
            safe_highlight("<script>alert(1)</script><b>x"),
            "&lt;script&gt;alert(1)&lt;/script&gt;<b>x</b>"
        );
        assert_eq!(safe_highlight("</b><i>"), "&lt;i&gt;");
    }

    #[test]
    fn search_parameters_are_checked() {
        let params = |q: &str, extra: &[(&str, &str)]| {
            let mut params = SearchParams {
                q: q.to_string(),
                ..SearchParams::default()
            };
            for (name, value) in extra {
                let value = value.to_string();
                match *name {
                    "role" => params.role = value,
                    "from" => params.from = value,
                    "to" => params.to = value,
                    "limit" => params.limit = value,
                    "offset" => params.offset = value,
                    _ => params.agent = value,
                }
            }
            params.to_query()
        };
        assert!(params("", &[]).is_err());
        assert!(params("退款", &[("role", "boss")]).is_err());
        assert!(params("退款", &[("from", "2026-09-02"), ("to", "2026-09-01")]).is_err());
        assert!(params("退款", &[("limit", "1000")]).is_err());
        let (query, offset, limit) = params(
            "退款",
            &[("limit", "5"), ("offset", "10"), ("agent", "A01")],
        )
        .unwrap();
        assert_eq!((query.limit, offset, limit), (15, 10, 5));
        assert_eq!(query.agent_id.as_deref(), Some("A01"));
    }
}
