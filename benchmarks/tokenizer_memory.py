"""RSS of the tokenize stage on gigatoken over a long stream, with and without rebuilding the engine.

    python benchmarks/tokenizer_memory.py [--corpus DIR | --docs N] [--rebuild-mb 256,1024,0] [--batch-docs 10000]
                                          [--passes 1]

Streams every train document of DIR (default: a generated sample of `--docs` documents), read by the
read stage one batch of `--batch-docs` documents at a time, as a tokens task sees a partition, through
`tokenize_batch` on engine `gigatoken`, `--passes` times, once per `--rebuild-mb` value
(`stages.gigatoken_engine.REBUILD_CHARS` in millions of characters; 0: never rebuilt), each in its own
process on one core. Prints RSS (VmRSS) every ~10 % of the stream, the peak, RSS growth over the second
half and MB/s. Exits 1 if any run's ids differ.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from corpus import corpus_dir, train_files

from pipeline.formats.input_files import LineChunk, iter_line_chunks
from stages.read import ReadConfig, parse_lines


def rss_mib() -> float:
    """This process's resident set (VmRSS), MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def batches(corpus: Path, batch_docs: int):
    """Lists of `batch_docs` texts, read lazily from the train files."""
    config = ReadConfig()
    texts: list[str] = []
    for index, path in enumerate(train_files(corpus)):
        for chunk in iter_line_chunks(str(path), 4096, config.max_doc_bytes):
            if isinstance(chunk, LineChunk):
                texts += (
                    parse_lines(chunk.lines, chunk.first_line, index, path.name, config)[0].column("text").to_pylist()
                )
            while len(texts) >= batch_docs:
                yield texts[:batch_docs]
                texts = texts[batch_docs:]
    if texts:
        yield texts


def run(
    corpus: Path, rebuild_mb: int, batch_docs: int, passes: int
) -> tuple[list[tuple[float, float]], float, float, str]:
    """[(MB done, RSS MiB)], peak RSS, MB/s of tokenize_batch CPU time, sha256 of all ids."""
    import stages.gigatoken_engine as engine_module
    from stages.tokenize import TokenizeConfig, load_tokenizer, tokenize_batch

    engine_module.REBUILD_CHARS = rebuild_mb * 1_000_000 if rebuild_mb else 1 << 62
    tokenizer = load_tokenizer(TokenizeConfig(engine="gigatoken"))
    tokenize_batch(["warm up"], tokenizer, append_eod=True)
    digest = hashlib.sha256()
    samples, done, cpu = [(0.0, rss_mib())], 0.0, 0.0
    for _ in range(passes):
        for texts in batches(corpus, batch_docs):
            start = time.process_time()
            flat, _ = tokenize_batch(texts, tokenizer, append_eod=True)
            cpu += time.process_time() - start
            digest.update(flat.tobytes())
            done += sum(len(t.encode("utf-8", "surrogatepass")) for t in texts) / 1e6
            samples.append((done, rss_mib()))
    return samples, max(rss for _, rss in samples), done / cpu, digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, help="a Pile-layout directory (e.g. from `pileline sample`)")
    parser.add_argument("--docs", type=int, help="documents of the generated sample when no corpus is given")
    parser.add_argument(
        "--rebuild-mb", default="256,1024,0", help="comma-separated REBUILD_CHARS in millions; 0 = never"
    )
    parser.add_argument("--batch-docs", type=int, default=10_000)
    parser.add_argument("--passes", type=int, default=1)
    args = parser.parse_args(argv)
    digests = set()
    columns = f"{'rebuild every':>14} {'MB':>7} {'RSS at 10%..100% of the stream (MiB)':<60}"
    print(f"{columns} {'peak':>6} {'2nd half +':>10} {'MB/s':>6}")
    scratch = tempfile.TemporaryDirectory(prefix="tokenizer-memory-")
    corpus = corpus_dir(args.corpus, Path(scratch.name), args.docs)
    for rebuild in [int(v) for v in args.rebuild_mb.split(",")]:
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            samples, peak, speed, digest = pool.submit(run, corpus, rebuild, args.batch_docs, args.passes).result()
        digests.add(digest)
        total = samples[-1][0]
        deciles = [next(rss for mb, rss in samples if mb >= total * k / 10) for k in range(1, 11)]
        half = next(rss for mb, rss in samples if mb >= total / 2)
        label = f"{rebuild} M chars" if rebuild else "never"
        growth = samples[-1][1] - half
        curve = " ".join(f"{r:5.0f}" for r in deciles)
        print(f"{label:>14} {total:>7.0f} {curve:<60} {peak:>6.0f} {growth:>+10.0f} {speed:>6.1f}")
    scratch.cleanup()
    if len(digests) != 1:
        print("FAIL: the runs gave different ids", file=sys.stderr)
        return 1
    print("identical ids in every run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
