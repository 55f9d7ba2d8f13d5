//! Compiled IAM patterns: action globs, resource globs, string templates with
//! policy variables. Compiled once at parse time; matching never allocates
//! except when a policy variable has to be substituted into a deferred value.

use std::fmt;

/// One piece of a compiled pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    /// Literal text (already case-folded for case-insensitive patterns).
    Lit(Box<str>),
    /// `*`: any run of characters, possibly empty.
    Star,
    /// `?`: exactly one character.
    One,
    /// `${key}` or `${key, 'default'}`: replaced by the context value of `key`
    /// (lower-cased), taken literally.
    Var { key: Box<str>, default: Option<Box<str>> },
}

/// How a pattern's source text is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Syntax {
    /// `*` and `?` are wildcards (globs) rather than literal characters.
    pub wildcards: bool,
    /// `${...}` is a policy variable (policies with Version 2012-10-17 only).
    pub variables: bool,
    /// Literal text is compared ASCII-case-insensitively.
    pub fold_case: bool,
}

/// A compiled pattern: a sequence of tokens with fast paths for the common shapes.
#[derive(Clone, PartialEq, Eq)]
pub struct Pattern {
    source: Box<str>,
    shape: Shape,
    fold_case: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Shape {
    /// `*`
    Any,
    /// No wildcards, no variables.
    Exact(Box<str>),
    /// `prefix*`
    Prefix(Box<str>),
    /// Anything else.
    Tokens(Box<[Token]>),
}

/// An error in a pattern's `${...}` syntax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariableSyntaxError(pub String);

impl fmt::Display for VariableSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.source)
    }
}

impl Pattern {
    /// Compile `source` under `syntax`.
    pub fn compile(source: &str, syntax: Syntax) -> Result<Self, VariableSyntaxError> {
        let tokens = tokenize(source, syntax)?;
        let shape = match tokens.as_slice() {
            [] => Shape::Exact("".into()),
            [Token::Star] => Shape::Any,
            [Token::Lit(l)] => Shape::Exact(l.clone()),
            [Token::Lit(l), Token::Star] => Shape::Prefix(l.clone()),
            _ => Shape::Tokens(tokens.into_boxed_slice()),
        };
        Ok(Pattern { source: source.into(), shape, fold_case: syntax.fold_case })
    }

    /// The text the pattern was compiled from.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// True when the pattern is a lone `*`.
    pub fn is_any(&self) -> bool {
        matches!(self.shape, Shape::Any)
    }

    /// True when the pattern contains a policy variable.
    pub fn has_variables(&self) -> bool {
        match &self.shape {
            Shape::Tokens(t) => t.iter().any(|t| matches!(t, Token::Var { .. })),
            _ => false,
        }
    }

    /// True when the pattern has a wildcard (`*` or `?`).
    pub fn has_wildcards(&self) -> bool {
        match &self.shape {
            Shape::Any | Shape::Prefix(_) => true,
            Shape::Exact(_) => false,
            Shape::Tokens(t) => t.iter().any(|t| matches!(t, Token::Star | Token::One)),
        }
    }

    /// Match `text`, resolving variables through `resolve` (which receives the
    /// lower-cased key). A variable that cannot be resolved and has no default
    /// makes the match fail.
    pub fn matches_with<'c>(&self, text: &str, resolve: &dyn Fn(&str) -> Option<&'c str>) -> bool {
        match &self.shape {
            Shape::Any => true,
            Shape::Exact(l) => eq(text, l, self.fold_case),
            Shape::Prefix(p) => {
                text.len() >= p.len() && text.is_char_boundary(p.len()) && eq(&text[..p.len()], p, self.fold_case)
            }
            Shape::Tokens(tokens) => match_tokens(tokens, text, self.fold_case, resolve),
        }
    }

    /// Match `text` when no variables can be resolved (they fail to match).
    pub fn matches(&self, text: &str) -> bool {
        self.matches_with(text, &|_| None)
    }

    /// Substitute variables, producing the literal text (for deferred typed
    /// values such as a number written as `${aws:PrincipalTag/limit}`).
    /// Wildcards are kept as written. `None` when a variable is unresolved.
    pub fn render<'c>(&self, resolve: &dyn Fn(&str) -> Option<&'c str>) -> Option<String> {
        match &self.shape {
            Shape::Any => Some("*".into()),
            Shape::Exact(l) => Some(l.to_string()),
            Shape::Prefix(p) => Some(format!("{p}*")),
            Shape::Tokens(tokens) => {
                let mut out = String::new();
                for t in tokens.iter() {
                    match t {
                        Token::Lit(l) => out.push_str(l),
                        Token::Star => out.push('*'),
                        Token::One => out.push('?'),
                        Token::Var { key, default } => out.push_str(resolve(key).or(default.as_deref())?),
                    }
                }
                Some(out)
            }
        }
    }
}

