//! Diagnostics on stderr: warnings, verbose traces (`-v`), and progress on a terminal;
//! and making text that came from outside safe to print.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static VERBOSE: AtomicBool = AtomicBool::new(false);

/// A value quoted in a message is cut to this many characters.
const MAX_VALUE_CHARS: usize = 200;
/// A whole message (error and hint) is cut to this many characters.
const MAX_MESSAGE_CHARS: usize = 4000;

pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

/// What a command did or what comes next, on stderr. Never fails: a closed or broken
/// stderr must not stop the command (stdout may still be read).
pub fn status(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "sfcred: {}", printable(message, MAX_MESSAGE_CHARS));
}

pub fn warn(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "sfcred: warning: {}", printable(message, MAX_MESSAGE_CHARS));
}

/// A `-v` trace line. Callers pass text that holds no secret.
pub fn verbose(message: impl FnOnce() -> String) {
    if VERBOSE.load(Ordering::Relaxed) {
        let message = printable(&message(), MAX_MESSAGE_CHARS);
        let _ = writeln!(std::io::stderr().lock(), "sfcred: debug: {message}");
    }
}

/// Colour only for a terminal, and never when NO_COLOR is set (no-color.org).
pub fn use_color(is_terminal: bool, no_color: bool) -> bool {
    is_terminal && !no_color
}

/// A user-supplied value as a message quotes it: credentials in a URL redacted, cut to a
/// readable length. Control characters are escaped when the message is printed.
pub fn shown_value(value: &str) -> String {
    cut(&redact_url_credentials(value), MAX_VALUE_CHARS)
}

/// Text for a terminal or a log: control characters other than newlines, and the bidi
/// controls that reorder what a terminal shows, escaped; URL credentials redacted; at most
/// `max_chars` characters.
pub fn printable(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars));
    for c in redact_url_credentials(text).chars() {
        match c {
            '\n' => out.push(c),
            c if c.is_control() || is_bidi_control(c) => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    cut(&out, max_chars)
}

/// Unicode's bidirectional formatting characters (UAX #9): shown raw, they make a terminal
/// show text in another order than it has.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A message for stderr, made printable.
pub fn printable_message(text: &str) -> String {
    printable(text, MAX_MESSAGE_CHARS)
}

fn cut(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}... ({} more bytes)", &text[..end], text.len() - end),
    }
}

/// `scheme://user:password@host` becomes `scheme://***@host`. The credentials run to the
/// last `@` before a space, quote, comma, `?` or `#`: a password may hold a `/`.
fn redact_url_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("://") {
        let (before, after) = rest.split_at(start + 3);
        out.push_str(before);
        let authority_end = after.find(|c: char| matches!(c, '?' | '#' | ',' | '"') || c.is_whitespace());
        let authority = &after[..authority_end.unwrap_or(after.len())];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("***");
                rest = &after[at..];
            }
            None => rest = after,
        }
    }
    out.push_str(rest);
    out
}

/// A "doing something..." line on stderr while a slow step runs, when stderr is a
/// terminal; nothing otherwise. The line is cleared when the guard drops.
pub struct Progress {
    shown: bool,
}

impl Progress {
    pub fn start(step: &str) -> Progress {
        let shown = std::io::stderr().is_terminal();
        if shown {
            let _ =
                write!(std::io::stderr().lock(), "\r\x1b[2Ksfcred: {}...", printable(step, MAX_VALUE_CHARS));
        }
        Progress { shown }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.shown {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_newlines_kept() {
        assert_eq!(printable("a\x1b[31mb\0c\nd", 100), "a\\u{1b}[31mb\\u{0}c\nd");
        assert_eq!(printable("evil\u{202e}txt.exe\u{2066}", 100), "evil\\u{202e}txt.exe\\u{2066}");
        assert_eq!(printable("é ü 日本", 100), "é ü 日本", "other text stays as it is");
    }

    #[test]
    fn url_credentials_are_redacted_wherever_they_appear() {
        assert_eq!(
            redact_url_credentials("see https://u:p@h.com/x and http://h2"),
            "see https://***@h.com/x and http://h2"
        );
        assert_eq!(redact_url_credentials("\"https://a@b@c\" x"), "\"https://***@c\" x");
        assert_eq!(redact_url_credentials("no url here"), "no url here");
        assert_eq!(
            redact_url_credentials("rediss://u:Zx9+q/w==@r:6380,redis://h"),
            "rediss://***@r:6380,redis://h",
            "a password may hold a /, as openssl rand -base64 writes"
        );
        assert_eq!(
            redact_url_credentials("https://h/p@q?user=a@b"),
            "https://***@q?user=a@b",
            "an @ in the path may end such a password: hidden too; the query's is not"
        );
    }

    #[test]
    fn huge_values_are_cut() {
        let shown = shown_value(&"x".repeat(5_000_000));
        assert!(shown.len() < 300 && shown.ends_with("... (4999800 more bytes)"), "{shown}");
        assert_eq!(cut("héllo", 2), "hé... (3 more bytes)");
    }
}
