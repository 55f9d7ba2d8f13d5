//! The HTML report as a person sees it: headless Chromium (Debian's
//! `chromium`, installed with apt-get when missing) loads the rendered
//! fixture from a file, takes a screenshot and dumps the DOM after the
//! page's script ran. The checks: the script drew one row per finding
//! (so the CSP hash matches and the JS has no error), the chain opened by
//! `#finding=` is drawn as boxes, hostile IAM text is text, and the
//! screenshot is a real picture. The screenshot is kept at
//! `$CARGO_TARGET_TMPDIR/report-html/report.png` for a person to look at.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use trustwarden::report::{Format, Report, render_to_string};

const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(120);
const CHAIN_FINDING: &str = "tw-1b2c3d4e5f60718293a4";

fn fixture() -> Report {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report/report.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("read report fixture")).expect("fixture is a Report")
}

fn chromium_works() -> bool {
    Command::new("chromium")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Debian's `chromium`, installed on first use. CI runs as root on Debian;
/// anywhere else the test says what is missing instead of passing quietly.
fn ensure_chromium() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        if chromium_works() {
            return;
        }
        let uid = Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
        assert!(
            uid.is_ok_and(|uid| uid == "0"),
            "chromium is not installed and this test is not root, so it cannot apt-get install it; \
             install Debian's `chromium` package (apt-get install -y chromium) and run again"
        );
        assert!(
            Command::new("apt-get").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success()),
            "chromium is not installed and apt-get is not available; install Debian's `chromium` package"
        );
        for args in [&["update"][..], &["install", "-y", "--no-install-recommends", "chromium"][..]] {
            let status = Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdout(Stdio::null())
                .status()
                .expect("run apt-get");
            assert!(status.success(), "apt-get {} failed: {status}", args.join(" "));
        }
        assert!(chromium_works(), "chromium still does not run after apt-get install chromium");
    });
}

/// Run headless Chromium on `url` with `extra` arguments, in a fresh
/// profile, with no network chatter; kill it if it hangs.
fn chromium(url: &str, extra: &[String], profile: &Path) -> Output {
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--no-first-run",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--window-size=1400,1800",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    // Drain the pipes while waiting so a chatty Chromium cannot block.
    let stdout = child.stdout.take().map(|mut s| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = std::io::Read::read_to_end(&mut s, &mut buf);
            buf
        })
    });
    let stderr = child.stderr.take().map(|mut s| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = std::io::Read::read_to_end(&mut s, &mut buf);
            buf
        })
    });
    let deadline = Instant::now() + CHROMIUM_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {CHROMIUM_TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(100));
    };
    let join = |h: Option<thread::JoinHandle<Vec<u8>>>| h.map(|h| h.join().unwrap_or_default()).unwrap_or_default();
    Output { status, stdout: join(stdout), stderr: join(stderr) }
}

struct Page {
    dir: tempfile::TempDir,
    url: String,
}

fn rendered_page() -> Page {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("report.html");
    std::fs::write(&path, render_to_string(&fixture(), Format::Html).expect("render HTML")).expect("write report.html");
    let url = format!("file://{}#finding={CHAIN_FINDING}", path.display());
    Page { dir, url }
}

fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-html");
    std::fs::create_dir_all(&dir).expect("create screenshot dir");
    dir
}

#[test]
fn chromium_draws_the_report() {
    ensure_chromium();
    let page = rendered_page();
    std::fs::copy(page.dir.path().join("report.html"), screenshot_dir().join("report.html")).expect("keep report.html");

    // The DOM after the script ran.
    let profile = tempfile::tempdir().expect("profile dir");
    let out = chromium(&page.url, &["--dump-dom".to_owned()], profile.path());
    assert!(out.status.success(), "chromium --dump-dom failed: {}", String::from_utf8_lossy(&out.stderr));
    let dom = String::from_utf8_lossy(&out.stdout);
    std::fs::write(screenshot_dir().join("report.dom.html"), dom.as_bytes()).expect("keep DOM");

    if let Some(at) = dom.find("id=\"report-error\"") {
        panic!("the page's script failed: {}", &dom[at..dom.len().min(at + 300)]);
    }
    let report = fixture();
    let rows = dom.matches("<tr class=\"finding-row").count();
    assert_eq!(rows, report.findings.len(), "the script drew one row per finding");
    for finding in &report.findings {
        assert!(dom.contains(&format!("data-finding-id=\"{}\"", finding.id)), "no row for {}", finding.id);
    }
    // `#finding=` opened the chain, drawn as boxes from the outside principal.
    assert!(dom.contains("class=\"finding-row status-active open\""), "the linked finding is open");
    assert_eq!(dom.matches("class=\"node").count(), 4, "four path boxes for the four-step chain");
    assert!(dom.contains("class=\"node outside\""));
    assert!(dom.contains("class=\"node target\""));
    assert!(dom.contains("privileged target"));
    // Counts drawn: the severity cards and both bar panels.
    assert!(dom.contains("Findings by account") && dom.contains("Findings by rule"));
    assert_eq!(dom.matches("<button class=\"sev-card").count(), 6, "five severity cards and a total");
    assert!(dom.contains("Showing 9 of 9"));
    // Hostile IAM text is shown as text, never parsed as markup.
    assert!(!dom.contains("<img src=\"x\"") && !dom.contains("<img src=x"), "owner tag became an <img> element");
    assert!(dom.contains("&lt;img src=x onerror=alert(1)&gt;"), "owner tag shown as text");
    assert!(!dom.contains("<script>alert("), "tag value became a script element");

    // Filters, set from the URL as a link from an email would.
    for (fragment, expected) in [
        ("severity=critical&status=active", 2),
        ("account=222222222222", 4),
        ("q=github", 1),
        ("rule=external-access&q=vendor-7f3a", 1),
        ("status=resolved", 1),
        ("q=no-such-thing", 0),
    ] {
        let url = format!("{}#{fragment}", page.url.split_once('#').map_or(page.url.as_str(), |(base, _)| base));
        let profile = tempfile::tempdir().expect("profile dir");
        let out = chromium(&url, &["--dump-dom".to_owned()], profile.path());
        let dom = String::from_utf8_lossy(&out.stdout);
        assert_eq!(dom.matches("<tr class=\"finding-row").count(), expected, "rows shown for #{fragment}");
        assert!(dom.contains(&format!("Showing {expected} of 9")), "#{fragment}");
    }

    // The screenshot.
    let png = page.dir.path().join("report.png");
    let profile = tempfile::tempdir().expect("profile dir");
    let out = chromium(&page.url, &[format!("--screenshot={}", png.display())], profile.path());
    assert!(out.status.success(), "chromium --screenshot failed: {}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&png).expect("chromium wrote the screenshot");
    std::fs::write(screenshot_dir().join("report.png"), &bytes).expect("keep screenshot");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "screenshot is a PNG");
    let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    let height = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    assert_eq!((width, height), (1400, 1800), "screenshot size");
    // A blank or unstyled page compresses to a few KB; the drawn dashboard
    // (cards, bars, table, text) does not.
    assert!(bytes.len() > 60_000, "screenshot is only {} bytes: a blank page?", bytes.len());
}
