//! Regression tests, each named after the bad input that once crashed or
//! hung a batch (docs/reliability.md, "Recordings and manifests", lists
//! them with what each now gets).

use std::path::{Path, PathBuf};

use callscope_audio::{self as audio, AudioOptions, CallReader};

fn demo() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("corpora/demo")
}

/// The demo MP3 call with its ID3v2.4 tag replaced by one whose extended
/// header carries the tag restrictions byte `restrictions`.
fn mp3_with_id3v24_restrictions(restrictions: u8) -> Vec<u8> {
    let original = std::fs::read(demo().join("audio/C20260906-0011.mp3")).unwrap();
    assert_eq!(
        &original[..3],
        b"ID3",
        "the demo MP3 starts with an ID3v2 tag"
    );
    let syncsafe = |bytes: &[u8]| {
        bytes
            .iter()
            .fold(0usize, |size, byte| (size << 7) | usize::from(byte & 0x7f))
    };
    let frames = &original[10 + syncsafe(&original[6..10])..];
    // Extended header (ID3v2.4 §3.2): its size, one flag byte, the flags
    // (0x10: tag restrictions follow), the restrictions' length and byte.
    let extended = [0, 0, 0, 8, 1, 0x10, 1, restrictions];
    let padding = [0u8; 10];
    let size = (extended.len() + padding.len()) as u8;
    // "ID3", version 2.4.0, flags 0x40 (an extended header), syncsafe size.
    let mut bytes = vec![b'I', b'D', b'3', 4, 0, 0x40, 0, 0, 0, size];
    bytes.extend_from_slice(&extended);
    bytes.extend_from_slice(&padding);
    bytes.extend_from_slice(frames);
    bytes
}

/// symphonia-metadata 0.5.5 read the text encoding restriction with the
/// wrong mask and hit `unreachable!()` on a restrictions byte of 0x40,
/// during the duration probe that runs before a batch is transcribed: one
/// such MP3 took the whole batch down. The tag is valid; the call decodes.
#[test]
fn an_mp3_whose_id3v24_restrictions_byte_is_0x40_decodes() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("restricted.mp3");
    std::fs::write(&path, mp3_with_id3v24_restrictions(0x40)).unwrap();
    let plain = audio::decode(&demo().join("audio/C20260906-0011.mp3")).unwrap();

    let stream = audio::AudioStream::open(&path).unwrap();
    assert_eq!(stream.info().codec, "mp3");
    let decoded = audio::decode(&path).unwrap();
    assert!(
        (decoded.duration() - plain.duration()).abs() < 0.1,
        "{} s decoded of {} s",
        decoded.duration(),
        plain.duration()
    );
    let mut reader = CallReader::open(&path, None, &AudioOptions::default()).unwrap();
    while reader.next_batches().unwrap().is_some() {}
    assert!(!reader.finish().unwrap().regions.is_empty());
}

/// Every restrictions byte: none crashes the decoder.
#[test]
fn no_id3v24_restrictions_byte_crashes_the_decoder() {
    let directory = tempfile::tempdir().unwrap();
    for restrictions in 0..=u8::MAX {
        let path = directory.path().join(format!("r{restrictions:02x}.mp3"));
        std::fs::write(&path, mp3_with_id3v24_restrictions(restrictions)).unwrap();
        if let Err(error) = audio::AudioStream::open(&path) {
            let message = error.to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
        }
    }
}

/// A named pipe at `path` (made with `mkfifo`).
#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo is part of coreutils");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Runs `work` on another thread and fails the test if it has not
/// returned within a minute (a read blocked on a pipe never returns).
fn within_a_minute<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(work());
    });
    receiver
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("blocked: still waiting after a minute")
}

