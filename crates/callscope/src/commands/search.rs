//! `callscope search`: the index brought up to date, the query run, the
//! results printed as a readable list (matches in bold on a terminal) or as
//! JSON lines (docs/formats.md §4).

use std::io::IsTerminal;

use crate::cli::{RoleArg, SearchArgs, SortArg};
use crate::output::{clock, Outcome, Output};
use callscope_core::error::Result;
use callscope_core::model::{
    FacetCount, Role, SearchQuery, SearchResponse, SearchResult, SearchSort,
};
use callscope_store::parse_timestamp;
use callscope_store::workspace::Workspace;

/// Facet values shown per facet in the text output.
const FACET_VALUES_SHOWN: usize = 10;
/// Matching segments shown per call in the text output.
const HITS_SHOWN: usize = 3;

pub(super) fn run(workspace: &Workspace, args: &SearchArgs, output: Output) -> Result<Outcome> {
    let mut store = workspace.open_existing_store()?;
    let mut index = super::index::open_index(workspace)?;
    // The index follows the store: calls written since the last sync (or
    // left stale by a crash) are indexed before searching, unless `index
    // --follow` keeps the index (then it is the only writer: the search
    // reads what it has indexed).
    if let Some(lease) = index.followed_by() {
        if !output.quiet {
            let stale = if lease.is_live() {
                String::new()
            } else {
                format!(" (its last heartbeat: {})", lease.heartbeat)
            };
            crate::errln!(
                "note: the index is kept by `callscope index --follow` on {} (pid {}){stale}; \
                 searching what it has indexed",
                lease.host,
                lease.pid
            );
        }
    } else if let Err(error) = super::index::sync(&mut index, &mut store, output) {
        let stale = store.count_unindexed().unwrap_or(0);
        crate::errln!("warning: {stale} calls are not searchable yet ({error})");
    }
    let calls = args.calls.to_filter()?;
    let query = SearchQuery {
        text: args.query.clone(),
        role: args.role.map(|role| match role {
            RoleArg::Agent => Role::Agent,
            RoleArg::Customer => Role::Customer,
        }),
        agent_id: calls.agent_id,
        team: calls.team,
        queue: calls.queue,
        from: calls.from,
        to: calls.to,
        min_score: args.min_score,
        max_score: args.max_score,
        violated: args.violated.clone(),
        passed: match (args.passed, args.failed) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
        limit: args.limit,
        sort: match args.sort {
            SortArg::Relevance => SearchSort::Relevance,
            SortArg::Time => SearchSort::Time,
            SortArg::Score => SearchSort::Score,
        },
        facets: args.facets,
    };
    let response = index.search(&query, &store)?;
    if output.json {
        for result in &response.results {
            output.json_line(result);
        }
        if let Some(facets) = &response.facets {
            output.json_line(&FacetsLine {
                facets,
                total: response.total,
            });
        }
    } else {
        print_text(&args.query, &response, std::io::stdout().is_terminal());
    }
    Ok(Outcome::ok())
}

/// The last line of `--json --facets`: the counts and the number of
/// matching calls, under keys no search result has.
#[derive(serde::Serialize)]
struct FacetsLine<'a> {
    facets: &'a callscope_core::model::SearchFacets,
    total: u64,
}

fn print_text(query: &str, response: &SearchResponse, terminal: bool) {
    let shown = response.results.len() as u64;
    match response.total {
        0 => crate::outln!("no calls match {query}"),
        1 => crate::outln!("1 call matches {query}"),
        total if shown < total => {
            crate::outln!("{total} calls match {query}; the best {shown} (--limit shows more)")
        }
        total => crate::outln!("{total} calls match {query}"),
    }
    for result in &response.results {
        crate::outln!();
        print_result(result, terminal);
    }
    if let Some(facets) = &response.facets {
        crate::outln!();
        crate::outln!("calls per facet");
        for (name, counts) in [
            ("agent", &facets.agent_id),
            ("team", &facets.team),
            ("queue", &facets.queue),
            ("violated", &facets.violated),
        ] {
            crate::outln!("  {name:<9} {}", facet_line(counts));
        }
    }
}

