//! Recordings at http(s) URLs: the worker that takes the job downloads the
//! recording into a temporary file (removed when the job is done), then
//! handles it like a file on shared storage. Messages name the URL without
//! its user, query or fragment, where signed URLs carry their credentials.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

pub use callscope_audio::manifest::{describe_url as describe, is_url};
use callscope_core::error::Error;

/// The largest recording downloaded: ten hours of 16 kHz stereo WAV is
/// 2.3 GB.
const MAX_BYTES: u64 = 4 << 30;

/// A failed download, and whether trying again could help: a 4xx answer
/// (the recording is not there, or not for us) will not change, a
/// network error or a 5xx may.
#[derive(Debug)]
pub struct FetchError {
    /// What went wrong, naming the URL without credentials.
    pub error: Error,
    /// No retry can help.
    pub permanent: bool,
}

/// Downloads `url` into a new temporary file in `folder` whose name ends
/// with the URL's extension (the decoder's hint).
pub fn download(url: &str, folder: &Path) -> Result<tempfile::NamedTempFile, FetchError> {
    let place = describe(url);
    let fail = |reason: String, permanent: bool| FetchError {
        error: Error::InvalidFile {
            file: place.clone(),
            reason,
        },
        permanent,
    };
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(10))
        .timeout_read(Duration::from_secs(60))
        .redirects(5)
        .build();
    let response = match agent.get(url).call() {
        Ok(response) => response,
        Err(ureq::Error::Status(code, _)) => {
            let permanent = (400..500).contains(&code) && code != 408 && code != 429;
            return Err(fail(
                format!(
                    "the server answered HTTP {code}; check the URL and that the workers may \
                     read it"
                ),
                permanent,
            ));
        }
        Err(ureq::Error::Transport(transport)) => {
            return Err(fail(
                format!(
                    "cannot download it ({}); check that the workers can reach the server",
                    transport.kind()
                ),
                false,
            ));
        }
    };
    let extension = Path::new(&place)
        .extension()
        .and_then(|extension| extension.to_str())
        .filter(|extension| extension.len() <= 8)
        .map(|extension| format!(".{extension}"))
        .unwrap_or_default();
    let mut file = tempfile::Builder::new()
        .prefix("callscope-download-")
        .suffix(&extension)
        .tempfile_in(folder)
        .map_err(|error| FetchError {
            error: Error::io(folder, error),
            permanent: false,
        })?;
    let copied = std::io::copy(
        &mut response.into_reader().take(MAX_BYTES + 1),
        file.as_file_mut(),
    )
    .map_err(|error| {
        fail(
            format!("the download broke off ({error}); it is tried again"),
            false,
        )
    })?;
    if copied > MAX_BYTES {
        return Err(fail(
            format!(
                "larger than {} GB: split it, or put it on shared storage",
                MAX_BYTES >> 30
            ),
            true,
        ));
    }
    Ok(file)
}