/// A named pipe called `x.wav` in a scanned folder blocked the batch
/// forever: hashing it waited for a writer. The scan skips it with a
/// warning, and so a socket and a link to a folder; the recording beside
/// them is kept.
#[cfg(unix)]
#[test]
fn a_named_pipe_in_a_scanned_folder_is_skipped_with_a_warning() {
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path().to_path_buf();
    std::fs::create_dir_all(root.join("day")).unwrap();
    mkfifo(&root.join("day/x.wav"));
    let _socket = std::os::unix::net::UnixListener::bind(root.join("day/socket.wav")).unwrap();
    std::fs::create_dir_all(root.join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(root.join("elsewhere"), root.join("day/link.wav")).unwrap();
    std::fs::copy(
        demo().join("audio/C20260902-0003.wav"),
        root.join("day/good.wav"),
    )
    .unwrap();
    let report = within_a_minute(move || callscope_audio::manifest::scan_directory(&root).unwrap());
    let ids: Vec<&str> = report
        .entries
        .iter()
        .map(|entry| entry.call_id.as_str())
        .collect();
    assert_eq!(ids, ["good"]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let warnings = &report.warnings;
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    for (name, reason) in [
        ("day/link.wav", "a folder, not a recording"),
        ("day/socket.wav", "not a regular file (a socket)"),
        ("day/x.wav", "not a regular file (a named pipe (FIFO))"),
    ] {
        assert!(
            warnings
                .iter()
                .any(|warning| warning.starts_with("skipped ")
                    && warning.contains(name)
                    && warning.contains(reason)),
            "no '{reason}' for {name}: {warnings:?}"
        );
    }
}

/// A manifest row naming a named pipe, a folder or a device fails alone,
/// at once, saying what the path is; the good row is kept.
#[cfg(unix)]
#[test]
fn a_manifest_row_naming_a_pipe_folder_or_device_fails_alone() {
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path().to_path_buf();
    mkfifo(&root.join("pipe.wav"));
    std::fs::create_dir_all(root.join("folder.wav")).unwrap();
    std::fs::copy(
        demo().join("audio/C20260902-0003.wav"),
        root.join("good.wav"),
    )
    .unwrap();
    let manifest = root.join("manifest.csv");
    std::fs::write(
        &manifest,
        "path,call_id\npipe.wav,P1\nfolder.wav,F1\n/dev/null,D1\ngood.wav,G1\n",
    )
    .unwrap();
    let report =
        within_a_minute(move || callscope_audio::manifest::read_manifest(&manifest).unwrap());
    let ids: Vec<&str> = report
        .entries
        .iter()
        .map(|entry| entry.call_id.as_str())
        .collect();
    assert_eq!(ids, ["G1"]);
    let errors: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    for (line, reason) in [
        (2, "pipe.wav: not a regular file (a named pipe (FIFO))"),
        (3, "folder.wav: a folder, not a recording"),
        (4, "/dev/null: not a regular file (a character device)"),
    ] {
        assert!(
            errors
                .iter()
                .any(|error| error.contains(&format!("manifest.csv:{line}: "))
                    && error.contains(reason)),
            "no '{reason}' on line {line}: {errors:#?}"
        );
    }
}

/// Opening, hashing or decoding a named pipe fails at once with the
/// reason, instead of waiting for a writer.
#[cfg(unix)]
#[test]
fn a_named_pipe_is_refused_without_blocking() {
    let directory = tempfile::tempdir().unwrap();
    let pipe = directory.path().join("x.wav");
    mkfifo(&pipe);
    let messages = within_a_minute(move || {
        [
            audio::sha256_file(&pipe).map(|_| ()),
            audio::AudioStream::open(&pipe).map(|_| ()),
            audio::decode(&pipe).map(|_| ()),
            CallReader::open(&pipe, None, &AudioOptions::default()).map(|_| ()),
        ]
        .map(|result| result.unwrap_err().to_string())
    });
    for message in messages {
        assert!(
            message.contains("x.wav")
                && message.contains("not a regular file (a named pipe (FIFO))"),
            "{message}"
        );
    }
}
