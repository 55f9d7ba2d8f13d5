//! The SMTP side: a lettre transport built from `[notify.smtp]` (STARTTLS,
//! implicit TLS, or plain to a relay on this machine), the password read
//! from the environment or a credentials file and never printed, and one
//! queued message turned into a MIME message with its stable Message-ID.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{NotifyError, parse_mailbox};
use crate::config::{NotifyConfig, SmtpConfig, SmtpSecurity};
use crate::store::OutboxMessage;

/// A secret string: its Debug and Display say only that it is there.
#[derive(Clone, PartialEq, Eq)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Where the password comes from: `password_env`, or `password_file`
/// (relative names under `credentials_directory`, systemd's
/// `$CREDENTIALS_DIRECTORY`, when there is one).
fn read_password(smtp: &SmtpConfig, credentials_directory: Option<&Path>) -> Result<Option<Secret>, NotifyError> {
    if let Some(name) = &smtp.password_env {
        return match std::env::var(name) {
            Ok(value) if !value.is_empty() => Ok(Some(Secret(value))),
            Ok(_) => Err(NotifyError::Credentials(format!("environment variable {name} is empty"))),
            Err(_) => Err(NotifyError::Credentials(format!("environment variable {name} is not set"))),
        };
    }
    let Some(file) = &smtp.password_file else {
        return Ok(None);
    };
    let path: PathBuf = match credentials_directory {
        Some(dir) if file.is_relative() => dir.join(file),
        _ => file.clone(),
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| NotifyError::Credentials(format!("cannot read {}: {e}", path.display())))?;
    // A trailing newline is how editors and `echo` leave files; it is never part of a password.
    let password = text.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err(NotifyError::Credentials(format!("{} is empty", path.display())));
    }
    Ok(Some(Secret(password.to_owned())))
}

/// How sending one message failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendFailure {
    /// The relay refused it for good (5xx), or it can never be sent (a bad
    /// recipient address): retrying will not help.
    Permanent,
    /// The relay answered 4xx for this message: try it again later.
    Transient,
    /// No answer from the relay (down, unreachable, TLS failed, timed out):
    /// no other message will fare better right now.
    Unreachable,
}

/// Why one message was not sent.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub failure: SendFailure,
    pub message: String,
}

/// Sends outbox messages through the configured relay.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    relay: String,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The transport holds the credentials: it is left out.
        f.debug_struct("Mailer").field("relay", &self.relay).field("from", &self.from.to_string()).finish()
    }
}

impl Mailer {
    /// A mailer for `[notify]`, reading the password as configured. Fails when
    /// notification is off, an address is invalid, or the password cannot be
    /// read. Call it within a tokio runtime: the connection pool runs there.
    pub fn new(config: &NotifyConfig) -> Result<Mailer, NotifyError> {
        let credentials_directory = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
        Mailer::with_credentials_directory(config, credentials_directory.as_deref())
    }

