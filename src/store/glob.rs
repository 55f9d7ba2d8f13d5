//! The resource glob of a suppression: `*` is any run of characters, `?` one
//! character, everything else itself (case-sensitive, as ARNs are).
//!
//! Matched in Rust rather than with SQLite's GLOB, whose `[...]` classes and
//! escaping would make some ARNs mean something other than what was typed.

/// Whether `text` matches `pattern` in full.
pub(super) fn matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // Where to resume after the most recent `*`: pattern index after it, and
    // the text index it currently stands for the end of. One `*` at a time is
    // enough to backtrack to, which keeps this linear-ish instead of exponential.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p + 1, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((after_star, consumed)) => {
                    star = Some((after_star, consumed + 1));
                    p = after_star;
                    t = consumed + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn stars_and_question_marks() {
        let arn = "arn:aws:iam::111111111111:role/vendor/DatadogIntegration";
        assert!(matches(arn, arn));
        assert!(matches("*", arn));
        assert!(matches("*", ""));
        assert!(matches("arn:aws:iam::*:role/vendor/*", arn));
        assert!(matches("arn:aws:iam::11111111111?:role/*Integration", arn));
        assert!(matches("*Datadog*", arn));
        assert!(!matches("arn:aws:iam::*:role/other/*", arn));
        assert!(!matches("arn:aws:iam::111111111111:role/vendor", arn));
        assert!(!matches("?", ""));
        assert!(!matches("*datadog*", arn));
        assert!(matches("a*b*c", "aXbYbZc"));
        assert!(!matches("a*b*c", "aXbYbZ"));
        assert!(matches("[x]", "[x]"));
        assert!(!matches("[x]", "x"));
    }

    #[test]
    fn many_stars_stay_fast() {
        let text = "a".repeat(2000);
        let pattern = format!("{}b", "*a".repeat(50));
        assert!(!matches(&pattern, &text));
    }
}
