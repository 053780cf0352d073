//! The index partitioned by month: the same calls spread over three months
//! and undated are found, counted, faceted and scored exactly as when they
//! all share one month (one partition, i.e. one tantivy index); a call
//! re-imported with another date moves; forget touches only the partitions
//! that hold the call; a flat index of format 1 is rebuilt; a reader sees
//! the partitions another process adds.

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::*;
use callscope_core::model::{Call, FacetCount};

/// The golden calls and three variants of each (segments rotated, so the
/// same words meet in other calls of other lengths): 44 calls.
fn corpus() -> Vec<Call> {
    let mut all = Vec::new();
    for call in calls() {
        for variant in 0..4 {
            let mut copy = call.clone();
            if variant > 0 {
                copy.call_id = format!("{}-{variant}", call.call_id);
                let turn = variant % copy.segments.len().max(1);
                copy.segments.rotate_left(turn);
                copy.segments
                    .truncate(copy.segments.len() - (variant - 1).min(1));
            }
            all.push(copy);
        }
    }
    all
}

/// The same calls moved to months by the first letter of their id
/// (R: July, B: August, U: undated, others: September, their own).
fn spread(calls: &[Call]) -> Vec<Call> {
    calls
        .iter()
        .cloned()
        .map(|mut call| {
            let started = call.started_at.take().unwrap();
            call.started_at = match &call.call_id[..1] {
                "R" => Some(started.replacen("2026-09", "2026-07", 1)),
                "B" => Some(started.replacen("2026-09", "2026-08", 1)),
                "U" => None,
                _ => Some(started),
            };
            call
        })
        .collect()
}

struct Workspace {
    directory: tempfile::TempDir,
    store: Store,
    index: SearchIndex,
}

fn workspace(calls: &[Call]) -> Workspace {
    let directory = tempfile::tempdir().unwrap();
    let mut store = Store::open(&directory.path().join("callscope.db")).unwrap();
    store.put_calls(calls).unwrap();
    let results: Vec<QaResult> = calls
        .iter()
        .enumerate()
        .map(|(number, call)| {
            let violated: &[&str] = match number % 3 {
                0 => &["closing"],
                1 => &["apology", "closing"],
                _ => &[],
            };
            qa(
                &call.call_id,
                "售后",
                50.0 + (number % 7) as f64 * 5.0,
                number % 3 == 2,
                violated,
            )
        })
        .collect();
    store.put_qa_results(&results).unwrap();
    let mut index = SearchIndex::open(
        &directory.path().join("index"),
        Dictionary::load(None).unwrap(),
    )
    .unwrap();
    let report = index.sync(&mut store, |_, _| {}).unwrap();
    assert_eq!(report.indexed, calls.len() as u64);
    Workspace {
        directory,
        store,
        index,
    }
}

/// `(call id, relevance)` of a search, all of them.
fn scored(index: &SearchIndex, query: &str) -> (u64, Vec<(String, f64)>) {
    index
        .search_ids(&SearchQuery {
            text: query.to_string(),
            limit: 1000,
            ..SearchQuery::default()
        })
        .unwrap()
}

const QUERIES: &[&str] = &[
    "退款",
    "退款 到账",
    "到账",
    "\"没有到账\"",
    "\"按钮位置\"~的",
    "\"按钮 位置\"~3",
    "按钮位置",
    "和服",
    "退款 OR 闪退",
    "customer:投诉",
    "agent:退款",
    "退款 -投诉",
    "您好",
    "退",
    "app",
    "violated:closing 退款",
];

