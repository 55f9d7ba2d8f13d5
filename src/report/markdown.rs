//! The Markdown report (GitHub-flavoured): the run and its accounts, counts
//! by severity, account and rule, then every finding under its severity with
//! its explanation, chain path (`a → b → c`) and evidence. IAM-sourced text is
//! escaped so a role name or tag value cannot add links, HTML or structure.

use std::fmt::Write as _;
use std::io::Write;

use crate::findings::{Finding, Severity};

use super::{Format, Report, ReportError, STATUSES, display};

pub(super) fn render(report: &Report, out: &mut dyn Write) -> Result<(), ReportError> {
    let mut md = String::new();
    summary(report, &mut md);
    findings(report, &mut md);
    out.write_all(md.as_bytes()).map_err(ReportError::write(Format::Markdown))
}

// `write!` to a String cannot fail; the results are ignored with `let _`.

fn summary(report: &Report, md: &mut String) {
    let run = &report.run;
    let _ = writeln!(md, "# trustwarden audit report\n");
    let _ = writeln!(md, "| Run | Status | Source | Started | Finished |");
    let _ = writeln!(md, "| --- | --- | --- | --- | --- |");
    let _ = writeln!(
        md,
        "| {} | **{}** | {} | {} | {} ({}) |\n",
        code_cell(&run.id),
        run.status.as_str(),
        code_cell(&run.source),
        display::time(&run.started),
        display::time(&run.finished),
        display::duration(run),
    );

    let _ = writeln!(md, "## Accounts\n");
    let _ = writeln!(md, "| Account | Status | Critical | High | Medium | Low | Info | Total | Error |");
    let _ = writeln!(md, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for (account, counts) in report.counts_by_account() {
        let state = report.run.accounts.iter().find(|a| a.account == account);
        let status = match state {
            Some(a) if a.status == super::AccountState::Failed => "**failed**",
            Some(_) => "ok",
            None => "not in run",
        };
        let error = state.and_then(|a| a.error.as_deref()).map(text).unwrap_or_default();
        let _ = write!(md, "| {} | {status} |", code_cell(&account));
        for severity in Severity::ALL {
            let _ = write!(md, " {} |", counts.get(severity));
        }
        let _ = writeln!(md, " {} | {error} |", counts.total());
    }
    md.push('\n');

    let _ = writeln!(md, "## Findings by severity\n");
    let _ = writeln!(md, "| Severity | Active | Archived | Resolved | Total |");
    let _ = writeln!(md, "| --- | ---: | ---: | ---: | ---: |");
    for (severity, total) in report.counts_by_severity() {
        let _ = write!(md, "| {severity} |");
        for status in STATUSES {
            let n = report.findings.iter().filter(|f| f.severity == severity && f.status == status).count();
            let _ = write!(md, " {n} |");
        }
        let _ = writeln!(md, " {total} |");
    }
    let _ = write!(md, "| **total** |");
    for status in STATUSES {
        let _ = write!(md, " {} |", report.count_with_status(status));
    }
    let _ = writeln!(md, " {} |\n", report.findings.len());

    if !report.findings.is_empty() {
        let _ = writeln!(md, "## Findings by rule\n");
        let _ = writeln!(md, "| Rule | Critical | High | Medium | Low | Info | Total |");
        let _ = writeln!(md, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (rule, counts) in report.counts_by_rule() {
            let _ = write!(md, "| {} |", code_cell(&rule));
            for severity in Severity::ALL {
                let _ = write!(md, " {} |", counts.get(severity));
            }
            let _ = writeln!(md, " {} |", counts.total());
        }
        md.push('\n');
    }
}

fn findings(report: &Report, md: &mut String) {
    if report.findings.is_empty() {
        let _ = writeln!(md, "No findings.");
        return;
    }
    let ordered = report.findings_by_severity();
    for severity in Severity::ALL {
        let group: Vec<&Finding> = ordered.iter().copied().filter(|f| f.severity == severity).collect();
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(md, "## {} ({})\n", capitalized(severity), group.len());
        for finding in group {
            one_finding(finding, md);
        }
    }
}

fn one_finding(f: &Finding, md: &mut String) {
    let _ = writeln!(md, "### {} — {}\n", text(&f.title), code(&f.rule));
    let _ = writeln!(md, "- **Id:** {}", code(&f.id));
    let _ = writeln!(md, "- **Status:** {}", f.status.as_str());
    let _ = writeln!(md, "- **Account:** {}", code(&f.account));
    let _ = writeln!(md, "- **Resource:** {}", code(&f.resource));
    if let Some(principal) = &f.principal {
        let _ = writeln!(md, "- **Principal:** {}", code(principal));
    }
    if let Some(credential) = f.credential {
        let _ = writeln!(md, "- **Credential:** {}", code(credential.as_str()));
    }
    if f.is_public {
        let _ = writeln!(md, "- **Public:** yes");
    }
    if !f.actions.is_empty() {
        let _ = writeln!(md, "- **Actions:** {}", f.actions.iter().map(|a| code(a)).collect::<Vec<_>>().join(", "));
    }
    if !f.conditions.is_empty() {
        let _ = writeln!(md, "- **Conditions:**");
        for c in &f.conditions {
            let values = c.values.iter().map(|v| code(v)).collect::<Vec<_>>().join(", ");
            let class = display::condition_class(c.class);
            let _ = writeln!(md, "  - {} {} {values} ({class})", code(&c.key), text(&c.operator));
        }
    }
    if !f.path.is_empty() {
        let _ = writeln!(md, "- **Path:** {}", f.path.iter().map(|step| code(step)).collect::<Vec<_>>().join(" → "));
    }
    if let Some(owner) = &f.owner {
        let _ = writeln!(md, "- **Owner:** {}", text(owner));
    }
    if let Some(due) = f.due {
        let _ = writeln!(md, "- **Due:** {due}");
    }
    let _ = writeln!(md, "- **First seen:** {}", display::time(&f.first_seen));
    let _ = writeln!(md, "- **Last seen:** {}\n", display::time(&f.last_seen));
    let _ = writeln!(md, "{}\n", text(&f.explanation));
    if !f.evidence.is_empty() {
        let _ = writeln!(md, "Evidence:\n");
        for e in &f.evidence {
            let sid = e.sid.as_deref().map(|sid| format!(" ({})", code(sid))).unwrap_or_default();
            let _ = writeln!(md, "- {} statement {}{sid}", code(&e.policy), e.statement);
        }
        md.push('\n');
    }
}

fn capitalized(severity: Severity) -> String {
    let name = severity.as_str();
    name[..1].to_uppercase() + &name[1..]
}

/// Untrusted text as literal Markdown text on one line: every character
/// that could start a link, emphasis, code, HTML, an entity or a table cell
/// is backslash-escaped, and a leading character that could start a block
/// (heading, list, quote) too.
fn text(s: &str) -> String {
    let s = display::inert(s);
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.chars().enumerate() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '&' | '~' | '!' | '{' | '}')
            || (i == 0 && matches!(c, '#' | '+' | '-' | '='))
        {
            out.push('\\');
        }
        out.push(c);
    }
    escape_ordered_list_start(out)
}

