//! ARN splitting. IAM compares ARNs part by part in some places (ArnLike,
//! principals), so one small borrowed view is shared by parser and evaluator.

/// A borrowed view of `arn:partition:service:region:account:resource`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    /// Everything after the fifth colon (may itself contain `:` and `/`).
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Split an ARN; `None` when it does not start with `arn:` or has fewer than six parts.
    pub fn parse(text: &'a str) -> Option<Self> {
        let mut parts = text.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        Some(Arn {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        })
    }
}

/// True for a 12-digit AWS account id.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_six_parts() {
        let a = Arn::parse("arn:aws:iam::123456789012:role/path/name").unwrap();
        assert_eq!((a.service, a.account, a.resource), ("iam", "123456789012", "role/path/name"));
        let s3 = Arn::parse("arn:aws:s3:::bucket/a:b").unwrap();
        assert_eq!((s3.account, s3.resource), ("", "bucket/a:b"));
        assert!(Arn::parse("arn:aws:iam").is_none());
        assert!(Arn::parse("nope:aws:iam::1:x").is_none());
        assert!(is_account_id("123456789012") && !is_account_id("12345678901x"));
    }
}
