//! The workspace's search index: its segmenter (the `[dictionary]` config)
//! and keeping it in step with the store.

use std::path::PathBuf;

use indicatif::ProgressBar;
use serde::Deserialize;

use callscope_core::dictionary::Dictionary;
use callscope_core::error::Result;
use callscope_index::{SearchIndex, SyncReport};
use callscope_redact::audit::{AuditContext, Finding, Surface};
use callscope_store::workspace::Workspace;
use callscope_store::Store;

/// The `[dictionary]` section of the workspace config.
#[derive(Debug, Default, Deserialize)]
struct DictionarySection {
    /// A user dictionary in jieba's format (`word [frequency] [tag]` per
    /// line), relative to the config file.
    user: Option<PathBuf>,
}

/// The workspace's segmenter: jieba, the call-center words and the user
/// dictionary named in `[dictionary] user = "..."`.
pub fn dictionary(workspace: &Workspace) -> Result<Dictionary> {
    let config = workspace.config()?;
    let section: DictionarySection = config.section("dictionary")?;
    let user = section.user.map(|path| match config.base_dir() {
        Some(base) if path.is_relative() => base.join(path),
        _ => path,
    });
    Dictionary::load(user.as_deref())
}

/// Opens (creating if needed) the workspace's search index.
pub fn open_index(workspace: &Workspace) -> Result<SearchIndex> {
    SearchIndex::open(&workspace.index_dir(), dictionary(workspace)?)
}

/// Brings `index` up to date with the store (the calls whose change number
/// it has not seen), showing progress on `bar`.
pub fn sync(index: &mut SearchIndex, store: &mut Store, bar: &ProgressBar) -> Result<SyncReport> {
    index.sync(store, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
}

/// The search index as a surface of `callscope redact --check`: every term
/// of its text fields (deleted documents not yet merged away included) is
/// read by the same detector as the store's text. A number said in digits
/// is one term, so clear digits anywhere in the index are found.
pub struct IndexTerms;

impl Surface for IndexTerms {
    fn name(&self) -> &'static str {
        "index"
    }

    fn raw(&self) -> bool {
        true
    }

    fn scan(&self, context: &AuditContext<'_>, report: &mut dyn FnMut(Finding)) -> Result<u64> {
        if !context.workspace.index_dir().exists() {
            return Ok(0);
        }
        let index = open_index(context.workspace)?;
        index.for_each_text_term(|field, term| {
            for detection in context.redactor.detect(term) {
                report(Finding::new(
                    self.name(),
                    format!(
                        "a {field} term (text the index still holds; `callscope index \
                         --rebuild` rebuilds it from the masked store)"
                    ),
                    detection.kind,
                    context.redactor.masked_form(&detection),
                    detection.value.clone(),
                ));
            }
        })
    }
}

/// Rebuilds `index` from the store, showing progress on `bar`.
pub fn rebuild(
    index: &mut SearchIndex,
    store: &mut Store,
    bar: &ProgressBar,
) -> Result<SyncReport> {
    index.rebuild(store, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
}