fn eq(a: &str, b: &str, fold_case: bool) -> bool {
    if fold_case { a.eq_ignore_ascii_case(b) } else { a == b }
}

fn starts_with(text: &str, lit: &str, fold_case: bool) -> bool {
    text.len() >= lit.len() && text.is_char_boundary(lit.len()) && eq(&text[..lit.len()], lit, fold_case)
}

fn next_char_len(text: &str, at: usize) -> usize {
    text[at..].chars().next().map_or(1, char::len_utf8)
}

/// Glob matching over tokens with a single backtrack point for the last `*`
/// (linear in practice, never exponential).
fn match_tokens<'c>(tokens: &[Token], text: &str, fold_case: bool, resolve: &dyn Fn(&str) -> Option<&'c str>) -> bool {
    let (mut ti, mut si) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    loop {
        if let Some(token) = tokens.get(ti) {
            let advanced = match token {
                Token::Star => {
                    backtrack = Some((ti + 1, si));
                    ti += 1;
                    continue;
                }
                Token::One => (si < text.len()).then(|| next_char_len(text, si)),
                Token::Lit(l) => starts_with(&text[si..], l, fold_case).then_some(l.len()),
                Token::Var { key, default } => {
                    let Some(value) = resolve(key).or(default.as_deref()) else {
                        return false;
                    };
                    starts_with(&text[si..], value, fold_case).then_some(value.len())
                }
            };
            if let Some(n) = advanced {
                si += n;
                ti += 1;
                continue;
            }
        } else if si == text.len() {
            return true;
        }
        match backtrack {
            Some((bt, bs)) if bs < text.len() => {
                let next = bs + next_char_len(text, bs);
                backtrack = Some((bt, next));
                ti = bt;
                si = next;
            }
            _ => return false,
        }
    }
}

fn tokenize(source: &str, syntax: Syntax) -> Result<Vec<Token>, VariableSyntaxError> {
    let mut tokens = Vec::new();
    let mut lit = String::new();
    let flush = |lit: &mut String, tokens: &mut Vec<Token>| {
        if !lit.is_empty() {
            let text = if syntax.fold_case { lit.to_ascii_lowercase() } else { std::mem::take(lit) };
            lit.clear();
            tokens.push(Token::Lit(text.into()));
        }
    };
    let mut rest = source;
    while let Some(c) = rest.chars().next() {
        if syntax.variables && rest.starts_with("${") {
            let end = rest
                .find('}')
                .ok_or_else(|| VariableSyntaxError(format!("unterminated policy variable in {source:?}")))?;
            let body = rest[2..end].trim();
            rest = &rest[end + 1..];
            match body {
                "*" | "?" | "$" => lit.push_str(body),
                _ => {
                    let (key, default) = parse_variable(body, source)?;
                    flush(&mut lit, &mut tokens);
                    tokens.push(Token::Var { key, default });
                }
            }
            continue;
        }
        rest = &rest[c.len_utf8()..];
        match c {
            '*' if syntax.wildcards => {
                flush(&mut lit, &mut tokens);
                if tokens.last() != Some(&Token::Star) {
                    tokens.push(Token::Star);
                }
            }
            '?' if syntax.wildcards => {
                flush(&mut lit, &mut tokens);
                tokens.push(Token::One);
            }
            _ => lit.push(c),
        }
    }
    flush(&mut lit, &mut tokens);
    Ok(tokens)
}

