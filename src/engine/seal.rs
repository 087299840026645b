//! The seal over the database's secrets (see `crate::seal`): the data key, unwrapped at most
//! once per process and only by a process that needs a secret; `seal status`, `seal rotate`,
//! `seal kms` and `seal file`; and sealing, on open, what an earlier version stored in the clear.

use std::path::PathBuf;

use zeroize::Zeroizing;

use super::{Engine, Error, Result};
use crate::cloud::{Connector, Kms};
use crate::model::{RootConfig, SealRecord, Wrapping};
use crate::seal::keyfile::{self, KeyFileError};
use crate::seal::{self as crypto, SecretKey};

/// Where the key file is, when the seal is a key file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SealSettings {
    /// `AWSCREDS_SEAL_KEY_FILE`: wins over the path that `seal file PATH` recorded and over the
    /// default place.
    pub key_file: Option<PathBuf>,
    /// Where a new key file goes, and where one is looked for when the seal names none:
    /// `<database>.key` beside a database file, else a directory for `<db_id>.key`.
    pub default: KeyFileDefault,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyFileDefault {
    Beside(PathBuf),
    InDir(PathBuf),
}

impl Default for KeyFileDefault {
    /// The user's data directory, as for a database that is not a file.
    fn default() -> Self {
        KeyFileDefault::InDir(
            dirs::data_dir()
                .unwrap_or_else(std::env::temp_dir)
                .join("awscreds"),
        )
    }
}

/// What `seal status` shows; no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealStatus {
    /// `file`, `kms`, or `none` (nothing sealed yet).
    pub wrapping: &'static str,
    /// The key file's path or the KMS key id.
    pub key: String,
    /// How many secrets are sealed: root secret keys, and the audit key once there is one.
    pub secrets: usize,
}

impl<C: Connector> Engine<C> {
    /// The key file that a file seal uses: the variable, else the one `seal file PATH` named,
    /// else the default place.
    async fn key_file(&self, named: Option<&str>) -> Result<PathBuf> {
        if let Some(path) = &self.seal.key_file {
            return Ok(path.clone());
        }
        if let Some(path) = named {
            return Ok(PathBuf::from(path));
        }
        Ok(match &self.seal.default {
            KeyFileDefault::Beside(path) => path.clone(),
            KeyFileDefault::InDir(dir) => dir.join(format!("{}.key", self.store.db_id().await?)),
        })
    }

    async fn kms(&self) -> Result<C::Kms> {
        self.connector
            .kms()
            .await
            .map_err(|e| Error::cloud("connecting to AWS KMS", e))
    }

    /// The data key, unwrapped once per process. The first secret ever sealed makes it, wrapped
    /// by a key file at the default place.
    pub(super) async fn data_key(&self) -> Result<SecretKey> {
        if let Some(key) = self.data_key.borrow().as_ref() {
            return Ok(key.clone());
        }
        let record = match self.store.seal_record().await? {
            Some(record) => record,
            None => {
                let path = self.key_file(None).await?;
                let kek = read_or_create_key_file(&path)?;
                let data_key = SecretKey::generate().map_err(sealing)?;
                let db_id = self.store.db_id().await?;
                let record = SealRecord {
                    wrapping: Wrapping::File { path: None },
                    wrapped_key: kek
                        .seal(&crypto::aad_data_key(&db_id), data_key.as_bytes())
                        .map_err(sealing)?,
                };
                if self.store.create_seal_record(&record).await? {
                    *self.data_key.borrow_mut() = Some(data_key.clone());
                    return Ok(data_key);
                }
                // Another process sealed first: use its key.
                self.store
                    .seal_record()
                    .await?
                    .ok_or_else(|| sealing("the seal record vanished"))?
            }
        };
        let key = self.unwrap(&record).await?;
        *self.data_key.borrow_mut() = Some(key.clone());
        Ok(key)
    }