/// `1. text` and `1) text` at the start of a paragraph make a list; escaping
/// the `.` or `)` after the leading digits keeps it text.
fn escape_ordered_list_start(s: String) -> String {
    let digits = s.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && matches!(s[digits..].chars().next(), Some('.' | ')')) {
        format!("{}\\{}", &s[..digits], &s[digits..])
    } else {
        s
    }
}

/// A code span that holds any text literally: the fence is one backtick
/// longer than the longest run of backticks inside, with a space of padding
/// where the text starts or ends with a backtick.
fn code(s: &str) -> String {
    let s = display::inert(s);
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') || s.is_empty() { " " } else { "" };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// A code span in a table cell: GitHub splits cells on `|` even inside code
/// spans, and `\|` there renders as `|`.
fn code_cell(s: &str) -> String {
    code(s).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_add_markup() {
        assert_eq!(text("<img src=x>"), "\\<img src=x\\>");
        assert_eq!(text("[a](javascript:x)"), "\\[a\\](javascript:x)");
        assert_eq!(text("# title\nnext"), "\\# title next");
        assert_eq!(text("1. item"), "1\\. item");
        assert_eq!(text("a | b"), "a \\| b");
    }

    #[test]
    fn code_spans_survive_backticks() {
        assert_eq!(code("plain"), "`plain`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert_eq!(code_cell("a|b"), "`a\\|b`");
    }
}
