//! `tls_server_config` of the web config file as a rustls server config,
//! with Go's `client_auth_type` meanings, `client_allowed_sans` and the
//! TLS version bounds. Built when the file is loaded or reloaded, so a bad
//! certificate fails the start or the reload, never a later handshake.

use std::path::Path;
use std::sync::Arc;

use homeostat_auth::{ClientAuthType, TlsServerConfig};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};

/// A built TLS setup: the acceptor for new connections and whether a client
/// certificate it accepts has been verified against the client CA.
#[derive(Clone)]
pub struct Tls {
    pub acceptor: tokio_rustls::TlsAcceptor,
    pub verifies_clients: bool,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("verifies_clients", &self.verifies_clients)
            .finish_non_exhaustive()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the server side of TLS; errors name the field and file.
pub fn build(t: &TlsServerConfig) -> Result<Tls, String> {
    let versions = versions(t)?;
    let certs = pem_certs(
        "tls_server_config.cert_file",
        t.cert_file.as_deref(),
        t.cert.as_deref(),
    )?;
    let key = pem_key(t)?;
    let verifier = client_verifier(t)?;
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_server_config: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| {
            format!(
                "tls_server_config: the certificate ({}) and key ({}) do not make a usable pair: {e}",
                source_name(t.cert_file.as_deref()),
                source_name(t.key_file.as_deref())
            )
        })?;
    // HTTP/2 is not served: the listener speaks HTTP/1.1 only.
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(cfg)),
        verifies_clients: matches!(
            t.client_auth_type,
            ClientAuthType::VerifyClientCertIfGiven | ClientAuthType::RequireAndVerifyClientCert
        ),
    })
}

fn source_name(file: Option<&Path>) -> String {
    file.map_or_else(|| "inline PEM".to_string(), |p| p.display().to_string())
}

fn versions(t: &TlsServerConfig) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    let rank = |field: &str, v: &Option<String>, default: u8| -> Result<u8, String> {
        match v.as_deref() {
            None => Ok(default),
            Some("TLS12") => Ok(12),
            Some("TLS13") => Ok(13),
            Some(old @ ("TLS10" | "TLS11")) => Err(format!(
                "tls_server_config.{field}: {old} is not offered (TLS 1.0 and 1.1 are obsolete and rustls supports only TLS12 and TLS13)"
            )),
            Some(other) => Err(format!(
                "tls_server_config.{field}: unknown TLS version {other:?} (expected TLS12 or TLS13)"
            )),
        }
    };
    let min = rank("min_version", &t.min_version, 12)?;
    let max = rank("max_version", &t.max_version, 13)?;
    if min > max {
        return Err("tls_server_config: min_version is above max_version".into());
    }
    Ok(
        [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (min..=max).contains(v))
            .map(|(_, p)| p)
            .collect(),
    )
}

fn pem_certs(
    field: &str,
    file: Option<&Path>,
    inline: Option<&str>,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let (bytes, name) = pem_bytes(field, file, inline)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{field} {name}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{field} {name}: no PEM certificate in it"));
    }
    Ok(certs)
}

fn pem_key(t: &TlsServerConfig) -> Result<PrivateKeyDer<'static>, String> {
    let field = "tls_server_config.key_file";
    let (bytes, name) = pem_bytes(field, t.key_file.as_deref(), t.key.as_deref())?;
    PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|e| format!("{field} {name}: no usable PEM private key in it ({e})"))
}

fn pem_bytes(
    field: &str,
    file: Option<&Path>,
    inline: Option<&str>,
) -> Result<(Vec<u8>, String), String> {
    match (file, inline) {
        (Some(p), _) => std::fs::read(p)
            .map(|b| (b, p.display().to_string()))
            .map_err(|e| format!("{field} {}: {e}", p.display())),
        (None, Some(text)) => Ok((text.as_bytes().to_vec(), "(inline PEM)".into())),
        (None, None) => Err(format!("{field}: missing")),
    }
}

