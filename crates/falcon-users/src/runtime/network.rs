//! What a transport failure was, read from the chain of causes under a `reqwest::Error`: its
//! own message ("error sending request") names neither the host nor the reason.

use std::error::Error as StdError;
use std::io;

use url::Url;

use crate::error::NetworkProblem;

/// `host:port` of `url` (the port the scheme implies when the URL names none).
pub(crate) fn host_port(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// The innermost cause that says what went wrong, walking `err` and its sources. An
/// `io::Error` wrapping another error (as rustls' are wrapped) is looked into, which
/// `source()` alone skips.
pub(crate) fn problem_of(err: &(dyn StdError + 'static)) -> NetworkProblem {
    let mut dns = false;
    let mut innermost = err.to_string();
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return tls_problem(tls);
        }
        let message = e.to_string();
        // hyper-util's connector says so for a failed lookup; the cause below is the resolver's.
        dns |= message.starts_with("dns error");
        if !message.is_empty() {
            innermost = message;
        }
        current = match e.downcast_ref::<io::Error>() {
            Some(io) => {
                match io.kind() {
                    io::ErrorKind::ConnectionRefused => return NetworkProblem::Refused,
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
                        return NetworkProblem::Reset;
                    }
                    io::ErrorKind::TimedOut => return NetworkProblem::TimedOut,
                    _ => {}
                }
                match io.get_ref() {
                    Some(inner) => Some(inner as &(dyn StdError + 'static)),
                    None => e.source(),
                }
            }
            None => e.source(),
        };
    }
    if dns {
        NetworkProblem::Dns(innermost)
    } else {
        NetworkProblem::Other(innermost)
    }
}

fn tls_problem(err: &rustls::Error) -> NetworkProblem {
    match err {
        rustls::Error::InvalidCertificate(_) => NetworkProblem::Certificate(err.to_string()),
        // Bytes that are no TLS record: most often an HTTP answer to the ClientHello.
        rustls::Error::InvalidMessage(_) => NetworkProblem::NotTls,
        other => NetworkProblem::Tls(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error with a message and a cause, as the connectors wrap theirs.
    #[derive(Debug)]
    struct Wrapped(&'static str, Box<dyn StdError + Send + Sync>);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl StdError for Wrapped {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(self.1.as_ref())
        }
    }

    fn wrapped(message: &'static str, cause: impl StdError + Send + Sync + 'static) -> Wrapped {
        Wrapped(message, Box::new(cause))
    }

    #[test]
    fn the_root_cause_is_named() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        let bad_cert = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let cases: Vec<(Box<dyn StdError>, NetworkProblem)> = vec![
            (
                Box::new(wrapped(
                    "error sending request",
                    wrapped("tcp connect error", refused),
                )),
                NetworkProblem::Refused,
            ),
            (
                Box::new(wrapped(
                    "error sending request",
                    io::Error::from(io::ErrorKind::ConnectionReset),
                )),
                NetworkProblem::Reset,
            ),
            (
                Box::new(io::Error::from(io::ErrorKind::TimedOut)),
                NetworkProblem::TimedOut,
            ),
            (
                Box::new(wrapped(
                    "error sending request",
                    wrapped(
                        "dns error",
                        io::Error::other("failed to lookup address information"),
                    ),
                )),
                NetworkProblem::Dns("failed to lookup address information".into()),
            ),
            (
                // rustls' errors come wrapped in an io::Error, whose source() skips them.
                Box::new(wrapped(
                    "error sending request",
                    io::Error::new(io::ErrorKind::InvalidData, bad_cert.clone()),
                )),
                NetworkProblem::Certificate(bad_cert.to_string()),
            ),
            (
                Box::new(io::Error::new(
                    io::ErrorKind::InvalidData,
                    rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
                )),
                NetworkProblem::NotTls,
            ),
            (
                Box::new(io::Error::new(
                    io::ErrorKind::InvalidData,
                    rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure),
                )),
                NetworkProblem::Tls(
                    rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure)
                        .to_string(),
                ),
            ),
            (
                Box::new(wrapped(
                    "error sending request",
                    wrapped(
                        "connection closed before message completed",
                        io::Error::other(""),
                    ),
                )),
                NetworkProblem::Other("connection closed before message completed".into()),
            ),
        ];
        for (err, want) in cases {
            assert_eq!(problem_of(err.as_ref()), want, "{err:?}");
        }
    }

    #[test]
    fn hosts_carry_their_port() {
        let cases = [
            ("https://api.crowdstrike.com/", "api.crowdstrike.com:443"),
            ("http://127.0.0.1:8080/x", "127.0.0.1:8080"),
            ("http://[::1]:9/", "[::1]:9"),
        ];
        for (url, want) in cases {
            let url = Url::parse(url).expect("a URL");
            assert_eq!(host_port(&url).as_deref(), Some(want));
        }
    }
}
