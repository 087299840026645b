//! Audit logs in the shape of Vault's file audit device: one JSON object per line, a `request`
//! entry before a command acts and a `response` entry after, every string value of their data
//! HMAC-SHA256'd with the database's audit key (`hmac-sha256:<hex>`).
//!
//! Tamper evidence, which Vault lacks: every entry carries `prev`, the HMAC of the entry before
//! it in the same file, and ends with its own `hmac` over everything before it. Without the key
//! nobody can change, insert or remove an entry unseen; `awscreds audit verify` finds the first.

mod chain;

pub use chain::{Verified, VerifyError, verify};

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value, json};

use crate::env::EnvVars;
use crate::seal::SecretKey;

/// What `file_path=stdout` means: entries go to standard output.
pub const STDOUT: &str = "stdout";

/// `hmac-sha256:<hex>` of `value` under `key`: what the logs show in place of a value, and what
/// `audit hash` prints so that a person can grep for a known value.
pub fn hash(key: &SecretKey, value: &str) -> String {
    format!("hmac-sha256:{}", hex(&mac(key, value.as_bytes())))
}

fn mac(key: &SecretKey, bytes: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(bytes);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every string in `value`, HMAC'd; numbers, booleans and nulls as they are.
pub fn hashed(key: &SecretKey, value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(hash(key, s)),
        Value::Array(items) => Value::Array(items.iter().map(|v| hashed(key, v)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), hashed(key, v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// One enabled device, ready to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// `file/`, as `audit list` shows it.
    pub path: String,
    /// A file, or [`STDOUT`].
    pub file_path: String,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot write audit device {path} ({file_path}): {reason}")]
pub struct WriteError {
    pub path: String,
    pub file_path: String,
    pub reason: String,
}

/// Who asked, as the entries name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub user: String,
    pub host: String,
}

impl Client {
    /// The calling OS user and this host.
    pub fn current() -> Client {
        let user = [EnvVars::USER, EnvVars::LOGNAME]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
            .or_else(user_from_passwd)
            .unwrap_or_else(|| "unknown".into());
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .or_else(|| std::env::var(EnvVars::HOSTNAME).ok())
            .unwrap_or_else(|| "unknown".into());
        Client { user, host }
    }
}

/// The name of this process's user, from its uid and /etc/passwd (cron and CI jobs often run
/// without USER set).
fn user_from_passwd() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let name = passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.get(2) == Some(&uid.as_str())).then(|| fields[0].to_string())
    });
    Some(name.unwrap_or(format!("uid {uid}")))
}

/// A request as it is logged.
#[derive(Debug, Clone)]
pub struct Request {
    pub id: String,
    /// `read`, `write`, `lease revoke`, `sweep`, ...
    pub operation: String,
    pub path: String,
    pub mount: Option<String>,
    pub data: Map<String, Value>,
}

/// What a command returned, as it is logged.
#[derive(Debug, Clone, Default)]
pub struct Response {
    pub data: Map<String, Value>,
    pub lease_id: Option<String>,
    /// Leases that the command revoked (plain ids, as Vault shows lease ids).
    pub revoked: Vec<String>,
}

/// Writes entries to every enabled device. The request entry is written before the command
/// acts: a device that cannot be written stops the command (fail closed).
pub struct Auditor {
    devices: Vec<Device>,
    key: SecretKey,
    client: Client,
    /// The HMAC of the last entry written to standard output by this process.
    stdout_prev: std::cell::RefCell<String>,
}

impl Auditor {
    pub fn new(devices: Vec<Device>, key: SecretKey) -> Auditor {
        Auditor {
            devices,
            key,
            client: Client::current(),
            stdout_prev: std::cell::RefCell::new(String::new()),
        }
    }

    pub fn request(&self, request: &Request) -> Result<(), WriteError> {
        let entry = json!({
            "type": "request",
            "time": now(),
            "request": self.request_part(request),
            "error": "",
        });
        self.append_all(entry)
    }

    pub fn response(
        &self,
        request: &Request,
        response: &Response,
        error: Option<&str>,
    ) -> Result<(), WriteError> {
        let mut part = Map::new();
        part.insert(
            "data".into(),
            hashed(&self.key, &Value::Object(response.data.clone())),
        );
        if let Some(id) = &response.lease_id {
            part.insert("secret".into(), json!({ "lease_id": id }));
        }
        if !response.revoked.is_empty() {
            part.insert("revoked_leases".into(), json!(response.revoked));
        }
        let entry = json!({
            "type": "response",
            "time": now(),
            "request": self.request_part(request),
            "response": part,
            // Errors carry no secret (they never do) but may carry names: hashed like data.
            "error": error.map(|e| hash(&self.key, e)).unwrap_or_default(),
        });
        self.append_all(entry)
    }

    fn request_part(&self, request: &Request) -> Value {
        json!({
            "id": request.id,
            "operation": request.operation,
            "path": request.path,
            "mount": request.mount,
            "data": hashed(&self.key, &Value::Object(request.data.clone())),
            "client": { "user": self.client.user, "host": self.client.host },
        })
    }

    fn append_all(&self, entry: Value) -> Result<(), WriteError> {
        for device in &self.devices {
            self.append(device, entry.clone()).map_err(|e| WriteError {
                path: device.path.clone(),
                file_path: device.file_path.clone(),
                reason: e.to_string(),
            })?;
        }
        Ok(())
    }

    fn append(&self, device: &Device, entry: Value) -> io::Result<()> {
        if device.file_path == STDOUT {
            let prev = self.stdout_prev.borrow().clone();
            let (line, hmac) = chain::seal_entry(&self.key, entry, &prev);
            let mut out = io::stdout().lock();
            out.write_all(line.as_bytes())?;
            out.flush()?;
            *self.stdout_prev.borrow_mut() = hmac;
            return Ok(());
        }
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .mode(0o600)
            .open(PathBuf::from(&device.file_path))?;
        // One writer at a time, so that each entry names the one before it.
        file.lock()?;
        let prev = last_hmac(&mut file)?;
        let (line, _) = chain::seal_entry(&self.key, entry, &prev);
        file.write_all(line.as_bytes())?;
        file.flush()
    }
}

/// The `hmac` of the last entry of a log ("" for an empty one), read from its end.
fn last_hmac(file: &mut File) -> io::Result<String> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(String::new());
    }
    // Entries are short; read back far enough to hold the last one whole.
    let mut back = 4096u64;
    loop {
        let start = len.saturating_sub(back);
        file.seek(SeekFrom::Start(start))?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail)?;
        let text = String::from_utf8_lossy(&tail);
        let body = text.trim_end_matches('\n');
        if let Some(at) = body
            .rfind('\n')
            .map(|i| i + 1)
            .or((start == 0).then_some(0))
        {
            return Ok(chain::hmac_of_line(&body[at..]).unwrap_or_default());
        }
        back *= 4;
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests;
