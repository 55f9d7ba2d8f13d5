//! `trustwarden daemon` as a child process: its log (stderr) collected line
//! by line for tests to wait on, signals sent with kill(1), killed if a test
//! leaves it running.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A running daemon.
pub struct Daemon {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Daemon {
    /// Starts `trustwarden daemon --config CONFIG` with `env` added to a
    /// clean-ish environment (no AWS settings from the machine).
    pub fn start(config: &Path, env: &[(&str, String)]) -> Daemon {
        let mut command = Command::new(env!("CARGO_BIN_EXE_trustwarden"));
        command
            .args(["daemon", "--config"])
            .arg(config)
            .env("RUST_LOG", "warn,trustwarden=debug")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start trustwarden daemon");
        let stderr = child.stderr.take().expect("daemon stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&log);
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                eprintln!("daemon: {line}");
                lines.lock().expect("log lock").push(line);
            }
        });
        Daemon { child, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The log so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().expect("log lock").clone()
    }

    /// How many log lines contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.log().iter().filter(|line| line.contains(needle)).count()
    }

    /// Waits until `count` log lines contain `needle`.
    pub fn wait_for(&mut self, needle: &str, count: usize, timeout: Duration) {
        let started = Instant::now();
        while self.count(needle) < count {
            if let Some(status) = self.child.try_wait().expect("poll daemon") {
                panic!("daemon exited ({status}) before logging {needle:?} {count} times:\n{}", self.log().join("\n"));
            }
            assert!(
                started.elapsed() < timeout,
                "daemon did not log {needle:?} {count} times within {timeout:?}:\n{}",
                self.log().join("\n")
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends a signal by name (`TERM`, `HUP`, ...).
    pub fn signal(&self, name: &str) {
        signal(self.pid(), name);
    }

    /// Waits for the daemon to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("poll daemon") {
                // Let the reader thread take the last lines.
                thread::sleep(Duration::from_millis(100));
                return status;
            }
            assert!(started.elapsed() < timeout, "daemon still running after {timeout:?}:\n{}", self.log().join("\n"));
            thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Sends signal `name` to process `pid` with kill(1).
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill").args(["-s", name, &pid.to_string()]).status().expect("run kill");
    assert!(status.success(), "kill -s {name} {pid} failed");
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
