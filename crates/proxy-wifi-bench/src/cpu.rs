//! CPU time of this process's threads, by thread name: what a server spends per request
//! whatever the other processes on the machine do (its wall-clock figures move with them).

use std::time::Duration;

/// Total CPU time so far of this process's threads whose name starts with one of
/// `prefixes` (Linux: `/proc/self/task/*/schedstat`); `None` where that is unavailable.
/// Threads that ended are not counted, so compare readings of long-lived threads only.
pub fn threads_cpu(prefixes: &[&str]) -> Option<Duration> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    let mut total = Duration::ZERO;
    let mut found = false;
    for task in tasks.flatten() {
        let path = task.path();
        let Ok(name) = std::fs::read_to_string(path.join("comm")) else { continue };
        if !prefixes.iter().any(|p| name.trim_end().starts_with(p)) {
            continue;
        }
        // First field: time spent on a CPU, in nanoseconds.
        let Ok(stat) = std::fs::read_to_string(path.join("schedstat")) else { continue };
        let Some(ns) = stat.split_whitespace().next().and_then(|f| f.parse::<u64>().ok()) else { continue };
        total += Duration::from_nanos(ns);
        found = true;
    }
    found.then_some(total)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_busy_named_thread_is_counted() {
        let handle = std::thread::Builder::new()
            .name("cpu-test-spin".into())
            .spawn(|| {
                let before = threads_cpu(&["cpu-test-spin"]).expect("this thread is listed");
                // Spin until 5 ms of CPU are counted; a loaded machine gets 10 s of wall time.
                let start = std::time::Instant::now();
                let mut x = 0u64;
                while start.elapsed() < Duration::from_secs(10) {
                    for _ in 0..100_000 {
                        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
                    }
                    let now = threads_cpu(&["cpu-test-spin"]).expect("this thread is listed");
                    if now - before >= Duration::from_millis(5) {
                        return Ok(());
                    }
                }
                Err(format!("less than 5 ms counted after 10 s of spinning (started at {before:?})"))
            })
            .unwrap();
        handle.join().unwrap().unwrap();
        assert_eq!(threads_cpu(&["no-such-thread-name"]), None);
    }
}
