//! Fuzzes the whole crate surface: any bytes must parse (or be refused) without panicking, and
//! any text must go through reply extraction and HTML conversion.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = portico_mailtext::parse(data);
    let _ = portico_mailtext::envelope(data);
    let _ = portico_mailtext::classify(data);
    let text = String::from_utf8_lossy(data);
    let _ = portico_mailtext::extract_reply(&text);
    let _ = portico_mailtext::strip_quotations(&text);
    let _ = portico_mailtext::split_signature(&text);
    let _ = portico_mailtext::html_to_text(&text);
    let _ = portico_mailtext::html_reply_to_text(&text);
    let _ = portico_mailtext::subject_token(&text);
    let _ = portico_mailtext::markers(&text);
    let _ = portico_mailtext::close_command(&text);
});
