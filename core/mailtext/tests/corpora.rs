//! Keeps reply extraction and classification at the rates reached on the public e-mail corpora
//! (`PORTICO_MAIL_CORPORA`, default `/work/shared/corpora/mail`): a regression fails here.

mod scoring;

/// The minimum exact-match rate per extraction corpus, a little under what was last reached.
const EXTRACTION_FLOORS: &[(&str, f64)] = &[
    ("discourse (trimmed)", 96.0),
    ("github (visible text)", 99.0),
    ("talon standard replies (quotes removed)", 99.0),
    ("talon standard replies (parse -> reply_text)", 99.0),
    ("talon html replies", 91.0),
    ("talon inline quotations", 99.0),
    ("talon signatures", 99.0),
    ("flanker: every message parses or is refused cleanly", 100.0),
];

/// The minimum recall (any kind) and right-kind rate per automated set.
const RECALL_FLOORS: &[(&str, f64, f64)] = &[
    ("flanker bounces, complaints, receipt", 100.0, 99.0),
    ("sisimai maildir/bsd (automated)", 99.0, 98.5),
];

fn report() -> scoring::Report {
    let dir = match scoring::corpora_dir(None) {
        Ok(dir) => dir,
        Err(message) => panic!("{message}"),
    };
    match scoring::run(&dir) {
        Ok(report) => report,
        Err(message) => panic!("scoring the corpora failed: {message}"),
    }
}

#[test]
fn extraction_rates_do_not_regress() {
    let report = report();
    for (name, floor) in EXTRACTION_FLOORS {
        let Some(score) = report.extraction.iter().find(|score| score.name == *name) else {
            panic!("corpus {name} was not scored");
        };
        assert!(
            score.rate() >= *floor,
            "{name}: {:.1}% exact ({}/{}) is below {floor}%; failures:\n{}",
            score.rate(),
            score.exact,
            score.cases,
            score.failures.join("\n")
        );
    }
}

#[test]
fn automated_mail_is_detected() {
    let report = report();
    for (name, recall_floor, kind_floor) in RECALL_FLOORS {
        let Some(score) = report
            .classification
            .iter()
            .find(|score| score.name == *name)
        else {
            panic!("set {name} was not scored");
        };
        assert!(
            score.recall() >= *recall_floor && score.kind_rate() >= *kind_floor,
            "{name}: recall {:.1}% (floor {recall_floor}%), right kind {:.1}% (floor {kind_floor}%); misses:\n{}",
            score.recall(),
            score.kind_rate(),
            score.failures.join("\n")
        );
    }
}

#[test]
fn ordinary_replies_are_never_flagged() {
    let report = report();
    let ordinary: Vec<_> = report
        .classification
        .iter()
        .filter(|score| !score.automated)
        .collect();
    assert!(
        ordinary.len() >= 5,
        "the ordinary-mail sets were not all scored"
    );
    for score in ordinary {
        assert_eq!(
            score.flagged,
            0,
            "{}: false positives:\n{}",
            score.name,
            score.failures.join("\n")
        );
    }
}
