//! systemd's notify protocol, the few lines of it a service needs: one
//! datagram per state change (`READY=1`, `STOPPING=1`, `WATCHDOG=1`,
//! `STATUS=...`) to the socket named by `$NOTIFY_SOCKET`, a path or, with a
//! leading `@`, a name in Linux's abstract namespace. Without the variable
//! (not started by systemd) every call does nothing.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// Where notifications go, if anywhere.
#[derive(Debug)]
pub struct SdNotify {
    target: Option<(UnixDatagram, SocketAddr)>,
    watchdog: Option<Duration>,
}

impl SdNotify {
    /// From `$NOTIFY_SOCKET`, `$WATCHDOG_USEC` and `$WATCHDOG_PID`.
    pub fn from_env() -> SdNotify {
        let socket = std::env::var_os("NOTIFY_SOCKET");
        let watchdog_usec = std::env::var("WATCHDOG_USEC").ok();
        let watchdog_pid = std::env::var("WATCHDOG_PID").ok();
        let target = match socket.as_deref().map(socket_address).transpose() {
            // Non-blocking: a manager that stops reading must not stall the daemon's loop.
            Ok(address) => address.and_then(|address| match UnixDatagram::unbound().and_then(nonblocking) {
                Ok(socket) => Some((socket, address)),
                Err(error) => {
                    tracing::warn!(%error, "cannot create the systemd notify socket; notifications are off");
                    None
                }
            }),
            Err(error) => {
                tracing::warn!(%error, "NOTIFY_SOCKET is unusable; notifications are off");
                None
            }
        };
        SdNotify { target, watchdog: watchdog_interval(watchdog_usec.as_deref(), watchdog_pid.as_deref()) }
    }

    /// How often to send `WATCHDOG=1`: half of systemd's `WatchdogSec`, when it is set for this process.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog
    }

    /// Sends one notification (newline-separated `KEY=value` lines). A
    /// failure is logged: systemd not hearing from us must not stop the daemon.
    pub fn notify(&self, state: &str) {
        if let Some((socket, address)) = &self.target {
            if let Err(error) = socket.send_to_addr(state.as_bytes(), address) {
                tracing::warn!(%error, state, "cannot notify systemd");
            }
        }
    }
}

fn nonblocking(socket: UnixDatagram) -> io::Result<UnixDatagram> {
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// The address `$NOTIFY_SOCKET` names: `/path` or `@abstract-name`.
fn socket_address(value: &OsStr) -> io::Result<SocketAddr> {
    let bytes = value.as_bytes();
    match bytes.first() {
        Some(b'@') => abstract_address(&bytes[1..]),
        Some(b'/') => SocketAddr::from_pathname(value),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{value:?} is neither an absolute path nor an @abstract name"),
        )),
    }
}

#[cfg(target_os = "linux")]
fn abstract_address(name: &[u8]) -> io::Result<SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name)
}

#[cfg(not(target_os = "linux"))]
fn abstract_address(_name: &[u8]) -> io::Result<SocketAddr> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "abstract socket names exist only on Linux"))
}

/// Half the watchdog timeout, if one is set for this process (systemd sets
/// `WATCHDOG_PID` to the main process; a child that inherited it must not ping).
fn watchdog_interval(usec: Option<&str>, pid: Option<&str>) -> Option<Duration> {
    if pid.is_some_and(|pid| pid.trim().parse::<u32>().ok() != Some(std::process::id())) {
        return None;
    }
    let usec: u64 = usec?.trim().parse().ok().filter(|usec| *usec > 0)?;
    Some(Duration::from_micros(usec / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifies_a_path_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let listener = UnixDatagram::bind(&path).unwrap();
        let notify = SdNotify {
            target: Some((UnixDatagram::unbound().unwrap(), socket_address(path.as_os_str()).unwrap())),
            watchdog: None,
        };
        notify.notify("READY=1\nSTATUS=idle");
        let mut buffer = [0u8; 64];
        let n = listener.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..n], b"READY=1\nSTATUS=idle");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn notifies_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("trustwarden-test-{}", std::process::id());
        let listener = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap()).unwrap();
        let address = socket_address(OsStr::new(&format!("@{name}"))).unwrap();
        let notify = SdNotify { target: Some((UnixDatagram::unbound().unwrap(), address)), watchdog: None };
        notify.notify("STOPPING=1");
        let mut buffer = [0u8; 16];
        let n = listener.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..n], b"STOPPING=1");
    }

    #[test]
    fn rejects_other_addresses_and_reads_the_watchdog() {
        assert!(socket_address(OsStr::new("relative/path")).is_err());
        assert!(socket_address(OsStr::new("")).is_err());
        let me = std::process::id().to_string();
        assert_eq!(watchdog_interval(Some("2000000"), None), Some(Duration::from_secs(1)));
        assert_eq!(watchdog_interval(Some("2000000"), Some(&me)), Some(Duration::from_secs(1)));
        assert_eq!(watchdog_interval(Some("2000000"), Some("1")), None);
        assert_eq!(watchdog_interval(Some("0"), None), None);
        assert_eq!(watchdog_interval(None, None), None);
    }
}
