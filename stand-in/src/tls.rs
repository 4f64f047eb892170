//! An https front for the stand-in, as a TLS-inspecting proxy or a private CA presents
//! it: a CA of its own, a certificate for 127.0.0.1 signed by it, and a relay that ends
//! TLS and passes each request to the plain stand-in.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A request or response is a few KiB here; this bounds a broken peer.
const MAX_MESSAGE: usize = 1 << 20;

pub struct TlsFront {
    url: String,
    /// The private CA's certificate: trusted only by whoever is given it.
    pub ca_pem: String,
}

/// A private CA, and a certificate for 127.0.0.1 and localhost that it signed, with its key:
/// what a server on loopback presents to a client told to trust that CA alone.
pub struct LoopbackCertificate {
    pub ca_pem: String,
    pub certificate_pem: String,
    pub key_pem: String,
    certificate_der: Vec<u8>,
    key_der: Vec<u8>,
}

impl LoopbackCertificate {
    pub fn new() -> std::io::Result<LoopbackCertificate> {
        let ca_key = rcgen::KeyPair::generate().map_err(std::io::Error::other)?;
        let mut ca_params =
            rcgen::CertificateParams::new(Vec::<String>::new()).map_err(std::io::Error::other)?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "sfcred tests private CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).map_err(std::io::Error::other)?;
        let key = rcgen::KeyPair::generate().map_err(std::io::Error::other)?;
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .map_err(std::io::Error::other)?;
        let certificate = params.signed_by(&key, &ca).map_err(std::io::Error::other)?;
        Ok(LoopbackCertificate {
            ca_pem: ca.pem(),
            certificate_pem: certificate.pem(),
            key_pem: key.serialize_pem(),
            certificate_der: certificate.der().to_vec(),
            key_der: key.serialize_der(),
        })
    }
}

impl TlsFront {
    /// Relays `https://127.0.0.1:PORT` to `backend` (the stand-in's `http://` URL).
    pub fn start(backend: &str) -> std::io::Result<TlsFront> {
        let backend = backend.trim_start_matches("http://").to_owned();
        let certificate = LoopbackCertificate::new()?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(certificate.certificate_der)],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certificate.key_der)),
            )
            .map_err(std::io::Error::other)?;
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("https://{}", listener.local_addr()?);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (config, backend) = (config.clone(), backend.clone());
                std::thread::spawn(move || relay(stream, config, &backend));
            }
        });
        Ok(TlsFront { url, ca_pem: certificate.ca_pem })
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Ends TLS on `stream` and relays each request to `backend`, until the client is done
/// (or its handshake fails, which is what an untrusting client does).
fn relay(stream: TcpStream, config: Arc<rustls::ServerConfig>, backend: &str) {
    let Ok(connection) = rustls::ServerConnection::new(config) else { return };
    let mut tls = rustls::StreamOwned::new(connection, stream);
    while let Some(request) = read_message(&mut tls) {
        let Ok(mut upstream) = TcpStream::connect(backend) else { return };
        if upstream.write_all(&request).is_err() {
            return;
        }
        let Some(response) = read_message(&mut upstream) else { return };
        if tls.write_all(&response).and_then(|()| tls.flush()).is_err() {
            return;
        }
    }
}

/// One HTTP/1.1 message: its head, and a body of its Content-Length. `None` at the end
/// of the connection or on anything this relay does not handle.
fn read_message(stream: &mut impl Read) -> Option<Vec<u8>> {
    let mut message = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = message.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk).ok().filter(|&n| n > 0)?;
        message.extend_from_slice(&chunk[..n]);
        if message.len() > MAX_MESSAGE {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&message[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .map_or(Some(0), |value| value.trim().parse().ok())?;
    if length > MAX_MESSAGE {
        return None;
    }
    while message.len() < head_end + length {
        let n = stream.read(&mut chunk).ok().filter(|&n| n > 0)?;
        message.extend_from_slice(&chunk[..n]);
    }
    Some(message)
}
