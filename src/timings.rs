//! Phase timings for benchmarks: with `CIO_HOOK_TIMINGS=1` in the environment, each timed phase
//! of a scan prints its wall time and the peak memory so far to stderr
//! (`cio-hook: timing: pack pass 0.812 s, peak memory 80 MiB`).

use std::sync::OnceLock;
use std::time::Instant;

/// The environment variable that turns the timings on.
pub const TIMINGS_VARIABLE: &str = "CIO_HOOK_TIMINGS";

fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var_os(TIMINGS_VARIABLE).is_some_and(|value| value == "1"))
}

/// Runs `phase`, printing how long it took when timings are on.
pub fn timed<T>(name: &str, phase: impl FnOnce() -> T) -> T {
    if !enabled() {
        return phase();
    }
    let started = Instant::now();
    let result = phase();
    eprintln!(
        "cio-hook: timing: {name} {:.3} s{}",
        started.elapsed().as_secs_f64(),
        peak_memory().map_or(String::new(), |peak| format!(", peak memory {peak}"))
    );
    result
}

/// The process's peak resident memory so far, where the system tells it (Linux).
fn peak_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(format!("{} MiB", kilobytes / 1024))
}