fn client_verifier(t: &TlsServerConfig) -> Result<Arc<dyn ClientCertVerifier>, String> {
    let algs = provider().signature_verification_algorithms;
    let verifier: Arc<dyn ClientCertVerifier> = match t.client_auth_type {
        ClientAuthType::NoClientCert => {
            if !t.client_allowed_sans.is_empty() {
                return Err("tls_server_config.client_allowed_sans needs a client_auth_type that verifies client certificates".into());
            }
            return Ok(WebPkiClientVerifier::no_client_auth());
        }
        ClientAuthType::RequestClientCert | ClientAuthType::RequireAnyClientCert => {
            if !t.client_allowed_sans.is_empty() {
                return Err("tls_server_config.client_allowed_sans needs a client_auth_type that verifies client certificates (VerifyClientCertIfGiven or RequireAndVerifyClientCert)".into());
            }
            Arc::new(AnyClientCert {
                mandatory: t.client_auth_type == ClientAuthType::RequireAnyClientCert,
                algs,
            })
        }
        ClientAuthType::VerifyClientCertIfGiven | ClientAuthType::RequireAndVerifyClientCert => {
            let field = "tls_server_config.client_ca_file";
            let mut roots = RootCertStore::empty();
            for c in pem_certs(field, t.client_ca_file.as_deref(), t.client_ca.as_deref())? {
                roots
                    .add(c)
                    .map_err(|e| format!("{field}: a CA certificate is unusable: {e}"))?;
            }
            let mut b = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
            if t.client_auth_type == ClientAuthType::VerifyClientCertIfGiven {
                b = b.allow_unauthenticated();
            }
            b.build().map_err(|e| format!("{field}: {e}"))?
        }
    };
    if t.client_allowed_sans.is_empty() {
        return Ok(verifier);
    }
    Ok(Arc::new(AllowedSans {
        inner: verifier,
        allowed: t.client_allowed_sans.clone(),
    }))
}

/// `RequestClientCert` / `RequireAnyClientCert`: any certificate is taken
/// without checking who issued it (Go's meaning), but the client must still
/// prove it holds the certificate's key.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    algs: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// `client_allowed_sans`: after the CA check, the certificate must carry
/// one of the listed DNS or URI subject alternative names.
#[derive(Debug)]
struct AllowedSans {
    inner: Arc<dyn ClientCertVerifier>,
    allowed: Vec<String>,
}

impl ClientCertVerifier for AllowedSans {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let ok = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let cert = webpki::EndEntityCert::try_from(end_entity)
            .map_err(|e| rustls::Error::General(format!("client certificate: {e}")))?;
        let allowed = cert
            .valid_dns_names()
            .chain(cert.valid_uri_names())
            .any(|n| self.allowed.iter().any(|a| a == n));
        if !allowed {
            return Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ));
        }
        Ok(ok)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The name a verified client certificate stands for: its subject common
/// name, else its first DNS subject alternative name.
pub fn client_cert_name(der: &CertificateDer<'_>) -> Option<String> {
    let cert = webpki::EndEntityCert::try_from(der).ok()?;
    common_name(cert.subject()).or_else(|| cert.valid_dns_names().next().map(str::to_string))
}

/// The first CN in a DER `Name` (the contents of its outer SEQUENCE): a
/// sequence of SETs of `SEQUENCE { OID, value }`.
fn common_name(mut name: &[u8]) -> Option<String> {
    const CN: &[u8] = &[0x55, 0x04, 0x03];
    while !name.is_empty() {
        let (tag, set, rest) = tlv(name)?;
        name = rest;
        if tag != 0x31 {
            return None;
        }
        let mut set = set;
        while !set.is_empty() {
            let (tag, atv, rest) = tlv(set)?;
            set = rest;
            if tag != 0x30 {
                return None;
            }
            let (oid_tag, oid, value) = tlv(atv)?;
            if oid_tag != 0x06 || oid != CN {
                continue;
            }
            let (vtag, v, _) = tlv(value)?;
            // UTF8String, PrintableString, IA5String, T61String
            if matches!(vtag, 0x0c | 0x13 | 0x16 | 0x14) {
                return std::str::from_utf8(v).ok().map(str::to_string);
            }
        }
    }
    None
}

/// One DER tag-length-value: (tag, value, the bytes after it).
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (len_bytes, after) = rest.split_at(n);
        rest = after;
        len_bytes
            .iter()
            .fold(0usize, |acc, &x| (acc << 8) | usize::from(x))
    };
    if rest.len() < len {
        return None;
    }
    let (value, after) = rest.split_at(len);
    Some((tag, value, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_refuses_truncated_input() {
        assert_eq!(tlv(&[0x30, 0x02, 0x01]), None);
        assert_eq!(tlv(&[0x30, 0x85, 0, 0, 0, 0, 1]), None);
        assert_eq!(tlv(&[0x30]), None);
        assert_eq!(
            tlv(&[0x30, 0x01, 0xaa, 0xbb]),
            Some((0x30, &[0xaa][..], &[0xbb][..]))
        );
        assert_eq!(common_name(&[0x31, 0x05, 0x30]), None);
    }

    #[test]
    fn old_tls_versions_are_refused_by_name() {
        let t = TlsServerConfig {
            min_version: Some("TLS10".into()),
            ..Default::default()
        };
        let e = versions(&t).unwrap_err();
        assert!(e.contains("min_version") && e.contains("TLS10"), "{e}");
        let t = TlsServerConfig {
            min_version: Some("TLS13".into()),
            max_version: Some("TLS12".into()),
            ..Default::default()
        };
        assert!(versions(&t).is_err());
        let t = TlsServerConfig {
            min_version: Some("TLS13".into()),
            ..Default::default()
        };
        assert_eq!(versions(&t).unwrap().len(), 1);
    }
}
