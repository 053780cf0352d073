//! Word lists: the shipped ones (embedded in the binary, so it works from
//! any folder) and users' files given by path. QA rules read them (`op =
//! "lexicon"`); the mono role decision reads the complaint lists as the
//! customer's words.
//!
//! A lexicon file has one word or phrase per line; blank lines and lines
//! starting with `#` are ignored. Words are normalized like transcripts
//! (simplified characters, no punctuation or spaces, ASCII lowercased).

use std::path::{Path, PathBuf};

use crate::text::Normalizer;

/// The lexicons shipped in `corpora/lexicons/`, by name.
pub const SHIPPED: &[(&str, &str)] = &[
    ("abuse", include_str!("../../../corpora/lexicons/abuse.txt")),
    (
        "competitor",
        include_str!("../../../corpora/lexicons/competitor.txt"),
    ),
    (
        "complaint",
        include_str!("../../../corpora/lexicons/complaint.txt"),
    ),
    (
        "negative_emotion",
        include_str!("../../../corpora/lexicons/negative_emotion.txt"),
    ),
];

/// A loaded word list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lexicon {
    /// The name as the scorecard gives it (a shipped name or a path).
    pub name: String,
    /// Normalized words, in file order, without duplicates.
    pub words: Vec<String>,
}

/// The names of the shipped lexicons, comma separated (for messages).
pub fn shipped_names() -> String {
    SHIPPED
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The text of a shipped lexicon.
pub fn shipped(name: &str) -> Option<&'static str> {
    SHIPPED
        .iter()
        .find(|(shipped_name, _)| *shipped_name == name)
        .map(|(_, text)| *text)
}

/// Loads lexicon `name`: a shipped name, or else a path (relative paths
/// resolve against `base_dir`, the scorecard's folder). The error says what
/// to do.
pub fn load(
    name: &str,
    base_dir: Option<&Path>,
    normalizer: &Normalizer,
) -> Result<Lexicon, String> {
    if let Some(text) = shipped(name) {
        return Ok(parse(name, text, normalizer));
    }
    let path = resolve(name, base_dir);
    let looks_like_path = name.contains('/') || name.contains('\\') || name.contains('.');
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && !looks_like_path => {
            return Err(format!(
                "unknown lexicon '{name}': the shipped lexicons are {}; or give the path \
                 of a word list (one word per line)",
                shipped_names()
            ))
        }
        Err(error) => {
            return Err(format!(
                "cannot read lexicon file {}: {error}; check the path (relative paths start \
                 at the scorecard's folder)",
                path.display()
            ))
        }
    };
    let lexicon = parse(name, &text, normalizer);
    if lexicon.words.is_empty() {
        return Err(format!(
            "lexicon file {} has no words; write one word or phrase per line",
            path.display()
        ));
    }
    Ok(lexicon)
}

fn resolve(name: &str, base_dir: Option<&Path>) -> PathBuf {
    let path = PathBuf::from(name);
    match base_dir {
        Some(base) if path.is_relative() => base.join(path),
        _ => path,
    }
}

/// Parses a word list's text.
pub fn parse(name: &str, text: &str, normalizer: &Normalizer) -> Lexicon {
    let mut words: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let word = normalizer.normalize_str(line);
        if !word.is_empty() && seen.insert(word.clone()) {
            words.push(word);
        }
    }
    Lexicon {
        name: name.to_string(),
        words,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_lexicons_are_sizeable_and_normalized() {
        let normalizer = Normalizer::shared();
        for (name, _) in SHIPPED {
            let lexicon = load(name, None, &normalizer).unwrap();
            assert!(lexicon.words.len() >= 80, "{name}: {}", lexicon.words.len());
            for word in &lexicon.words {
                assert!(
                    word.chars().count() >= 2,
                    "{name}: single character '{word}'"
                );
                assert_eq!(&normalizer.normalize_str(word), word);
            }
        }
    }

    #[test]
    fn unknown_names_and_missing_files_say_what_to_do() {
        let normalizer = Normalizer::shared();
        let error = load("angry", None, &normalizer).unwrap_err();
        assert!(error.contains("unknown lexicon 'angry'"), "{error}");
        assert!(error.contains("negative_emotion"), "{error}");
        let error = load(
            "words/mine.txt",
            Some(Path::new("/nonexistent")),
            &normalizer,
        )
        .unwrap_err();
        assert!(error.contains("/nonexistent/words/mine.txt"), "{error}");
    }

    #[test]
    fn user_files_resolve_against_the_scorecard_folder() {
        let directory = tempfile::tempdir().unwrap();
        std::fs::write(
            directory.path().join("mine.txt"),
            "# comment\n\n退 款\n退款\n發票\n",
        )
        .unwrap();
        let lexicon = load("mine.txt", Some(directory.path()), &Normalizer::shared()).unwrap();
        assert_eq!(lexicon.words, vec!["退款", "发票"]);
    }
}