    async fn unwrap(&self, record: &SealRecord) -> Result<SecretKey> {
        let db_id = self.store.db_id().await?;
        match &record.wrapping {
            Wrapping::File { path } => {
                let path = self.key_file(path.as_deref()).await?;
                let kek = keyfile::read(&path).map_err(Error::SealKey)?;
                let bytes = kek
                    .open(&crypto::aad_data_key(&db_id), &record.wrapped_key)
                    .map_err(|_| Error::SealKey(KeyFileError::WrongKey { path: path.clone() }))?;
                SecretKey::from_bytes(&bytes).ok_or_else(|| sealing("the data key is damaged"))
            }
            Wrapping::Kms { key_id } => {
                let bytes = self
                    .kms()
                    .await?
                    .decrypt(&record.wrapped_key)
                    .await
                    .map_err(|e| Error::cloud(format!("unsealing with KMS key {key_id}"), e))?;
                SecretKey::from_bytes(&bytes).ok_or_else(|| sealing("KMS returned no AES-256 key"))
            }
        }
    }

    /// The key that HMACs audit values, made (and sealed) on first use.
    pub(super) async fn audit_key(&self) -> Result<SecretKey> {
        let aad = crypto::aad_audit_key(&self.store.db_id().await?);
        let data_key = self.data_key().await?;
        let sealed = match self.store.audit_key().await? {
            Some(sealed) => sealed,
            None => {
                let key = SecretKey::generate().map_err(sealing)?;
                let sealed = data_key.seal(&aad, key.as_bytes()).map_err(sealing)?;
                if self.store.create_audit_key(&sealed).await? {
                    return Ok(key);
                }
                self.store
                    .audit_key()
                    .await?
                    .ok_or_else(|| sealing("the audit key vanished"))?
            }
        };
        let bytes = data_key
            .open(&aad, &sealed)
            .map_err(|_| sealing("the audit key does not open"))?;
        SecretKey::from_bytes(&bytes).ok_or_else(|| sealing("the audit key is damaged"))
    }

    /// Seals a mount's root secret key.
    pub(super) async fn seal_root_secret(&self, mount: &str, secret: &str) -> Result<Vec<u8>> {
        let key = self.data_key().await?;
        let db_id = self.store.db_id().await?;
        key.seal(&crypto::aad_root_secret(&db_id, mount), secret.as_bytes())
            .map_err(sealing)
    }

    /// A mount's root secret key in the clear (empty when it has none).
    pub(super) async fn root_secret(
        &self,
        mount: &str,
        config: &RootConfig,
    ) -> Result<Zeroizing<String>> {
        if config.sealed_secret_key.is_empty() {
            return Ok(Zeroizing::new(config.legacy_secret_key.clone()));
        }
        let key = self.data_key().await?;
        let db_id = self.store.db_id().await?;
        key.open_string(
            &crypto::aad_root_secret(&db_id, mount),
            &config.sealed_secret_key,
        )
        .map_err(|_| {
            sealing(format!(
                "the secret key of {mount}/config/root does not open"
            ))
        })
    }

    /// Seals what an earlier version stored in the clear, then rewrites the database so that
    /// the clear text is gone from its files.
    pub(super) async fn seal_legacy_secrets(&self) -> Result<()> {
        // Once anything is sealed there is a seal record, and every secret written since went
        // in sealed: one lookup, not one per mount, on every command from then on.
        if self.store.seal_record().await?.is_some() {
            return Ok(());
        }
        let mut sealed = Vec::new();
        for mount in self.store.mounts().await? {
            let Some(mut config) = self.store.root_config(&mount.path).await? else {
                continue;
            };
            if config.legacy_secret_key.is_empty() {
                continue;
            }
            config.sealed_secret_key = self
                .seal_root_secret(&mount.path, &config.legacy_secret_key)
                .await?;
            config.legacy_secret_key.clear();
            sealed.push((mount.path, config));
        }
        if sealed.is_empty() {
            return Ok(());
        }
        let record = self
            .store
            .seal_record()
            .await?
            .ok_or_else(|| sealing("no seal record after sealing"))?;
        self.store.replace_seal(&record, &sealed, None).await?;
        self.store.compact().await?;
        Ok(())
    }

    pub async fn seal_status(&self) -> Result<SealStatus> {
        let mut secrets = usize::from(self.store.audit_key().await?.is_some());
        for mount in self.store.mounts().await? {
            if let Some(config) = self.store.root_config(&mount.path).await? {
                secrets += usize::from(!config.sealed_secret_key.is_empty());
            }
        }
        Ok(match self.store.seal_record().await? {
            None => SealStatus {
                wrapping: "none",
                key: self.key_file(None).await?.display().to_string(),
                secrets,
            },
            Some(SealRecord {
                wrapping: Wrapping::File { path },
                ..
            }) => SealStatus {
                wrapping: "file",
                key: self.key_file(path.as_deref()).await?.display().to_string(),
                secrets,
            },
            Some(SealRecord {
                wrapping: Wrapping::Kms { key_id },
                ..
            }) => SealStatus {
                wrapping: "kms",
                key: key_id,
                secrets,
            },
        })
    }

