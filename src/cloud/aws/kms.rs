//! AWS KMS through the SDK: envelope encryption of a database's data key.

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use zeroize::Zeroizing;

use super::errors::{Endpoint, classify};
use crate::cloud::{CloudError, DataKey, Kms, Result};

pub struct AwsKms {
    client: aws_sdk_kms::Client,
    /// Where calls go, for messages.
    at: Endpoint,
}

impl AwsKms {
    pub(super) fn new(client: aws_sdk_kms::Client, at: Endpoint) -> Self {
        AwsKms { client, at }
    }
}

impl Kms for AwsKms {
    async fn generate_data_key(&self, key_id: &str) -> Result<DataKey> {
        let out = self
            .client
            .generate_data_key()
            .key_id(key_id)
            .key_spec(DataKeySpec::Aes256)
            .send()
            .await
            .map_err(|e| classify(e, &self.at))?;
        match (out.plaintext, out.ciphertext_blob) {
            (Some(plaintext), Some(ciphertext)) => Ok(DataKey {
                plaintext: Zeroizing::new(plaintext.into_inner()),
                ciphertext: ciphertext.into_inner(),
            }),
            _ => Err(CloudError::Other("GenerateDataKey returned no key".into())),
        }
    }

    async fn encrypt(&self, key_id: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        let out = self
            .client
            .encrypt()
            .key_id(key_id)
            .plaintext(Blob::new(plaintext))
            .send()
            .await
            .map_err(|e| classify(e, &self.at))?;
        out.ciphertext_blob
            .map(Blob::into_inner)
            .ok_or_else(|| CloudError::Other("Encrypt returned nothing".into()))
    }

    async fn decrypt(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let out = self
            .client
            .decrypt()
            .ciphertext_blob(Blob::new(ciphertext))
            .send()
            .await
            .map_err(|e| classify(e, &self.at))?;
        out.plaintext
            .map(|p| Zeroizing::new(p.into_inner()))
            .ok_or_else(|| CloudError::Other("Decrypt returned nothing".into()))
    }
}
