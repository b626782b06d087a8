//! `--web.config.file`: Prometheus's web configuration file, loaded at start
//! (a bad file refuses to start) and re-read with the rest of the config on
//! SIGHUP or `POST /-/reload`. A file that fails to load on reload leaves
//! the running one in place. Readers subscribe to the watch channel: the
//! listener (TLS, response headers) and authentication (basic-auth users).
//! The listener's part is built (certificates and keys read and checked)
//! as part of loading, so a bad certificate fails the start or the reload,
//! not the next handshake.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use homeostat_auth::{AuthError, WebConfig};
use tokio::sync::watch;

use crate::listener::Transport;

/// The running web configuration and the file it came from.
pub struct WebConfigHandle {
    path: Option<PathBuf>,
    tx: watch::Sender<Arc<WebConfig>>,
    transport: watch::Sender<Arc<Transport>>,
}

/// Reads the file and builds the listener's side of it.
fn load_file(p: &Path) -> Result<(WebConfig, Transport), AuthError> {
    let cfg = WebConfig::load(p)?;
    let transport = Transport::build(&cfg).map_err(|message| AuthError::Invalid {
        path: p.display().to_string(),
        message,
    })?;
    Ok((cfg, transport))
}

impl WebConfigHandle {
    /// Loads the file; without one, an empty config (no TLS, no users).
    pub fn load(path: Option<&Path>) -> Result<Self, AuthError> {
        let (cfg, transport) = match path {
            Some(p) => load_file(p)?,
            None => Default::default(),
        };
        Ok(Self {
            path: path.map(Path::to_path_buf),
            tx: watch::channel(Arc::new(cfg)).0,
            transport: watch::channel(Arc::new(transport)).0,
        })
    }

    /// The listener's TLS acceptor and response headers; a change applies
    /// to connections accepted after it.
    pub fn subscribe_transport(&self) -> watch::Receiver<Arc<Transport>> {
        self.transport.subscribe()
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<WebConfig>> {
        self.tx.subscribe()
    }

    pub fn current(&self) -> Arc<WebConfig> {
        self.tx.borrow().clone()
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Re-reads the file. `Ok(false)` without a file; on error the running
    /// config stays.
    pub fn reload(&self) -> Result<bool, AuthError> {
        let Some(p) = &self.path else {
            return Ok(false);
        };
        let (cfg, transport) = load_file(p)?;
        self.transport.send_replace(Arc::new(transport));
        self.tx.send_replace(Arc::new(cfg));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_reload_keeps_the_running_config() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("web.yml");
        let hash = "$2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze";
        std::fs::write(&p, format!("basic_auth_users:\n  alice: {hash}\n")).unwrap();
        let h = WebConfigHandle::load(Some(&p)).unwrap();
        let rx = h.subscribe();
        std::fs::write(&p, "basic_auth_users: [").unwrap();
        assert!(h.reload().is_err());
        assert!(rx.borrow().basic_auth_users.contains_key("alice"));
        std::fs::write(&p, format!("basic_auth_users:\n  bob: {hash}\n")).unwrap();
        assert!(h.reload().unwrap());
        assert!(rx.borrow().basic_auth_users.contains_key("bob"));
    }

    #[test]
    fn certificates_are_checked_at_load_and_swapped_on_reload() {
        let dir = tempfile::tempdir().unwrap();
        let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/listener/testdata");
        let p = dir.path().join("web.yml");
        let tls = |key: &str| {
            format!(
                "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
                data.join("server.pem").display(),
                data.join(key).display()
            )
        };
        std::fs::write(&p, "").unwrap();
        let h = WebConfigHandle::load(Some(&p)).unwrap();
        let rx = h.subscribe_transport();
        assert!(rx.borrow().tls.is_none());
        // Renewed or newly configured certificates apply on reload...
        std::fs::write(&p, tls("server.key")).unwrap();
        assert!(h.reload().unwrap());
        assert!(rx.borrow().tls.is_some());
        // ...and a key that does not match keeps the running setup.
        std::fs::write(&p, tls("client.key")).unwrap();
        let e = h.reload().unwrap_err().to_string();
        assert!(e.contains("do not make a usable pair"), "{e}");
        assert!(rx.borrow().tls.is_some());
        assert!(WebConfigHandle::load(Some(&p)).is_err());
    }
}
