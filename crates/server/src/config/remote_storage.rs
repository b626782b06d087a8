//! `storage.mode` and `storage.remote:`: the one place naming a remote
//! Prometheus-compatible engine that both ingestion (remote-write through a
//! disk queue) and every read (PromQL, rules, the read APIs) use, so reads
//! and writes cannot point at different engines by mistake.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use homeostat_model::{FieldError, Secret, parse_duration};
use homeostat_remote::{ForwardConfig, ReadApi, RemoteConfig};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteStorageSection {
    /// HTTP API base, e.g. `http://vm:8428` (`/api/v1/query`, series, labels).
    pub url: Option<String>,
    /// Remote-write 1.0 endpoint; defaults to `<url>/api/v1/write`.
    pub write_url: Option<String>,
    /// `query` (default; every engine) or `remote_read`.
    pub read_api: Option<String>,
    /// Remote-read endpoint for `read_api: remote_read`; defaults to `<url>/api/v1/read`.
    pub read_url: Option<String>,
    /// Sent on every read and write as `tenant_header`.
    pub tenant: Option<String>,
    /// Defaults to `X-Scope-OrgID` (Mimir, Cortex, Loki convention).
    pub tenant_header: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    pub basic_auth: Option<BasicAuth>,
    pub bearer_token: Option<Secret>,
    pub bearer_token_file: Option<PathBuf>,
    /// Per-request deadline, reads and writes. Defaults to 30s.
    pub timeout: Option<String>,
    /// Largest accepted read response, decompressed. Defaults to 512 MiB.
    pub max_response_bytes: Option<usize>,
    #[serde(default)]
    pub queue: QueueSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub username: String,
    pub password: Option<Secret>,
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSection {
    pub shards: Option<usize>,
    pub max_samples_per_send: Option<usize>,
    pub batch_send_deadline: Option<String>,
    pub min_backoff: Option<String>,
    pub max_backoff: Option<String>,
    pub max_queue_bytes: Option<u64>,
}

/// The validated remote backend: where reads go and how writes are queued.
#[derive(Debug, Clone)]
pub struct RemoteStorage {
    pub read: RemoteConfig,
    pub write: ForwardConfig,
    /// The tenant sent on every request, for status pages (not a secret).
    pub tenant: Option<String>,
}

/// `storage.mode`.
#[derive(Debug, Clone, Default)]
pub enum StorageMode {
    /// Samples are stored in the embedded tsdb in `data_dir`.
    #[default]
    Embedded,
    /// Samples are forwarded to a remote engine; the embedded tsdb is not opened.
    Remote(Box<RemoteStorage>),
}

impl StorageMode {
    pub fn name(&self) -> &'static str {
        match self {
            StorageMode::Embedded => "embedded",
            StorageMode::Remote(_) => "remote",
        }
    }
}

fn read_secret_file(field: &str, file: &Path, base: &Path) -> Result<String, FieldError> {
    let p = if file.is_absolute() {
        file.to_path_buf()
    } else {
        base.join(file)
    };
    let text = std::fs::read_to_string(&p)
        .map_err(|e| FieldError::new(field, format!("cannot read {}: {e}", p.display())))?;
    Ok(text.trim_end_matches(['\r', '\n']).to_string())
}

fn secret(
    field: &str,
    value: &Option<Secret>,
    file: &Option<PathBuf>,
    base: &Path,
) -> Result<Option<String>, FieldError> {
    match (value, file) {
        (Some(_), Some(_)) => Err(FieldError::new(
            field,
            format!("both {field} and {field}_file are set: keep one"),
        )),
        (Some(v), None) => Ok(Some(v.expose().to_string())),
        (None, Some(f)) => read_secret_file(&format!("{field}_file"), f, base).map(Some),
        (None, None) => Ok(None),
    }
}

fn dur(field: &str, v: &Option<String>, default: Duration) -> Result<Duration, FieldError> {
    match v {
        None => Ok(default),
        Some(s) => parse_duration(s).map_err(|e| FieldError::new(field, e.to_string())),
    }
}

