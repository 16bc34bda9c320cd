//! Phase timings for benchmarks: with `CIO_HOOK_TIMINGS=1` in the environment, each timed phase
//! of a scan prints its wall time to stderr (`cio-hook: timing: pack pass 0.812 s`).

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
        "cio-hook: timing: {name} {:.3} s",
        started.elapsed().as_secs_f64()
    );
    result
}
