//! Prints how reply extraction and classification score on the public e-mail corpora:
//! `cargo run -p portico-mailtext --example score --release -- [CORPORA_DIR] [--failures]`.

#[path = "../tests/scoring/mod.rs"]
mod scoring;

fn main() -> std::process::ExitCode {
    let mut arguments: Vec<String> = std::env::args().skip(1).collect();
    let show_failures = arguments.iter().any(|argument| argument == "--failures");
    arguments.retain(|argument| argument != "--failures");
    let dir = match scoring::corpora_dir(arguments.into_iter().next()) {
        Ok(dir) => dir,
        Err(message) => {
            eprintln!("{message}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let report = match scoring::run(&dir) {
        Ok(report) => report,
        Err(message) => {
            eprintln!("scoring failed: {message}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("reply extraction ({})", dir.display());
    println!(
        "{:<56} {:>6} {:>6} {:>8}",
        "corpus", "cases", "exact", "rate"
    );
    for score in &report.extraction {
        println!(
            "{:<56} {:>6} {:>6} {:>7.1}%",
            score.name,
            score.cases,
            score.exact,
            score.rate()
        );
        if show_failures {
            for failure in &score.failures {
                println!("    FAIL {failure}");
            }
        }
    }
    println!();
    println!("classification");
    println!(
        "{:<56} {:>6} {:>8} {:>8}",
        "set", "cases", "flagged", "rate"
    );
    for score in &report.classification {
        if score.automated {
            println!(
                "{:<56} {:>6} {:>8} {:>7.1}% recall, {:.1}% right kind",
                score.name,
                score.cases,
                score.flagged,
                score.recall(),
                score.kind_rate()
            );
        } else {
            println!(
                "{:<56} {:>6} {:>8} false positives",
                score.name, score.cases, score.flagged
            );
        }
        if show_failures {
            for failure in &score.failures {
                println!("    MISS {failure}");
            }
        }
    }
    println!();
    println!(
        "slowest single case: {:?} ({})",
        report.slowest.0, report.slowest.1
    );
    std::process::ExitCode::SUCCESS
}
