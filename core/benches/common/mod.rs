//! Shared helpers of the application benchmarks.

#![allow(dead_code, reason = "each benchmark uses a different subset")]

/// The q-quantile of sorted samples.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Sorts samples for [`quantile`].
pub fn sorted(mut samples: Vec<f64>) -> Vec<f64> {
    samples.sort_by(f64::total_cmp);
    samples
}

/// The mean of samples.
pub fn mean(samples: &[f64]) -> f64 {
    samples.iter().sum::<f64>() / samples.len().max(1) as f64
}

/// A `Vm…` line of `/proc/self/status`, in MiB (Linux only; `NaN` elsewhere).
pub fn proc_status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// The value of `--name VALUE` among the arguments.
pub fn option(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// The positional arguments (those not starting with `--` nor following an option
/// that takes a value), cargo's own `--bench` removed.
pub fn positional(args: &[String], options_with_values: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip = false;
    for arg in args.iter().skip(1) {
        if skip {
            skip = false;
            continue;
        }
        if options_with_values.contains(&arg.as_str()) {
            skip = true;
            continue;
        }
        if arg.starts_with("--") {
            continue;
        }
        out.push(arg.clone());
    }
    out
}

/// Runs one SQL statement on the local PostgreSQL's `postgres` database with `psql`.
#[allow(dead_code)]
pub fn psql(sql: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-q",
            "-c",
            sql,
        ])
        .status()?;
    anyhow::ensure!(status.success(), "psql {sql}");
    Ok(())
}
