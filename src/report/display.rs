//! How finding fields read as text in the reports for people and spreadsheets:
//! times, durations, conditions, subjects, shortened ARNs, and IAM-sourced
//! text made inert (no terminal escapes, line breaks or bidi overrides).

use chrono::{DateTime, SecondsFormat, Utc};

use crate::findings::{ConditionClass, ConditionSummary};

use super::RunInfo;

/// `2025-03-01 10:00:00 UTC`: for people.
pub(super) fn time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `2025-03-01T10:00:00Z`: for machines, exactly as the JSON report has it.
pub(super) fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// How long the run took: `42s`, `3m 05s`, `1h 02m`.
pub(super) fn duration(run: &RunInfo) -> String {
    let secs = (run.finished - run.started).num_seconds().max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// `key operator value1,value2`.
pub(super) fn condition(c: &ConditionSummary) -> String {
    format!("{} {} {}", c.key, c.operator, c.values.join(","))
}

/// The JSON name of a condition class (`external_id`, `oidc_sub`, ...).
pub(super) fn condition_class(class: ConditionClass) -> &'static str {
    match class {
        ConditionClass::ExternalId => "external_id",
        ConditionClass::PrincipalOrg => "principal_org",
        ConditionClass::PrincipalAccount => "principal_account",
        ConditionClass::SourceAccount => "source_account",
        ConditionClass::Mfa => "mfa",
        ConditionClass::OidcSub => "oidc_sub",
        ConditionClass::OidcAud => "oidc_aud",
        ConditionClass::OidcClaim => "oidc_claim",
        ConditionClass::SamlAud => "saml_aud",
        ConditionClass::SourceIp => "source_ip",
        ConditionClass::Other => "other",
    }
}

/// An IAM ARN without what the reader already knows: `role/app` when the
/// ARN is in `account`, `999988887777:root` when it is elsewhere, and
/// identity providers as `oidc:HOST` / `saml:NAME`; other ARNs and non-ARNs
/// (service principals, `*`) as they are.
pub(super) fn short_arn<'a>(arn: &'a str, account: Option<&str>) -> std::borrow::Cow<'a, str> {
    let mut parts = arn.splitn(6, ':');
    match (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("arn"), Some(_partition), Some("iam"), Some(""), Some(acct), Some(resource)) if !acct.is_empty() => {
            let provider = [("oidc-provider/", "oidc:"), ("saml-provider/", "saml:")]
                .iter()
                .find_map(|(prefix, short)| resource.strip_prefix(prefix).map(|name| format!("{short}{name}")));
            if let Some(provider) = provider {
                provider.into()
            } else if Some(acct) == account {
                resource.into()
            } else {
                format!("{acct}:{resource}").into()
            }
        }
        _ => arn.into(),
    }
}

/// The last segment of an ARN's resource (`role/path/app` -> `app`), for
/// short names; `ACCOUNT:root` for an account's root; the whole string when
/// it is not an ARN.
pub(super) fn arn_name(arn: &str) -> std::borrow::Cow<'_, str> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some(_), Some(_), Some(account), Some(resource)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return arn.into();
    };
    if resource == "root" {
        return format!("{account}:root").into();
    }
    resource.rsplit('/').next().filter(|name| !name.is_empty()).unwrap_or(resource).into()
}

/// IAM data (role names, tag values, policy text, account errors) on one
/// line with nothing a terminal or a renderer would act on: line breaks and
/// tabs become spaces; other control characters (terminal escapes) and bidi
/// overrides (which reorder what a reader sees) become U+FFFD.
pub(super) fn inert(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() || is_bidi_control(c) => '\u{FFFD}',
            c => c,
        })
        .collect()
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Cut `text` to `width` characters, keeping both ends (`arn:aws:iam…role/app`)
/// since an ARN's start and its name both matter.
pub(super) fn truncate_middle(text: &str, width: usize) -> String {
    let len = text.chars().count();
    if len <= width {
        return text.to_owned();
    }
    if width <= 1 {
        return "…".chars().take(width).collect();
    }
    // The end of an ARN (the name) says more than its start: keep more of it.
    let keep = width - 1;
    let head = keep * 2 / 5;
    let tail = keep - head;
    let mut out: String = text.chars().take(head).collect();
    out.push('…');
    out.extend(text.chars().skip(len - tail));
    out
}

/// Cut `text` to `width` characters, keeping the start (for prose).
pub(super) fn truncate_end(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    if width > 0 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_shorten_to_what_the_reader_does_not_know() {
        assert_eq!(short_arn("arn:aws:iam::111111111111:role/app", Some("111111111111")), "role/app");
        assert_eq!(short_arn("arn:aws:iam::999988887777:root", Some("111111111111")), "999988887777:root");
        assert_eq!(short_arn("events.amazonaws.com", Some("1")), "events.amazonaws.com");
        assert_eq!(
            short_arn("arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com", None),
            "oidc:token.actions.githubusercontent.com"
        );
        assert_eq!(short_arn("arn:aws:s3:::bucket", Some("1")), "arn:aws:s3:::bucket");
        assert_eq!(arn_name("arn:aws:iam::1:role/service-role/app"), "app");
        assert_eq!(arn_name("arn:aws:iam::1:root"), "1:root");
        assert_eq!(arn_name("*"), "*");
    }

    #[test]
    fn condition_classes_read_as_in_json() {
        for class in
            [ConditionClass::ExternalId, ConditionClass::OidcSub, ConditionClass::SourceIp, ConditionClass::Other]
        {
            assert_eq!(serde_json::to_value(class).unwrap(), condition_class(class));
        }
    }

    #[test]
    fn untrusted_text_is_inert() {
        assert_eq!(inert("a\nb\x1b[31mc\u{202E}d"), "a b\u{FFFD}[31mc\u{FFFD}d");
    }

    #[test]
    fn truncation_keeps_width() {
        assert_eq!(truncate_middle("abcdefghij", 5), "a…hij");
        assert_eq!(truncate_middle("abc", 5), "abc");
        assert_eq!(truncate_end("abcdefghij", 5), "abcd…");
        assert_eq!(truncate_middle("abcdef", 1), "…");
        assert_eq!(truncate_middle("abcdef", 0), "");
    }
}