impl RemoteStorageSection {
    /// `base` resolves relative `*_file` paths (the config file's directory);
    /// the queue lives in `data_dir/remote-queue`.
    pub(super) fn validate(
        &self,
        base: &Path,
        data_dir: &Path,
    ) -> Result<RemoteStorage, FieldError> {
        let url = self
            .url
            .as_deref()
            .ok_or_else(|| FieldError::new("url", "required with `storage.mode: remote`"))?
            .trim_end_matches('/')
            .to_string();
        let read_api = match self.read_api.as_deref() {
            None => ReadApi::Query,
            Some(s) => ReadApi::parse(s).ok_or_else(|| {
                FieldError::new("read_api", format!("{s:?}: expected query or remote_read"))
            })?,
        };
        if read_api == ReadApi::Query && self.read_url.is_some() {
            return Err(FieldError::new(
                "read_url",
                "only used with `read_api: remote_read`",
            ));
        }
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.expose().to_string()))
            .collect();
        let bearer = secret(
            "bearer_token",
            &self.bearer_token,
            &self.bearer_token_file,
            base,
        )?;
        if let Some(b) = &self.basic_auth {
            if bearer.is_some() {
                return Err(FieldError::new(
                    "basic_auth",
                    "set basic_auth or bearer_token, not both",
                ));
            }
            let pw = secret("basic_auth.password", &b.password, &b.password_file, base)?
                .unwrap_or_default();
            headers.push((
                "Authorization".into(),
                format!("Basic {}", base64(&format!("{}:{pw}", b.username))),
            ));
        }
        if let Some(t) = bearer {
            headers.push(("Authorization".into(), format!("Bearer {t}")));
        }
        if let Some(t) = &self.tenant {
            let name = self
                .tenant_header
                .clone()
                .unwrap_or_else(|| "X-Scope-OrgID".into());
            headers.push((name, t.clone()));
        } else if self.tenant_header.is_some() {
            return Err(FieldError::new("tenant_header", "set together with tenant"));
        }
        let timeout = dur("timeout", &self.timeout, RemoteConfig::DEFAULT_TIMEOUT)?;
        let mut read = RemoteConfig::new(
            self.read_url
                .clone()
                .unwrap_or_else(|| format!("{url}/api/v1/read")),
            url.clone(),
        );
        if read_api == ReadApi::Query {
            read.read_url = String::new();
        }
        read.read_api = read_api;
        read.timeout = timeout;
        read.headers = headers.clone();
        if let Some(n) = self.max_response_bytes {
            read.max_response_bytes = n;
        }
        read.validate()
            .map_err(|e| FieldError::new(e.field, e.detail))?;
        let mut write = ForwardConfig::new(
            data_dir.join("remote-queue"),
            self.write_url
                .clone()
                .unwrap_or_else(|| format!("{url}/api/v1/write")),
        );
        write.headers = headers;
        write.timeout = timeout;
        let q = &self.queue;
        write.shards = q.shards.unwrap_or(write.shards);
        write.max_samples_per_send = q.max_samples_per_send.unwrap_or(write.max_samples_per_send);
        write.batch_send_deadline = dur(
            "queue.batch_send_deadline",
            &q.batch_send_deadline,
            write.batch_send_deadline,
        )?;
        write.min_backoff = dur("queue.min_backoff", &q.min_backoff, write.min_backoff)?;
        write.max_backoff = dur("queue.max_backoff", &q.max_backoff, write.max_backoff)?;
        write.max_queue_bytes = q.max_queue_bytes.unwrap_or(write.max_queue_bytes);
        write
            .validate()
            .map_err(|e| FieldError::new(e.field, e.detail))?;
        Ok(RemoteStorage {
            read,
            write,
            tenant: self.tenant.clone(),
        })
    }
}

/// Standard base64 with padding, for the basic-auth header.
fn base64(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::tests::parse;
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("user:pass", "dXNlcjpwYXNz"),
        ] {
            assert_eq!(base64(i), o);
        }
    }

    #[test]
    fn remote_mode_derives_reads_and_writes_from_one_url() {
        let c = parse(
            "data_dir: /d\nstorage: {mode: remote, remote: {url: 'http://vm:8428/', tenant: t1, bearer_token: s3cret, queue: {shards: 2, max_queue_bytes: 2000000}}}",
        )
        .unwrap();
        let super::StorageMode::Remote(r) = &c.storage_mode else {
            panic!("expected remote")
        };
        assert_eq!(r.write.write_url, "http://vm:8428/api/v1/write");
        assert_eq!(r.write.dir, PathBuf::from("/d/remote-queue"));
        assert_eq!(r.write.shards, 2);
        assert_eq!(r.read.api_url, "http://vm:8428");
        assert_eq!(r.read.read_api, ReadApi::Query);
        for h in [&r.read.headers, &r.write.headers] {
            assert!(h.contains(&("X-Scope-OrgID".into(), "t1".into())));
            assert!(h.contains(&("Authorization".into(), "Bearer s3cret".into())));
        }
        // Reads go to the same engine.
        let crate::QueryBackend::Remote(q) = &c.query_backend else {
            panic!("reads must use the remote")
        };
        assert_eq!(q.api_url, "http://vm:8428");
        assert!(!format!("{c:?}").contains("s3cret"));
        for (yaml, field) in [
            ("storage: {mode: remote}", "storage.remote.url"),
            ("storage: {mode: cloud}", "storage.mode"),
            ("storage: {remote: {url: 'http://x'}}", "storage.remote"),
            (
                "storage: {mode: remote, remote: {url: 'http://x', read_api: grpc}}",
                "storage.remote.read_api",
            ),
            (
                "storage: {mode: remote, remote: {url: 'http://x', read_url: 'http://x/r'}}",
                "storage.remote.read_url",
            ),
            (
                "storage: {mode: remote, remote: {url: 'http://x', queue: {shards: 0}}}",
                "storage.remote.queue.shards",
            ),
            (
                "storage: {mode: remote, remote: {url: 'http://x', bearer_token: a, bearer_token_file: b}}",
                "storage.remote.bearer_token",
            ),
            (
                "storage: {mode: remote, remote: {url: 'http://x'}}\nquery_backend: {kind: remote, read_url: 'http://p/api/v1/read'}",
                "query_backend",
            ),
        ] {
            let e = parse(yaml).unwrap_err().to_string();
            assert!(e.contains(field), "{yaml}: {e}");
        }
    }
}