/// `aws:username` or `aws:username, 'default'`.
fn parse_variable(body: &str, source: &str) -> Result<(Box<str>, Option<Box<str>>), VariableSyntaxError> {
    let bad = || VariableSyntaxError(format!("malformed policy variable ${{{body}}} in {source:?}"));
    let (key, default) = match body.split_once(',') {
        None => (body, None),
        Some((key, default)) => {
            let default = default.trim();
            let inner = default.strip_prefix('\'').and_then(|d| d.strip_suffix('\'')).ok_or_else(bad)?;
            (key.trim(), Some(inner.into()))
        }
    };
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err(bad());
    }
    Ok((key.to_ascii_lowercase().into(), default))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GLOB: Syntax = Syntax { wildcards: true, variables: true, fold_case: false };
    const ACTION: Syntax = Syntax { wildcards: true, variables: false, fold_case: true };

    fn glob(p: &str) -> Pattern {
        Pattern::compile(p, GLOB).unwrap()
    }

    #[test]
    fn shapes_and_matches() {
        assert!(glob("*").matches("anything/at:all"));
        assert!(glob("arn:aws:s3:::b/*").matches("arn:aws:s3:::b/k/x"));
        assert!(!glob("arn:aws:s3:::b/*").matches("arn:aws:s3:::c/k"));
        assert!(glob("a?c").matches("abc"));
        assert!(!glob("a?c").matches("ac"));
        assert!(glob("a*b*c").matches("aXbYbZc"));
        assert!(!glob("a*b*c").matches("aXbYbZ"));
        assert!(glob("*é?").matches("xéü"));
        assert!(!glob("Bucket").matches("bucket"));
    }

    #[test]
    fn actions_fold_case() {
        let p = Pattern::compile("S3:Get*", ACTION).unwrap();
        assert!(p.matches("s3:getobject"));
        assert!(p.matches("S3:GETOBJECT"));
        assert!(!p.matches("s3:PutObject"));
    }

    #[test]
    fn variables_and_escapes() {
        let p = glob("arn:aws:s3:::home/${aws:username}/*");
        let resolve = |k: &str| (k == "aws:username").then_some("alice");
        assert!(p.matches_with("arn:aws:s3:::home/alice/x", &resolve));
        assert!(!p.matches_with("arn:aws:s3:::home/bob/x", &resolve));
        assert!(!p.matches("arn:aws:s3:::home/alice/x"));
        let d = glob("home/${aws:username, 'guest'}");
        assert!(d.matches("home/guest"));
        let lit = glob("a${*}b");
        assert!(lit.matches("a*b"));
        assert!(!lit.matches("axb"));
        let plain = Pattern::compile("a${*}b", Syntax { variables: false, ..GLOB }).unwrap();
        assert!(plain.matches("a${xyz}b"));
        assert!(Pattern::compile("${aws:username", GLOB).is_err());
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// Reference matcher: straightforward recursion over chars.
    fn reference(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('*', rest)) => (0..=t.len()).any(|i| reference(rest, &t[i..])),
            Some(('?', rest)) => !t.is_empty() && reference(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && reference(rest, &t[1..]),
        }
    }

    proptest! {
        #[test]
        fn glob_agrees_with_reference(p in "[ab*?/:é]{0,8}", t in "[ab/:é]{0,10}") {
            let compiled = Pattern::compile(&p, Syntax { wildcards: true, variables: false, fold_case: false }).unwrap();
            let pc: Vec<char> = p.chars().collect();
            let tc: Vec<char> = t.chars().collect();
            prop_assert_eq!(compiled.matches(&t), reference(&pc, &tc));
        }

        #[test]
        fn case_folding_agrees(p in "[aB*?]{0,6}", t in "[AbaB]{0,8}") {
            let compiled = Pattern::compile(&p, Syntax { wildcards: true, variables: false, fold_case: true }).unwrap();
            let pc: Vec<char> = p.to_ascii_lowercase().chars().collect();
            let tc: Vec<char> = t.to_ascii_lowercase().chars().collect();
            prop_assert_eq!(compiled.matches(&t), reference(&pc, &tc));
        }

        #[test]
        fn never_panics(p in ".{0,12}", t in ".{0,12}") {
            if let Ok(compiled) = Pattern::compile(&p, Syntax { wildcards: true, variables: true, fold_case: true }) {
                let _ = compiled.matches(&t);
            }
        }
    }
}