    /// `seal rotate`: a new data key, every secret re-encrypted under it, the new key wrapped as
    /// the old one was; all in one transaction. Returns how many secrets were re-encrypted.
    pub async fn seal_rotate(&self) -> Result<usize> {
        let old_key = self.data_key().await?;
        let record = self
            .store
            .seal_record()
            .await?
            .ok_or_else(|| sealing("no seal record after sealing"))?;
        let new_key = SecretKey::generate().map_err(sealing)?;
        let configs = self.resealed(&old_key, &new_key).await?;
        let audit_key = match self.store.audit_key().await? {
            Some(sealed) => {
                let aad = crypto::aad_audit_key(&self.store.db_id().await?);
                let key = old_key
                    .open(&aad, &sealed)
                    .map_err(|_| sealing("the audit key does not open"))?;
                Some(new_key.seal(&aad, &key).map_err(sealing)?)
            }
            None => None,
        };
        let wrapped_key = self.wrap(&record.wrapping, &new_key).await?;
        let record = SealRecord {
            wrapping: record.wrapping,
            wrapped_key,
        };
        self.store
            .replace_seal(&record, &configs, audit_key.as_deref())
            .await?;
        *self.data_key.borrow_mut() = Some(new_key);
        Ok(configs.len() + usize::from(audit_key.is_some()))
    }

    /// `seal kms KEY_ID` / `seal file [PATH]`: the same data key, wrapped another way.
    pub async fn seal_wrap(&self, wrapping: Wrapping) -> Result<()> {
        let key = self.data_key().await?;
        let wrapped_key = self.wrap(&wrapping, &key).await?;
        let record = SealRecord {
            wrapping,
            wrapped_key,
        };
        self.store.replace_seal(&record, &[], None).await?;
        Ok(())
    }

    async fn wrap(&self, wrapping: &Wrapping, key: &SecretKey) -> Result<Vec<u8>> {
        match wrapping {
            Wrapping::File { path } => {
                // `seal file PATH` means that file, whatever the variable says.
                let path = match path {
                    Some(path) => PathBuf::from(path),
                    None => self.key_file(None).await?,
                };
                let kek = read_or_create_key_file(&path)?;
                let db_id = self.store.db_id().await?;
                kek.seal(&crypto::aad_data_key(&db_id), key.as_bytes())
                    .map_err(sealing)
            }
            Wrapping::Kms { key_id } => self
                .kms()
                .await?
                .encrypt(key_id, key.as_bytes())
                .await
                .map_err(|e| Error::cloud(format!("sealing with KMS key {key_id}"), e)),
        }
    }

    /// Every sealed root secret, re-encrypted from `old` to `new`.
    async fn resealed(
        &self,
        old: &SecretKey,
        new: &SecretKey,
    ) -> Result<Vec<(String, RootConfig)>> {
        let db_id = self.store.db_id().await?;
        let mut out = Vec::new();
        for mount in self.store.mounts().await? {
            let Some(mut config) = self.store.root_config(&mount.path).await? else {
                continue;
            };
            if config.sealed_secret_key.is_empty() {
                continue;
            }
            let aad = crypto::aad_root_secret(&db_id, &mount.path);
            let secret = old.open(&aad, &config.sealed_secret_key).map_err(|_| {
                sealing(format!(
                    "the secret key of {}/config/root does not open",
                    mount.path
                ))
            })?;
            config.sealed_secret_key = new.seal(&aad, &secret).map_err(sealing)?;
            out.push((mount.path, config));
        }
        Ok(out)
    }
}

fn read_or_create_key_file(path: &std::path::Path) -> Result<SecretKey> {
    keyfile::read_or_create(path).map_err(Error::SealKey)
}

fn sealing(reason: impl std::fmt::Display) -> Error {
    Error::Sealing {
        message: reason.to_string(),
    }
}
