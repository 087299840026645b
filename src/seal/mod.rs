//! Sealing: every secret awscreds stores is encrypted with AES-256-GCM under one data key per
//! database, with a random nonce per value and the value's place (`mount:aws:secret_key`) as
//! associated data, so that a ciphertext moved to another row does not open. The data key is
//! stored only wrapped: by a key file (32 random bytes, 0600) or by AWS KMS (envelope
//! encryption). Unwrapping happens once per process, and only in processes that need a secret.

pub mod keyfile;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use zeroize::{Zeroize, Zeroizing};

/// The format of a sealed value: one version byte, the 12-byte nonce, then ciphertext and tag.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

/// A 256-bit key: a database's data key, or a key file's key-encryption key. Zeroed on drop;
/// `{:?}` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The ciphertext does not open under this key with this associated data: wrong key, or a
    /// value that was changed or moved.
    #[error("does not open with this key")]
    WrongKey,
    #[error("is not a sealed value")]
    Malformed,
    #[error("no randomness from the operating system: {0}")]
    Random(String),
}

impl SecretKey {
    /// A new random key.
    pub fn generate() -> Result<SecretKey, SealError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| SealError::Random(e.to_string()))?;
        Ok(SecretKey(bytes))
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<SecretKey> {
        let array: [u8; 32] = bytes.try_into().ok()?;
        Some(SecretKey(array))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&Key::<Aes256Gcm>::from(self.0))
    }

    /// Encrypts `plaintext`, bound to `aad` (where the value is stored).
    pub fn seal(&self, aad: &str, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| SealError::Random(e.to_string()))?;
        let ciphertext = self
            .cipher()
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::Malformed)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    /// Decrypts what [`SecretKey::seal`] made with the same `aad`.
    pub fn open(&self, aad: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != VERSION {
            return Err(SealError::Malformed);
        }
        let nonce: [u8; NONCE_LEN] = sealed[1..1 + NONCE_LEN].try_into().expect("length checked");
        self.cipher()
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &sealed[1 + NONCE_LEN..],
                    aad: aad.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError::WrongKey)
    }

    /// Decrypts a sealed string.
    pub fn open_string(&self, aad: &str, sealed: &[u8]) -> Result<Zeroizing<String>, SealError> {
        let bytes = self.open(aad, sealed)?;
        String::from_utf8(bytes.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| SealError::Malformed)
    }
}

/// Where a sealed value lives, as its associated data: a value opens only in its own place.
pub fn aad_root_secret(db_id: &str, mount: &str) -> String {
    format!("awscreds:{db_id}:mount:{mount}:secret_key")
}

/// The associated data of a kept lease's secret (credential-process).
pub fn aad_lease_secret(db_id: &str, lease_id: &str) -> String {
    format!("awscreds:{db_id}:lease:{lease_id}:secret")
}

/// The associated data of the audit key, sealed under the data key.
pub fn aad_audit_key(db_id: &str) -> String {
    format!("awscreds:{db_id}:audit-key")
}

/// The associated data of a database's data key, wrapped by a key file.
pub fn aad_data_key(db_id: &str) -> String {
    format!("awscreds:{db_id}:data-key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_place() {
        let key = SecretKey::generate().unwrap();
        let sealed = key.seal("here", b"s3cret").unwrap();
        assert_eq!(&key.open("here", &sealed).unwrap()[..], b"s3cret");
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"));
        assert_eq!(key.open("there", &sealed), Err(SealError::WrongKey));
        let other = SecretKey::generate().unwrap();
        assert_eq!(other.open("here", &sealed), Err(SealError::WrongKey));
        let mut changed = sealed.clone();
        *changed.last_mut().unwrap() ^= 1;
        assert_eq!(key.open("here", &changed), Err(SealError::WrongKey));
        assert_eq!(key.open("here", b"short"), Err(SealError::Malformed));
        // A fresh nonce each time: the same secret never seals to the same bytes.
        assert_ne!(key.seal("here", b"s3cret").unwrap(), sealed);
        assert_eq!(format!("{key:?}"), "SecretKey(<redacted>)");
    }
}
