//! The detector alone, over 100 MB of text: with no candidates at all, and dense with near
//! misses (every line holds a `cio` word or a too-short token). `cargo bench --bench detector`.

use std::hint::black_box;

use cio_hook::detect::{candidate_lines, find_in_line, FileHint};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const SIZE: usize = 100 * 1024 * 1024;

/// Rust-looking text with no candidate for any rule.
fn clean_text() -> Vec<u8> {
    let lines = [
        "    let value = parse_registry_index(&input)?;\n",
        "/// Reads the configuration and returns the resolved settings.\n",
        "pub fn build(options: &Options) -> Result<Report, Error> {\n",
        "}\n",
    ];
    lines
        .iter()
        .cycle()
        .flat_map(|line| line.bytes())
        .take(SIZE)
        .collect()
}

/// Text where every line has a near miss: `cio` words, 31-character bodies, glued tokens.
fn near_miss_text() -> Vec<u8> {
    let body = "Q7hdK2mZp9XvL4sT1wYbN6cRfG8jU3a";
    let lines = [
        format!("    let cio_value = ciologist(\"cio{body}\");\n"),
        format!("// the CIO said: x{body}cio{body}E\n"),
        "fn cio() -> &'static str { \"cio-tools\" }\n".to_string(),
    ];
    lines
        .iter()
        .cycle()
        .flat_map(|line| line.bytes().collect::<Vec<_>>())
        .take(SIZE)
        .collect()
}

fn scan(text: &[u8]) -> usize {
    candidate_lines(text)
        .map(|(_, line)| find_in_line(line, FileHint::default()).len())
        .sum()
}

fn detector(c: &mut Criterion) {
    let mut group = c.benchmark_group("detector");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(SIZE as u64));
    let clean = clean_text();
    group.bench_function("100MB without candidates", |b| {
        b.iter(|| scan(black_box(&clean)))
    });
    let dense = near_miss_text();
    group.bench_function("100MB dense near misses", |b| {
        b.iter(|| scan(black_box(&dense)))
    });
    group.finish();
}

criterion_group!(benches, detector);
criterion_main!(benches);