fn print_result(result: &SearchResult, terminal: bool) {
    let when = result
        .started_at
        .as_deref()
        .map(|started| match parse_timestamp(started) {
            Some(time) => time.format("%Y-%m-%d %H:%M").to_string(),
            None => started.to_string(),
        })
        .unwrap_or_else(|| "-".to_string());
    let field = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_string());
    let qa = result
        .qa_score
        .map(|score| format!("QA {score}"))
        .unwrap_or_else(|| "QA -".to_string());
    let title = if terminal {
        format!("\x1b[1m{}\x1b[0m", result.call_id)
    } else {
        result.call_id.clone()
    };
    crate::outln!(
        "{title}  {when}  agent {}  team {}  queue {}  {qa}  relevance {:.2}",
        field(&result.agent_id),
        field(&result.team),
        field(&result.queue),
        result.score
    );
    for hit in result.hits.iter().take(HITS_SHOWN) {
        let label = match hit.role {
            Role::Agent => "坐席",
            Role::Customer => "客户",
            Role::Unknown => "未知",
        };
        crate::outln!(
            "  {} {label}  {}",
            clock(hit.start),
            render_highlight(&hit.highlight, terminal)
        );
    }
    if result.hits.len() > HITS_SHOWN {
        crate::outln!(
            "  … {} more matching segments (`callscope show {}`)",
            result.hits.len() - HITS_SHOWN,
            result.call_id
        );
    }
}

/// A highlight (`<b>…</b>`, HTML-escaped) for a terminal (bold) or a pipe
/// (【…】), shortened around the first match when long.
fn render_highlight(highlight: &str, terminal: bool) -> String {
    const WIDTH: usize = 60;
    // (character, bold) pairs from the markup.
    let mut characters: Vec<(char, bool)> = Vec::with_capacity(highlight.len());
    let mut bold = false;
    let mut rest = highlight;
    while let Some(character) = rest.chars().next() {
        let entities = [
            ("<b>", None),
            ("</b>", None),
            ("&amp;", Some('&')),
            ("&lt;", Some('<')),
            ("&gt;", Some('>')),
            ("&quot;", Some('"')),
            ("&#39;", Some('\'')),
        ];
        if let Some((entity, replacement)) =
            entities.iter().find(|(entity, _)| rest.starts_with(entity))
        {
            match replacement {
                Some(replacement) => characters.push((*replacement, bold)),
                None => bold = *entity == "<b>",
            }
            rest = &rest[entity.len()..];
            continue;
        }
        characters.push((character, bold));
        rest = &rest[character.len_utf8()..];
    }
    let (mut start, mut end) = (0, characters.len());
    if characters.len() > WIDTH {
        let first = characters.iter().position(|(_, bold)| *bold).unwrap_or(0);
        start = first.saturating_sub(WIDTH / 3);
        end = (start + WIDTH).min(characters.len());
    }
    let (open, close) = if terminal {
        ("\x1b[1;31m", "\x1b[0m")
    } else {
        ("【", "】")
    };
    let mut rendered = String::new();
    if start > 0 {
        rendered.push('…');
    }
    let mut in_bold = false;
    for &(character, bold) in &characters[start..end] {
        if bold != in_bold {
            rendered.push_str(if bold { open } else { close });
            in_bold = bold;
        }
        rendered.push(character);
    }
    if in_bold {
        rendered.push_str(close);
    }
    if end < characters.len() {
        rendered.push('…');
    }
    rendered
}

fn facet_line(counts: &[FacetCount]) -> String {
    if counts.is_empty() {
        return "-".to_string();
    }
    let mut line = counts
        .iter()
        .take(FACET_VALUES_SHOWN)
        .map(|count| format!("{} {}", count.value, count.calls))
        .collect::<Vec<_>>()
        .join(" · ");
    if counts.len() > FACET_VALUES_SHOWN {
        line.push_str(&format!(
            " · +{} more (--json lists all)",
            counts.len() - FACET_VALUES_SHOWN
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_render_for_pipes_and_terminals() {
        assert_eq!(
            render_highlight("a<b>退款</b> &amp; &lt;b&gt;", false),
            "a【退款】 & <b>"
        );
        assert_eq!(
            render_highlight("<b>退款</b>了", true),
            "\x1b[1;31m退款\x1b[0m了"
        );
        let long = format!("{}<b>退款</b>{}", "前".repeat(100), "后".repeat(100));
        let rendered = render_highlight(&long, false);
        assert!(
            rendered.starts_with('…') && rendered.ends_with('…'),
            "{rendered}"
        );
        assert!(rendered.contains("【退款】"), "{rendered}");
        assert_eq!(rendered.chars().count(), 60 + 2 + 2);
    }
}
