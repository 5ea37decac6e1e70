//! Inputs the fuzzer (`core/mailtext/fuzz`) once crashed on: each must now be parsed
//! or refused, never panic, in a debug build too (mail-parser's `debug_assert!`s are
//! live there).

#[test]
fn every_fuzz_finding_is_parsed_or_refused() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("the regressions folder") {
        let path = entry.expect("entry").path();
        let raw = std::fs::read(&path).expect("readable");
        let _ = portico_mailtext::parse(&raw);
        let _ = portico_mailtext::envelope(&raw);
        let _ = portico_mailtext::classify(&raw);
        let text = String::from_utf8_lossy(&raw);
        let _ = portico_mailtext::extract_reply(&text);
        let _ = portico_mailtext::html_to_text(&text);
        seen += 1;
    }
    assert!(seen >= 1, "no regression inputs in {}", dir.display());
}
