//! A real SMTP server for tests: aiosmtpd (from the test virtualenv) on a
//! loopback port, writing each message it accepts to a directory as JSON
//! (see smtp_sink.py). Stopped when dropped.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{repo_path, venv};

/// One message as the server received it.
#[derive(Clone, Debug, Deserialize)]
pub struct ReceivedMail {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub message_id: String,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
    pub tls: bool,
}

/// A free loopback port (free again once the probe listener is dropped).
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr()).expect("pick a free port").port()
}

/// aiosmtpd on 127.0.0.1.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl SmtpSink {
    /// A plain SMTP server on a free port, writing to `dir`.
    pub fn start(dir: &Path) -> SmtpSink {
        SmtpSink::start_on(free_port(), dir)
    }

    /// A plain SMTP server on `port` (a test that first leaves the port
    /// closed, to play a relay that is down, starts it here later).
    pub fn start_on(port: u16, dir: &Path) -> SmtpSink {
        SmtpSink::spawn(port, dir, &[])
    }

    /// A server that requires STARTTLS with this certificate and key (PEM files).
    pub fn start_tls(dir: &Path, cert: &Path, key: &Path) -> SmtpSink {
        let (cert, key) = (cert.to_string_lossy().into_owned(), key.to_string_lossy().into_owned());
        SmtpSink::spawn(free_port(), dir, &["--starttls", &cert, &key])
    }

    fn spawn(port: u16, dir: &Path, extra: &[&str]) -> SmtpSink {
        let mut child = Command::new(venv().join("bin/python"))
            .arg(repo_path("tests/support/smtp_sink.py"))
            .arg(port.to_string())
            .arg(dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start smtp_sink.py");
        let stdout = child.stdout.take().expect("smtp_sink.py stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read from smtp_sink.py");
        assert_eq!(line.trim(), "ready", "smtp_sink.py did not start");
        SmtpSink { child, port, dir: dir.to_owned() }
    }

    /// Every message received so far, in the order received.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        received(&self.dir)
    }

    /// Waits until at least `count` messages have arrived, then returns all of them.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let started = Instant::now();
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            assert!(
                started.elapsed() < timeout,
                "{} of {count} messages arrived within {timeout:?}: {messages:#?}",
                messages.len()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The messages in a sink directory (also after the sink stopped).
pub fn received(dir: &Path) -> Vec<ReceivedMail> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("read sink directory").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| serde_json::from_slice(&std::fs::read(path).expect("read message")).expect("message JSON"))
        .collect()
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A throwaway CA and a certificate for localhost / 127.0.0.1 it signed,
/// written to `dir`: returns (CA certificate, server certificate, server key).
pub fn make_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let status = Command::new(venv().join("bin/python"))
        .arg(repo_path("tests/support/make_certs.py"))
        .arg(dir)
        .status()
        .expect("run make_certs.py");
    assert!(status.success(), "make_certs.py failed: {status}");
    (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"))
}
