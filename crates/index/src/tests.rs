//! The index end to end on a real store: recall on hand-checked cases,
//! boolean logic, filters, facets, replacement and recovery.

use chrono::NaiveDate;

use super::*;
use callscope_core::model::{Call, QaResult, Role, Violation};

/// Hand-written calls (also used by the CLI tests and their goldens).
const CALLS: &str = include_str!("../../../tests/golden/search/calls.jsonl");

struct Fixture {
    _directory: tempfile::TempDir,
    store: Store,
    index: SearchIndex,
}

fn calls() -> Vec<Call> {
    CALLS
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn qa(call_id: &str, scorecard: &str, score: f64, passed: bool, violated: &[&str]) -> QaResult {
    QaResult {
        call_id: call_id.to_string(),
        scorecard: scorecard.to_string(),
        score,
        passed,
        fatal: false,
        violations: violated
            .iter()
            .map(|rule_id| Violation {
                rule_id: rule_id.to_string(),
                name: rule_id.to_string(),
                points: 5.0,
                fatal: false,
                evidence: Vec::new(),
            })
            .collect(),
    }
}

fn fixture() -> Fixture {
    let directory = tempfile::tempdir().unwrap();
    let mut store = Store::open(&directory.path().join("callscope.db")).unwrap();
    store.put_calls(&calls()).unwrap();
    store
        .put_qa_results(&[
            qa("R1", "售后", 85.0, true, &["closing"]),
            qa("R2", "售后", 40.0, false, &["forbidden_words", "closing"]),
            qa("R3", "售后", 90.0, true, &[]),
            qa("R3", "投诉", 55.0, false, &["apology"]),
        ])
        .unwrap();
    let mut index = SearchIndex::open(
        &directory.path().join("index"),
        Dictionary::load(None).unwrap(),
    )
    .unwrap();
    let report = index.sync(&mut store, |_, _| {}).unwrap();
    assert_eq!(report.indexed, 11);
    Fixture {
        _directory: directory,
        store,
        index,
    }
}

impl Fixture {
    fn search(&self, search: &SearchQuery) -> SearchResponse {
        self.index.search(search, &self.store).unwrap()
    }

    /// The ids of the calls found, sorted.
    fn ids(&self, search: &SearchQuery) -> Vec<String> {
        let response = self.search(search);
        let mut ids: Vec<String> = response
            .results
            .into_iter()
            .map(|result| result.call_id)
            .collect();
        ids.sort();
        assert_eq!(ids.len() as u64, response.total, "{search:?}");
        ids
    }
}

fn text(query: &str) -> SearchQuery {
    SearchQuery {
        text: query.to_string(),
        limit: 100,
        ..SearchQuery::default()
    }
}

/// Checks each `(query, expected call ids)` case.
fn check(fixture: &Fixture, cases: &[(&str, &[&str])]) {
    let mut failures = Vec::new();
    for (query, expected) in cases {
        let found = fixture.ids(&text(query));
        if found != *expected {
            failures.push(format!("{query}: expected {expected:?}, found {found:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn exact_recall_for_chinese() {
    let fixture = fixture();
    check(
        &fixture,
        &[
            // jieba splits 申请的退款到现在 and 退款到账 differently; both found.
            ("退款", &["R1", "R2", "R3", "U1"]),
            ("退款 到账", &["R1", "R2", "R3"]),
            // Traditional characters in the query or in the transcript.
            ("到賬", &["R1", "R2", "R3"]),
            ("退款到現在", &["R1", "R3"]),
            ("投訴", &["P1", "R3"]),
            // One character: every occurrence, inside any word.
            ("退", &["A1", "R1", "R2", "R3", "U1"]),
            ("账", &["R1", "R2", "R3"]),
            // Substring recall also inside other words (ranked lower).
            ("和服", &["N1"]),
            ("服务员", &["N1"]),
            // ASCII words are whole words, case and width folded.
            ("app", &["A1"]),
            ("ＡＰＰ", &["A1"]),
            ("iphone12", &["A1"]),
            ("phone", &[]),
            ("闪退 iphone", &["A1"]),
            // Unquoted: both words anywhere; quoted: in a row.
            ("没有到账", &["R1", "R2", "R3"]),
            ("\"没有到账\"", &["R1", "R3"]),
        ],
    );
}

#[test]
fn phrases_particles_and_proximity() {
    let fixture = fixture();
    check(
        &fixture,
        &[
            // An unquoted token: its words anywhere in the call.
            ("按钮位置", &["B1", "B2", "B3", "B4"]),
            // A phrase: exactly its characters in a row.
            ("\"按钮位置\"", &["B2"]),
            ("\"按钮的位置\"", &["B1"]),
            ("“按钮位置”", &["B2"]),
            // ~的: a particle between its words may stand or not.
            ("\"按钮位置\"~的", &["B1", "B2"]),
            ("\"按钮的位置\"~的", &["B1", "B2"]),
            ("\"按钮了位置\"~的", &["B1", "B2"]),
            ("\"退款到账\"", &["R2"]),
            ("\"退款到賬\"", &["R2"]),
            ("\"到现在还没有到账\"", &["R1", "R3"]),
            // Proximity: at most N characters between, either order.
            ("\"按钮 位置\"~0", &["B2"]),
            ("\"按钮 位置\"~1", &["B1", "B2"]),
            ("\"按钮 位置\"~3", &["B1", "B2", "B3"]),
            ("\"按钮 位置\"~6", &["B1", "B2", "B3", "B4"]),
            ("\"按钮位置\"~3", &["B1", "B2", "B3"]),
            // Never across segments: 退款 and 投诉 are in one segment of R3 only.
            ("\"退款 投诉\"~30", &["R3"]),
            ("\"您好 退款\"~30", &[]),
        ],
    );
}

#[test]
fn boolean_logic_and_roles() {
    let fixture = fixture();
    check(
        &fixture,
        &[
            ("退款 OR 闪退", &["A1", "R1", "R2", "R3", "U1"]),
            ("退款 -投诉", &["R1", "R2", "U1"]),
            ("退款 NOT 投诉", &["R1", "R2", "U1"]),
            ("(退款 OR 闪退) -到账", &["A1", "U1"]),
            ("customer:投诉", &["R3"]),
            ("agent:投诉", &["P1"]),
            ("agent:退款", &["R1"]),
            ("customer:(退款 OR 按钮) -到账", &["B1", "B2", "B3", "B4"]),
            ("-退款 -按钮 -您好", &["A1", "N1", "P1"]),
            ("team:T2 -退款", &["B3", "B4", "N1"]),
            ("meta:level=gold", &["N1"]),
            ("date:2026-09-01", &["R1", "R2"]),
            ("date:2026-09-02..2026-09-03", &["B1", "B2", "R3"]),
            ("violated:closing", &["R1", "R2"]),
        ],
    );
    let agent_only = SearchQuery {
        role: Some(Role::Agent),
        ..text("退款")
    };
    assert_eq!(fixture.ids(&agent_only), ["R1"]);
    // A field in the query overrides --role.
    let customer_field = SearchQuery {
        role: Some(Role::Agent),
        ..text("customer:退款")
    };
    assert_eq!(fixture.ids(&customer_field), ["R1", "R2", "R3"]);
}

#[test]
fn filters_from_flags() {
    let fixture = fixture();
    let date = |day| NaiveDate::from_ymd_opt(2026, 9, day);
    let cases: Vec<(SearchQuery, &[&str])> = vec![
        (
            SearchQuery {
                team: Some("T1".into()),
                ..text("退款")
            },
            &["R1", "R2"],
        ),
        (
            SearchQuery {
                agent_id: Some("A03".into()),
                ..text("退款")
            },
            &["R3"],
        ),
        (
            SearchQuery {
                queue: Some("账单".into()),
                ..text("退款")
            },
            &["R2", "U1"],
        ),
        // 23:30 in Beijing on the 1st is the 1st; 00:30 on the 2nd is the 2nd.
        (
            SearchQuery {
                from: date(1),
                to: date(1),
                ..text("退款")
            },
            &["R1", "R2"],
        ),
        (
            SearchQuery {
                from: date(2),
                ..text("退款")
            },
            &["R3", "U1"],
        ),
        (
            SearchQuery {
                min_score: Some(50.0),
                ..text("退款")
            },
            &["R1", "R3"],
        ),
        (
            SearchQuery {
                max_score: Some(55.0),
                ..text("退款")
            },
            &["R2", "R3"],
        ),
        (
            SearchQuery {
                min_score: Some(41.0),
                max_score: Some(84.0),
                ..text("退款")
            },
            &["R3"],
        ),
        (
            SearchQuery {
                passed: Some(true),
                ..text("退款")
            },
            &["R1"],
        ),
        (
            SearchQuery {
                passed: Some(false),
                ..text("退款")
            },
            &["R2", "R3"],
        ),
        (
            SearchQuery {
                violated: Some("apology".into()),
                ..text("退款")
            },
            &["R3"],
        ),
        (
            SearchQuery {
                violated: Some("closing".into()),
                team: Some("T1".into()),
                ..text("-闪退")
            },
            &["R1", "R2"],
        ),
    ];
    for (search, expected) in cases {
        assert_eq!(fixture.ids(&search), expected, "{search:?}");
    }
    let error = fixture
        .index
        .search(
            &SearchQuery {
                min_score: Some(90.0),
                max_score: Some(10.0),
                ..text("退款")
            },
            &fixture.store,
        )
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("--min-score 90 is above --max-score 10"),
        "{error}"
    );
}

#[test]
fn facets_count_all_matches_not_only_the_shown_ones() {
    let fixture = fixture();
    let response = fixture.search(&SearchQuery {
        facets: true,
        limit: 1,
        ..text("退款")
    });
    assert_eq!(response.total, 4);
    assert_eq!(response.results.len(), 1);
    let facets = response.facets.unwrap();
    let pairs = |counts: &[callscope_core::model::FacetCount]| {
        counts
            .iter()
            .map(|count| format!("{}={}", count.value, count.calls))
            .collect::<Vec<_>>()
    };
    assert_eq!(pairs(&facets.team), ["T1=2", "T2=1", "T3=1"]);
    assert_eq!(pairs(&facets.queue), ["售后=2", "账单=2"]);
    assert_eq!(
        pairs(&facets.agent_id),
        ["A01=1", "A02=1", "A03=1", "A05=1"]
    );
    assert_eq!(
        pairs(&facets.violated),
        ["closing=2", "apology=1", "forbidden_words=1"]
    );
}

#[test]
fn hits_carry_segments_times_and_highlights() {
    let fixture = fixture();
    let response = fixture.search(&text("退款 到账"));
    let r3 = response
        .results
        .iter()
        .find(|result| result.call_id == "R3")
        .unwrap();
    assert_eq!(r3.hits.len(), 1);
    let hit = &r3.hits[0];
    assert_eq!((hit.segment, hit.role), (1, Role::Customer));
    assert_eq!(hit.text, "我的退款到現在還沒有到賬，我要投訴。");
    assert_eq!(
        hit.highlight,
        "我的<b>退款</b>到現在還沒有<b>到賬</b>，我要投訴。"
    );
    let segment = &fixture.store.get_call("R3").unwrap().unwrap().segments[1];
    assert_eq!((hit.start, hit.end), (segment.start, segment.end));
    assert_eq!(r3.qa_score, Some(55.0));
    assert_eq!(r3.team.as_deref(), Some("T2"));
    // The agent's segment of R1 mentions 退款 too: both segments are hits.
    let r1 = response
        .results
        .iter()
        .find(|result| result.call_id == "R1")
        .unwrap();
    assert_eq!(
        r1.hits.iter().map(|hit| hit.segment).collect::<Vec<_>>(),
        [1, 2]
    );
}

#[test]
fn ranking_and_sorting() {
    let fixture = fixture();
    // R2's only customer line is about 退款到账: shortest, most relevant.
    let response = fixture.search(&text("退款 到账"));
    assert_eq!(response.results[0].call_id, "R2");
    let by_time = fixture.search(&SearchQuery {
        sort: SearchSort::Time,
        ..text("退款")
    });
    let ids: Vec<&str> = by_time
        .results
        .iter()
        .map(|result| result.call_id.as_str())
        .collect();
    assert_eq!(ids, ["U1", "R3", "R2", "R1"]);
    let by_score = fixture.search(&SearchQuery {
        sort: SearchSort::Score,
        ..text("退款")
    });
    let ids: Vec<&str> = by_score
        .results
        .iter()
        .map(|result| result.call_id.as_str())
        .collect();
    assert_eq!(ids, ["R2", "R3", "R1", "U1"]);
    // The exact phrase ranks above its particle variant (按钮的位置).
    let phrase = fixture.search(&text("\"按钮位置\"~的"));
    let ids: Vec<&str> = phrase
        .results
        .iter()
        .map(|result| result.call_id.as_str())
        .collect();
    assert_eq!(ids, ["B2", "B1"]);
    // Limit 0: counts only.
    let counted = fixture.search(&SearchQuery {
        limit: 0,
        ..text("退款")
    });
    assert_eq!((counted.total, counted.results.len()), (4, 0));
}

#[test]
fn a_reimported_call_replaces_its_document() {
    let mut fixture = fixture();
    let mut changed = fixture.store.get_call("R2").unwrap().unwrap();
    changed.segments[1].text = "我想换货。".to_string();
    fixture.store.put_calls(&[changed]).unwrap();
    // Importing the same call again, unchanged, is also a replacement.
    let same = fixture.store.get_call("R1").unwrap().unwrap();
    fixture.store.put_calls(&[same]).unwrap();
    let report = fixture.index.sync(&mut fixture.store, |_, _| {}).unwrap();
    assert_eq!(
        (report.indexed, report.documents, report.rebuilt),
        (2, 11, false)
    );
    check(
        &fixture,
        &[
            ("换货", &["R2"]),
            ("\"退款到账\"", &[]),
            ("退款", &["R1", "R3", "U1"]),
        ],
    );
    assert_eq!(fixture.index.documents(), 11);
}

#[test]
fn calls_stored_but_not_indexed_are_caught_up() {
    let mut fixture = fixture();
    // The state after a crash between the store's write and the index's
    // commit: the store has the call, the index has not.
    let mut new_call = fixture.store.get_call("B1").unwrap().unwrap();
    new_call.call_id = "B5".to_string();
    fixture.store.put_calls(&[new_call]).unwrap();
    assert_eq!(fixture.ids(&text("\"按钮位置\"~的")), ["B1", "B2"]);
    // The state after a crash between the index's commit and the store's
    // marks: the index has the calls, the store says they are stale.
    let all = calls();
    fixture.store.put_calls(&all[..3]).unwrap();
    let report = fixture.index.sync(&mut fixture.store, |_, _| {}).unwrap();
    assert_eq!((report.indexed, report.documents), (4, 12));
    assert_eq!(fixture.ids(&text("\"按钮位置\"~的")), ["B1", "B2", "B5"]);
    assert_eq!(fixture.ids(&text("退款")), ["R1", "R2", "R3", "U1"]);
    assert_eq!(fixture.store.count_unindexed().unwrap(), 0);
}

#[test]
fn a_lost_or_foreign_index_is_rebuilt_from_the_store() {
    let directory = tempfile::tempdir().unwrap();
    let index_dir = directory.path().join("index");
    let mut store = Store::open(&directory.path().join("callscope.db")).unwrap();
    store.put_calls(&calls()).unwrap();
    let dictionary = Dictionary::load(None).unwrap();
    SearchIndex::open(&index_dir, dictionary.clone())
        .unwrap()
        .sync(&mut store, |_, _| {})
        .unwrap();
    assert_eq!(store.count_unindexed().unwrap(), 0);

    // The index folder is deleted: the store still says "indexed".
    std::fs::remove_dir_all(&index_dir).unwrap();
    let mut index = SearchIndex::open(&index_dir, dictionary.clone()).unwrap();
    let report = index.sync(&mut store, |_, _| {}).unwrap();
    assert_eq!(
        (report.indexed, report.documents, report.rebuilt),
        (11, 11, true)
    );

    // An index of another format (or garbage) is replaced.
    std::fs::write(index_dir.join(FORMAT_FILE), r#"{"format": 0}"#).unwrap();
    let mut index = SearchIndex::open(&index_dir, dictionary.clone()).unwrap();
    assert_eq!(index.documents(), 0);
    assert_eq!(index.sync(&mut store, |_, _| {}).unwrap().documents, 11);

    // A new store beside the old index: calls it no longer has disappear.
    let mut other = Store::open(&directory.path().join("other.db")).unwrap();
    other.put_calls(&calls()[..2]).unwrap();
    let report = index.sync(&mut other, |_, _| {}).unwrap();
    assert_eq!((report.documents, report.rebuilt), (2, true));
}

#[test]
fn rebuild_refills_the_index_without_duplicates() {
    let mut fixture = fixture();
    let mut seen = Vec::new();
    let report = fixture
        .index
        .rebuild(&mut fixture.store, |done, total| seen.push((done, total)))
        .unwrap();
    assert_eq!(
        (report.indexed, report.documents, report.rebuilt),
        (11, 11, true)
    );
    assert_eq!(seen.last(), Some(&(11, 11)));
    assert_eq!(fixture.ids(&text("退款")), ["R1", "R2", "R3", "U1"]);
    // Nothing stale: a sync does nothing.
    let report = fixture.index.sync(&mut fixture.store, |_, _| {}).unwrap();
    assert_eq!((report.indexed, report.documents), (0, 11));
}

#[test]
fn query_errors_are_usage_errors_with_the_column() {
    let fixture = fixture();
    for (query, fragment) in [
        ("退款 \"到账", "column 4: this quote is never closed"),
        ("foo:bar", "column 1: unknown field `foo:`"),
        ("date:2026-02-30", "column 6: bad date `2026-02-30`"),
        ("", "empty query"),
        ("，", "nothing to search for"),
    ] {
        let error = fixture
            .index
            .search(&text(query), &fixture.store)
            .unwrap_err();
        assert!(matches!(error, Error::Usage(_)), "{error:?}");
        assert!(error.to_string().contains(fragment), "{query}: {error}");
    }
}

#[test]
fn whole_words_rank_above_characters_that_meet_across_words() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = Store::open(&directory.path().join("callscope.db")).unwrap();
    let mut kimono = calls()[0].clone();
    kimono.call_id = "K1".to_string();
    kimono.segments.truncate(1);
    kimono.segments[0].text = "她昨天穿着一件很漂亮的和服去公园拍照了。".to_string();
    let mut waiter = kimono.clone();
    waiter.call_id = "K2".to_string();
    waiter.segments[0].text = "我和服务员说了。".to_string();
    store.put_calls(&[kimono, waiter]).unwrap();
    let mut index = SearchIndex::open(
        &directory.path().join("index"),
        Dictionary::load(None).unwrap(),
    )
    .unwrap();
    index.sync(&mut store, |_, _| {}).unwrap();
    let response = index.search(&text("和服"), &store).unwrap();
    let ids: Vec<&str> = response
        .results
        .iter()
        .map(|result| result.call_id.as_str())
        .collect();
    // Both are found (exact recall); the shorter K2 would win on characters
    // alone, but only K1 has 和服 as a word.
    assert_eq!(ids, ["K1", "K2"]);
    let (_, by_characters) = index
        .search_ids(&SearchQuery {
            sort: SearchSort::Time,
            ..text("和服")
        })
        .unwrap();
    let relevance = |id: &str| {
        by_characters
            .iter()
            .find(|(call_id, _)| call_id == id)
            .unwrap()
            .1
    };
    assert!(relevance("K2") > relevance("K1"), "{by_characters:?}");
}

mod particles;
mod partitions;

/// A process killed in a commit leaves files the index's meta never names
/// (a delete file `SEGMENT.OPSTAMP.del`, listed as managed). The next
/// process reaches the same operation stamps and would write the same file
/// name: before, every later commit failed with `FileAlreadyExists` (found
/// by the crash harness killing `forget`). Opening a writer now collects
/// such files first.
#[test]
fn files_left_by_a_commit_killed_midway_do_not_block_the_next_one() {
    let directory = tempfile::tempdir().unwrap();
    let index_dir = directory.path().join("index");
    let mut store = Store::open(&directory.path().join("callscope.db")).unwrap();
    store.put_calls(&calls()).unwrap();
    let dictionary = Dictionary::load(None).unwrap();
    let mut index = SearchIndex::open(&index_dir, dictionary.clone()).unwrap();
    index.sync(&mut store, |_, _| {}).unwrap();
    drop(index);
    // The state before the commit, kept aside.
    let before = directory.path().join("before");
    copy_folder(&index_dir, &before);
    // The commit that the crash interrupts: it writes a delete file. The
    // call deleted shares its segment with another (indexing threads split
    // calls into segments at random, and deleting a segment's only call
    // drops the segment instead of writing a delete file).
    let index = SearchIndex::open(&index_dir, dictionary.clone()).unwrap();
    // The golden calls are all of September 2026: one partition.
    assert_eq!(index.partitions(), ["2026-09"]);
    let partition = &index.partitions[0];
    let searcher = partition.searcher();
    let forgotten = calls()
        .into_iter()
        .map(|call| call.call_id)
        .find(|call_id| {
            let query = tantivy::query::TermQuery::new(
                Term::from_field_text(index.fields.call_id, call_id),
                tantivy::schema::IndexRecordOption::Basic,
            );
            let hits = searcher
                .search(&query, &tantivy::collector::TopDocs::with_limit(1))
                .unwrap();
            hits.first().is_some_and(|(_, address)| {
                searcher.segment_reader(address.segment_ord).num_docs() > 1
            })
        })
        .expect("some segment holds two calls");
    drop(searcher);
    let mut writer = partition.writer().unwrap();
    writer.delete_term(Term::from_field_text(index.fields.call_id, &forgotten));
    writer.commit().unwrap();
    drop(writer);
    drop(index);
    let partition_dir = index_dir.join("2026-09");
    let before_partition = before.join("2026-09");
    let written: Vec<std::path::PathBuf> = std::fs::read_dir(&partition_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "del"))
        .collect();
    assert!(!written.is_empty(), "the forget wrote no delete file");
    // The crashed state: the old meta, the new files on disk and listed as
    // managed (tantivy lists a file before writing it).
    for path in written {
        std::fs::copy(&path, before_partition.join(path.file_name().unwrap())).unwrap();
    }
    std::fs::copy(
        partition_dir.join(".managed.json"),
        before_partition.join(".managed.json"),
    )
    .unwrap();
    let mut index = SearchIndex::open(&before, dictionary).unwrap();
    index.forget(&[forgotten]).unwrap();
    assert_eq!(index.documents(), 10);
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_file() {
            std::fs::copy(&path, target).unwrap();
        } else if path.is_dir() {
            copy_folder(&path, &target);
        }
    }
}
