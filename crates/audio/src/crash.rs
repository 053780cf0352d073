//! A panic inside a dependency (a decoder, the recognizer) fails the one
//! recording it happened on, never the batch.
//!
//! [`isolate`] runs one per-recording step under `catch_unwind` and turns a
//! panic into an [`Error::Audio`] that names the file, the component that
//! crashed, where, and what to do. While a step runs isolated, the panic
//! hook records the panic instead of printing it: the batch reports the
//! failure once, as one line, with the recording's name. Panics outside an
//! isolated step go to the hook that was there before.
//!
//! A panic message is dependency text that may quote the file's bytes (a
//! tag's text, say), so what the error keeps of it is sanitized: ASCII
//! only, long digit runs elided, bounded in length.
//!
//! Isolation needs unwinding panics: a build with `panic = "abort"` would
//! end the process at the first one.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Once;

use callscope_core::error::{Error, Result};

/// Which part of transcription crashed, for the message and its advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// Opening, probing or decoding a recording (symphonia, the WAV reader,
    /// the resampler).
    Decoder,
    /// Speech recognition of the recording (whisper).
    Recognizer,
    /// Any other step of transcribing one recording (speech detection,
    /// speaker separation).
    Transcription,
}

impl Component {
    fn crashed(self) -> &'static str {
        match self {
            Component::Decoder => "the decoder crashed on this file",
            Component::Recognizer => "the recognizer crashed on this recording",
            Component::Transcription => "transcription crashed on this recording",
        }
    }

    fn advice(self) -> &'static str {
        match self {
            Component::Decoder => {
                "the file is damaged or unusual and was skipped; convert it (e.g. \
                 `ffmpeg -i FILE -ar 16000 copy.wav`) and transcribe the copy, and report the \
                 crash to callscope's maintainers with the file if you can share it"
            }
            Component::Recognizer | Component::Transcription => {
                "the recording was skipped and the others went on; transcribe it again on its \
                 own (`--workers 1`), and report the crash to callscope's maintainers if it \
                 happens again"
            }
        }
    }
}

/// Where a caught panic happened and what it said, sanitized.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CaughtPanic {
    /// `crate-version/src/file.rs:line`, when known.
    location: Option<String>,
    /// The panic message, sanitized.
    message: String,
}

thread_local! {
    /// How many isolated steps this thread is inside.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// The last panic the hook saw inside an isolated step.
    static CAUGHT: RefCell<Option<CaughtPanic>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Installs (once per process) the hook that keeps isolated panics quiet
/// and hands every other panic to the previous hook.
fn install_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let isolated = DEPTH.try_with(Cell::get).unwrap_or(0) > 0;
            if !isolated {
                previous(info);
                return;
            }
            let caught = CaughtPanic {
                location: info
                    .location()
                    .map(|location| format!("{}:{}", short_path(location.file()), location.line())),
                message: payload_message(info.payload()),
            };
            // A thread being torn down has no slot left: the payload
            // still gives the message.
            let _ = CAUGHT.try_with(|slot| {
                if let Ok(mut slot) = slot.try_borrow_mut() {
                    *slot = Some(caught);
                }
            });
        }));
    });
}

/// Runs `step` for the recording `file`; a panic inside it becomes an
/// [`Error::Audio`] naming the file and `component`, printed by nobody.
///
/// The caller must not reuse state the step was mutating when it panicked
/// (a decoder, a whisper state): drop it and make a new one. [`catch`]
/// tells a panic apart from the step's own errors, for that.
pub fn isolate<T>(
    file: &Path,
    component: Component,
    step: impl FnOnce() -> Result<T>,
) -> Result<T> {
    catch(file, component, step)?
}

/// Runs `step` for the recording `file`: `Ok` with what it returned, or,
/// when it panicked, the [`Error::Audio`] that [`isolate`] gives.
pub fn catch<T>(file: &Path, component: Component, step: impl FnOnce() -> T) -> Result<T> {
    install_hook();
    DEPTH.with(|depth| depth.set(depth.get() + 1));
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(step));
    DEPTH.with(|depth| depth.set(depth.get().saturating_sub(1)));
    outcome.map_err(|payload| {
        let caught = CAUGHT
            .with(|slot| slot.borrow_mut().take())
            .unwrap_or_else(|| CaughtPanic {
                location: None,
                message: payload_message(payload.as_ref()),
            });
        crash_error(file, component, &caught)
    })
}

/// The component whose crash `error` reports, when it is a panic caught
/// by [`isolate`] or [`catch`] (a whisper state that was running must then
/// be replaced).
pub fn crashed_component(error: &Error) -> Option<Component> {
    let Error::Audio { reason, .. } = error else {
        return None;
    };
    [
        Component::Decoder,
        Component::Recognizer,
        Component::Transcription,
    ]
    .into_iter()
    .find(|component| reason.starts_with(component.crashed()))
}

fn crash_error(file: &Path, component: Component, caught: &CaughtPanic) -> Error {
    let detail = match &caught.location {
        Some(location) => format!("panic at {location}: {}", caught.message),
        None => format!("panic: {}", caught.message),
    };
    Error::Audio {
        file: file.display().to_string(),
        reason: format!("{} ({detail}): {}", component.crashed(), component.advice()),
    }
}