#[test]
fn partitions_are_searched_as_one_index() {
    let calls = corpus();
    let one = workspace(&calls);
    let many = workspace(&spread(&calls));
    assert_eq!(one.index.partitions(), ["2026-09"]);
    assert_eq!(
        many.index.partitions(),
        ["2026-07", "2026-08", "2026-09", "undated"]
    );
    for name in ["2026-07", "2026-08", "2026-09", "undated"] {
        let folder = many.directory.path().join("index").join(name);
        assert!(folder.join("meta.json").is_file(), "{name}");
    }
    assert_eq!(many.index.documents(), calls.len() as u64);

    let mut failures = Vec::new();
    for query in QUERIES {
        let (one_total, one_hits) = scored(&one.index, query);
        let (many_total, many_hits) = scored(&many.index, query);
        if one_total != many_total || one_total != one_hits.len() as u64 {
            failures.push(format!("{query}: totals {one_total} and {many_total}"));
            continue;
        }
        assert!(one_total > 0, "{query} finds nothing");
        // Same calls, same scores (the statistics of all partitions).
        let by_id =
            |hits: &[(String, f64)]| -> BTreeMap<String, f64> { hits.iter().cloned().collect() };
        let (one_scores, many_scores) = (by_id(&one_hits), by_id(&many_hits));
        if one_scores.keys().ne(many_scores.keys()) {
            failures.push(format!("{query}: {one_hits:?} and {many_hits:?}"));
            continue;
        }
        for (call_id, score) in &one_scores {
            let other = many_scores[call_id];
            if (score - other).abs() > 1e-4 {
                failures.push(format!("{query}: {call_id} scores {score} and {other}"));
            }
        }
        // Same order, up to calls of equal scores.
        for hits in [&one_hits, &many_hits] {
            assert!(
                hits.windows(2).all(|pair| pair[0].1 >= pair[1].1 - 1e-4),
                "{query}: {hits:?}"
            );
        }
        let rounded = |hits: &[(String, f64)]| -> Vec<i64> {
            hits.iter()
                .map(|(_, score)| (score * 1e3).round() as i64)
                .collect()
        };
        if rounded(&one_hits) != rounded(&many_hits) {
            failures.push(format!("{query}: order {one_hits:?} and {many_hits:?}"));
        }
        // A short list is the head of the long one.
        let (_, top) = many
            .index
            .search_ids(&SearchQuery {
                text: query.to_string(),
                limit: 3,
                ..SearchQuery::default()
            })
            .unwrap();
        let head: Vec<i64> = rounded(&many_hits).into_iter().take(3).collect();
        if rounded(&top) != head {
            failures.push(format!("{query}: top 3 {top:?} of {many_hits:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));

    // Facets: summed over partitions, the same counts.
    for query in ["退款", "-闪退", "按钮位置"] {
        let search = SearchQuery {
            facets: true,
            limit: 2,
            ..text(query)
        };
        let one_response = one.index.search(&search, &one.store).unwrap();
        let many_response = many.index.search(&search, &many.store).unwrap();
        assert_eq!(one_response.total, many_response.total, "{query}");
        assert_eq!(one_response.facets, many_response.facets, "{query}");
        let facets = many_response.facets.unwrap();
        let counted: u64 = facets.team.iter().map(|count| count.calls).sum();
        assert_eq!(counted, many_response.total, "{query}: {:?}", facets.team);
        assert_eq!(many_response.results.len(), 2);
    }
}

#[test]
fn sorting_by_time_and_score_crosses_partitions() {
    let many = workspace(&spread(&corpus()));
    let ids = |sort| -> Vec<String> {
        many.index
            .search(
                &SearchQuery {
                    sort,
                    ..text("退款")
                },
                &many.store,
            )
            .unwrap()
            .results
            .into_iter()
            .map(|result| result.call_id)
            .collect()
    };
    let by_time = ids(SearchSort::Time);
    // Newest first: September's, then July's (R), undated (U) last.
    let months: Vec<&str> = by_time.iter().map(|id| &id[..1]).collect();
    let first_r = months.iter().position(|id| *id == "R").unwrap();
    let first_u = months.iter().position(|id| *id == "U").unwrap();
    assert!(months[..first_r].iter().all(|id| *id != "R" && *id != "U"));
    assert!(months[first_u..].iter().all(|id| *id == "U"), "{by_time:?}");
    let started = |id: &str| {
        many.store
            .get_call(id)
            .unwrap()
            .unwrap()
            .started_at
            .map(|started| callscope_store::parse_timestamp(&started).unwrap())
    };
    let times: Vec<_> = by_time.iter().map(|id| started(id)).collect();
    assert!(
        times
            .windows(2)
            .all(|pair| pair[1].is_none() || pair[0] >= pair[1]),
        "{by_time:?}"
    );
    // Lowest QA score first, over all partitions.
    let by_score = ids(SearchSort::Score);
    let scores: Vec<f64> = many
        .index
        .search(
            &SearchQuery {
                sort: SearchSort::Score,
                ..text("退款")
            },
            &many.store,
        )
        .unwrap()
        .results
        .iter()
        .map(|result| result.qa_score.unwrap())
        .collect();
    assert_eq!(by_score.len(), scores.len());
    assert!(
        scores.windows(2).all(|pair| pair[0] <= pair[1]),
        "{scores:?}"
    );
}

/// The files of a partition with their modification times.
fn files(folder: &Path) -> Vec<(String, SystemTime)> {
    let mut files: Vec<(String, SystemTime)> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (
                entry.file_name().into_string().unwrap(),
                entry.metadata().unwrap().modified().unwrap(),
            )
        })
        .filter(|(name, _)| !name.ends_with(".lock"))
        .collect();
    files.sort();
    files
}

/// Where `call_id` is on disk: the partitions whose terms still hold it
/// (deleted documents not yet merged away included), and where it is live.
fn whereabouts(index: &SearchIndex, call_id: &str) -> (Vec<String>, Vec<String>) {
    let term = Term::from_field_text(index.fields.call_id, call_id);
    let mut on_disk = Vec::new();
    let mut live = Vec::new();
    for partition in &index.partitions {
        let searcher = partition.searcher();
        if partition::holds_on_disk(&searcher, &term).unwrap() {
            on_disk.push(partition.name.clone());
        }
        if partition::holds_live(&searcher, &term).unwrap() {
            live.push(partition.name.clone());
        }
    }
    (on_disk, live)
}

#[test]
fn a_call_moves_with_its_month_and_forget_touches_only_its_partitions() {
    let mut many = workspace(&spread(&corpus()));
    let august = many.directory.path().join("index").join("2026-08");
    let august_files = files(&august);
    assert_eq!(whereabouts(&many.index, "R1").1, ["2026-07"]);

    // R1 re-imported with an October date: it leaves July.
    let mut moved = many.store.get_call("R1").unwrap().unwrap();
    moved.started_at = Some("2026-10-01T09:00:00+08:00".to_string());
    many.store.put_calls(&[moved]).unwrap();
    let report = many.index.sync(&mut many.store, |_, _| {}).unwrap();
    assert_eq!(
        (report.indexed, report.partitions.clone()),
        (1, vec!["2026-07".to_string(), "2026-10".to_string()])
    );
    assert_eq!(whereabouts(&many.index, "R1").1, ["2026-10"]);
    assert_eq!(many.index.documents(), 44);
    let (_, hits) = scored(&many.index, "退款");
    assert_eq!(hits.iter().filter(|(id, _)| id == "R1").count(), 1);
    // Re-imported again with the same date: it stays, once.
    let same = many.store.get_call("R1").unwrap().unwrap();
    many.store.put_calls(&[same]).unwrap();
    let report = many.index.sync(&mut many.store, |_, _| {}).unwrap();
    assert_eq!(report.partitions, ["2026-10"]);
    assert_eq!(whereabouts(&many.index, "R1").1, ["2026-10"]);

    // Forget: nothing of R1 or R2 on disk anywhere; August untouched.
    many.index
        .forget(&["R1".to_string(), "R2".to_string()])
        .unwrap();
    for call_id in ["R1", "R2"] {
        assert_eq!(
            whereabouts(&many.index, call_id),
            (Vec::new(), Vec::new()),
            "{call_id}"
        );
    }
    assert!(many.index.for_each_text_term(|_, _| {}).unwrap() > 0);
    assert_eq!(many.index.documents(), 42);
    assert_eq!(files(&august), august_files);
}

#[test]
fn a_flat_index_of_format_1_is_rebuilt_into_partitions() {
    let directory = tempfile::tempdir().unwrap();
    let index_dir = directory.path().join("index");
    let mut store = Store::open(&directory.path().join("callscope.db")).unwrap();
    store.put_calls(&spread(&calls())).unwrap();
    let dictionary = Dictionary::load(None).unwrap();
    SearchIndex::open(&index_dir, dictionary.clone())
        .unwrap()
        .sync(&mut store, |_, _| {})
        .unwrap();
    assert_eq!(store.count_unindexed().unwrap(), 0);
    // The layout of format 1: one tantivy index in the folder itself.
    std::fs::remove_dir_all(&index_dir).unwrap();
    std::fs::create_dir_all(&index_dir).unwrap();
    let (schema, _) = Fields::schema();
    drop(tantivy::Index::create_in_dir(&index_dir, schema).unwrap());
    std::fs::write(index_dir.join(FORMAT_FILE), r#"{"format": 1}"#).unwrap();

    let mut index = SearchIndex::open(&index_dir, dictionary).unwrap();
    assert_eq!(index.documents(), 0);
    assert!(!index_dir.join("meta.json").exists());
    let report = index.sync(&mut store, |_, _| {}).unwrap();
    assert_eq!(
        (report.indexed, report.documents, report.rebuilt),
        (11, 11, true)
    );
    assert_eq!(
        report.partitions,
        ["2026-07", "2026-08", "2026-09", "undated"]
    );
    assert!(std::fs::read_to_string(index_dir.join(FORMAT_FILE))
        .unwrap()
        .contains("\"format\":2"));
}

#[test]
fn a_reader_sees_the_months_a_follower_adds_and_never_clears_its_index() {
    let mut writer = workspace(&spread(&calls()));
    let index_dir = writer.directory.path().join("index");
    let dictionary = Dictionary::load(None).unwrap();
    let mut reader = SearchIndex::open(&index_dir, dictionary.clone()).unwrap();
    assert_eq!(reader.documents(), 11);

    // The writer indexes a call of a new month.
    let mut new = writer.store.get_call("R1").unwrap().unwrap();
    new.call_id = "R9".to_string();
    new.started_at = Some("2026-12-24T10:00:00+08:00".to_string());
    writer.store.put_calls(&[new]).unwrap();
    let report = writer.index.sync(&mut writer.store, |_, _| {}).unwrap();
    assert_eq!(report.partitions, ["2026-12"]);
    assert_eq!(reader.documents(), 11);
    reader.reload().unwrap();
    assert_eq!(reader.documents(), 12);
    assert!(reader.partitions().contains(&"2026-12".to_string()));
    assert!(scored(&reader, "退款")
        .1
        .iter()
        .any(|(call_id, _)| call_id == "R9"));

    // A live lease of a follower elsewhere: readers see it, and opening the
    // index replaces nothing, even what it cannot read.
    assert_eq!(reader.followed_by(), None);
    let lease = FollowLease {
        pid: u32::MAX,
        host: "elsewhere".to_string(),
        ..FollowLease::now(Duration::from_secs(5), 0)
    };
    lease.write(&index_dir).unwrap();
    assert_eq!(reader.followed_by(), Some(lease.clone()));
    std::fs::write(index_dir.join(FORMAT_FILE), r#"{"format": 0}"#).unwrap();
    drop(SearchIndex::open(&index_dir, dictionary.clone()).unwrap());
    assert!(index_dir.join("2026-12").join("meta.json").is_file());
    // Another machine's lease, however old, keeps this one from writing
    // (a copy or mount of that follower's index); an old one of this
    // machine does not.
    let old = FollowLease {
        heartbeat: "2020-01-01T00:00:00Z".to_string(),
        ..lease.clone()
    };
    old.write(&index_dir).unwrap();
    assert_eq!(reader.followed_by(), Some(old.clone()));
    FollowLease {
        host: follow::host_name(),
        ..old
    }
    .write(&index_dir)
    .unwrap();
    assert_eq!(reader.followed_by(), None);
    lease.write(&index_dir).unwrap();
    // Its own lease is no follower to a process; removing it removes only
    // its own.
    writer.index.remove_follow_lease().unwrap();
    assert_eq!(FollowLease::read(&index_dir), Some(lease));
    writer
        .index
        .write_follow_lease(Duration::from_secs(5), 1)
        .unwrap();
    assert_eq!(writer.index.followed_by(), None);
    writer.index.remove_follow_lease().unwrap();
    assert_eq!(FollowLease::read(&index_dir), None);
}

#[test]
fn a_damaged_partition_makes_the_index_rebuilt() {
    let mut many = workspace(&spread(&calls()));
    let index_dir = many.directory.path().join("index");
    let meta = index_dir.join("2026-08").join("meta.json");
    // Damaged while this process has the index open: the next sync that
    // has work rebuilds the whole index.
    std::fs::write(&meta, "{ not json").unwrap();
    let mut changed = many.store.get_call("N1").unwrap().unwrap();
    changed.segments[0].text = "我想换货。".to_string();
    many.store.put_calls(&[changed]).unwrap();
    let report = many.index.sync(&mut many.store, |_, _| {}).unwrap();
    assert_eq!(
        (report.indexed, report.documents, report.rebuilt),
        (11, 11, true)
    );
    assert_eq!(scored(&many.index, "换货").1.len(), 1);
    // Damaged before it is opened: opening replaces it, the sync refills.
    std::fs::write(&meta, "{ not json").unwrap();
    let mut index = SearchIndex::open(&index_dir, Dictionary::load(None).unwrap()).unwrap();
    assert_eq!(index.documents(), 0);
    let report = index.sync(&mut many.store, |_, _| {}).unwrap();
    assert_eq!((report.documents, report.rebuilt), (11, true));
}

#[test]
fn facet_lists_of_partitions_add_up() {
    let count = |value: &str, calls| FacetCount {
        value: value.to_string(),
        calls,
    };
    let first = SearchFacets {
        team: vec![count("T1", 3), count("T2", 1)],
        ..SearchFacets::default()
    };
    let second = SearchFacets {
        team: vec![count("T2", 3), count("T3", 1)],
        queue: vec![count("售后", 2)],
        ..SearchFacets::default()
    };
    let merged = facets::merge(vec![first, second]);
    assert_eq!(
        merged.team,
        [count("T2", 4), count("T1", 3), count("T3", 1)]
    );
    assert_eq!(merged.queue, [count("售后", 2)]);
}
