//! Real components for integration tests: a moto server standing in for AWS,
//! run from the cached virtualenv that scripts/setup-test-env.sh installs,
//! and the seed script that fills it with an organization; an aiosmtpd mail
//! server (`smtp`) and the daemon as a child process (`daemon`).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer};
use trustwarden::policy::Policy;

pub mod daemon;
pub mod smtp;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The virtualenv holding moto and aiosmtpd, installed on first use. The
/// script is the one place the versions are pinned, and it takes a lock, so
/// test binaries running at once install it once.
pub fn venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let output = Command::new("bash")
            .arg(repo_path("scripts/setup-test-env.sh"))
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/setup-test-env.sh");
        assert!(output.status.success(), "scripts/setup-test-env.sh failed: {}", output.status);
        let path = String::from_utf8(output.stdout).expect("virtualenv path is UTF-8");
        PathBuf::from(path.trim())
    })
}

/// A moto server on a free loopback port, stopped when dropped.
pub struct MotoServer {
    child: Child,
    pub endpoint: String,
}

impl MotoServer {
    pub fn start() -> Self {
        // The OS picks the port; it is free again once the listener is dropped.
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .expect("pick a free port")
            .port();
        let child = Command::new(venv().join("bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let mut server = MotoServer { child, endpoint: format!("http://127.0.0.1:{port}") };
        server.wait_until_ready(port);
        server
    }

    fn wait_until_ready(&mut self, port: u16) {
        let started = Instant::now();
        while !answers(port) {
            if let Some(status) = self.child.try_wait().expect("poll moto_server") {
                panic!("moto_server exited during startup: {status}");
            }
            assert!(
                started.elapsed() < STARTUP_TIMEOUT,
                "moto_server did not answer on port {port} within {STARTUP_TIMEOUT:?}"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's process id (tests stop and continue it to play an AWS that hangs).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Environment for an AWS client of this server: endpoint, region and
    /// credentials, with the machine's own AWS configuration shut out.
    pub fn client_env(&self, access_key_id: &str, secret_access_key: &str) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", access_key_id.into()),
            ("AWS_SECRET_ACCESS_KEY", secret_access_key.into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_CONFIG_FILE", "/nonexistent/aws-config".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials".into()),
        ]
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether moto answers HTTP yet: a listening socket alone is not enough.
fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let request = "GET /moto-api/data.json HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    let mut status = [0; 12];
    stream.set_read_timeout(Some(Duration::from_secs(5))).is_ok()
        && stream.write_all(request.as_bytes()).is_ok()
        && stream.read_exact(&mut status).is_ok()
        && status.ends_with(b" 200")
}

/// What tests/support/seed_org.py created, as the collector should see it.
#[derive(Debug, Deserialize)]
pub struct SeededOrganization {
    pub organization_id: String,
    pub management_account: String,
    pub auditor: Auditor,
    pub accounts: BTreeMap<String, SeededAccount>,
    /// Accounts with the audit role, which collection must read.
    pub audited: Vec<String>,
    pub without_audit_role: String,
    pub suspended: String,
}

/// The IAM user that collection runs as.
#[derive(Debug, Deserialize)]
pub struct Auditor {
    pub access_key_id: String,
    pub secret_access_key: String,
}

#[derive(Debug, PartialEq, Deserialize)]
pub struct SeededAccount {
    pub name: String,
    pub alias: Option<String>,
    pub users: BTreeMap<String, SeededUser>,
    pub groups: BTreeMap<String, SeededGroup>,
    pub roles: BTreeMap<String, SeededRole>,
    pub managed_policies: Vec<String>,
    pub password_policy_min_length: Option<u32>,
    pub oidc_providers: Vec<SeededOidcProvider>,
    pub saml_providers: Vec<String>,
}

#[derive(Debug, PartialEq, Deserialize)]
pub struct SeededUser {
    pub groups: Vec<String>,
    pub inline_policies: Vec<String>,
    pub attached_policies: Vec<String>,
    pub permissions_boundary: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub access_keys_active: Vec<bool>,
    pub password_enabled: bool,
}

#[derive(Debug, PartialEq, Deserialize)]
pub struct SeededGroup {
    pub inline_policies: Vec<String>,
    pub attached_policies: Vec<String>,
}

#[derive(Debug, PartialEq, Deserialize)]
pub struct SeededRole {
    #[serde(deserialize_with = "policy")]
    pub trust_policy: Policy,
    pub inline_policies: Vec<String>,
    pub attached_policies: Vec<String>,
    pub permissions_boundary: Option<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, PartialEq, Deserialize)]
pub struct SeededOidcProvider {
    pub arn: String,
    pub url: String,
    pub client_ids: Vec<String>,
}

fn policy<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Policy, D::Error> {
    let document = serde_json::Value::deserialize(deserializer)?;
    Policy::from_value(&document).map_err(serde::de::Error::custom)
}

/// Seeds the organization (see the script's docstring) and switches moto's
/// IAM authorization on.
pub fn seed_organization(server: &MotoServer) -> SeededOrganization {
    let output = Command::new(venv().join("bin/python"))
        .arg(repo_path("tests/support/seed_org.py"))
        .arg(&server.endpoint)
        .stderr(Stdio::inherit())
        .output()
        .expect("run seed_org.py");
    assert!(output.status.success(), "seed_org.py failed: {}", output.status);
    serde_json::from_slice(&output.stdout).expect("seed_org.py prints its organization as JSON")
}