/// A panic payload's message (a `&str` or `String`), sanitized.
fn payload_message(payload: &(dyn Any + Send)) -> String {
    let text = if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.as_str()
    } else {
        "no message"
    };
    sanitize(text)
}

/// The longest panic message kept, in characters.
const MAX_MESSAGE_CHARS: usize = 160;

/// Keeps a panic message safe to print and store: printable ASCII only
/// (anything else, such as a name quoted from a tag, becomes `…`), runs of
/// five or more digits (a phone or card number) become `…`, one line,
/// bounded in length.
fn sanitize(text: &str) -> String {
    let mut kept = String::new();
    let mut digits = String::new();
    let mut elided = false;
    let flush = |kept: &mut String, digits: &mut String| {
        if digits.len() >= 5 {
            kept.push('…');
        } else {
            kept.push_str(digits);
        }
        digits.clear();
    };
    for character in text.chars() {
        if character.is_ascii_digit() {
            digits.push(character);
            elided = false;
            continue;
        }
        flush(&mut kept, &mut digits);
        if character == ' ' || character.is_ascii_graphic() {
            kept.push(character);
            elided = false;
        } else if character.is_whitespace() {
            kept.push(' ');
            elided = false;
        } else if !elided {
            kept.push('…');
            elided = true;
        }
    }
    flush(&mut kept, &mut digits);
    let kept = kept.trim();
    if kept.chars().count() > MAX_MESSAGE_CHARS {
        let mut short: String = kept.chars().take(MAX_MESSAGE_CHARS).collect();
        short.push('…');
        return short;
    }
    if kept.is_empty() {
        return "no message".to_string();
    }
    kept.to_string()
}

/// A source path as the panic reports it, shortened to the crate's own
/// folder: `symphonia-metadata-0.5.5/src/id3v2/mod.rs` rather than the
/// registry path under the builder's home folder.
fn short_path(file: &str) -> String {
    let file = file.replace('\\', "/");
    if let Some((_, rest)) = file.split_once("/registry/src/") {
        // `index.crates.io-HASH/crate-version/src/...`
        if let Some((_, inside)) = rest.split_once('/') {
            return inside.to_string();
        }
    }
    if let Some(rest) = file.strip_prefix("/rustc/") {
        if let Some((_, inside)) = rest.split_once('/') {
            return inside.to_string();
        }
    }
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_audio_error_naming_the_file() {
        let path = Path::new("calls/a.mp3");
        let error = isolate::<()>(path, Component::Decoder, || unreachable!()).unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("calls/a.mp3: the decoder crashed on this file (panic at "),
            "{message}"
        );
        assert!(
            message.contains("crash.rs:") && message.contains("entered unreachable code"),
            "{message}"
        );
        assert!(message.contains("convert it"), "{message}");
        assert_eq!(crashed_component(&error), Some(Component::Decoder));
        let plain = Error::Audio {
            file: "calls/a.mp3".to_string(),
            reason: "empty file".to_string(),
        };
        assert_eq!(crashed_component(&plain), None);
    }

    #[test]
    fn results_pass_through_and_nesting_reports_the_inner_step() {
        let path = Path::new("b.wav");
        assert_eq!(isolate(path, Component::Decoder, || Ok(7)).unwrap(), 7);
        let outer = isolate(path, Component::Transcription, || {
            let inner = isolate::<()>(path, Component::Recognizer, || panic!("inner"));
            assert!(inner
                .unwrap_err()
                .to_string()
                .contains("recognizer crashed"));
            Ok(1)
        });
        assert_eq!(outer.unwrap(), 1);
        // The thread is outside any step again: the state is clean.
        assert_eq!(DEPTH.with(Cell::get), 0);
        assert!(CAUGHT.with(|slot| slot.borrow().is_none()));
    }

    #[test]
    fn personal_data_in_a_panic_message_is_not_kept() {
        let path = Path::new("c.wav");
        let error = isolate::<()>(path, Component::Decoder, || {
            let tag = "张三 13812345678";
            panic!("bad text frame {tag:?} at 12\nsecond line")
        })
        .unwrap_err()
        .to_string();
        assert!(
            !error.contains("张三") && !error.contains("13812345678"),
            "{error}"
        );
        assert!(
            error.contains("bad text frame \"… …\" at 12 second line"),
            "{error}"
        );
    }

    #[test]
    fn messages_are_sanitized_and_bounded() {
        assert_eq!(
            sanitize("index out of bounds: the len is 3 but the index is 1048576"),
            "index out of bounds: the len is 3 but the index is …"
        );
        assert_eq!(sanitize("客户王五\t"), "…");
        assert_eq!(sanitize(""), "no message");
        assert_eq!(
            sanitize(&"x".repeat(500)).chars().count(),
            MAX_MESSAGE_CHARS + 1
        );
    }

    #[test]
    fn registry_paths_are_shortened_to_the_crate() {
        assert_eq!(
            short_path(
                "/home/someone/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/\
                 symphonia-metadata-0.5.5/src/id3v2/mod.rs"
            ),
            "symphonia-metadata-0.5.5/src/id3v2/mod.rs"
        );
        assert_eq!(
            short_path("/rustc/59807616e1fa/library/core/src/slice/index.rs"),
            "library/core/src/slice/index.rs"
        );
        assert_eq!(
            short_path("crates/asr/src/engine.rs"),
            "crates/asr/src/engine.rs"
        );
    }
}