    fn with_credentials_directory(
        config: &NotifyConfig,
        credentials_directory: Option<&Path>,
    ) -> Result<Mailer, NotifyError> {
        let from = config.from.as_deref().ok_or(NotifyError::Disabled)?;
        let from =
            parse_mailbox(from).map_err(|message| NotifyError::Address { field: "notify.from".into(), message })?;
        let smtp = &config.smtp;
        let relay = format!("{}:{}", smtp.host, smtp.port());
        let relay_error = |message: String| NotifyError::Relay { host: relay.clone(), message };
        let tls = match smtp.security {
            SmtpSecurity::Plain => Tls::None,
            SmtpSecurity::Starttls | SmtpSecurity::Tls => {
                let mut parameters = TlsParameters::builder(smtp.host.clone());
                if let Some(ca_file) = &smtp.ca_file {
                    let pem = std::fs::read(ca_file)
                        .map_err(|e| relay_error(format!("cannot read ca_file {}: {e}", ca_file.display())))?;
                    let certificate = Certificate::from_pem(&pem)
                        .map_err(|e| relay_error(format!("ca_file {}: {e}", ca_file.display())))?;
                    parameters = parameters.add_root_certificate(certificate);
                }
                let parameters = parameters.build().map_err(|e| relay_error(format!("TLS setup: {e}")))?;
                if smtp.security == SmtpSecurity::Tls { Tls::Wrapper(parameters) } else { Tls::Required(parameters) }
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone())
            .port(smtp.port())
            .tls(tls)
            .timeout(Some(Duration::from_secs(smtp.timeout_secs)));
        if let (Some(username), Some(password)) = (&smtp.username, read_password(smtp, credentials_directory)?) {
            builder = builder.credentials(Credentials::new(username.clone(), password.0));
        }
        Ok(Mailer { transport: builder.build(), from, relay })
    }

    /// Sends one queued message as it was queued (same Message-ID and Date).
    pub async fn send(&self, message: &OutboxMessage) -> Result<(), SendError> {
        let email = self.build(message)?;
        self.transport.send(email).await.map(|_| ()).map_err(|error| SendError {
            failure: if error.is_permanent() {
                SendFailure::Permanent
            } else if error.is_transient() {
                SendFailure::Transient
            } else {
                SendFailure::Unreachable
            },
            message: format!("{}: {error}", self.relay),
        })
    }

    fn build(&self, message: &OutboxMessage) -> Result<Message, SendError> {
        let permanent = |message: String| SendError { failure: SendFailure::Permanent, message };
        let to = parse_mailbox(&message.recipient).map_err(permanent)?;
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .message_id(Some(message.message_id.clone()))
            .date(SystemTime::from(message.created))
            .user_agent(format!("trustwarden/{}", env!("CARGO_PKG_VERSION")));
        let built = match &message.body_html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(message.body_text.clone(), html.clone())),
            None => builder
                .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(message.body_text.clone())),
        };
        built.map_err(|e| permanent(format!("cannot build message {}: {e}", message.message_id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smtp(password_env: Option<&str>, password_file: Option<&str>) -> SmtpConfig {
        SmtpConfig {
            username: Some("trustwarden".into()),
            password_env: password_env.map(str::to_owned),
            password_file: password_file.map(PathBuf::from),
            ..SmtpConfig::default()
        }
    }

    #[test]
    fn passwords_come_from_a_credentials_file_and_are_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("smtp-password"), "hunter2\n").unwrap();
        let secret = read_password(&smtp(None, Some("smtp-password")), Some(dir.path())).unwrap().unwrap();
        assert_eq!(secret.0, "hunter2");
        assert!(!format!("{secret:?}").contains("hunter2"));
        let missing = read_password(&smtp(None, Some("nope")), Some(dir.path())).unwrap_err().to_string();
        assert!(missing.contains("nope"), "{missing}");
        let unset = read_password(&smtp(Some("TRUSTWARDEN_TEST_UNSET_PASSWORD_VAR"), None), None).unwrap_err();
        assert!(unset.to_string().contains("TRUSTWARDEN_TEST_UNSET_PASSWORD_VAR"), "{unset}");
        assert!(read_password(&SmtpConfig::default(), None).unwrap().is_none());
    }

    // The transport's connection pool lives on the tokio runtime.
    #[tokio::test]
    async fn a_mailer_does_not_print_its_password() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "correct horse battery staple").unwrap();
        let config = NotifyConfig {
            from: Some("trustwarden@example.com".into()),
            smtp: SmtpConfig { security: SmtpSecurity::Plain, ..smtp(None, Some("pw")) },
            ..NotifyConfig::default()
        };
        let mailer = Mailer::with_credentials_directory(&config, Some(dir.path())).unwrap();
        let debug = format!("{mailer:?} {config:?}");
        assert!(!debug.contains("correct horse"), "{debug}");
    }
}
