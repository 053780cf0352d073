//! The Chinese word segmenter: jieba-rs with its default dictionary, the
//! project's call-center dictionary (`corpora/dict/callcenter.dict`, built
//! into the binary) and an optional user dictionary in jieba's format
//! (`word [frequency] [tag]` per line).
//!
//! Load once ([`Dictionary::load`]) and share: the same segmenter must serve
//! indexing and querying, and the digest's term counting.

use std::path::Path;
use std::sync::Arc;

use jieba_rs::Jieba;

use crate::error::{Error, Result};

/// The call-center dictionary shipped with callscope.
pub const CALLCENTER_DICT: &str = include_str!("../../../corpora/dict/callcenter.dict");

/// A loaded segmenter, cheap to clone.
#[derive(Clone)]
pub struct Dictionary {
    jieba: Arc<Jieba>,
}

impl std::fmt::Debug for Dictionary {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Dictionary(jieba)")
    }
}

impl Dictionary {
    /// jieba's dictionary plus callscope's call-center words plus, when
    /// given, the user's dictionary file.
    pub fn load(user_dictionary: Option<&Path>) -> Result<Dictionary> {
        let mut jieba = Jieba::new();
        jieba
            .load_dict(&mut CALLCENTER_DICT.as_bytes())
            .map_err(|error| Error::Config {
                file: "corpora/dict/callcenter.dict".to_string(),
                reason: error.to_string(),
            })?;
        if let Some(path) = user_dictionary {
            let text = std::fs::read_to_string(path).map_err(|error| Error::io(path, error))?;
            jieba
                .load_dict(&mut text.as_bytes())
                .map_err(|error| Error::Config {
                    file: path.display().to_string(),
                    reason: format!(
                        "{error}; each line is `word [frequency] [tag]`, e.g. `支付按钮 1000 n`"
                    ),
                })?;
        }
        Ok(Dictionary {
            jieba: Arc::new(jieba),
        })
    }

    /// The underlying jieba segmenter.
    pub fn jieba(&self) -> &Jieba {
        &self.jieba
    }

    /// Words of `text` in order (precise mode with HMM for unknown words).
    pub fn cut<'a>(&self, text: &'a str) -> Vec<&'a str> {
        self.jieba
            .cut(text, true)
            .into_iter()
            .map(|token| token.word)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_words_stay_whole() {
        let dictionary = Dictionary::load(None).unwrap();
        let words = dictionary.cut("更新之后软件一打开就闪退");
        assert!(words.contains(&"闪退"), "{words:?}");
    }
}
