#!/usr/bin/env python3
"""faster-whisper side of `callscope bench asr`.

Transcribes the clips listed in a TSV file (`id<TAB>path`) with
faster-whisper on a CTranslate2 model directory (the very weights
callscope's ggml models were converted from), with the settings callscope
uses: language zh, the same initial prompt, the same beam size, one
temperature (no fallback), the same CPU threads. Prints one JSON line per
clip ({"id", "text", "seconds", "audio"}: seconds of compute including
decoding the file, seconds of audio) and a last line with the peak RSS.
The callscope binary computes CER with its own normalization, so both
sides are scored the same way.

With --stereo the files are stereo calls, transcribed the way a team
would with faster-whisper: each channel split out
(decode_audio(split_stereo=True)), Silero VAD on, --workers files at once
on one model (num_workers). It prints one JSON line per call and channel
({"id", "channel", "text", "audio", "segments"}: segments as
[start, end, text] in seconds of the recording) and a last line with the
batch's wall
time from loading the model to the last call ("batch_seconds") and the
peak RSS. With --mixdown as well, each file is transcribed with
faster-whisper's defaults instead (the stereo file mixed down to mono, no
VAD): one JSON line per call with "channel": -1. With --word-timestamps
as well, faster-whisper aligns every word (word_timestamps=True, its
cross-attention DTW: what callscope's token alignment does) and the
segments are its words cut into sentences after 。？！, the way callscope
cuts its own.

Run by callscope inside a venv under $CALLSCOPE_CACHE; by hand:
    python asr_bench_faster_whisper.py --model-dir DIR list.tsv
"""

import argparse
import concurrent.futures
import json
import resource
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="CTranslate2 Whisper directory")
    parser.add_argument("--compute-type", default="int8", help="int8, float32, ...")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads")
    parser.add_argument("--beam-size", type=int, default=1, help="1: greedy")
    parser.add_argument("--prompt", default="以下是普通话的句子。", help="initial prompt")
    parser.add_argument("--vad", action="store_true", help="skip silence with Silero VAD")
    parser.add_argument("--stereo", action="store_true", help="stereo calls: channels apart, VAD")
    parser.add_argument("--workers", type=int, default=1, help="files at once (--stereo)")
    parser.add_argument(
        "--mixdown", action="store_true", help="--stereo: mono mixdown, no VAD (the defaults)"
    )
    parser.add_argument(
        "--word-timestamps",
        action="store_true",
        help="--stereo: align words; segments are sentences cut from them",
    )
    parser.add_argument("list", help="TSV file: id<TAB>audio path")
    args = parser.parse_args()

    # imported late: --help works without it
    from faster_whisper import WhisperModel, decode_audio

    started = time.perf_counter()
    model = WhisperModel(
        args.model_dir,
        device="cpu",
        compute_type=args.compute_type,
        cpu_threads=args.threads,
        num_workers=max(1, args.workers),
    )
    if args.stereo:
        return stereo_batch(args, model, decode_audio, started)
    print(json.dumps({"event": "loaded", "seconds": time.perf_counter() - started}), flush=True)

    with open(args.list, encoding="utf-8") as listing:
        for line in listing:
            line = line.rstrip("\n")
            if not line:
                continue
            clip_id, path = line.split("\t", 1)
            started = time.perf_counter()
            text, info = transcribe(model, args, path, vad=args.vad)
            seconds = time.perf_counter() - started
            print(
                json.dumps(
                    {"id": clip_id, "text": text, "seconds": seconds, "audio": info.duration},
                    ensure_ascii=False,
                ),
                flush=True,
            )
    print(json.dumps({"event": "done", "peak_rss_mib": peak_rss_mib()}), flush=True)
    return 0


def transcribe(model, args, audio, vad, spans=None):
    """One file or signal with the settings callscope uses: language zh,
    the same prompt and beam, one temperature. Returns the text and info;
    appends [start, end, text] per segment to spans when given (sentences
    cut from aligned words with --word-timestamps)."""
    words = spans is not None and args.word_timestamps
    segments, info = model.transcribe(
        audio,
        language="zh",
        beam_size=args.beam_size,
        initial_prompt=args.prompt,
        temperature=0.0,
        condition_on_previous_text=True,
        vad_filter=vad,
        word_timestamps=words,
    )
    # Segments are generated lazily: decoding happens here.
    texts = []
    for segment in segments:
        texts.append(segment.text)
        if spans is None:
            continue
        if words and segment.words:
            spans.extend(sentences(segment.words))
        else:
            spans.append([segment.start, segment.end, segment.text])
    return "".join(texts), info


def sentences(words):
    """Aligned words cut into [start, end, text] after 。？！."""
    cut = []
    current = None
    for word in words:
        if current is None:
            current = [word.start, word.end, ""]
        current[1] = word.end
        current[2] += word.word
        if word.word.rstrip().endswith(("。", "？", "！", "?", "!")):
            cut.append(current)
            current = None
    if current is not None:
        cut.append(current)
    return cut


def peak_rss_mib() -> float:
    """This process's peak RSS. VmHWM starts afresh at exec; ru_maxrss
    does not (Linux keeps the parent's peak across fork and exec, so it
    would report callscope's own peak whenever that is higher)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def read_list(path):
    with open(path, encoding="utf-8") as listing:
        return [line.rstrip("\n").split("\t", 1) for line in listing if line.strip()]


def stereo_batch(args, model, decode_audio, started) -> int:
    def transcribe_call(item):
        clip_id, path = item
        if args.mixdown:
            channels = [decode_audio(path)]
        else:
            channels = decode_audio(path, split_stereo=True)
        results = []
        for channel, audio in enumerate(channels):
            spans = []
            text, info = transcribe(model, args, audio, vad=not args.mixdown, spans=spans)
            if args.mixdown:
                channel = -1
            results.append(
                {
                    "id": clip_id,
                    "channel": channel,
                    "text": text,
                    "audio": info.duration,
                    "segments": spans,
                }
            )
        return results

    items = read_list(args.list)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool:
        for results in pool.map(transcribe_call, items):
            for result in results:
                print(json.dumps(result, ensure_ascii=False), flush=True)
    seconds = time.perf_counter() - started
    print(json.dumps({"batch_seconds": seconds, "peak_rss_mib": peak_rss_mib()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
