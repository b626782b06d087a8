//! `--web.config.file`: Prometheus's web configuration file, loaded at start
//! (a bad file refuses to start) and re-read with the rest of the config on
//! SIGHUP or `POST /-/reload`. A file that fails to load on reload leaves
//! the running one in place. Readers subscribe to the watch channel: the
//! listener (TLS, response headers) and authentication (basic-auth users).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use homeostat_auth::{AuthError, WebConfig};
use tokio::sync::watch;

/// The running web configuration and the file it came from.
pub struct WebConfigHandle {
    path: Option<PathBuf>,
    tx: watch::Sender<Arc<WebConfig>>,
}

impl WebConfigHandle {
    /// Loads the file; without one, an empty config (no TLS, no users).
    pub fn load(path: Option<&Path>) -> Result<Self, AuthError> {
        let cfg = match path {
            Some(p) => WebConfig::load(p)?,
            None => WebConfig::default(),
        };
        Ok(Self {
            path: path.map(Path::to_path_buf),
            tx: watch::channel(Arc::new(cfg)).0,
        })
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
        let cfg = WebConfig::load(p)?;
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
}
