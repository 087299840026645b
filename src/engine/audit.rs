//! Audit devices: enabling, listing and disabling them, and the auditor that writes to them
//! with the database's audit key (made, and sealed like any secret, on first use).

use std::collections::BTreeMap;
use std::os::unix::fs::OpenOptionsExt;

use super::{Engine, Error, Result};
use crate::audit::{Auditor, Device, STDOUT};
use crate::cloud::Connector;
use crate::model::AuditDevice;
use crate::params::one_line;
use crate::store::StoreError;

impl<C: Connector> Engine<C> {
    pub async fn audit_devices(&self) -> Result<Vec<AuditDevice>> {
        Ok(self.store.audit_devices().await?)
    }

    /// `audit enable [--path P] file file_path=PATH`: the file is made (0600) now, so that a
    /// device that cannot be written is refused here rather than stopping later commands.
    pub async fn enable_audit(
        &self,
        kind: &str,
        path: Option<&str>,
        options: BTreeMap<String, String>,
    ) -> Result<AuditDevice> {
        if kind != "file" {
            return Err(Error::input_hint(
                format!("unknown audit device type \"{}\"", one_line(kind)),
                "awscreds has one: file (file_path=PATH, or file_path=stdout)",
            ));
        }
        if let Some(unknown) = options.keys().find(|k| *k != "file_path") {
            return Err(Error::input_hint(
                format!(
                    "unknown option \"{}\" for a file audit device",
                    one_line(unknown)
                ),
                "a file audit device takes file_path=PATH (or file_path=stdout)",
            ));
        }
        let Some(file_path) = options.get("file_path").filter(|p| !p.is_empty()) else {
            return Err(Error::input_hint(
                "missing required option \"file_path\" for a file audit device",
                "file_path=/var/log/awscreds/audit.log, or file_path=stdout",
            ));
        };
        let path = path.unwrap_or(kind).trim_matches('/');
        let valid = !path.is_empty()
            && path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid {
            return Err(Error::input_hint(
                format!("invalid audit device path '{}'", one_line(path)),
                "a device path is letters, digits, '_', '-' and '.'",
            ));
        }
        if file_path != STDOUT {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(file_path)
                .map_err(|e| {
                    Error::input(format!(
                        "cannot open audit file {}: {e}",
                        one_line(file_path)
                    ))
                })?;
        }
        // Made now, so that the first audited command does not race another for it.
        self.audit_key().await?;
        let device = AuditDevice {
            path: path.to_string(),
            kind: kind.to_string(),
            options: options.clone(),
            created_at: self.now(),
        };
        self.store
            .add_audit_device(&device)
            .await
            .map_err(|e| match e {
                StoreError::Exists { .. } => Error::input_hint(
                    format!("an audit device is already enabled at '{path}'"),
                    "choose another path with --path, or disable that one first",
                ),
                other => other.into(),
            })?;
        Ok(device)
    }

    /// `audit disable PATH`; false when nothing was enabled there.
    pub async fn disable_audit(&self, path: &str) -> Result<bool> {
        Ok(self
            .store
            .remove_audit_device(path.trim_matches('/'))
            .await?)
    }

    /// The auditor of the enabled devices, or `None` when there are none (no key is unsealed
    /// then: commands that need no secret stay fast).
    pub async fn auditor(&self) -> Result<Option<Auditor>> {
        let devices = self.store.audit_devices().await?;
        if devices.is_empty() {
            return Ok(None);
        }
        let devices = devices
            .into_iter()
            .map(|d| Device {
                path: format!("{}/", d.path),
                file_path: d.options.get("file_path").cloned().unwrap_or_default(),
            })
            .collect();
        Ok(Some(Auditor::new(devices, self.audit_key().await?)))
    }

    /// `audit hash VALUE`: what the logs show in place of `value`.
    pub async fn audit_hash(&self, value: &str) -> Result<String> {
        Ok(crate::audit::hash(&self.audit_key().await?, value))
    }

    /// `audit verify PATH`: checks a log against this database's audit key.
    pub async fn audit_verify(
        &self,
        log: impl std::io::BufRead,
    ) -> Result<std::result::Result<crate::audit::Verified, crate::audit::VerifyError>> {
        let key = self.audit_key().await?;
        Ok(crate::audit::verify(log, &key))
    }
}
